//! The batch runner: holds, bookings and waitlist joins of one event decided together
//! by the domain's seat planner in one write transaction (one `BEGIN IMMEDIATE`, one
//! commit and one fsync for the whole batch). It reads the facts the planner needs,
//! plans, and writes the plan with one statement per table where it can.

use crate::SqliteStore;
use crate::convert::{count, micros, stored_count, uuid};
use crate::events::load_event;
use crate::holds::HoldStatus;
use crate::schema::{bookings, events, holds, ticket_types, waitlist_entries as entries};
use crate::seat_txn::{seats_of, terms_of};
use crate::versions;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::booking::{BookingStatus, WaitlistStatus};
use boxoffice_domain::group_commit::{BatchRunner, GroupCommit};
use boxoffice_domain::planner::{
    EventFacts, ExpiringHold, NeedQueue, Outcome, Plan, Queued, Refusal, Timed, UserTickets, plan,
};
use boxoffice_domain::ports::{LocalVersionBoard, VersionKey};
use boxoffice_domain::seats::Seats;
use boxoffice_domain::{EventId, HoldId, TicketTypeId, Timestamp, UserId, WaitlistEntryId};
use diesel::dsl::max;
use diesel::prelude::*;
use std::collections::HashMap;

/// Requests of one event queued in this process, run in batches.
pub(crate) type SeatBatches = GroupCommit<Timed, Outcome>;

/// Most requests in one batch.
pub(crate) const BATCH_LIMIT: usize = 256;

/// Waiting entries read when promotion may happen.
const QUEUE_READ: usize = 100;

/// Rows of one kind inserted by one statement (SQLite binds at most 32,766 values).
const ROWS_PER_INSERT: usize = 1000;

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

/// Decides and writes `batch` inside the caller's write transaction.
pub(crate) fn run_batch(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    event: EventId,
    batch: &[Timed],
) -> anyhow::Result<Vec<Outcome>> {
    let Some(stored) = load_event(c, event)? else {
        return Ok(vec![Outcome::Refused(Refusal::NotFound); batch.len()]);
    };
    let seats = seats_of(&stored);
    let terms = terms_of(&stored);
    let last = batch
        .iter()
        .map(|t| t.now)
        .max()
        .context("an empty batch")?;
    let expiring = if seats.held > 0 {
        expiring_holds(c, event, last)?
    } else {
        Vec::new() // nothing held: no active hold
    };
    let users = tickets_of_users(c, event, batch, terms.max_tickets_per_user.is_some())?;
    let free = seats.types.iter().any(|t| seats.free(t.id) > 0);
    // Read the queue only where promotion may happen; the planner asks for more.
    let mut read = match stored.waitlist_count {
        0 => None,
        _ if free || !expiring.is_empty() => Some(QUEUE_READ),
        _ => Some(0),
    };
    loop {
        let (queue, queue_complete) = match read {
            None => (Vec::new(), true),
            Some(0) => (Vec::new(), false),
            Some(n) => {
                let queue = queue_head(c, event, n)?;
                let complete = queue.len() < n;
                (queue, complete)
            }
        };
        let facts = EventFacts {
            event_id: event,
            seats: seats.clone(),
            terms,
            waitlist_count: stored.waitlist_count,
            expiring: expiring.clone(),
            queue,
            queue_complete,
            users: users.clone(),
        };
        match plan(facts, batch) {
            Ok((outcomes, plan)) => return write(c, board, event, &seats, outcomes, &plan),
            Err(NeedQueue { needed }) => read = Some(needed),
        }
    }
}

/// The event's active holds that expire by `last`.
fn expiring_holds(
    c: &mut SqliteConnection,
    event: EventId,
    last: Timestamp,
) -> anyhow::Result<Vec<ExpiringHold>> {
    let rows: Vec<(String, String, String, i32, i64)> = holds::table
        .filter(holds::event_id.eq(event.to_string()))
        .filter(holds::status.eq(HoldStatus::Active.as_str()))
        .filter(holds::expires_at.le(micros(last)))
        .select((
            holds::id,
            holds::user_id,
            holds::ticket_type_id,
            holds::quantity,
            holds::expires_at,
        ))
        .load(c)
        .context("cannot read expired holds")?;
    rows.into_iter()
        .map(|(id, user, ty, quantity, expires_at)| {
            Ok(ExpiringHold {
                id: HoldId::from_uuid(uuid(&id)?),
                user_id: UserId::from_uuid(uuid(&user)?),
                ticket_type_id: TicketTypeId::from_uuid(uuid(&ty)?),
                quantity: count(quantity)?,
                expires_at: crate::convert::instant(expires_at)?,
            })
        })
        .collect()
}

