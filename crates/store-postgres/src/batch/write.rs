//! Writes a plan, pipelined: the counters, the inserts and the changes of stored rows in
//! one round trip (the new waitlist entries in a second one, after the stored entries
//! that end, when any do), then the changes of rows the batch inserted (rare), then,
//! for a cancelled event, the cascade over its rows.

use super::AlreadyWaiting;
use crate::models::{ACTIVE, to_i32};
use crate::outbox;
use crate::schema::{bookings, events, holds, ticket_types, waitlist_entries};
use anyhow::Context as _;
use boxoffice_domain::EventId;
use boxoffice_domain::Timestamp;
use boxoffice_domain::booking::{Booking, Hold, WaitlistEntry};
use boxoffice_domain::booking::{BookingStatus, ClosedReason, HoldStatus, WaitlistStatus};
use boxoffice_domain::event::EventStatus;
use boxoffice_domain::planner::{EntryEnd, HoldEnd, NewBooking, Plan};
use boxoffice_domain::seats::{Seats, TypeSeats};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::try_join_all;
use std::collections::HashMap;
use uuid::Uuid;

/// Inserts active holds, one per array element: id, event, type, user, quantity,
/// expiry, creation, price.
const INSERT_HOLDS: &str = "
    INSERT INTO holds (id, event_id, ticket_type_id, user_id, quantity, expires_at, created_at,
                       price_cents)
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int4[],
                         $6::timestamptz[], $7::timestamptz[], $8::int8[])";

/// Inserts bookings, one per array element: id, event, type, user, quantity (which is
/// also the number of tickets issued), status, source, hold, creation, price.
const INSERT_BOOKINGS: &str = "
    INSERT INTO bookings (id, event_id, ticket_type_id, user_id, quantity, tickets_issued,
                          status, source, hold_id, created_at, price_cents)
    SELECT id, event_id, ticket_type_id, user_id, quantity, quantity,
           status, source, hold_id, created_at, price_cents
      FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int4[],
                  $6::text[], $7::text[], $8::uuid[], $9::timestamptz[], $10::int8[])
           AS v(id, event_id, ticket_type_id, user_id, quantity, status, source, hold_id,
                created_at, price_cents)";

/// Inserts waiting entries in array order (their `seq` follows it): id, event, type,
/// user, quantity, creation.
const INSERT_ENTRIES: &str = "
    INSERT INTO waitlist_entries (id, event_id, ticket_type_id, user_id, quantity, created_at)
    SELECT id, event_id, ticket_type_id, user_id, quantity, created_at
      FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int4[],
                  $6::timestamptz[]) WITH ORDINALITY
           AS v(id, event_id, ticket_type_id, user_id, quantity, created_at, n)
     ORDER BY n
        ON CONFLICT DO NOTHING
    RETURNING id, seq";

/// Ends active holds: `$1` ids, `$2` statuses, `$3` when.
const END_HOLDS: &str = "
    UPDATE holds SET status = v.status, ended_at = v.at
      FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS v(id, status, at)
     WHERE holds.id = v.id AND holds.status = 'active'";

/// Ends waiting entries: `$1` ids, `$2` statuses, `$3` bookings, `$4` when, `$5` why
/// closed.
const END_ENTRIES: &str = "
    UPDATE waitlist_entries SET status = v.status, booking_id = v.booking, ended_at = v.at,
                                closed_reason = v.reason
      FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[], $5::text[])
           AS v(id, status, booking, at, reason)
     WHERE waitlist_entries.id = v.id AND waitlist_entries.status = 'waiting'";

/// Cancels confirmed bookings in whole or part: `$1` ids, `$2` quantities, `$3`
/// statuses, `$4` when cancelled (null when in part).
const CHANGE_BOOKINGS: &str = "
    UPDATE bookings SET quantity = v.quantity, status = v.status, cancelled_at = v.at
      FROM unnest($1::uuid[], $2::int4[], $3::text[], $4::timestamptz[])
           AS v(id, quantity, status, at)
     WHERE bookings.id = v.id AND bookings.status = 'confirmed'";

/// What the batch read of the event under its lock, that the writes depend on.
pub(super) struct Read<'r> {
    /// Its counters.
    pub seats: &'r Seats,
    /// The number of its last outbox message.
    pub outbox_seq: i64,
}

