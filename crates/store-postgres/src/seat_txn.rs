//! The seat transaction of `docs/seat-accounting.md`, shared by every operation that
//! takes or returns seats: lock the event row, sweep its expired holds, promote its
//! waitlist, let the operation change [`Seats`], then write the counters back.
//!
//! The event row is the first lock a seat transaction takes (only a booking's own
//! idempotency-key row comes before it), and a transaction never locks two events, so
//! seat transactions serialise per event and cannot deadlock.

use crate::models::{NewBookingRow, NewHoldRow, to_i32, to_u32};
use crate::schema::{bookings, events, holds, ticket_types, waitlist_entries};
use crate::versions::Publisher;
use anyhow::Context as _;
use boxoffice_domain::booking::{Booking, BookingSource, BookingStatus, WaitlistStatus};
use boxoffice_domain::event::EventStatus;
use boxoffice_domain::ports::VersionKey;
use boxoffice_domain::seats::{self, SaleTerms, Seats, Taken, TypeSeats, Waiting};
use boxoffice_domain::{
    BookingId, EventId, HoldId, TicketTypeId, Timestamp, UserId, WaitlistEntryId,
};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::try_join_all;
use uuid::Uuid;

/// Waiting entries read per promotion round.
const PROMOTION_BATCH: i64 = 100;

/// The stored status of a hold that is not yet confirmed, released or expired.
pub(crate) const ACTIVE: &str = "active";

/// Seats user `$2` has in event `$1`: confirmed bookings, active holds, waiting entries.
const TICKETS_OF_USER: &str = "
    SELECT (SELECT COALESCE(SUM(quantity), 0) FROM bookings
             WHERE event_id = $1 AND user_id = $2 AND status = 'confirmed')
         + (SELECT COALESCE(SUM(quantity), 0) FROM holds
             WHERE event_id = $1 AND user_id = $2 AND status = 'active')
         + (SELECT COALESCE(SUM(quantity), 0) FROM waitlist_entries
             WHERE event_id = $1 AND user_id = $2 AND status = 'waiting') AS tickets";

#[derive(QueryableByName)]
struct TicketsRow {
    #[diesel(sql_type = BigInt)]
    tickets: i64,
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
    sold: i32,
    held: i32,
}

impl TypeSeatsRow {
    fn into_type_seats(self) -> anyhow::Result<TypeSeats> {
        Ok(TypeSeats {
            id: TicketTypeId::from_uuid(self.id),
            quantity: self.quantity.map(|q| to_u32(q, "quantity")).transpose()?,
            sold: to_u32(self.sold, "type sold")?,
            held: to_u32(self.held, "type held")?,
        })
    }
}

/// A waiting entry as promotion reads it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = waitlist_entries, check_for_backend(diesel::pg::Pg))]
struct QueuedRow {
    id: Uuid,
    seq: i64,
    ticket_type_id: Uuid,
    user_id: Uuid,
    quantity: i32,
}

impl QueuedRow {
    fn waiting(&self) -> anyhow::Result<Waiting> {
        Ok(Waiting {
            id: WaitlistEntryId::from_uuid(self.id),
            ticket_type_id: TicketTypeId::from_uuid(self.ticket_type_id),
            quantity: to_u32(self.quantity, "entry quantity")?,
        })
    }
}

/// One event's seats, locked for the rest of the transaction.
pub(crate) struct SeatTxn {
    /// The locked event.
    pub event_id: EventId,
    /// The instant the operation runs at.
    pub now: Timestamp,
    /// The counters, changed in memory until [`SeatTxn::finish`].
    pub seats: Seats,
    /// The event's sale terms.
    pub terms: SaleTerms,
    /// Waiting entries of the event.
    pub waitlist_count: u32,
    /// Seats given back by cancellations in this transaction.
    pub cancelled_seats: u32,
    /// The counters as read, to write only what changed.
    read: (Seats, u32),
    /// Where the event's new version goes before the commit.
    versions: Publisher,
    /// Bookings to insert with the counters.
    pending: Vec<NewBookingRow>,
}

