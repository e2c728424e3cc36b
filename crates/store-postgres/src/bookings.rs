//! [`Bookings`]: direct bookings with idempotency keys and waitlist fallback, and
//! cancellations that promote the waitlist.

use crate::PgStore;
use crate::batch::run_one;
use crate::models::BookingRow;
use crate::schema::{bookings, idempotency_keys};
use crate::versions::Publisher;
use crate::waitlist::load_entry;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::booking::{Booking, BookingOutcome, BookingStatus, Quantity};
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::planner::{SeatOp, Timed};
use boxoffice_domain::ports::{BookError, BookRequest, Bookings, CancelBookingError, Idempotency};
use boxoffice_domain::{BookingId, EventId, HoldId, Timestamp, UserId, WaitlistEntryId};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// How a booking request ended without a store failure.
type Booked = Result<BookingOutcome, BookError>;

/// What the first request with an idempotency key recorded.
#[derive(Queryable)]
struct KeyRow {
    request_hash: String,
    booking_id: Option<Uuid>,
    waitlist_entry_id: Option<Uuid>,
}

/// Booking `id` as it is now.
async fn load_booking(
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

/// Inserts the key row first (waiting for a concurrent request with the same key to end);
/// returns what an earlier request recorded when the key was taken.
async fn claim_key(
    conn: &mut AsyncPgConnection,
    user: UserId,
    key: &Idempotency,
    now: Timestamp,
) -> anyhow::Result<Option<KeyRow>> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user.as_uuid()),
            idempotency_keys::key.eq(&key.key),
            idempotency_keys::request_hash.eq(&key.request_hash),
            idempotency_keys::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .context("cannot insert idempotency key")?;
    if inserted == 1 {
        return Ok(None);
    }
    let earlier = idempotency_keys::table
        .find((user.as_uuid(), &key.key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::booking_id,
            idempotency_keys::waitlist_entry_id,
        ))
        .first::<KeyRow>(conn)
        .await
        .context("cannot read idempotency key")?;
    Ok(Some(earlier))
}

/// The outcome an earlier request with the same key recorded, loaded as it is now.
async fn replay(
    conn: &mut AsyncPgConnection,
    earlier: KeyRow,
    key: &Idempotency,
) -> anyhow::Result<Booked> {
    if earlier.request_hash != key.request_hash {
        return Ok(Err(BookError::IdempotencyKeyReused));
    }
    let booking = match earlier.booking_id {
        Some(id) => load_booking(conn, BookingId::from_uuid(id)).await?,
        None => None,
    };
    let waitlist_entry = match earlier.waitlist_entry_id {
        Some(id) => load_entry(conn, WaitlistEntryId::from_uuid(id)).await?,
        None => None,
    };
    Ok(Ok(BookingOutcome {
        booking,
        waitlist_entry,
    }))
}

/// Records what the request made on its key row, or deletes the row of a failed request.
async fn settle_key(
    conn: &mut AsyncPgConnection,
    user: UserId,
    key: &Idempotency,
    outcome: Option<&BookingOutcome>,
) -> anyhow::Result<()> {
    let row = idempotency_keys::table.find((user.as_uuid(), &key.key));
    match outcome {
        Some(outcome) => {
            diesel::update(row)
                .set((
                    idempotency_keys::booking_id
                        .eq(outcome.booking.as_ref().map(|b| b.id.as_uuid())),
                    idempotency_keys::waitlist_entry_id
                        .eq(outcome.waitlist_entry.as_ref().map(|e| e.id.as_uuid())),
                ))
                .execute(conn)
                .await
        }
        None => diesel::delete(row).execute(conn).await,
    }
    .context("cannot settle idempotency key")?;
    Ok(())
}

/// An idempotent `book` in one transaction: the key row first, then a batch of one.
async fn book_in(
    conn: &mut AsyncPgConnection,
    versions: &Publisher,
    request: &BookRequest,
    now: Timestamp,
) -> anyhow::Result<Booked> {
    let user = request.seats.user_id;
    if let Some(key) = &request.idempotency
        && let Some(earlier) = claim_key(conn, user, key, now).await?
    {
        return replay(conn, earlier, key).await;
    }
    let event = request.seats.event_id;
    let outcome = run_one(
        conn,
        versions,
        event,
        Timed {
            op: SeatOp::book(request),
            now,
        },
    )
    .await?;
    let outcome = outcome.into_booking();
    if let Some(key) = &request.idempotency {
        settle_key(conn, user, key, outcome.as_ref().ok()).await?;
    }
    Ok(outcome)
}

#[async_trait]
impl Bookings for PgStore {
    async fn book(
        &self,
        request: &BookRequest,
        now: Timestamp,
    ) -> Result<BookingOutcome, BookError> {
        let event = request.seats.event_id;
        if request.idempotency.is_none() {
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
        }
        self.transaction(async |conn| book_in(conn, &self.versions, request, now).await)
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
