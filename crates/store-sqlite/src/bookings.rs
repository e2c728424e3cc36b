//! Bookings: direct booking with waitlist fallback, cancellation, and reads.

use crate::SqliteStore;
use crate::idempotency;
use crate::rows::{BookingRow, load_booking};
use crate::schema::bookings;
use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::booking::{Booking, BookingOutcome, BookingStatus, Quantity};
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{BookError, BookRequest, Bookings, CancelBookingError, Keyed};
use boxoffice_domain::{BookingId, HoldId, Timestamp, UserId};
use diesel::prelude::*;

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
                .seats(
                    event,
                    Timed {
                        op: SeatOp::book(request),
                        now,
                    },
                )
                .await
                .with_context(|| format!("cannot book seats of event {event}"))?
                .into_booking();
        };
        // An idempotent request runs alone: its key is read and recorded with its seats.
        let (user, board) = (request.seats.user_id, self.versions());
        let timed = Timed {
            op: SeatOp::book(request),
            now,
        };
        let keyed = self
            .write(move |c| idempotency::run_keyed_in(c, &board, event, user, &key, timed))
            .await
            .with_context(|| format!("cannot book seats of event {event}"))?;
        match keyed {
            Keyed::Ran(outcome) => outcome.into_booking(),
            Keyed::Repeat(replay) => Ok(BookingOutcome {
                booking: replay.booking,
                waitlist_entry: replay.waitlist_entry,
            }),
            Keyed::KeyReused => Err(BookError::IdempotencyKeyReused),
        }
    }

    async fn find_booking(&self, id: BookingId) -> anyhow::Result<Option<Booking>> {
        self.read(move |c| load_booking(c, id)).await
    }

    async fn booking_of_hold(&self, hold: HoldId) -> anyhow::Result<Option<Booking>> {
        self.read(move |c| {
            bookings::table
                .filter(bookings::hold_id.eq(hold.to_string()))
                .select(BookingRow::as_select())
                .first::<BookingRow>(c)
                .optional()
                .context("cannot read the booking of a hold")?
                .map(BookingRow::into_booking)
                .transpose()
        })
        .await
    }

    async fn cancel_booking(
        &self,
        id: BookingId,
        quantity: Option<Quantity>,
        now: Timestamp,
    ) -> Result<Booking, CancelBookingError> {
        let Some(booking) = self.find_booking(id).await? else {
            return Err(CancelBookingError::NotFound);
        };
        let op = SeatOp::Cancel {
            booking_id: id,
            quantity,
        };
        self.seats(booking.event_id, Timed { op, now })
            .await
            .with_context(|| format!("cannot cancel booking {id}"))?
            .into_cancellation()
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
