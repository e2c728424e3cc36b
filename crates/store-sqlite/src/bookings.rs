//! Bookings: direct booking with waitlist fallback, cancellation, and reads.

use crate::SqliteStore;
use crate::batch::run_batch;
use crate::convert::{count, instant, instant_opt, micros, stored_count, uuid};
use crate::idempotency;
use crate::schema::bookings;
use crate::seat_txn::{OfEvent, SeatTxn};
use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::booking::{Booking, BookingOutcome, BookingSource, BookingStatus, Quantity};
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{BookError, BookRequest, Bookings, CancelBookingError};
use boxoffice_domain::{BookingId, EventId, HoldId, TicketTypeId, Timestamp, UserId};
use diesel::prelude::*;

/// Seats of one ticket type of an event for one user: what a hold, booking or waitlist
/// entry is made for.
pub(crate) struct Claim {
    /// The event.
    pub event_id: EventId,
    /// The ticket type.
    pub ticket_type_id: TicketTypeId,
    /// Who gets the seats.
    pub user_id: UserId,
    /// How many.
    pub quantity: u32,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = bookings, check_for_backend(diesel::sqlite::Sqlite))]
struct BookingRow {
    id: String,
    event_id: String,
    ticket_type_id: String,
    user_id: String,
    quantity: i32,
    status: String,
    source: String,
    hold_id: Option<String>,
    created_at: i64,
    cancelled_at: Option<i64>,
}

impl BookingRow {
    fn into_booking(self) -> anyhow::Result<Booking> {
        Ok(Booking {
            id: BookingId::from_uuid(uuid(&self.id)?),
            event_id: EventId::from_uuid(uuid(&self.event_id)?),
            ticket_type_id: TicketTypeId::from_uuid(uuid(&self.ticket_type_id)?),
            user_id: UserId::from_uuid(uuid(&self.user_id)?),
            quantity: count(self.quantity)?,
            status: self.status.parse().map_err(anyhow::Error::msg)?,
            source: self.source.parse().map_err(anyhow::Error::msg)?,
            created_at: instant(self.created_at)?,
            cancelled_at: instant_opt(self.cancelled_at)?,
        })
    }
}

impl OfEvent for BookingRow {
    fn event_text(&self) -> &str {
        &self.event_id
    }
}

fn find_row(c: &mut SqliteConnection, id: BookingId) -> anyhow::Result<Option<BookingRow>> {
    bookings::table
        .find(id.to_string())
        .select(BookingRow::as_select())
        .first(c)
        .optional()
        .context("cannot read booking")
}

/// One booking as it is now.
pub(crate) fn load_booking(
    c: &mut SqliteConnection,
    id: BookingId,
) -> anyhow::Result<Option<Booking>> {
    find_row(c, id)?.map(BookingRow::into_booking).transpose()
}

/// Inserts confirmed booking `id` of `claim`'s seats (already counted as sold).
pub(crate) fn insert_booking(
    c: &mut SqliteConnection,
    id: BookingId,
    claim: &Claim,
    source: BookingSource,
    hold: Option<HoldId>,
    now: Timestamp,
) -> anyhow::Result<Booking> {
    let row = BookingRow {
        id: id.to_string(),
        event_id: claim.event_id.to_string(),
        ticket_type_id: claim.ticket_type_id.to_string(),
        user_id: claim.user_id.to_string(),
        quantity: stored_count(claim.quantity)?,
        status: BookingStatus::Confirmed.as_str().to_owned(),
        source: source.as_str().to_owned(),
        hold_id: hold.map(|h| h.to_string()),
        created_at: micros(now),
        cancelled_at: None,
    };
    diesel::insert_into(bookings::table)
        .values(&row)
        .execute(c)
        .context("cannot insert booking")?;
    let booking = row.into_booking()?;
    tracing::info!(
        event_id = %booking.event_id,
        booking_id = %booking.id,
        quantity = booking.quantity,
        source = source.as_str(),
        "booked"
    );
    Ok(booking)
}

/// Cancels every confirmed booking of `event`; returns the seats they had.
pub(crate) fn cancel_event_bookings(
    c: &mut SqliteConnection,
    event: EventId,
    now: Timestamp,
) -> anyhow::Result<u32> {
    let confirmed = || {
        bookings::table
            .filter(bookings::event_id.eq(event.to_string()))
            .filter(bookings::status.eq(BookingStatus::Confirmed.as_str()))
    };
    let seats: Option<i64> = confirmed()
        .select(diesel::dsl::sum(bookings::quantity))
        .first(c)
        .context("cannot count booked seats")?;
    diesel::update(confirmed())
        .set((
            bookings::status.eq(BookingStatus::Cancelled.as_str()),
            bookings::cancelled_at.eq(micros(now)),
        ))
        .execute(c)
        .context("cannot cancel bookings")?;
    u32::try_from(seats.unwrap_or(0)).context("booked seats out of range")
}

