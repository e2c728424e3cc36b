//! The batch runner: every request that takes or returns seats of one event is decided
//! by the domain's seat planner, in a batch with the requests queued beside it, in one
//! transaction. It locks the event row, reads the facts the planner needs, plans,
//! writes the plan, publishes the event's new version and commits once.

mod facts;
mod write;

pub(crate) use facts::tickets_of_users;

use crate::PgStore;
use crate::versions::Publisher;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::EventId;
use boxoffice_domain::group_commit::{BatchRunner, GroupCommit};
use boxoffice_domain::planner::{
    EventFacts, Outcome, Planning, Refusal, Timed, may_close, requesters,
};
use boxoffice_domain::ports::VersionKey;
use diesel_async::AsyncPgConnection;
use std::collections::HashMap;

/// Requests of one event queued in this process, run in batches.
pub(crate) type SeatBatches = GroupCommit<Timed, Outcome>;

/// Most requests in one batch (a booking insert binds 10 parameters per row).
pub(crate) const BATCH_LIMIT: usize = 256;

/// How a batch learns which of its users already wait for which ticket type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// Read it for every user of the batch before planning.
    Read,
    /// Assume nobody waits unless the purchase limit reads it anyway; a new entry that
    /// the one-waiting-entry-per-user index refuses fails the batch with
    /// [`AlreadyWaiting`], to run again with [`Waiting::Read`]. Reading it for a hundred
    /// users cost more than the rest of a batch's reads together.
    Assumed,
}

/// A batch planned under [`Waiting::Assumed`] queued a user who already waits.
#[derive(Debug, thiserror::Error)]
#[error("a user of the batch already waits: run it again, reading who waits")]
pub(super) struct AlreadyWaiting;

#[async_trait]
impl BatchRunner<Timed, Outcome> for PgStore {
    async fn run(&self, event: EventId, batch: Vec<Timed>) -> anyhow::Result<Vec<Outcome>> {
        let versions = &self.versions;
        let mut waiting = Waiting::Assumed;
        loop {
            let ran = self
                .transaction(async |conn| run_batch(conn, versions, event, &batch, waiting).await)
                .await;
            match ran {
                Err(e)
                    if waiting == Waiting::Assumed
                        && e.chain().any(|c| c.is::<AlreadyWaiting>()) =>
                {
                    waiting = Waiting::Read;
                }
                ran => {
                    return ran.with_context(|| {
                        format!("cannot run a batch of {} requests", batch.len())
                    });
                }
            }
        }
    }
}

impl PgStore {
    /// Runs `op` at `now` in the next batch of `event` and returns its outcome.
    pub(crate) async fn seats(&self, event: EventId, timed: Timed) -> anyhow::Result<Outcome> {
        self.batches.submit(self, event, timed).await
    }
}

/// Decides and writes `timed` alone inside the caller's transaction: for requests that
/// write more than seats in the same transaction (idempotency keys, event details).
pub(crate) async fn run_one(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    event: EventId,
    timed: Timed,
) -> anyhow::Result<Outcome> {
    let batch = std::slice::from_ref(&timed);
    let outcomes = run_batch(conn, versions, event, batch, Waiting::Read).await?;
    outcomes
        .into_iter()
        .next()
        .context("a batch of one answered nothing")
}

/// Decides and writes `batch` inside the caller's transaction.
async fn run_batch(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    event: EventId,
    batch: &[Timed],
    waiting: Waiting,
) -> anyhow::Result<Vec<Outcome>> {
    let Some(locked) = facts::lock_event(conn, event).await? else {
        return Ok(vec![Outcome::Refused(Refusal::NotFound); batch.len()]);
    };
    let facts::Locked {
        seats,
        terms,
        waitlist_count,
        outbox_seq,
    } = locked;
    let last = batch
        .iter()
        .map(|t| t.now)
        .max()
        .context("an empty batch")?;
    let expiring = if seats.held > 0 {
        facts::expiring_holds(conn, event, last).await?
    } else {
        Vec::new() // nothing held: no active hold
    };
    let requesters = requesters(batch);
    let counts_tickets = terms.max_tickets_per_user.is_some();
    let users = if counts_tickets || waiting == Waiting::Read {
        facts::tickets_of_users(conn, event, &requesters, counts_tickets).await?
    } else {
        HashMap::new()
    };
    let named = facts::named_rows(conn, event, batch).await?;
    let closable = facts::closable(conn, event, &may_close(batch)).await?;
    let mut planning = Planning::new(EventFacts {
        event_id: event,
        seats: seats.clone(),
        terms,
        waitlist_count,
        expiring,
        queue: Vec::new(),
        queue_complete: false,
        closable,
        users,
        holds: named.holds,
        bookings: named.bookings,
        entries: named.entries,
    });
    let (mut outcomes, plan) = loop {
        let queue = match planning.queue_to_read() {
            Some(n) => facts::queue_head(conn, event, n).await?,
            None => Vec::new(),
        };
        if let Some(planned) = planning.try_plan(queue, batch) {
            break planned;
        }
    };
    let read = write::Read {
        seats: &seats,
        outbox_seq,
    };
    if let Some((version, seqs)) = write::write(conn, event, &read, &plan).await? {
        versions.publish(VersionKey::Event(event), version).await?;
        for entry in outcomes.iter_mut().filter_map(Outcome::entry_mut) {
            let seq = seqs
                .get(&entry.id.as_uuid())
                .context("an entry was not stored")?;
            entry.queue_seq = u64::try_from(*seq).context("negative waitlist seq")?;
        }
        plan.trace(event);
    }
    Ok(outcomes)
}
