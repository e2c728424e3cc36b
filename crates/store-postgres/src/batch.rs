//! The batch runner: holds, bookings and waitlist joins of one event decided together
//! by the domain's seat planner, in one transaction. It locks the event row, reads the
//! facts the planner needs (a handful of statements whatever the batch's size), plans,
//! writes the plan with one statement per table, pipelined, publishes the event's new
//! version and commits once.

use crate::PgStore;
use crate::models::{NewBookingRow, NewEntryRow, NewHoldRow, to_i32, to_u32};
use crate::schema::{events, holds, waitlist_entries};
use crate::seat_txn::{ACTIVE, insert_bookings, insert_holds, lock_event, write_type};
use crate::versions::Publisher;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::booking::WaitlistStatus;
use boxoffice_domain::group_commit::{BatchRunner, GroupCommit};
use boxoffice_domain::planner::{
    EventFacts, ExpiringHold, Expiry, NeedQueue, Outcome, Plan, Promotion, Queued, Refusal, Timed,
    UserTickets, plan,
};
use boxoffice_domain::ports::VersionKey;
use boxoffice_domain::seats::Seats;
use boxoffice_domain::{EventId, HoldId, TicketTypeId, Timestamp, UserId, WaitlistEntryId};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Int4, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::try_join_all;
use std::collections::HashMap;
use uuid::Uuid;

/// Requests of one event queued in this process, run in batches.
pub(crate) type SeatBatches = GroupCommit<Timed, Outcome>;

/// Most requests in one batch (a booking insert binds 10 parameters per row).
pub(crate) const BATCH_LIMIT: usize = 256;

/// Waiting entries read when promotion may happen.
const QUEUE_READ: usize = 100;

/// What the batch's users have of event `$1`: their confirmed bookings and active holds
/// (when `$3`, the purchase limit needs them) and their waiting entries.
const TICKETS_OF_USERS: &str = "
    SELECT user_id, NULL::uuid AS waiting_for, quantity FROM bookings
     WHERE $3 AND event_id = $1 AND user_id = ANY($2) AND status = 'confirmed'
    UNION ALL
    SELECT user_id, NULL::uuid, quantity FROM holds
     WHERE $3 AND event_id = $1 AND user_id = ANY($2) AND status = 'active'
    UNION ALL
    SELECT user_id, ticket_type_id, quantity FROM waitlist_entries
     WHERE event_id = $1 AND user_id = ANY($2) AND status = 'waiting'";

/// Ends holds as expired: `$1` ids, `$2` when.
const EXPIRE_HOLDS: &str = "
    UPDATE holds SET status = 'expired', ended_at = v.at
      FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at)
     WHERE holds.id = v.id AND holds.status = 'active'";

/// Marks entries promoted: `$1` entry ids, `$2` their bookings, `$3` when.
const PROMOTE_ENTRIES: &str = "
    UPDATE waitlist_entries SET status = 'promoted', booking_id = v.booking, ended_at = v.at
      FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS v(id, booking, at)
     WHERE waitlist_entries.id = v.id AND waitlist_entries.status = 'waiting'";

#[derive(QueryableByName)]
struct TicketRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    waiting_for: Option<Uuid>,
    #[diesel(sql_type = Int4)]
    quantity: i32,
}

#[async_trait]
impl BatchRunner<Timed, Outcome> for PgStore {
    async fn run(&self, event: EventId, batch: Vec<Timed>) -> anyhow::Result<Vec<Outcome>> {
        self.transaction(async |conn| run_batch(conn, &self.versions, event, &batch).await)
            .await
            .with_context(|| format!("cannot run a batch of {} requests", batch.len()))
    }
}

/// Decides and writes `batch` inside the caller's transaction.
pub(crate) async fn run_batch(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    event: EventId,
    batch: &[Timed],
) -> anyhow::Result<Vec<Outcome>> {
    let Some((seats, terms, waitlist_count)) = lock_event(conn, event).await? else {
        return Ok(vec![Outcome::Refused(Refusal::NotFound); batch.len()]);
    };
    let last = batch
        .iter()
        .map(|t| t.now)
        .max()
        .context("an empty batch")?;
    let expiring = if seats.held > 0 {
        expiring_holds(conn, event, last).await?
    } else {
        Vec::new() // nothing held: no active hold
    };
    let counts_tickets = terms.max_tickets_per_user.is_some();
    let users = tickets_of_users(conn, event, batch, counts_tickets).await?;
    let free = seats.types.iter().any(|t| seats.free(t.id) > 0);
    // Read the queue only where promotion may happen; the planner asks for more.
    let mut read = match waitlist_count {
        0 => None,
        _ if free || !expiring.is_empty() => Some(QUEUE_READ),
        _ => Some(0),
    };
    loop {
        let (queue, queue_complete) = match read {
            None => (Vec::new(), true),
            Some(0) => (Vec::new(), false),
            Some(n) => {
                let queue = queue_head(conn, event, n).await?;
                let complete = queue.len() < n;
                (queue, complete)
            }
        };
        let facts = EventFacts {
            event_id: event,
            seats: seats.clone(),
            terms,
            waitlist_count,
            expiring: expiring.clone(),
            queue,
            queue_complete,
            users: users.clone(),
        };
        match plan(facts, batch) {
            Ok((outcomes, plan)) => {
                return write(conn, versions, event, &seats, outcomes, plan).await;
            }
            Err(NeedQueue { needed }) => read = Some(needed),
        }
    }
}

