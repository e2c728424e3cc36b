//! The seat transaction of `docs/seat-accounting.md`: lock an event, sweep its expired
//! holds, promote its waitlist, let the operation change seats, promote again when seats
//! came back, and write the counters. It runs inside [`crate::SqliteStore::write`],
//! whose `BEGIN IMMEDIATE` on the single writer is the event's lock.

use crate::SqliteStore;
use crate::bookings::{Claim, insert_booking};
use crate::convert::{count, micros, stored_count, uuid};
use crate::events::load_event;
use crate::holds::{HoldStatus, end_holds};
use crate::schema::{events, holds, ticket_types, waitlist_entries};
use crate::versions;
use anyhow::Context;
use boxoffice_domain::booking::{BookingSource, WaitlistStatus};
use boxoffice_domain::event::Event;
use boxoffice_domain::ports::{LocalVersionBoard, VersionKey};
use boxoffice_domain::seats::{self, SaleTerms, Seats, Taken, TypeSeats, Waiting};
use boxoffice_domain::{BookingId, EventId, TicketTypeId, Timestamp, UserId, WaitlistEntryId};
use diesel::prelude::*;

/// Waiting entries read per round of promotion.
const PROMOTION_BATCH: i64 = 100;

/// One event's seats, locked for the rest of the write transaction.
pub(crate) struct SeatTxn {
    event_id: EventId,
    now: Timestamp,
    seats: Seats,
    before: Seats,
    waitlist_count: u32,
    cancelled_seats: u32,
    swept: u32,
    gave_back: bool,
}

/// Runs `op` in a seat transaction of `event_id` (lock, sweep, promote, `op`, promote
/// when seats came back, write). `None` when there is no such event.
pub(crate) fn with_seats<T>(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    event_id: EventId,
    now: Timestamp,
    op: impl FnOnce(&mut SqliteConnection, &mut SeatTxn) -> anyhow::Result<T>,
) -> anyhow::Result<Option<T>> {
    seat_transaction(c, board, event_id, now, true, op)
}

/// Like [`with_seats`] but without promoting before `op`: for cancelling an event, where
/// a promotion would only make a booking that is cancelled at once.
pub(crate) fn with_swept_seats<T>(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    event_id: EventId,
    now: Timestamp,
    op: impl FnOnce(&mut SqliteConnection, &mut SeatTxn) -> anyhow::Result<T>,
) -> anyhow::Result<Option<T>> {
    seat_transaction(c, board, event_id, now, false, op)
}

fn seat_transaction<T>(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    event_id: EventId,
    now: Timestamp,
    promote_first: bool,
    op: impl FnOnce(&mut SqliteConnection, &mut SeatTxn) -> anyhow::Result<T>,
) -> anyhow::Result<Option<T>> {
    let Some(mut txn) = SeatTxn::lock(c, event_id, now)? else {
        return Ok(None);
    };
    txn.sweep(c)?;
    if promote_first {
        txn.promote(c)?;
    }
    let outcome = op(c, &mut txn)?;
    txn.finish(c, board)?;
    Ok(Some(outcome))
}

/// A hold, booking or waitlist entry row, which belongs to one event.
pub(crate) trait OfEvent {
    /// The stored id of the event it belongs to.
    fn event_text(&self) -> &str;

    /// The event it belongs to.
    fn event_id(&self) -> anyhow::Result<EventId> {
        Ok(EventId::from_uuid(uuid(self.event_text())?))
    }
}

/// Runs `op` on the row `read` finds, in a seat transaction of its event: the row is read
/// to learn its event, then read again after the sweep and promotion, which may have
/// changed it. `None` when `read` finds nothing.
fn with_row_seats<R: OfEvent, T>(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    now: Timestamp,
    read: impl Fn(&mut SqliteConnection) -> anyhow::Result<Option<R>>,
    op: impl FnOnce(&mut SqliteConnection, &mut SeatTxn, R) -> anyhow::Result<T>,
) -> anyhow::Result<Option<T>> {
    let Some(row) = read(c)? else {
        return Ok(None);
    };
    let outcome = with_seats(c, board, row.event_id()?, now, |c, txn| match read(c)? {
        Some(row) => op(c, txn, row).map(Some),
        None => Ok(None),
    })?;
    Ok(outcome.flatten())
}

