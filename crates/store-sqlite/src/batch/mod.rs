//! The batch runner: every request that takes or returns seats of one event is decided
//! by the domain's seat planner, in a batch with the requests queued beside it, in one
//! write transaction (one `BEGIN IMMEDIATE`, one commit and one fsync for the batch).

mod facts;
mod write;

use crate::SqliteStore;
use crate::rows::load_event;
use crate::versions;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::EventId;
use boxoffice_domain::group_commit::{BatchRunner, GroupCommit};
use boxoffice_domain::planner::{
    EventFacts, Outcome, Planning, Refusal, Timed, may_close, requesters,
};
use boxoffice_domain::ports::{LocalVersionBoard, VersionKey};
use diesel::SqliteConnection;

/// Requests of one event queued in this process, run in batches.
pub(crate) type SeatBatches = GroupCommit<Timed, Outcome>;

/// Most requests in one batch.
pub(crate) const BATCH_LIMIT: usize = 256;

#[async_trait]
impl BatchRunner<Timed, Outcome> for SqliteStore {
    async fn run(&self, event: EventId, batch: Vec<Timed>) -> anyhow::Result<Vec<Outcome>> {
        let board = self.versions();
        let requests = batch.len();
        self.write(move |c| run_batch(c, &board, event, &batch))
            .await
            .with_context(|| format!("cannot run a batch of {requests} requests"))
    }
}

impl SqliteStore {
    /// Runs `op` at `now` in the next batch of `event` and returns its outcome.
    pub(crate) async fn seats(&self, event: EventId, timed: Timed) -> anyhow::Result<Outcome> {
        self.batches.submit(self, event, timed).await
    }
}

/// Decides and writes `timed` alone inside the caller's write transaction: for requests
/// that write more than seats in the same transaction (idempotency keys, event details).
pub(crate) fn run_one(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    event: EventId,
    timed: Timed,
) -> anyhow::Result<Outcome> {
    let outcomes = run_batch(c, board, event, std::slice::from_ref(&timed))?;
    outcomes
        .into_iter()
        .next()
        .context("a batch of one answered nothing")
}

/// Decides and writes `batch` inside the caller's write transaction.
fn run_batch(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    event: EventId,
    batch: &[Timed],
) -> anyhow::Result<Vec<Outcome>> {
    let Some(stored) = load_event(c, event)? else {
        return Ok(vec![Outcome::Refused(Refusal::NotFound); batch.len()]);
    };
    let seats = facts::seats_of(&stored);
    let terms = facts::terms_of(&stored);
    let last = batch
        .iter()
        .map(|t| t.now)
        .max()
        .context("an empty batch")?;
    let expiring = if seats.held > 0 {
        facts::expiring_holds(c, event, last)?
    } else {
        Vec::new() // nothing held: no active hold
    };
    let counts_tickets = terms.max_tickets_per_user.is_some();
    let users = facts::tickets_of_users(c, event, &requesters(batch), counts_tickets)?;
    let named = facts::named_rows(c, event, batch)?;
    let closable = facts::closable(c, event, &may_close(batch))?;
    let mut planning = Planning::new(EventFacts {
        event_id: event,
        seats: seats.clone(),
        terms,
        waitlist_count: stored.waitlist_count,
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
            Some(n) => facts::queue_head(c, event, n)?,
            None => Vec::new(),
        };
        if let Some(planned) = planning.try_plan(queue, batch) {
            break planned;
        }
    };
    if let Some(seqs) = write::write(c, event, &seats, &plan)? {
        versions::bump(c, board, VersionKey::Event(event))?;
        for entry in outcomes.iter_mut().filter_map(Outcome::entry_mut) {
            let seq = seqs.get(&entry.id).context("an entry was not stored")?;
            entry.queue_seq = u64::try_from(*seq).context("negative waitlist seq")?;
        }
        plan.trace(event);
    }
    Ok(outcomes)
}
