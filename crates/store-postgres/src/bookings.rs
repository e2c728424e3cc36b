//! [`Bookings`]: direct bookings with idempotency keys and waitlist fallback, and
//! cancellations that promote the waitlist.

use crate::PgStore;
use crate::keyed::run_keyed_in;
use crate::models::BookingRow;
use crate::schema::{bookings, idempotency_keys};
use crate::versions::Publisher;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::booking::{Booking, BookingOutcome, BookingStatus, Quantity};
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{
    BookError, BookRequest, Bookings, CancelBookingError, Idempotency, Keyed,
};
use boxoffice_domain::{BookingId, EventId, HoldId, Timestamp, UserId};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// How a booking request ended without a store failure.
type Booked = Result<BookingOutcome, BookError>;

/// Booking `id` as it is now.
pub(crate) async fn load_booking(
    conn: &mut AsyncPgConnection,
    id: BookingId,
) -> anyhow::Result<Option<Booking>> {
    bookings::table
        .find(id.as_uuid())
        .select(BookingRow::as_select())
        .first::<BookingRow>(conn)
        .await
        .optional()
        .with_context(|| format!("cannot read booking {id}"))?
        .map(BookingRow::into_booking)
        .transpose()
}

/// An idempotent `book` in one transaction (see `keyed`).
async fn book_in(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    request: &BookRequest,
    key: &Idempotency,
    now: Timestamp,
) -> anyhow::Result<Booked> {
    let timed = Timed {
        op: SeatOp::book(request),
        now,
    };
    let keyed = run_keyed_in(
        conn,
        versions,
        request.seats.event_id,
        request.seats.user_id,
        key,
        timed,
    )
    .await?;
    Ok(match keyed {
        Keyed::Ran(outcome) => outcome.into_booking(),
        Keyed::Repeat(replay) => Ok(BookingOutcome {
            booking: replay.booking,
            waitlist_entry: replay.waitlist_entry,
        }),
        Keyed::KeyReused => Err(BookError::IdempotencyKeyReused),
    })
}

#[async_trait]
impl Bookings for PgStore {
    async fn book(
        &self,
        request: &BookRequest,
        now: Timestamp,
    ) -> Result<BookingOutcome, BookError> {
        let event = request.seats.event_id;
        let Some(key) = &request.idempotency else {
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
        self.transaction(async |conn| book_in(conn, &self.versions, request, key, now).await)
            .await
            .with_context(|| format!("cannot book seats of event {event}"))?
    }

    async fn find_booking(&self, id: BookingId) -> anyhow::Result<Option<Booking>> {
        self.run(async |conn| load_booking(conn, id).await).await
    }

    async fn booking_of_hold(&self, hold: HoldId) -> anyhow::Result<Option<Booking>> {
        self.run(async |conn| {
            bookings::table
                .filter(bookings::hold_id.eq(hold.as_uuid()))
                .select(BookingRow::as_select())
                .first::<BookingRow>(conn)
                .await
                .optional()
                .with_context(|| format!("cannot read the booking of hold {hold}"))
        })
        .await?
        .map(BookingRow::into_booking)
        .transpose()
    }

    async fn cancel_booking(
        &self,
        id: BookingId,
        quantity: Option<Quantity>,
        now: Timestamp,
    ) -> Result<Booking, CancelBookingError> {
        let event = self
            .run(async |conn| {
                bookings::table
                    .find(id.as_uuid())
                    .select(bookings::event_id)
                    .first::<Uuid>(conn)
                    .await
                    .optional()
                    .with_context(|| format!("cannot read booking {id}"))
            })
            .await?;
        let Some(event) = event.map(EventId::from_uuid) else {
            return Err(CancelBookingError::NotFound);
        };
        let op = SeatOp::Cancel {
            booking_id: id,
            quantity,
        };
        self.seats(event, Timed { op, now })
            .await
            .with_context(|| format!("cannot cancel booking {id}"))?
            .into_cancellation()
    }

    async fn forget_idempotency_keys(&self, before: Timestamp) -> anyhow::Result<u64> {
        let deleted = self
            .run(async |conn| {
                diesel::delete(
                    idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)),
                )
                .execute(conn)
                .await
                .context("cannot delete old idempotency keys")
            })
            .await?;
        Ok(u64::try_from(deleted)?)
    }

    async fn user_bookings(
        &self,
        user: UserId,
        status: Option<BookingStatus>,
        page: &PageRequest<BookingId>,
    ) -> anyhow::Result<Page<Booking, BookingId>> {
        let mut select = bookings::table
            .filter(bookings::user_id.eq(user.as_uuid()))
            .order(bookings::id.desc())
            .limit(i64::from(page.limit) + 1)
            .select(BookingRow::as_select())
            .into_boxed();
        if let Some(status) = status {
            select = select.filter(bookings::status.eq(status.as_str()));
        }
        if let Some(after) = page.after {
            select = select.filter(bookings::id.lt(after.as_uuid()));
        }
        let rows = self
            .run(async |conn| {
                select
                    .load::<BookingRow>(conn)
                    .await
                    .with_context(|| format!("cannot list bookings of user {user}"))
            })
            .await?;
        let page = Page::from_rows(rows, page.limit, |row: &BookingRow| {
            BookingId::from_uuid(row.id)
        });
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(BookingRow::into_booking)
                .collect::<anyhow::Result<_>>()?,
            next: page.next,
        })
    }
}
