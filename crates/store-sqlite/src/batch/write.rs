//! Writes a plan: holds and bookings first (one statement per table), then the changes
//! of stored rows, the new waitlist entries, the changes of rows the batch inserted, the
//! counters and, for a cancelled event, the cascade over its rows.

use crate::convert::{micros, micros_opt, stored_count};
use crate::outbox;
use crate::schema::{bookings, events, holds, ticket_types, waitlist_entries as entries};
use anyhow::Context as _;
use boxoffice_domain::booking::{BookingStatus, ClosedReason, HoldStatus, WaitlistStatus};
use boxoffice_domain::event::EventStatus;
use boxoffice_domain::planner::{Changes, Plan};
use boxoffice_domain::seats::Seats;
use boxoffice_domain::{EventId, Timestamp, WaitlistEntryId};
use diesel::dsl::max;
use diesel::prelude::*;
use std::collections::HashMap;

/// Rows of one kind inserted by one statement (SQLite binds at most 32,766 values).
const ROWS_PER_INSERT: usize = 1000;

/// Writes `plan` of `event` (whose counters were `read`); returns the `seq` of each new
/// entry, or `None` when the plan writes nothing.
pub(super) fn write(
    c: &mut SqliteConnection,
    event: EventId,
    read: &Seats,
    plan: &Plan,
) -> anyhow::Result<Option<HashMap<WaitlistEntryId, i64>>> {
    if plan.writes_nothing(read) {
        return Ok(None); // every request was refused: nothing changed
    }
    let (stored, inserted) = plan.changes();
    let outbox_seq = outbox::last_seq(c, event)?;
    outbox::insert(c, event, &plan.messages, outbox_seq + 1)?;
    insert_holds(c, plan)?;
    insert_bookings(c, plan)?;
    // A stored entry that ends frees its user's waiting slot for a new entry.
    end_rows(c, &stored)?;
    let seqs = insert_entries(c, plan)?;
    end_rows(c, &inserted)?;
    diesel::update(events::table.find(event.to_string()))
        .set((
            events::capacity.eq(stored_count(plan.seats.capacity)?),
            events::sold.eq(stored_count(plan.seats.sold)?),
            events::held.eq(stored_count(plan.seats.held)?),
            events::waitlist_count.eq(stored_count(plan.waitlist_count)?),
            events::cancelled_seats
                .eq(events::cancelled_seats + stored_count(plan.cancelled_seats)?),
            events::outbox_seq.eq(outbox_seq + i64::try_from(plan.messages.len())?),
        ))
        .execute(c)
        .context("cannot write event counters")?;
    for t in plan.changed_types(read) {
        let quantity = t.quantity.map(stored_count).transpose()?;
        diesel::update(ticket_types::table.find(t.id.to_string()))
            .set((
                ticket_types::sold.eq(stored_count(t.sold)?),
                ticket_types::held.eq(stored_count(t.held)?),
                ticket_types::quantity.eq(quantity),
                ticket_types::price_cents.eq(t.price_cents),
                ticket_types::retired.eq(t.retired),
            ))
            .execute(c)
            .context("cannot write a ticket type")?;
    }
    if let Some(at) = plan.cancelled_at {
        cascade(c, event, at)?;
    }
    Ok(Some(seqs))
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
                holds::price_cents.eq(h.price_cents),
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
        .map(|new| {
            let b = &new.booking;
            Ok((
                bookings::id.eq(b.id.to_string()),
                bookings::event_id.eq(b.event_id.to_string()),
                bookings::ticket_type_id.eq(b.ticket_type_id.to_string()),
                bookings::user_id.eq(b.user_id.to_string()),
                bookings::quantity.eq(stored_count(b.quantity)?),
                bookings::tickets_issued.eq(Some(stored_count(b.quantity)?)),
                bookings::status.eq(b.status.as_str()),
                bookings::source.eq(b.source.as_str()),
                bookings::hold_id.eq(new.hold_id.map(|h| h.to_string())),
                bookings::created_at.eq(micros(b.created_at)),
                bookings::price_cents.eq(b.price_cents),
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

/// Ends holds and entries and writes cancelled bookings, one row at a time (statements
/// are function calls here, not round trips).
fn end_rows(c: &mut SqliteConnection, changes: &Changes<'_>) -> anyhow::Result<()> {
    for end in &changes.ended_holds {
        let ended = diesel::update(holds::table.find(end.hold_id.to_string()))
            .filter(holds::status.eq(HoldStatus::Active.as_str()))
            .set((
                holds::status.eq(end.status.as_str()),
                holds::ended_at.eq(micros(end.at)),
            ))
            .execute(c)
            .context("cannot end a hold")?;
        anyhow::ensure!(ended == 1, "hold {} was not active", end.hold_id);
    }
    for end in &changes.ended_entries {
        let ended = diesel::update(entries::table.find(end.entry_id.to_string()))
            .filter(entries::status.eq(WaitlistStatus::Waiting.as_str()))
            .set((
                entries::status.eq(end.status.as_str()),
                entries::booking_id.eq(end.booking_id.map(|b| b.to_string())),
                entries::ended_at.eq(micros(end.at)),
                entries::closed_reason.eq(end.closed_reason.map(ClosedReason::as_str)),
            ))
            .execute(c)
            .context("cannot end a waitlist entry")?;
        anyhow::ensure!(ended == 1, "entry {} was not waiting", end.entry_id);
    }
    for b in &changes.changed_bookings {
        let changed = diesel::update(bookings::table.find(b.id.to_string()))
            .filter(bookings::status.eq(BookingStatus::Confirmed.as_str()))
            .set((
                bookings::quantity.eq(stored_count(b.quantity)?),
                bookings::status.eq(b.status.as_str()),
                bookings::cancelled_at.eq(micros_opt(b.cancelled_at)),
            ))
            .execute(c)
            .context("cannot cancel a booking")?;
        anyhow::ensure!(changed == 1, "booking {} was not confirmed", b.id);
    }
    Ok(())
}

/// The rows of an event cancelled at `at`: confirmed bookings are cancelled, active
/// holds released, waiting entries closed; then the event's status.
fn cascade(c: &mut SqliteConnection, event: EventId, at: Timestamp) -> anyhow::Result<()> {
    let (id, at) = (event.to_string(), micros(at));
    diesel::update(bookings::table)
        .filter(bookings::event_id.eq(&id))
        .filter(bookings::status.eq(BookingStatus::Confirmed.as_str()))
        .set((
            bookings::status.eq(BookingStatus::Cancelled.as_str()),
            bookings::cancelled_at.eq(at),
        ))
        .execute(c)
        .context("cannot cancel bookings")?;
    diesel::update(holds::table)
        .filter(holds::event_id.eq(&id))
        .filter(holds::status.eq(HoldStatus::Active.as_str()))
        .set((
            holds::status.eq(HoldStatus::Released.as_str()),
            holds::ended_at.eq(at),
        ))
        .execute(c)
        .context("cannot release holds")?;
    diesel::update(entries::table)
        .filter(entries::event_id.eq(&id))
        .filter(entries::status.eq(WaitlistStatus::Waiting.as_str()))
        .set((
            entries::status.eq(WaitlistStatus::Closed.as_str()),
            entries::ended_at.eq(at),
            entries::closed_reason.eq(ClosedReason::EventCancelled.as_str()),
        ))
        .execute(c)
        .context("cannot close the waitlist")?;
    diesel::update(events::table.find(&id))
        .set((
            events::status.eq(EventStatus::Cancelled.as_str()),
            events::cancelled_at.eq(at),
        ))
        .execute(c)
        .context("cannot cancel the event")?;
    Ok(())
}