/// The event's active holds that expire by `last`.
async fn expiring_holds(
    conn: &mut AsyncPgConnection,
    event: EventId,
    last: Timestamp,
) -> anyhow::Result<Vec<ExpiringHold>> {
    let rows = holds::table
        .filter(holds::event_id.eq(event.as_uuid()))
        .filter(holds::status.eq(ACTIVE))
        .filter(holds::expires_at.le(last))
        .select((
            holds::id,
            holds::user_id,
            holds::ticket_type_id,
            holds::quantity,
            holds::expires_at,
        ))
        .load::<(Uuid, Uuid, Uuid, i32, Timestamp)>(conn)
        .await
        .with_context(|| format!("cannot read the expired holds of event {event}"))?;
    rows.into_iter()
        .map(|(id, user, ty, quantity, expires_at)| {
            Ok(ExpiringHold {
                id: HoldId::from_uuid(id),
                user_id: UserId::from_uuid(user),
                ticket_type_id: TicketTypeId::from_uuid(ty),
                quantity: to_u32(quantity, "hold quantity")?,
                expires_at,
            })
        })
        .collect()
}

/// What each user of `batch` has of `event`, in one statement.
async fn tickets_of_users(
    conn: &mut AsyncPgConnection,
    event: EventId,
    batch: &[Timed],
    counts_tickets: bool,
) -> anyhow::Result<HashMap<UserId, UserTickets>> {
    let mut ids: Vec<Uuid> = batch.iter().map(|t| t.op.user_id().as_uuid()).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = diesel::sql_query(TICKETS_OF_USERS)
        .bind::<SqlUuid, _>(event.as_uuid())
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Bool, _>(counts_tickets)
        .load::<TicketRow>(conn)
        .await
        .with_context(|| format!("cannot read what the users of a batch have of event {event}"))?;
    let mut users: HashMap<UserId, UserTickets> = HashMap::new();
    for row in rows {
        let user = users.entry(UserId::from_uuid(row.user_id)).or_default();
        user.tickets += to_u32(row.quantity, "quantity")?;
        if let Some(ty) = row.waiting_for {
            user.waiting.push(TicketTypeId::from_uuid(ty));
        }
    }
    Ok(users)
}

/// The first `n` waiting entries of `event`, in queue order.
async fn queue_head(
    conn: &mut AsyncPgConnection,
    event: EventId,
    n: usize,
) -> anyhow::Result<Vec<Queued>> {
    let rows = waitlist_entries::table
        .filter(waitlist_entries::event_id.eq(event.as_uuid()))
        .filter(waitlist_entries::status.eq(WaitlistStatus::Waiting.as_str()))
        .order(waitlist_entries::seq.asc())
        .limit(i64::try_from(n).context("queue read too long")?)
        .select((
            waitlist_entries::id,
            waitlist_entries::user_id,
            waitlist_entries::ticket_type_id,
            waitlist_entries::quantity,
        ))
        .load::<(Uuid, Uuid, Uuid, i32)>(conn)
        .await
        .with_context(|| format!("cannot read the waitlist of event {event}"))?;
    rows.into_iter()
        .map(|(id, user, ty, quantity)| {
            Ok(Queued {
                id: WaitlistEntryId::from_uuid(id),
                user_id: UserId::from_uuid(user),
                ticket_type_id: TicketTypeId::from_uuid(ty),
                quantity: to_u32(quantity, "entry quantity")?,
            })
        })
        .collect()
}