/// Writes `plan` of `event` (whose counters were `read`); returns the event's new
/// version (none when the plan writes nothing) and the `seq` of each new entry.
pub(super) async fn write(
    conn: &mut AsyncPgConnection,
    event: EventId,
    read: &Read<'_>,
    plan: &Plan,
) -> anyhow::Result<Option<(i64, HashMap<Uuid, i64>)>> {
    if plan.writes_nothing(read.seats) {
        return Ok(None); // every request was refused: nothing changed
    }
    let changed = plan.changed_types(read.seats);
    let last_message = read.outbox_seq + i64::try_from(plan.messages.len())?;
    let (stored, inserted) = plan.changes();
    // A stored entry that ends frees its user's waiting slot for a new entry: then the
    // new entries wait for it.
    let entries_first = stored.ended_entries.is_empty();
    let shared: &AsyncPgConnection = conn;
    let (version, types, rows, seqs) = tokio::join!(
        write_event(shared, event, plan, last_message),
        try_join_all(changed.map(|t| write_type(shared, t))),
        async {
            tokio::try_join!(
                insert_holds(shared, &plan.holds),
                insert_bookings(shared, &plan.bookings),
                end_holds(shared, &stored.ended_holds),
                change_bookings(shared, &stored.changed_bookings),
                outbox::insert(shared, event, &plan.messages, read.outbox_seq + 1),
            )
        },
        async {
            if entries_first {
                insert_entries(shared, &plan.entries).await
            } else {
                Ok(HashMap::new())
            }
        },
    );
    let version = version?;
    types?;
    rows?;
    let mut seqs = seqs?;
    if !entries_first {
        end_entries(shared, &stored.ended_entries).await?;
        seqs = insert_entries(shared, &plan.entries).await?;
    }
    if !inserted.is_empty() {
        tokio::try_join!(
            end_holds(shared, &inserted.ended_holds),
            end_entries(shared, &inserted.ended_entries),
            change_bookings(shared, &inserted.changed_bookings),
        )?;
    }
    if let Some(at) = plan.cancelled_at {
        cascade(conn, event, at).await?;
    }
    Ok(Some((version, seqs)))
}

/// Writes the event's counters and its last outbox number, and bumps its version;
/// returns the new version.
async fn write_event(
    mut conn: &AsyncPgConnection,
    event: EventId,
    plan: &Plan,
    outbox_seq: i64,
) -> anyhow::Result<i64> {
    let cancelled = to_i32(plan.cancelled_seats, "cancelled seats")?;
    diesel::update(events::table.find(event.as_uuid()))
        .set((
            events::capacity.eq(to_i32(plan.seats.capacity, "capacity")?),
            events::sold.eq(to_i32(plan.seats.sold, "sold")?),
            events::held.eq(to_i32(plan.seats.held, "held")?),
            events::waitlist_count.eq(to_i32(plan.waitlist_count, "waitlist_count")?),
            events::cancelled_seats.eq(events::cancelled_seats + cancelled),
            events::version.eq(events::version + 1),
            events::outbox_seq.eq(outbox_seq),
        ))
        .returning(events::version)
        .get_result(&mut conn)
        .await
        .with_context(|| format!("cannot write the counters of event {event}"))
}

/// Writes what the planner decides of ticket type `t`: its counters, cap, price and
/// whether it is retired.
async fn write_type(mut conn: &AsyncPgConnection, t: &TypeSeats) -> anyhow::Result<()> {
    diesel::update(ticket_types::table.find(t.id.as_uuid()))
        .set((
            ticket_types::sold.eq(to_i32(t.sold, "type sold")?),
            ticket_types::held.eq(to_i32(t.held, "type held")?),
            ticket_types::quantity.eq(t.quantity.map(|q| to_i32(q, "quantity")).transpose()?),
            ticket_types::price_cents.eq(t.price_cents),
            ticket_types::retired.eq(t.retired),
        ))
        .execute(&mut conn)
        .await
        .with_context(|| format!("cannot write the counters of ticket type {}", t.id))?;
    Ok(())
}

