//! What the planner reads of one event under its row lock: the counters and sale
//! terms, the holds that expire during the batch, what each requester has, the head of
//! the queue and the rows the batch names. A handful of statements, whatever the batch.

use crate::models::{ACTIVE, BookingRow, EntryRow, HoldRow, to_u32};
use crate::schema::{bookings, events, holds, ticket_types, waitlist_entries};
use anyhow::Context as _;
use boxoffice_domain::booking::{Booking, Hold, HoldStatus, WaitlistEntry, WaitlistStatus};
use boxoffice_domain::planner::{Closable, ExpiringHold, Queued, SeatOp, Timed, UserTickets};
use boxoffice_domain::seats::{SaleTerms, Seats, TypeSeats};
use boxoffice_domain::{
    BookingId, EventId, HoldId, TicketTypeId, Timestamp, UserId, WaitlistEntryId,
};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Int4, Nullable, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;
use uuid::Uuid;

/// What users `$2` have of event `$1`: their waiting entries and, when `$3` (the
/// purchase limit counts them), their confirmed bookings and active holds. One index
/// probe per user and table: filtering the event's rows by `user_id = ANY($2)` instead
/// scanned every waiting entry of a flash sale (15,000 in `flash-big`) per batch.
const TICKETS_OF_USERS: &str = "
    SELECT u.id AS user_id, t.waiting_for, t.quantity
      FROM unnest($2::uuid[]) AS u(id)
     CROSS JOIN LATERAL (
        SELECT NULL::uuid AS waiting_for, quantity FROM bookings
         WHERE $3 AND event_id = $1 AND user_id = u.id AND status = 'confirmed'
        UNION ALL
        SELECT NULL::uuid, quantity FROM holds
         WHERE $3 AND event_id = $1 AND user_id = u.id AND status = 'active'
        UNION ALL
        SELECT ticket_type_id, quantity FROM waitlist_entries
         WHERE event_id = $1 AND user_id = u.id AND status = 'waiting'
     ) AS t";

#[derive(QueryableByName)]
struct TicketRow {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    waiting_for: Option<Uuid>,
    #[diesel(sql_type = Int4)]
    quantity: i32,
}

/// What the seat transaction reads from the locked event row.
#[derive(Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
struct LockedEventRow {
    capacity: i32,
    sold: i32,
    held: i32,
    waitlist_count: i32,
    status: String,
    sales_open_at: Option<Timestamp>,
    sales_close_at: Option<Timestamp>,
    starts_at: Timestamp,
    max_tickets_per_user: Option<i32>,
    outbox_seq: i64,
}

/// An event as its seat transaction reads it under the lock.
pub(super) struct Locked {
    /// Its counters and types, in position order.
    pub seats: Seats,
    /// Its sale terms.
    pub terms: SaleTerms,
    /// Waiting entries.
    pub waitlist_count: u32,
    /// The number of its last outbox message.
    pub outbox_seq: i64,
}