/// Writes `plan`: the inserts and the counters pipelined in one round trip, then the
/// changes of existing rows; publishes the event's version. Returns `outcomes` with the
/// queue positions of new entries.
async fn write(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    event: EventId,
    read: &Seats,
    mut outcomes: Vec<Outcome>,
    plan: Plan,
) -> anyhow::Result<Vec<Outcome>> {
    if plan.is_empty() {
        return Ok(outcomes); // every request was refused: nothing changed
    }
    let holds = plan
        .holds
        .iter()
        .map(NewHoldRow::new)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let bookings = plan
        .bookings
        .iter()
        .map(|b| NewBookingRow::new(b, None))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let entries = plan
        .entries
        .iter()
        .map(|e| {
            Ok(NewEntryRow {
                id: e.id.as_uuid(),
                event_id: e.event_id.as_uuid(),
                ticket_type_id: e.ticket_type_id.as_uuid(),
                user_id: e.user_id.as_uuid(),
                quantity: to_i32(e.quantity, "entry quantity")?,
                created_at: e.created_at,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let changed = plan.seats.types.iter().filter(|t| !read.types.contains(t));
    let shared: &AsyncPgConnection = conn;
    let (version, types, inserted, seqs) = tokio::join!(
        write_event(shared, event, &plan),
        try_join_all(changed.map(|t| write_type(shared, t))),
        async {
            tokio::try_join!(
                insert_holds(shared, &holds),
                insert_bookings(shared, &bookings)
            )
        },
        insert_entries(shared, &entries),
    );
    let version = version?;
    types?;
    inserted?;
    let seqs = seqs?;
    tokio::try_join!(
        expire(shared, &plan.expired),
        promote(shared, &plan.promotions)
    )?;
    versions.publish(VersionKey::Event(event), version).await?;
    for entry in outcomes.iter_mut().filter_map(Outcome::entry_mut) {
        let seq = seqs
            .get(&entry.id.as_uuid())
            .context("an entry was not stored")?;
        entry.queue_seq = u64::try_from(*seq).context("negative waitlist seq")?;
    }
    plan.trace(event);
    Ok(outcomes)
}

/// Writes the event's counters and bumps its version; returns the new version.
async fn write_event(
    mut conn: &AsyncPgConnection,
    event: EventId,
    plan: &Plan,
) -> anyhow::Result<i64> {
    diesel::update(events::table.find(event.as_uuid()))
        .set((
            events::sold.eq(to_i32(plan.seats.sold, "sold")?),
            events::held.eq(to_i32(plan.seats.held, "held")?),
            events::waitlist_count.eq(to_i32(plan.waitlist_count, "waitlist_count")?),
            events::version.eq(events::version + 1),
        ))
        .returning(events::version)
        .get_result(&mut conn)
        .await
        .with_context(|| format!("cannot write the counters of event {event}"))
}

/// Inserts `rows`; returns each entry's `seq` by id.
async fn insert_entries(
    mut conn: &AsyncPgConnection,
    rows: &[NewEntryRow],
) -> anyhow::Result<HashMap<Uuid, i64>> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let seqs = diesel::insert_into(waitlist_entries::table)
        .values(rows)
        .returning((waitlist_entries::id, waitlist_entries::seq))
        .get_results::<(Uuid, i64)>(&mut conn)
        .await
        .context("cannot insert waitlist entries")?;
    Ok(seqs.into_iter().collect())
}

/// Ends `expired` holds (none: no statement).
async fn expire(mut conn: &AsyncPgConnection, expired: &[Expiry]) -> anyhow::Result<()> {
    if expired.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = expired.iter().map(|e| e.hold_id.as_uuid()).collect();
    let at: Vec<Timestamp> = expired.iter().map(|e| e.at).collect();
    let ended = diesel::sql_query(EXPIRE_HOLDS)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Timestamptz>, _>(&at)
        .execute(&mut conn)
        .await
        .context("cannot expire holds")?;
    anyhow::ensure!(ended == ids.len(), "{ended} of {} holds expired", ids.len());
    Ok(())
}

/// Marks `promotions` (none: no statement).
async fn promote(mut conn: &AsyncPgConnection, promotions: &[Promotion]) -> anyhow::Result<()> {
    if promotions.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = promotions.iter().map(|p| p.entry_id.as_uuid()).collect();
    let bookings: Vec<Uuid> = promotions.iter().map(|p| p.booking_id.as_uuid()).collect();
    let at: Vec<Timestamp> = promotions.iter().map(|p| p.at).collect();
    let promoted = diesel::sql_query(PROMOTE_ENTRIES)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<SqlUuid>, _>(&bookings)
        .bind::<Array<Timestamptz>, _>(&at)
        .execute(&mut conn)
        .await
        .context("cannot promote waitlist entries")?;
    anyhow::ensure!(
        promoted == ids.len(),
        "{promoted} of {} entries promoted",
        ids.len()
    );
    Ok(())
}