/// Inserts `holds` (none: no statement), with one statement whatever their number.
async fn insert_holds(mut conn: &AsyncPgConnection, holds: &[Hold]) -> anyhow::Result<()> {
    if holds.is_empty() {
        return Ok(());
    }
    let quantities = holds
        .iter()
        .map(|h| to_i32(h.quantity, "hold quantity"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    diesel::sql_query(INSERT_HOLDS)
        .bind::<Array<SqlUuid>, _>(holds.iter().map(|h| h.id.as_uuid()).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(
            holds
                .iter()
                .map(|h| h.event_id.as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<SqlUuid>, _>(
            holds
                .iter()
                .map(|h| h.ticket_type_id.as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<SqlUuid>, _>(
            holds
                .iter()
                .map(|h| h.user_id.as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Int4>, _>(quantities)
        .bind::<Array<Timestamptz>, _>(holds.iter().map(|h| h.expires_at).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(holds.iter().map(|h| h.created_at).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(holds.iter().map(|h| h.price_cents).collect::<Vec<_>>())
        .execute(&mut conn)
        .await
        .context("cannot insert holds")?;
    Ok(())
}

/// Inserts `bookings` (none: no statement), with one statement whatever their number.
async fn insert_bookings(
    mut conn: &AsyncPgConnection,
    bookings: &[NewBooking],
) -> anyhow::Result<()> {
    if bookings.is_empty() {
        return Ok(());
    }
    let all = || bookings.iter().map(|n| &n.booking);
    let quantities = all()
        .map(|b| to_i32(b.quantity, "booking quantity"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    diesel::sql_query(INSERT_BOOKINGS)
        .bind::<Array<SqlUuid>, _>(all().map(|b| b.id.as_uuid()).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(all().map(|b| b.event_id.as_uuid()).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(
            all()
                .map(|b| b.ticket_type_id.as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<SqlUuid>, _>(all().map(|b| b.user_id.as_uuid()).collect::<Vec<_>>())
        .bind::<Array<Int4>, _>(quantities)
        .bind::<Array<Text>, _>(all().map(|b| b.status.as_str()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(all().map(|b| b.source.as_str()).collect::<Vec<_>>())
        .bind::<Array<Nullable<SqlUuid>>, _>(
            bookings
                .iter()
                .map(|n| n.hold_id.map(|h| h.as_uuid()))
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Timestamptz>, _>(all().map(|b| b.created_at).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(all().map(|b| b.price_cents).collect::<Vec<_>>())
        .execute(&mut conn)
        .await
        .context("cannot insert bookings")?;
    Ok(())
}

#[derive(QueryableByName)]
struct Queued {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
}

/// Inserts `entries` in their order (which their `seq` follows); returns each entry's
/// `seq` by id, or [`AlreadyWaiting`] when the one-waiting-entry-per-user index refused
/// one (the transaction must then roll back).
async fn insert_entries(
    mut conn: &AsyncPgConnection,
    entries: &[WaitlistEntry],
) -> anyhow::Result<HashMap<Uuid, i64>> {
    if entries.is_empty() {
        return Ok(HashMap::new());
    }
    let quantities = entries
        .iter()
        .map(|e| to_i32(e.quantity, "entry quantity"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let rows = diesel::sql_query(INSERT_ENTRIES)
        .bind::<Array<SqlUuid>, _>(entries.iter().map(|e| e.id.as_uuid()).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(
            entries
                .iter()
                .map(|e| e.event_id.as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<SqlUuid>, _>(
            entries
                .iter()
                .map(|e| e.ticket_type_id.as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<SqlUuid>, _>(
            entries
                .iter()
                .map(|e| e.user_id.as_uuid())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Int4>, _>(quantities)
        .bind::<Array<Timestamptz>, _>(entries.iter().map(|e| e.created_at).collect::<Vec<_>>())
        .load::<Queued>(&mut conn)
        .await
        .context("cannot insert waitlist entries")?;
    if rows.len() < entries.len() {
        return Err(AlreadyWaiting.into());
    }
    Ok(rows.into_iter().map(|q| (q.id, q.seq)).collect())
}

/// Ends `ended` holds (none: no statement).
async fn end_holds(mut conn: &AsyncPgConnection, ended: &[&HoldEnd]) -> anyhow::Result<()> {
    if ended.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = ended.iter().map(|e| e.hold_id.as_uuid()).collect();
    let statuses: Vec<&str> = ended.iter().map(|e| e.status.as_str()).collect();
    let at: Vec<Timestamp> = ended.iter().map(|e| e.at).collect();
    let n = diesel::sql_query(END_HOLDS)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Text>, _>(&statuses)
        .bind::<Array<Timestamptz>, _>(&at)
        .execute(&mut conn)
        .await
        .context("cannot end holds")?;
    anyhow::ensure!(n == ids.len(), "{n} of {} holds ended", ids.len());
    Ok(())
}

/// Ends `ended` waiting entries (none: no statement).
async fn end_entries(mut conn: &AsyncPgConnection, ended: &[&EntryEnd]) -> anyhow::Result<()> {
    if ended.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = ended.iter().map(|e| e.entry_id.as_uuid()).collect();
    let statuses: Vec<&str> = ended.iter().map(|e| e.status.as_str()).collect();
    let bookings: Vec<Option<Uuid>> = ended
        .iter()
        .map(|e| e.booking_id.map(|b| b.as_uuid()))
        .collect();
    let at: Vec<Timestamp> = ended.iter().map(|e| e.at).collect();
    let reasons: Vec<Option<&str>> = ended
        .iter()
        .map(|e| e.closed_reason.map(ClosedReason::as_str))
        .collect();
    let n = diesel::sql_query(END_ENTRIES)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Text>, _>(&statuses)
        .bind::<Array<Nullable<SqlUuid>>, _>(&bookings)
        .bind::<Array<Timestamptz>, _>(&at)
        .bind::<Array<Nullable<Text>>, _>(&reasons)
        .execute(&mut conn)
        .await
        .context("cannot end waitlist entries")?;
    anyhow::ensure!(n == ids.len(), "{n} of {} entries ended", ids.len());
    Ok(())
}

/// Writes `changed` bookings, cancelled in whole or part (none: no statement).
async fn change_bookings(mut conn: &AsyncPgConnection, changed: &[&Booking]) -> anyhow::Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = changed.iter().map(|b| b.id.as_uuid()).collect();
    let quantities = changed
        .iter()
        .map(|b| to_i32(b.quantity, "booking quantity"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let statuses: Vec<&str> = changed.iter().map(|b| b.status.as_str()).collect();
    let at: Vec<Option<Timestamp>> = changed.iter().map(|b| b.cancelled_at).collect();
    let n = diesel::sql_query(CHANGE_BOOKINGS)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Int4>, _>(&quantities)
        .bind::<Array<Text>, _>(&statuses)
        .bind::<Array<Nullable<Timestamptz>>, _>(&at)
        .execute(&mut conn)
        .await
        .context("cannot cancel bookings")?;
    anyhow::ensure!(n == ids.len(), "{n} of {} bookings cancelled", ids.len());
    Ok(())
}

/// The rows of an event cancelled at `at`: confirmed bookings are cancelled, active
/// holds released, waiting entries closed; then the event's status.
async fn cascade(
    conn: &mut AsyncPgConnection,
    event: EventId,
    at: Timestamp,
) -> anyhow::Result<()> {
    let id = event.as_uuid();
    let shared: &AsyncPgConnection = conn;
    let (mut c1, mut c2, mut c3, mut c4) = (shared, shared, shared, shared);
    tokio::try_join!(
        async {
            diesel::update(bookings::table)
                .filter(bookings::event_id.eq(id))
                .filter(bookings::status.eq(BookingStatus::Confirmed.as_str()))
                .set((
                    bookings::status.eq(BookingStatus::Cancelled.as_str()),
                    bookings::cancelled_at.eq(at),
                ))
                .execute(&mut c1)
                .await
                .context("cannot cancel bookings")
        },
        async {
            diesel::update(holds::table)
                .filter(holds::event_id.eq(id))
                .filter(holds::status.eq(ACTIVE))
                .set((
                    holds::status.eq(HoldStatus::Released.as_str()),
                    holds::ended_at.eq(at),
                ))
                .execute(&mut c2)
                .await
                .context("cannot release holds")
        },
        async {
            diesel::update(waitlist_entries::table)
                .filter(waitlist_entries::event_id.eq(id))
                .filter(waitlist_entries::status.eq(WaitlistStatus::Waiting.as_str()))
                .set((
                    waitlist_entries::status.eq(WaitlistStatus::Closed.as_str()),
                    waitlist_entries::ended_at.eq(at),
                    waitlist_entries::closed_reason.eq(ClosedReason::EventCancelled.as_str()),
                ))
                .execute(&mut c3)
                .await
                .context("cannot close the waitlist")
        },
        async {
            diesel::update(events::table.find(id))
                .set((
                    events::status.eq(EventStatus::Cancelled.as_str()),
                    events::cancelled_at.eq(at),
                ))
                .execute(&mut c4)
                .await
                .context("cannot cancel the event")
        },
    )?;
    Ok(())
}
