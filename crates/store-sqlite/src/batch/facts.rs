//! What the planner reads of one event inside the writer's transaction (which is the
//! event's lock): counters and sale terms, the holds that expire during the batch, what
//! each requester has, the head of the queue and the rows the batch names.

use crate::convert::{count, instant, micros, uuid};
use crate::rows::{load_booking, load_entry, load_hold};
use crate::schema::{bookings, holds, waitlist_entries as entries};
use anyhow::Context as _;
use boxoffice_domain::booking::{
    Booking, BookingStatus, Hold, HoldStatus, WaitlistEntry, WaitlistStatus,
};
use boxoffice_domain::event::Event;
use boxoffice_domain::planner::{Closable, ExpiringHold, Queued, SeatOp, Timed, UserTickets};
use boxoffice_domain::seats::{SaleTerms, Seats, TypeSeats};
use boxoffice_domain::{
    BookingId, EventId, HoldId, TicketTypeId, Timestamp, UserId, WaitlistEntryId,
};
use diesel::prelude::*;
use std::collections::HashMap;

/// The seat counters of `event`.
pub(super) fn seats_of(event: &Event) -> Seats {
    Seats {
        capacity: event.details.capacity,
        sold: event.sold,
        held: event.held,
        types: event
            .ticket_types
            .iter()
            .map(|t| TypeSeats {
                id: t.id,
                quantity: t.quantity,
                price_cents: t.price_cents,
                retired: t.retired,
                sold: t.sold,
                held: t.held,
            })
            .collect(),
    }
}

/// The sale terms of `event`.
pub(super) fn terms_of(event: &Event) -> SaleTerms {
    SaleTerms {
        status: event.status,
        sales_open_at: event.details.sales_open_at,
        sales_close_at: event.details.sales_close_at,
        starts_at: event.details.starts_at,
        max_tickets_per_user: event.details.max_tickets_per_user,
    }
}

/// The event's active holds that expire by `last`.
pub(super) fn expiring_holds(
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
                expires_at: instant(expires_at)?,
            })
        })
        .collect()
}

/// What each of `users` has of `event`: waiting entries, and confirmed bookings and
/// active holds when the purchase limit counts them.
pub(super) fn tickets_of_users(
    c: &mut SqliteConnection,
    event: EventId,
    users: &[UserId],
    counts_tickets: bool,
) -> anyhow::Result<HashMap<UserId, UserTickets>> {
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<String> = users.iter().map(ToString::to_string).collect();
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
pub(super) fn queue_head(
    c: &mut SqliteConnection,
    event: EventId,
    n: usize,
) -> anyhow::Result<Vec<Queued>> {
    let limit = i64::try_from(n).context("queue read too long")?;
    waiting_entries(c, event, None, limit)
}

/// The waiting entries of `event` that `closable` names (none: no statement), in queue
/// order: what [`EventFacts::closable`](boxoffice_domain::planner::EventFacts::closable)
/// holds.
pub(super) fn closable(
    c: &mut SqliteConnection,
    event: EventId,
    closable: &Closable,
) -> anyhow::Result<Vec<Queued>> {
    if closable.is_empty() {
        return Ok(Vec::new());
    }
    waiting_entries(c, event, Some(closable), i64::MAX)
}

/// The first `limit` waiting entries of `event` (those `only` names, when given), in
/// queue order.
fn waiting_entries(
    c: &mut SqliteConnection,
    event: EventId,
    only: Option<&Closable>,
    limit: i64,
) -> anyhow::Result<Vec<Queued>> {
    let mut query = entries::table
        .filter(entries::event_id.eq(event.to_string()))
        .filter(entries::status.eq(WaitlistStatus::Waiting.as_str()))
        .into_boxed();
    if let Some(only) = only {
        let types: Vec<String> = only.types.iter().map(ToString::to_string).collect();
        let larger_than = match only.larger_than {
            Some(n) => i32::try_from(n).context("capacity too large")?,
            None => i32::MAX, // no entry wants more
        };
        query = query.filter(
            entries::ticket_type_id
                .eq_any(types)
                .or(entries::quantity.gt(larger_than)),
        );
    }
    let rows: Vec<(String, String, String, i32)> = query
        .order(entries::seq)
        .limit(limit)
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

/// The event's rows that `batch` names: holds to confirm or release, bookings to cancel,
/// entries to leave.
#[derive(Default)]
pub(super) struct Named {
    pub holds: HashMap<HoldId, (Hold, HoldStatus)>,
    pub bookings: HashMap<BookingId, Booking>,
    pub entries: HashMap<WaitlistEntryId, WaitlistEntry>,
}

/// Reads the rows of `event` that `batch` names.
pub(super) fn named_rows(
    c: &mut SqliteConnection,
    event: EventId,
    batch: &[Timed],
) -> anyhow::Result<Named> {
    let mut named = Named::default();
    for timed in batch {
        match timed.op {
            SeatOp::Confirm { hold_id, .. } | SeatOp::Release { hold_id, .. } => {
                if let Some(row) = load_hold(c, hold_id)?.filter(|(h, _)| h.event_id == event) {
                    named.holds.insert(hold_id, row);
                }
            }
            SeatOp::Cancel { booking_id, .. } => {
                if let Some(b) = load_booking(c, booking_id)?.filter(|b| b.event_id == event) {
                    named.bookings.insert(booking_id, b);
                }
            }
            SeatOp::Leave { entry_id, .. } => {
                if let Some(e) = load_entry(c, entry_id)?.filter(|e| e.event_id == event) {
                    named.entries.insert(entry_id, e);
                }
            }
            _ => {}
        }
    }
    Ok(named)
}