impl SeatTxn {
    /// Step 1: locks the event row and reads its counters, ticket types (in position
    /// order) and sale terms; `None` when there is no such event.
    pub(crate) async fn lock(
        conn: &mut AsyncPgConnection,
        versions: &Publisher,
        event_id: EventId,
        now: Timestamp,
    ) -> anyhow::Result<Option<Self>> {
        let Some((seats, terms, waitlist_count)) = lock_event(conn, event_id).await? else {
            return Ok(None);
        };
        Ok(Some(Self {
            event_id,
            now,
            read: (seats.clone(), waitlist_count),
            terms,
            seats,
            waitlist_count,
            cancelled_seats: 0,
            pending: Vec::new(),
            versions: versions.clone(),
        }))
    }

    /// Steps 1 to 3: lock, sweep, promote.
    pub(crate) async fn begin(
        conn: &mut AsyncPgConnection,
        versions: &Publisher,
        event_id: EventId,
        now: Timestamp,
    ) -> anyhow::Result<Option<Self>> {
        let Some(mut txn) = Self::lock(conn, versions, event_id, now).await? else {
            return Ok(None);
        };
        txn.sweep(conn).await?;
        txn.promote(conn).await?;
        Ok(Some(txn))
    }

    /// Step 2: this event's active holds that expired by `now` become `expired` and give
    /// their seats back. Returns how many expired.
    pub(crate) async fn sweep(&mut self, conn: &mut AsyncPgConnection) -> anyhow::Result<u32> {
        if self.seats.held == 0 {
            return Ok(0); // no seats held: no active holds
        }
        let expired = diesel::update(
            holds::table
                .filter(holds::event_id.eq(self.event_id.as_uuid()))
                .filter(holds::status.eq(ACTIVE))
                .filter(holds::expires_at.le(self.now)),
        )
        .set((holds::status.eq("expired"), holds::ended_at.eq(self.now)))
        .returning((holds::id, holds::ticket_type_id, holds::quantity))
        .load::<(Uuid, Uuid, i32)>(conn)
        .await
        .with_context(|| format!("cannot expire holds of event {}", self.event_id))?;
        for (hold_id, ticket_type_id, quantity) in &expired {
            let quantity = to_u32(*quantity, "hold quantity")?;
            self.seats.give_back(
                TicketTypeId::from_uuid(*ticket_type_id),
                quantity,
                Taken::Held,
            );
            tracing::info!(event_id = %self.event_id, %hold_id, quantity, "hold expired");
        }
        metrics::counter!("holds_expired_total").increment(expired.len() as u64);
        u32::try_from(expired.len()).context("too many holds")
    }