/// The planner's request for `request`.
fn book_op(request: &BookRequest, now: Timestamp) -> Timed {
    let op = SeatOp::Book {
        id: request.booking_id,
        request: request.seats,
        on_sold_out: request.on_sold_out,
        allow_partial: request.allow_partial,
    };
    Timed { op, now }
}

/// Gives back `quantity` seats of the booking `row` (all when `None`).
fn cancel_seats(
    c: &mut SqliteConnection,
    txn: &mut SeatTxn,
    row: BookingRow,
    quantity: Option<Quantity>,
) -> anyhow::Result<Result<Booking, CancelBookingError>> {
    let booking = row.into_booking()?;
    if booking.status == BookingStatus::Cancelled {
        return Ok(Err(CancelBookingError::AlreadyCancelled));
    }
    let n = quantity.map_or(booking.quantity, Quantity::get);
    if n > booking.quantity {
        return Ok(Err(CancelBookingError::TooMany {
            booked: booking.quantity,
        }));
    }
    txn.cancel_sold(booking.ticket_type_id, n);
    let target = bookings::table.find(booking.id.to_string());
    if n == booking.quantity {
        diesel::update(target)
            .set((
                bookings::status.eq(BookingStatus::Cancelled.as_str()),
                bookings::cancelled_at.eq(micros(txn.now())),
            ))
            .execute(c)
    } else {
        diesel::update(target)
            .set(bookings::quantity.eq(stored_count(booking.quantity - n)?))
            .execute(c)
    }
    .context("cannot cancel booking")?;
    tracing::info!(event_id = %booking.event_id, booking_id = %booking.id, quantity = n, "booking cancelled");
    let cancelled =
        load_booking(c, booking.id)?.context("booking vanished inside its transaction")?;
    Ok(Ok(cancelled))
}

#[async_trait]
impl Bookings for SqliteStore {
    async fn book(
        &self,
        request: &BookRequest,
        now: Timestamp,
    ) -> Result<BookingOutcome, BookError> {
        let event = request.seats.event_id;
        let Some(key) = request.idempotency.clone() else {
            return self
                .batches
                .submit(self, event, book_op(request, now))
                .await
                .with_context(|| format!("cannot book seats of event {event}"))?
                .into_booking();
        };
        // An idempotent request runs alone: its key is read and recorded with its seats.
        let (user, batch, board) = (
            request.seats.user_id,
            [book_op(request, now)],
            self.versions(),
        );
        self.write(move |c| {
            if let Some(earlier) = idempotency::replay(c, user, &key)? {
                return Ok(earlier);
            }
            let outcomes = run_batch(c, &board, event, &batch)?;
            let outcome = outcomes
                .into_iter()
                .next()
                .context("a batch of one answered nothing")?
                .into_booking();
            if let Ok(outcome) = &outcome {
                idempotency::record(c, user, &key, outcome, now)?;
            }
            Ok(outcome)
        })
        .await?
    }

    async fn find_booking(&self, id: BookingId) -> anyhow::Result<Option<Booking>> {
        self.read(move |c| load_booking(c, id)).await
    }

    async fn cancel_booking(
        &self,
        id: BookingId,
        quantity: Option<Quantity>,
        now: Timestamp,
    ) -> Result<Booking, CancelBookingError> {
        let read = move |c: &mut SqliteConnection| find_row(c, id);
        self.row_write(
            now,
            CancelBookingError::NotFound,
            read,
            move |c, txn, row| cancel_seats(c, txn, row, quantity),
        )
        .await
    }

    async fn forget_idempotency_keys(&self, before: Timestamp) -> anyhow::Result<u64> {
        self.write(move |c| idempotency::forget(c, before)).await
    }

    async fn user_bookings(
        &self,
        user: UserId,
        status: Option<BookingStatus>,
        page: &PageRequest<BookingId>,
    ) -> anyhow::Result<Page<Booking, BookingId>> {
        let PageRequest { limit, after } = page.clone();
        self.read(move |c| {
            let mut query = bookings::table
                .filter(bookings::user_id.eq(user.to_string()))
                .order(bookings::id.desc())
                .limit(i64::from(limit) + 1)
                .select(BookingRow::as_select())
                .into_boxed();
            if let Some(status) = status {
                query = query.filter(bookings::status.eq(status.as_str()));
            }
            if let Some(after) = after {
                query = query.filter(bookings::id.lt(after.to_string()));
            }
            let rows = query
                .load(c)
                .context("cannot list bookings")?
                .into_iter()
                .map(BookingRow::into_booking)
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |b| b.id))
        })
        .await
    }
}