/// What each user of `batch` has of `event`: confirmed bookings and active holds (when
/// the purchase limit counts them) and waiting entries.
fn tickets_of_users(
    c: &mut SqliteConnection,
    event: EventId,
    batch: &[Timed],
    counts_tickets: bool,
) -> anyhow::Result<HashMap<UserId, UserTickets>> {
    let mut ids: Vec<String> = batch.iter().map(|t| t.op.user_id().to_string()).collect();
    ids.sort_unstable();
    ids.dedup();
    let event = event.to_string();
    let mut rows: Vec<(String, Option<String>, i32)> = entries::table
        .filter(entries::event_id.eq(&event))
        .filter(entries::user_id.eq_any(&ids))
        .filter(entries::status.eq(WaitlistStatus::Waiting.as_str()))
        .select((
            entries::user_id,
            entries::ticket_type_id.nullable(),
            entries::quantity,
        ))
        .load(c)
        .context("cannot read the waitlist entries of a batch's users")?;
    if counts_tickets {
        let booked: Vec<(String, i32)> = bookings::table
            .filter(bookings::event_id.eq(&event))
            .filter(bookings::user_id.eq_any(&ids))
            .filter(bookings::status.eq(BookingStatus::Confirmed.as_str()))
            .select((bookings::user_id, bookings::quantity))
            .load(c)
            .context("cannot read the bookings of a batch's users")?;
        let held: Vec<(String, i32)> = holds::table
            .filter(holds::event_id.eq(&event))
            .filter(holds::user_id.eq_any(&ids))
            .filter(holds::status.eq(HoldStatus::Active.as_str()))
            .select((holds::user_id, holds::quantity))
            .load(c)
            .context("cannot read the holds of a batch's users")?;
        let counted = booked.into_iter().chain(held);
        rows.extend(counted.map(|(user, quantity)| (user, None, quantity)));
    }
    let mut users: HashMap<UserId, UserTickets> = HashMap::new();
    for (user, waiting_for, quantity) in rows {
        let user = users.entry(UserId::from_uuid(uuid(&user)?)).or_default();
        user.tickets += count(quantity)?;
        if let Some(ty) = waiting_for {
            user.waiting.push(TicketTypeId::from_uuid(uuid(&ty)?));
        }
    }
    Ok(users)
}

/// The first `n` waiting entries of `event`, in queue order.
fn queue_head(c: &mut SqliteConnection, event: EventId, n: usize) -> anyhow::Result<Vec<Queued>> {
    let rows: Vec<(String, String, String, i32)> = entries::table
        .filter(entries::event_id.eq(event.to_string()))
        .filter(entries::status.eq(WaitlistStatus::Waiting.as_str()))
        .order(entries::seq)
        .limit(i64::try_from(n).context("queue read too long")?)
        .select((
            entries::id,
            entries::user_id,
            entries::ticket_type_id,
            entries::quantity,
        ))
        .load(c)
        .context("cannot read the waitlist")?;
    rows.into_iter()
        .map(|(id, user, ty, quantity)| {
            Ok(Queued {
                id: WaitlistEntryId::from_uuid(uuid(&id)?),
                user_id: UserId::from_uuid(uuid(&user)?),
                ticket_type_id: TicketTypeId::from_uuid(uuid(&ty)?),
                quantity: count(quantity)?,
            })
        })
        .collect()
}