    /// Steps 3 and 5: strict FIFO promotion of the event's waiting entries, read in
    /// batches; the next batch is read only when the whole batch was promoted.
    pub(crate) async fn promote(&mut self, conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
        let mut after = 0_i64;
        while self.waitlist_count > 0 && self.has_free_seats() {
            let batch = self.queue_after(conn, after).await?;
            let queue = batch
                .iter()
                .map(QueuedRow::waiting)
                .collect::<anyhow::Result<Vec<_>>>()?;
            let promoted = seats::promote(&mut self.seats, &queue);
            // Promotion stops at the first entry that does not fit: it took a prefix.
            let users = promoted
                .iter()
                .zip(&batch)
                .map(|(entry, row)| {
                    anyhow::ensure!(entry.id.as_uuid() == row.id, "promotion skipped an entry");
                    Ok(UserId::from_uuid(row.user_id))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            self.write_promotions(conn, &promoted, &users).await?;
            let whole_batch = promoted.len() == batch.len()
                && i64::try_from(batch.len()).is_ok_and(|n| n == PROMOTION_BATCH);
            match batch.last() {
                Some(last) if whole_batch => after = last.seq,
                _ => break,
            }
        }
        Ok(())
    }

    /// Whether any ticket type has a free seat (promotion cannot sell anything otherwise).
    fn has_free_seats(&self) -> bool {
        self.seats.types.iter().any(|t| self.seats.free(t.id) > 0)
    }

    /// The next batch of the event's waiting entries with `seq > after`, in queue order.
    async fn queue_after(
        &self,
        conn: &mut AsyncPgConnection,
        after: i64,
    ) -> anyhow::Result<Vec<QueuedRow>> {
        waitlist_entries::table
            .filter(waitlist_entries::event_id.eq(self.event_id.as_uuid()))
            .filter(waitlist_entries::status.eq(WaitlistStatus::Waiting.as_str()))
            .filter(waitlist_entries::seq.gt(after))
            .order(waitlist_entries::seq.asc())
            .limit(PROMOTION_BATCH)
            .select(QueuedRow::as_select())
            .load::<QueuedRow>(conn)
            .await
            .with_context(|| format!("cannot read the waitlist of event {}", self.event_id))
    }

    /// Books the seats `seats::promote` sold to each entry (for the user at the same
    /// index) and marks the entries promoted: one insert, then the entries' updates
    /// pipelined.
    async fn write_promotions(
        &mut self,
        conn: &mut AsyncPgConnection,
        promoted: &[Waiting],
        users: &[UserId],
    ) -> anyhow::Result<()> {
        if promoted.is_empty() {
            return Ok(());
        }
        let bookings: Vec<Booking> = promoted
            .iter()
            .zip(users)
            .map(|(entry, user)| {
                let source = BookingSource::Waitlist;
                self.new_booking(entry.ticket_type_id, *user, entry.quantity, source)
            })
            .collect();
        let rows = bookings
            .iter()
            .map(|booking| NewBookingRow::new(booking, None))
            .collect::<anyhow::Result<Vec<_>>>()?;
        diesel::insert_into(bookings::table)
            .values(&rows)
            .execute(conn)
            .await
            .with_context(|| format!("cannot book promotions of event {}", self.event_id))?;
        let shared: &AsyncPgConnection = conn;
        let marks = promoted
            .iter()
            .zip(&bookings)
            .map(|(entry, booking)| mark_promoted(shared, entry.id, booking.id, self.now));
        try_join_all(marks).await?;
        for (entry, booking) in promoted.iter().zip(&bookings) {
            tracing::info!(
                event_id = %self.event_id,
                entry_id = %entry.id,
                booking_id = %booking.id,
                quantity = entry.quantity,
                "waitlist entry promoted"
            );
        }
        metrics::counter!("waitlist_promotions_total").increment(promoted.len() as u64);
        let count = u32::try_from(promoted.len()).context("too many promotions")?;
        self.waitlist_count = self.waitlist_count.saturating_sub(count);
        Ok(())
    }

    /// A confirmed booking of this event made now (not yet stored).
    pub(crate) fn new_booking(
        &self,
        ticket_type_id: TicketTypeId,
        user_id: UserId,
        quantity: u32,
        source: BookingSource,
    ) -> Booking {
        Booking {
            id: BookingId::generate(),
            event_id: self.event_id,
            ticket_type_id,
            user_id,
            quantity,
            status: BookingStatus::Confirmed,
            source,
            created_at: self.now,
            cancelled_at: None,
        }
    }

    /// Zeroes every counter of a cancelled event; `cancelled` seats were given back.
    pub(crate) fn clear(&mut self, cancelled: u32) {
        self.seats.sold = 0;
        self.seats.held = 0;
        for t in &mut self.seats.types {
            t.sold = 0;
            t.held = 0;
        }
        self.waitlist_count = 0;
        self.cancelled_seats += cancelled;
    }

    /// Step 6: writes the counters of the event and of each changed ticket type.
    pub(crate) async fn finish(self, conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
        let (read_seats, read_waiting) = &self.read;
        let unchanged = self.seats == *read_seats
            && self.waitlist_count == *read_waiting
            && self.cancelled_seats == 0
            && self.pending.is_empty();
        if unchanged {
            return Ok(());
        }
        // Independent statements, pipelined: one round trip for all of them.
        let shared: &AsyncPgConnection = conn;
        let changed = self
            .seats
            .types
            .iter()
            .filter(|t| !read_seats.types.contains(t));
        let (version, types, bookings) = tokio::join!(
            self.write_event(shared),
            try_join_all(changed.map(|t| write_type(shared, t))),
            insert_bookings(shared, &self.pending),
        );
        let version = version?;
        types.map(drop).and(bookings)?;
        self.versions
            .publish(VersionKey::Event(self.event_id), version)
            .await
    }

    /// Writes the event's counters and bumps its version; returns the new version.
    async fn write_event(&self, mut conn: &AsyncPgConnection) -> anyhow::Result<i64> {
        diesel::update(events::table.find(self.event_id.as_uuid()))
            .set((
                events::capacity.eq(to_i32(self.seats.capacity, "capacity")?),
                events::sold.eq(to_i32(self.seats.sold, "sold")?),
                events::held.eq(to_i32(self.seats.held, "held")?),
                events::waitlist_count.eq(to_i32(self.waitlist_count, "waitlist_count")?),
                events::cancelled_seats
                    .eq(events::cancelled_seats + to_i32(self.cancelled_seats, "cancelled")?),
                events::version.eq(events::version + 1),
            ))
            .returning(events::version)
            .get_result(&mut conn)
            .await
            .with_context(|| format!("cannot write the counters of event {}", self.event_id))
    }

    /// Stores `booking` (from `hold_id`, if any) with the counters, in
    /// [`SeatTxn::finish`]; the caller changed `seats` already.
    pub(crate) fn record_booking(
        &mut self,
        booking: &Booking,
        hold_id: Option<HoldId>,
    ) -> anyhow::Result<()> {
        self.pending.push(NewBookingRow::new(booking, hold_id)?);
        tracing::info!(
            event_id = %self.event_id,
            booking_id = %booking.id,
            quantity = booking.quantity,
            source = booking.source.as_str(),
            "booked"
        );
        Ok(())
    }

    /// Whether the event is cancelled.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.terms.status == EventStatus::Cancelled
    }
}

/// Locks event `event_id`'s row and reads its counters, its ticket types (in position
/// order), its sale terms and its waiting entries; `None` when there is no such event.
pub(crate) async fn lock_event(
    conn: &mut AsyncPgConnection,
    event_id: EventId,
) -> anyhow::Result<Option<(Seats, SaleTerms, u32)>> {
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
    let seats = row.seats(types)?;
    let waitlist_count = to_u32(row.waitlist_count, "waitlist_count")?;
    Ok(Some((seats, row.terms(event_id)?, waitlist_count)))
}

/// Tickets `user` has for `event`: confirmed booked, active held and waiting seats, in
/// one round trip.
pub(crate) async fn tickets_of(
    conn: &mut AsyncPgConnection,
    event: EventId,
    user: UserId,
) -> anyhow::Result<u32> {
    let row = diesel::sql_query(TICKETS_OF_USER)
        .bind::<SqlUuid, _>(event.as_uuid())
        .bind::<SqlUuid, _>(user.as_uuid())
        .get_result::<TicketsRow>(conn)
        .await
        .with_context(|| format!("cannot count the tickets of user {user}"))?;
    u32::try_from(row.tickets).context("tickets of a user out of range")
}

/// Marks waiting entry `id` promoted into `booking` at `now`.
async fn mark_promoted(
    mut conn: &AsyncPgConnection,
    id: WaitlistEntryId,
    booking: BookingId,
    now: Timestamp,
) -> anyhow::Result<()> {
    diesel::update(waitlist_entries::table.find(id.as_uuid()))
        .set((
            waitlist_entries::status.eq(WaitlistStatus::Promoted.as_str()),
            waitlist_entries::booking_id.eq(booking.as_uuid()),
            waitlist_entries::ended_at.eq(now),
        ))
        .execute(&mut conn)
        .await
        .with_context(|| format!("cannot promote waitlist entry {id}"))?;
    Ok(())
}

/// Writes the counters of ticket type `t`.
pub(crate) async fn write_type(mut conn: &AsyncPgConnection, t: &TypeSeats) -> anyhow::Result<()> {
    diesel::update(ticket_types::table.find(t.id.as_uuid()))
        .set((
            ticket_types::sold.eq(to_i32(t.sold, "type sold")?),
            ticket_types::held.eq(to_i32(t.held, "type held")?),
        ))
        .execute(&mut conn)
        .await
        .with_context(|| format!("cannot write the counters of ticket type {}", t.id))?;
    Ok(())
}

/// Inserts `rows` (none: no statement).
pub(crate) async fn insert_bookings(
    mut conn: &AsyncPgConnection,
    rows: &[NewBookingRow],
) -> anyhow::Result<()> {
    if !rows.is_empty() {
        diesel::insert_into(bookings::table)
            .values(rows)
            .execute(&mut conn)
            .await
            .context("cannot insert bookings")?;
    }
    Ok(())
}

/// Inserts `rows` (none: no statement).
pub(crate) async fn insert_holds(
    mut conn: &AsyncPgConnection,
    rows: &[NewHoldRow],
) -> anyhow::Result<()> {
    if !rows.is_empty() {
        diesel::insert_into(holds::table)
            .values(rows)
            .execute(&mut conn)
            .await
            .context("cannot insert holds")?;
    }
    Ok(())
}