impl LockedEventRow {
    /// The event's counters with those of its `types`.
    fn seats(&self, types: Vec<TypeSeatsRow>) -> anyhow::Result<Seats> {
        Ok(Seats {
            capacity: to_u32(self.capacity, "capacity")?,
            sold: to_u32(self.sold, "sold")?,
            held: to_u32(self.held, "held")?,
            types: types
                .into_iter()
                .map(TypeSeatsRow::into_type_seats)
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// The event's sale terms.
    fn terms(&self, event_id: EventId) -> anyhow::Result<SaleTerms> {
        Ok(SaleTerms {
            status: self
                .status
                .parse()
                .map_err(|e: String| anyhow::anyhow!("event {event_id}: {e}"))?,
            sales_open_at: self.sales_open_at,
            sales_close_at: self.sales_close_at,
            starts_at: self.starts_at,
            max_tickets_per_user: self
                .max_tickets_per_user
                .map(|m| to_u32(m, "max_tickets_per_user"))
                .transpose()?,
        })
    }
}

/// The counters of a ticket type.
#[derive(Queryable, Selectable)]
#[diesel(table_name = ticket_types, check_for_backend(diesel::pg::Pg))]
struct TypeSeatsRow {
    id: Uuid,
    quantity: Option<i32>,
    price_cents: i64,
    retired: bool,
    sold: i32,
    held: i32,
}

impl TypeSeatsRow {
    fn into_type_seats(self) -> anyhow::Result<TypeSeats> {
        Ok(TypeSeats {
            id: TicketTypeId::from_uuid(self.id),
            quantity: self.quantity.map(|q| to_u32(q, "quantity")).transpose()?,
            price_cents: self.price_cents,
            retired: self.retired,
            sold: to_u32(self.sold, "type sold")?,
            held: to_u32(self.held, "type held")?,
        })
    }
}

/// Locks event `event_id`'s row and reads its counters, its ticket types (in position
/// order), its sale terms, how many entries wait and its last outbox number; `None`
/// when there is no such event.
pub(super) async fn lock_event(
    conn: &mut AsyncPgConnection,
    event_id: EventId,
) -> anyhow::Result<Option<Locked>> {
    let Some(row) = events::table
        .find(event_id.as_uuid())
        .select(LockedEventRow::as_select())
        .for_update()
        .first::<LockedEventRow>(conn)
        .await
        .optional()
        .with_context(|| format!("cannot lock event {event_id}"))?
    else {
        return Ok(None);
    };
    // Read once the lock is held, in a statement of its own: a statement that waited
    // for the lock still reads other tables as of its start, so a join would miss the
    // previous holder's writes to the ticket types.
    let types = ticket_types::table
        .filter(ticket_types::event_id.eq(event_id.as_uuid()))
        .order(ticket_types::position.asc())
        .select(TypeSeatsRow::as_select())
        .load::<TypeSeatsRow>(conn)
        .await
        .with_context(|| format!("cannot read ticket types of event {event_id}"))?;
    Ok(Some(Locked {
        seats: row.seats(types)?,
        terms: row.terms(event_id)?,
        waitlist_count: to_u32(row.waitlist_count, "waitlist_count")?,
        outbox_seq: row.outbox_seq,
    }))
}

/// The event's active holds that expire by `last`.
pub(super) async fn expiring_holds(
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

/// What each of `users` has of `event`, in one statement; `counts_tickets` reads their
/// bookings and holds too (the purchase limit counts them).
pub(crate) async fn tickets_of_users(
    conn: &mut AsyncPgConnection,
    event: EventId,
    users: &[UserId],
    counts_tickets: bool,
) -> anyhow::Result<HashMap<UserId, UserTickets>> {
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<Uuid> = users.iter().map(|u| u.as_uuid()).collect();
    let rows = diesel::sql_query(TICKETS_OF_USERS)
        .bind::<SqlUuid, _>(event.as_uuid())
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Bool, _>(counts_tickets)
        .load::<TicketRow>(conn)
        .await
        .with_context(|| format!("cannot read what users have of event {event}"))?;
    let mut tickets: HashMap<UserId, UserTickets> = HashMap::new();
    for row in rows {
        let user = tickets.entry(UserId::from_uuid(row.user_id)).or_default();
        user.tickets += to_u32(row.quantity, "quantity")?;
        if let Some(ty) = row.waiting_for {
            user.waiting.push(TicketTypeId::from_uuid(ty));
        }
    }
    Ok(tickets)
}

/// The first `n` waiting entries of `event`, in queue order.
pub(super) async fn queue_head(
    conn: &mut AsyncPgConnection,
    event: EventId,
    n: usize,
) -> anyhow::Result<Vec<Queued>> {
    let limit = i64::try_from(n).context("queue read too long")?;
    waiting_entries(conn, event, None, limit).await
}

/// The waiting entries of `event` that `closable` names (none: no statement), in queue
/// order: what [`EventFacts::closable`](boxoffice_domain::planner::EventFacts::closable)
/// holds.
pub(super) async fn closable(
    conn: &mut AsyncPgConnection,
    event: EventId,
    closable: &Closable,
) -> anyhow::Result<Vec<Queued>> {
    if closable.is_empty() {
        return Ok(Vec::new());
    }
    waiting_entries(conn, event, Some(closable), i64::MAX).await
}

/// The first `limit` waiting entries of `event` (those `only` names, when given), in
/// queue order.
async fn waiting_entries(
    conn: &mut AsyncPgConnection,
    event: EventId,
    only: Option<&Closable>,
    limit: i64,
) -> anyhow::Result<Vec<Queued>> {
    let mut query = waitlist_entries::table
        .filter(waitlist_entries::event_id.eq(event.as_uuid()))
        .filter(waitlist_entries::status.eq(WaitlistStatus::Waiting.as_str()))
        .into_boxed();
    if let Some(only) = only {
        let types: Vec<Uuid> = only.types.iter().map(|t| t.as_uuid()).collect();
        let larger_than = match only.larger_than {
            Some(n) => i32::try_from(n).context("capacity too large")?,
            None => i32::MAX, // no entry wants more
        };
        query = query.filter(
            waitlist_entries::ticket_type_id
                .eq_any(types)
                .or(waitlist_entries::quantity.gt(larger_than)),
        );
    }
    let rows = query
        .order(waitlist_entries::seq.asc())
        .limit(limit)
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

/// The event's rows that `batch` names: holds to confirm or release, bookings to cancel,
/// entries to leave.
pub(super) struct Named {
    pub holds: HashMap<HoldId, (Hold, HoldStatus)>,
    pub bookings: HashMap<BookingId, Booking>,
    pub entries: HashMap<WaitlistEntryId, WaitlistEntry>,
}

/// Reads the rows `batch` names (as they are under the lock), one statement per table
/// that it names at all.
pub(super) async fn named_rows(
    conn: &mut AsyncPgConnection,
    event: EventId,
    batch: &[Timed],
) -> anyhow::Result<Named> {
    let (mut hold_ids, mut booking_ids, mut entry_ids) = (Vec::new(), Vec::new(), Vec::new());
    for timed in batch {
        match timed.op {
            SeatOp::Confirm { hold_id, .. } | SeatOp::Release { hold_id, .. } => {
                hold_ids.push(hold_id.as_uuid());
            }
            SeatOp::Cancel { booking_id, .. } => booking_ids.push(booking_id.as_uuid()),
            SeatOp::Leave { entry_id, .. } => entry_ids.push(entry_id.as_uuid()),
            _ => {}
        }
    }
    let event = event.as_uuid();
    let mut named = Named {
        holds: HashMap::new(),
        bookings: HashMap::new(),
        entries: HashMap::new(),
    };
    if !hold_ids.is_empty() {
        let rows = holds::table
            .filter(holds::id.eq_any(&hold_ids))
            .filter(holds::event_id.eq(event))
            .select(HoldRow::as_select())
            .load::<HoldRow>(conn)
            .await
            .context("cannot read the holds of a batch")?;
        for row in rows {
            let status: HoldStatus = row.status.parse().map_err(anyhow::Error::msg)?;
            let hold = row.into_hold()?;
            named.holds.insert(hold.id, (hold, status));
        }
    }
    if !booking_ids.is_empty() {
        let rows = bookings::table
            .filter(bookings::id.eq_any(&booking_ids))
            .filter(bookings::event_id.eq(event))
            .select(BookingRow::as_select())
            .load::<BookingRow>(conn)
            .await
            .context("cannot read the bookings of a batch")?;
        for row in rows {
            let booking = row.into_booking()?;
            named.bookings.insert(booking.id, booking);
        }
    }
    if !entry_ids.is_empty() {
        let rows = waitlist_entries::table
            .filter(waitlist_entries::id.eq_any(&entry_ids))
            .filter(waitlist_entries::event_id.eq(event))
            .select(EntryRow::as_select())
            .load::<EntryRow>(conn)
            .await
            .context("cannot read the waitlist entries of a batch")?;
        for row in rows {
            let entry = row.into_entry(0)?; // positions play no part in a plan
            named.entries.insert(entry.id, entry);
        }
    }
    Ok(named)
}