/// Writes `plan` (inserts first, then changes of existing rows, then the counters) and
/// raises the event's version. Returns `outcomes` with the queue positions of new
/// entries.
fn write(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    event: EventId,
    read: &Seats,
    mut outcomes: Vec<Outcome>,
    plan: &Plan,
) -> anyhow::Result<Vec<Outcome>> {
    if plan.is_empty() {
        return Ok(outcomes); // every request was refused: nothing changed
    }
    insert_holds(c, plan)?;
    insert_bookings(c, plan)?;
    let seqs = insert_entries(c, plan)?;
    for expiry in &plan.expired {
        diesel::update(holds::table.find(expiry.hold_id.to_string()))
            .filter(holds::status.eq(HoldStatus::Active.as_str()))
            .set((
                holds::status.eq(HoldStatus::Expired.as_str()),
                holds::ended_at.eq(micros(expiry.at)),
            ))
            .execute(c)
            .context("cannot expire a hold")?;
    }
    for promotion in &plan.promotions {
        diesel::update(entries::table.find(promotion.entry_id.to_string()))
            .set((
                entries::status.eq(WaitlistStatus::Promoted.as_str()),
                entries::booking_id.eq(promotion.booking_id.to_string()),
                entries::ended_at.eq(micros(promotion.at)),
            ))
            .execute(c)
            .context("cannot promote a waitlist entry")?;
    }
    diesel::update(events::table.find(event.to_string()))
        .set((
            events::sold.eq(stored_count(plan.seats.sold)?),
            events::held.eq(stored_count(plan.seats.held)?),
            events::waitlist_count.eq(stored_count(plan.waitlist_count)?),
        ))
        .execute(c)
        .context("cannot write event counters")?;
    for t in plan.seats.types.iter().filter(|t| !read.types.contains(t)) {
        diesel::update(ticket_types::table.find(t.id.to_string()))
            .set((
                ticket_types::sold.eq(stored_count(t.sold)?),
                ticket_types::held.eq(stored_count(t.held)?),
            ))
            .execute(c)
            .context("cannot write ticket type counters")?;
    }
    versions::bump(c, board, VersionKey::Event(event))?;
    for entry in outcomes.iter_mut().filter_map(Outcome::entry_mut) {
        let seq = seqs.get(&entry.id).context("an entry was not stored")?;
        entry.queue_seq = u64::try_from(*seq).context("negative waitlist seq")?;
    }
    plan.trace(event);
    Ok(outcomes)
}

fn insert_holds(c: &mut SqliteConnection, plan: &Plan) -> anyhow::Result<()> {
    let rows = plan
        .holds
        .iter()
        .map(|h| {
            Ok((
                holds::id.eq(h.id.to_string()),
                holds::event_id.eq(h.event_id.to_string()),
                holds::ticket_type_id.eq(h.ticket_type_id.to_string()),
                holds::user_id.eq(h.user_id.to_string()),
                holds::quantity.eq(stored_count(h.quantity)?),
                holds::status.eq(HoldStatus::Active.as_str()),
                holds::expires_at.eq(micros(h.expires_at)),
                holds::created_at.eq(micros(h.created_at)),
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        diesel::insert_into(holds::table)
            .values(chunk)
            .execute(c)
            .context("cannot insert holds")?;
    }
    Ok(())
}

fn insert_bookings(c: &mut SqliteConnection, plan: &Plan) -> anyhow::Result<()> {
    let rows = plan
        .bookings
        .iter()
        .map(|b| {
            Ok((
                bookings::id.eq(b.id.to_string()),
                bookings::event_id.eq(b.event_id.to_string()),
                bookings::ticket_type_id.eq(b.ticket_type_id.to_string()),
                bookings::user_id.eq(b.user_id.to_string()),
                bookings::quantity.eq(stored_count(b.quantity)?),
                bookings::status.eq(b.status.as_str()),
                bookings::source.eq(b.source.as_str()),
                bookings::created_at.eq(micros(b.created_at)),
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        diesel::insert_into(bookings::table)
            .values(chunk)
            .execute(c)
            .context("cannot insert bookings")?;
    }
    Ok(())
}

/// Inserts the plan's entries at the end of the queue; returns each one's `seq`.
fn insert_entries(
    c: &mut SqliteConnection,
    plan: &Plan,
) -> anyhow::Result<HashMap<WaitlistEntryId, i64>> {
    if plan.entries.is_empty() {
        return Ok(HashMap::new());
    }
    let last: Option<i64> = entries::table
        .select(max(entries::seq))
        .first(c)
        .context("cannot read the last waitlist seq")?;
    let mut seqs = HashMap::with_capacity(plan.entries.len());
    let mut rows = Vec::with_capacity(plan.entries.len());
    for (e, seq) in plan.entries.iter().zip(last.unwrap_or(0) + 1..) {
        seqs.insert(e.id, seq);
        rows.push((
            entries::id.eq(e.id.to_string()),
            entries::seq.eq(seq),
            entries::event_id.eq(e.event_id.to_string()),
            entries::ticket_type_id.eq(e.ticket_type_id.to_string()),
            entries::user_id.eq(e.user_id.to_string()),
            entries::quantity.eq(stored_count(e.quantity)?),
            entries::status.eq(WaitlistStatus::Waiting.as_str()),
            entries::created_at.eq(micros(e.created_at)),
        ));
    }
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        diesel::insert_into(entries::table)
            .values(chunk)
            .execute(c)
            .context("cannot insert waitlist entries")?;
    }
    Ok(seqs)
}