impl SqliteStore {
    /// Runs `op` in a write transaction, on the row `read` finds, in a seat transaction of
    /// its event (see [`with_row_seats`]); `missing` when `read` finds nothing.
    pub(crate) async fn row_write<R, T, E, Read, F>(
        &self,
        now: Timestamp,
        missing: E,
        read: Read,
        op: F,
    ) -> Result<T, E>
    where
        R: OfEvent,
        T: Send + 'static,
        E: From<anyhow::Error> + Send + 'static,
        Read: Fn(&mut SqliteConnection) -> anyhow::Result<Option<R>> + Send + 'static,
        F: FnOnce(&mut SqliteConnection, &mut SeatTxn, R) -> anyhow::Result<Result<T, E>>
            + Send
            + 'static,
    {
        let board = self.versions.clone();
        let outcome = self
            .write(move |c| with_row_seats(c, &board, now, read, op))
            .await?;
        outcome.unwrap_or(Err(missing))
    }
}

/// The seat counters of `event`.
pub(crate) fn seats_of(event: &Event) -> Seats {
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
                sold: t.sold,
                held: t.held,
            })
            .collect(),
    }
}

/// The sale terms of `event`.
pub(crate) fn terms_of(event: &Event) -> SaleTerms {
    SaleTerms {
        status: event.status,
        sales_open_at: event.details.sales_open_at,
        sales_close_at: event.details.sales_close_at,
        starts_at: event.details.starts_at,
        max_tickets_per_user: event.details.max_tickets_per_user,
    }
}

#[derive(Queryable)]
struct QueueRow {
    id: String,
    ticket_type_id: String,
    user_id: String,
    quantity: i32,
}

impl QueueRow {
    fn waiting(&self) -> anyhow::Result<Waiting> {
        Ok(Waiting {
            id: WaitlistEntryId::from_uuid(uuid(&self.id)?),
            ticket_type_id: TicketTypeId::from_uuid(uuid(&self.ticket_type_id)?),
            quantity: count(self.quantity)?,
        })
    }
}

impl SeatTxn {
    /// Reads the event's counters (the writer's transaction is the lock).
    fn lock(
        c: &mut SqliteConnection,
        event_id: EventId,
        now: Timestamp,
    ) -> anyhow::Result<Option<Self>> {
        Ok(load_event(c, event_id)?.map(|event| Self {
            event_id,
            now,
            seats: seats_of(&event),
            before: seats_of(&event),
            waitlist_count: event.waitlist_count,
            cancelled_seats: 0,
            swept: 0,
            gave_back: false,
        }))
    }

    /// The event.
    pub(crate) fn event_id(&self) -> EventId {
        self.event_id
    }

    /// The instant of the transaction.
    pub(crate) fn now(&self) -> Timestamp {
        self.now
    }

    /// Holds the sweep expired.
    pub(crate) fn swept(&self) -> u32 {
        self.swept
    }

    /// Seats `sold + held` now.
    pub(crate) fn taken(&self) -> u32 {
        self.seats.sold + self.seats.held
    }

    /// Gives seats back; the waitlist is promoted before the counters are written.
    pub(crate) fn give_back(&mut self, ty: TicketTypeId, qty: u32, taken: Taken) {
        self.seats.give_back(ty, qty, taken);
        self.gave_back = true;
    }

    /// Turns held seats into sold ones.
    pub(crate) fn sell_held(&mut self, ty: TicketTypeId, qty: u32) {
        self.seats.sell_held(ty, qty);
    }

    /// Gives back `qty` sold seats for good: they count as cancelled.
    pub(crate) fn cancel_sold(&mut self, ty: TicketTypeId, qty: u32) {
        self.give_back(ty, qty, Taken::Sold);
        self.cancelled_seats += qty;
    }

    /// Sets a new capacity, promoting the waitlist into any room it makes.
    pub(crate) fn set_capacity(&mut self, capacity: u32) {
        self.seats.capacity = capacity;
        self.gave_back = true;
    }

    /// A waiting entry left the queue; the next may fit now.
    pub(crate) fn left(&mut self) {
        self.waitlist_count = self.waitlist_count.saturating_sub(1);
        self.gave_back = true;
    }

    /// The event is cancelled: `cancelled` sold seats are counted as cancelled and every
    /// counter goes to zero.
    pub(crate) fn empty(&mut self, cancelled: u32) {
        self.cancelled_seats += cancelled;
        self.seats.sold = 0;
        self.seats.held = 0;
        for t in &mut self.seats.types {
            t.sold = 0;
            t.held = 0;
        }
        self.waitlist_count = 0;
    }

    /// Expires the event's active holds that ran out by now, giving their seats back.
    fn sweep(&mut self, c: &mut SqliteConnection) -> anyhow::Result<()> {
        let due: Vec<(String, String, i32)> = holds::table
            .filter(holds::event_id.eq(self.event_id.to_string()))
            .filter(holds::status.eq(HoldStatus::Active.as_str()))
            .filter(holds::expires_at.le(micros(self.now)))
            .select((holds::id, holds::ticket_type_id, holds::quantity))
            .load(c)
            .context("cannot read expired holds")?;
        if due.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = due.iter().map(|(id, _, _)| id.as_str()).collect();
        end_holds(c, &ids, HoldStatus::Expired, self.now)?;
        let mut seats = 0;
        for (_, ty, quantity) in &due {
            let quantity = count(*quantity)?;
            self.give_back(TicketTypeId::from_uuid(uuid(ty)?), quantity, Taken::Held);
            seats += quantity;
        }
        self.swept += u32::try_from(due.len())?;
        tracing::info!(event_id = %self.event_id, holds = due.len(), quantity = seats, "holds expired");
        metrics::counter!("holds_expired_total").increment(due.len() as u64);
        Ok(())
    }

    /// Strict FIFO promotion of the event's queue, a batch at a time.
    fn promote(&mut self, c: &mut SqliteConnection) -> anyhow::Result<()> {
        loop {
            let batch: Vec<QueueRow> = waitlist_entries::table
                .filter(waitlist_entries::event_id.eq(self.event_id.to_string()))
                .filter(waitlist_entries::status.eq(WaitlistStatus::Waiting.as_str()))
                .order(waitlist_entries::seq)
                .limit(PROMOTION_BATCH)
                .select((
                    waitlist_entries::id,
                    waitlist_entries::ticket_type_id,
                    waitlist_entries::user_id,
                    waitlist_entries::quantity,
                ))
                .load(c)
                .context("cannot read the waitlist")?;
            let queue = batch
                .iter()
                .map(QueueRow::waiting)
                .collect::<anyhow::Result<Vec<_>>>()?;
            let promoted = seats::promote(&mut self.seats, &queue);
            for (row, entry) in batch.iter().zip(&promoted) {
                self.promote_entry(c, row, entry)?;
            }
            if promoted.len() < batch.len() || batch.len() < PROMOTION_BATCH as usize {
                return Ok(());
            }
        }
    }

    /// Books the seats `entry` waited for (already counted as sold) and closes it.
    fn promote_entry(
        &mut self,
        c: &mut SqliteConnection,
        row: &QueueRow,
        entry: &Waiting,
    ) -> anyhow::Result<()> {
        let claim = Claim {
            event_id: self.event_id,
            ticket_type_id: entry.ticket_type_id,
            user_id: UserId::from_uuid(uuid(&row.user_id)?),
            quantity: entry.quantity,
        };
        let booking = insert_booking(
            c,
            BookingId::generate(),
            &claim,
            BookingSource::Waitlist,
            None,
            self.now,
        )?;
        diesel::update(waitlist_entries::table.find(&row.id))
            .set((
                waitlist_entries::status.eq(WaitlistStatus::Promoted.as_str()),
                waitlist_entries::booking_id.eq(booking.id.to_string()),
                waitlist_entries::ended_at.eq(micros(self.now)),
            ))
            .execute(c)
            .context("cannot promote waitlist entry")?;
        self.waitlist_count = self.waitlist_count.saturating_sub(1);
        tracing::info!(
            event_id = %self.event_id,
            entry_id = %entry.id,
            booking_id = %booking.id,
            quantity = entry.quantity,
            "promoted from the waitlist"
        );
        metrics::counter!("waitlist_promotions_total").increment(1);
        Ok(())
    }

    /// Promotes when seats came back, then writes the capacity and every counter that
    /// changed, the event's in one statement so its `CHECK` sees them together, and
    /// bumps the event's version.
    fn finish(mut self, c: &mut SqliteConnection, board: &LocalVersionBoard) -> anyhow::Result<()> {
        if self.gave_back {
            self.promote(c)?;
        }
        diesel::update(events::table.find(self.event_id.to_string()))
            .set((
                events::capacity.eq(stored_count(self.seats.capacity)?),
                events::sold.eq(stored_count(self.seats.sold)?),
                events::held.eq(stored_count(self.seats.held)?),
                events::waitlist_count.eq(stored_count(self.waitlist_count)?),
                events::cancelled_seats
                    .eq(events::cancelled_seats + stored_count(self.cancelled_seats)?),
            ))
            .execute(c)
            .context("cannot write event counters")?;
        for (now, before) in self.seats.types.iter().zip(&self.before.types) {
            if now != before {
                diesel::update(ticket_types::table.find(now.id.to_string()))
                    .set((
                        ticket_types::sold.eq(stored_count(now.sold)?),
                        ticket_types::held.eq(stored_count(now.held)?),
                    ))
                    .execute(c)
                    .context("cannot write ticket type counters")?;
            }
        }
        versions::bump(c, board, VersionKey::Event(self.event_id))
    }
}
