//! The seat planner: the rules of `docs/seat-accounting.md` applied to a batch of
//! requests for one event, as a pure function. A store locks the event, reads its
//! [`EventFacts`], calls [`plan`] and writes the [`Plan`] in the same transaction, so
//! both stores share one copy of the rules and a batch commits once.
//!
//! Requests are applied in order, each exactly as if it ran alone in a transaction of
//! its own at its own `now`: holds that expired by then end and give their seats back,
//! the waitlist is promoted in strict FIFO order, the request is decided, and the
//! waitlist is promoted again if seats came back.

mod outcome;
mod state;

pub use outcome::{Outcome, Refusal};

use crate::booking::{
    Booking, BookingOutcome, BookingSource, BookingStatus, ClosedReason, Hold, HoldStatus,
    OnSoldOut, Quantity, WaitlistEntry, WaitlistStatus,
};
use crate::event::TicketTypeChanges;
use crate::outbox::Message;
use crate::ports::{BookRequest, SeatRequest};
use crate::seats::{SaleTerms, Seats, TypeSeats};
use crate::{BookingId, EventId, HoldId, TicketTypeId, Timestamp, UserId, WaitlistEntryId};
use state::Planner;
use std::collections::HashMap;

/// An active hold that expires by the batch's last `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiringHold {
    /// The hold.
    pub id: HoldId,
    /// Whose it is.
    pub user_id: UserId,
    /// Its type.
    pub ticket_type_id: TicketTypeId,
    /// Seats it holds.
    pub quantity: u32,
    /// When it ends.
    pub expires_at: Timestamp,
}

/// A waiting entry at the head of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    /// The entry.
    pub id: WaitlistEntryId,
    /// Who waits.
    pub user_id: UserId,
    /// The type it waits for.
    pub ticket_type_id: TicketTypeId,
    /// Seats it wants, all at once.
    pub quantity: u32,
}

/// What one requester already has of the event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserTickets {
    /// Seats booked, held and waited for (what `max_tickets_per_user` counts).
    pub tickets: u32,
    /// Types the user waits for.
    pub waiting: Vec<TicketTypeId>,
}

/// One event as read under its lock, before a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    /// The event.
    pub event_id: EventId,
    /// Its counters; types in position order (the first is the default type).
    pub seats: Seats,
    /// Its sale terms.
    pub terms: SaleTerms,
    /// Waiting entries.
    pub waitlist_count: u32,
    /// Active holds that expire by the latest `now` of the batch.
    pub expiring: Vec<ExpiringHold>,
    /// The first waiting entries, in queue order.
    pub queue: Vec<Queued>,
    /// Whether `queue` holds every waiting entry.
    pub queue_complete: bool,
    /// The waiting entries [`may_close`] names for the batch, in queue order: those a
    /// change of a type or of the capacity may close.
    pub closable: Vec<Queued>,
    /// What each requester of a hold, booking or join has; missing users have nothing.
    pub users: HashMap<UserId, UserTickets>,
    /// The event's holds that the batch confirms or releases, with their status.
    pub holds: HashMap<HoldId, (Hold, HoldStatus)>,
    /// The event's bookings that the batch cancels.
    pub bookings: HashMap<BookingId, Booking>,
    /// The event's waitlist entries that the batch leaves.
    pub entries: HashMap<WaitlistEntryId, WaitlistEntry>,
}

/// A request the planner decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatOp {
    /// Hold seats as hold `id` until `expires_at`.
    Hold {
        /// The hold's id.
        id: HoldId,
        /// The seats.
        request: SeatRequest,
        /// When the hold ends.
        expires_at: Timestamp,
    },
    /// Book seats as booking `id`, queueing for the rest as `on_sold_out` says.
    Book {
        /// The booking's id.
        id: BookingId,
        /// The seats.
        request: SeatRequest,
        /// Waitlist or fail when there are not enough seats.
        on_sold_out: OnSoldOut,
        /// Book what is free when there is not enough for all.
        allow_partial: bool,
    },
    /// Join the waitlist.
    Join(SeatRequest),
    /// Turn `user_id`'s live hold into a booking.
    Confirm {
        /// The hold.
        hold_id: HoldId,
        /// Who asks.
        user_id: UserId,
    },
    /// Give `user_id`'s live hold's seats back.
    Release {
        /// The hold.
        hold_id: HoldId,
        /// Who asks.
        user_id: UserId,
    },
    /// Cancel `quantity` seats of a booking (all when `None`).
    Cancel {
        /// The booking.
        booking_id: BookingId,
        /// Seats to cancel.
        quantity: Option<Quantity>,
    },
    /// Take `user_id`'s entry out of the queue.
    Leave {
        /// The entry.
        entry_id: WaitlistEntryId,
        /// Who asks.
        user_id: UserId,
    },
    /// Change the event's capacity; a lower one closes the waiting entries that want
    /// more seats than it.
    Resize {
        /// The new capacity.
        capacity: u32,
    },
    /// Change a ticket type's quantity (`Some(None)` lifts its cap) or price; a lower
    /// quantity closes the waiting entries of the type that want more.
    #[allow(clippy::option_option)] // Some(None) lifts the cap: that is the point.
    ChangeType {
        /// The type.
        ticket_type_id: TicketTypeId,
        /// The new cap, if it changes.
        quantity: Option<Option<u32>>,
        /// The new price, if it changes.
        price_cents: Option<i64>,
    },
    /// Stop selling a ticket type: its waiting entries close; its holds and bookings stay.
    RetireType {
        /// The type.
        ticket_type_id: TicketTypeId,
    },
    /// End the holds expired by now (and promote): what every request does first.
    Sweep,
    /// Cancel the event: its bookings, holds and entries end, its counters go to zero.
    CancelEvent,
}

impl SeatOp {
    /// The booking request `request` as the planner takes it.
    #[must_use]
    pub const fn book(request: &BookRequest) -> Self {
        Self::Book {
            id: request.booking_id,
            request: request.seats,
            on_sold_out: request.on_sold_out,
            allow_partial: request.allow_partial,
        }
    }

    /// The seat part of `changes` to ticket type `ticket_type_id` as the planner takes
    /// it (its name is the store's to write).
    #[must_use]
    pub const fn change_type(ticket_type_id: TicketTypeId, changes: &TicketTypeChanges) -> Self {
        Self::ChangeType {
            ticket_type_id,
            quantity: changes.quantity,
            price_cents: changes.price_cents,
        }
    }

    /// Who asks for seats, for a hold, booking or join.
    #[must_use]
    pub const fn requester(&self) -> Option<UserId> {
        match self {
            Self::Hold { request, .. } | Self::Book { request, .. } | Self::Join(request) => {
                Some(request.user_id)
            }
            _ => None,
        }
    }
}

/// A request and the instant it runs at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed {
    /// The request.
    pub op: SeatOp,
    /// When it runs.
    pub now: Timestamp,
}

/// A booking to insert, made from a hold or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBooking {
    /// The booking.
    pub booking: Booking,
    /// The hold it confirms.
    pub hold_id: Option<HoldId>,
}

/// A hold that ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldEnd {
    /// The hold.
    pub hold_id: HoldId,
    /// How it ended (never `Active`).
    pub status: HoldStatus,
    /// When.
    pub at: Timestamp,
}

/// A waitlist entry that left the queue by promotion, by its user, or closed by a
/// change of its ticket type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryEnd {
    /// The entry.
    pub entry_id: WaitlistEntryId,
    /// `Promoted`, `Left` or `Closed`.
    pub status: WaitlistStatus,
    /// Why it was closed, when `Closed`.
    pub closed_reason: Option<ClosedReason>,
    /// The booking it became, when promoted.
    pub booking_id: Option<BookingId>,
    /// When.
    pub at: Timestamp,
}

/// The writes of a batch, for the store to apply in its transaction: the inserts first,
/// then the changes (which may change rows the batch inserted), then the counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The counters after the batch (the capacity included).
    pub seats: Seats,
    /// Waiting entries after the batch.
    pub waitlist_count: u32,
    /// Seats to add to the event's `cancelled_seats`.
    pub cancelled_seats: u32,
    /// Holds to insert.
    pub holds: Vec<Hold>,
    /// Bookings to insert: direct ones, confirmed holds and promotions.
    pub bookings: Vec<NewBooking>,
    /// Waiting entries to insert, in queue order (`queue_seq` is the store's).
    pub entries: Vec<WaitlistEntry>,
    /// Holds that ended.
    pub ended_holds: Vec<HoldEnd>,
    /// Entries promoted, left or closed, in that order.
    pub ended_entries: Vec<EntryEnd>,
    /// Bookings cancelled in whole or part, as they are after the batch.
    pub changed_bookings: Vec<Booking>,
    /// When the event was cancelled: the store ends its confirmed bookings
    /// (`cancelled`), its active holds (`released`) and its waiting entries (`closed`),
    /// and sets its status.
    pub cancelled_at: Option<Timestamp>,
    /// The outbox messages of the batch, in the order things happened (`seq` is the
    /// store's).
    pub messages: Vec<Message>,
}

/// Changes of existing rows, from a [`Plan`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes<'p> {
    /// Holds that ended.
    pub ended_holds: Vec<&'p HoldEnd>,
    /// Entries promoted, left or closed.
    pub ended_entries: Vec<&'p EntryEnd>,
    /// Bookings cancelled in whole or part.
    pub changed_bookings: Vec<&'p Booking>,
}

impl Changes<'_> {
    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ended_holds.is_empty()
            && self.ended_entries.is_empty()
            && self.changed_bookings.is_empty()
    }
}

impl Plan {
    /// The plan's changes, split into those of rows stored before the batch and those
    /// of rows the batch inserts (to write after the inserts). A store ends stored
    /// entries before it inserts new ones: a user whose entry ended may queue again,
    /// and one waiting entry per user and type is all the schema allows.
    #[must_use]
    pub fn changes(&self) -> (Changes<'_>, Changes<'_>) {
        let (mut stored, mut inserted) = (Changes::default(), Changes::default());
        for end in &self.ended_holds {
            let new = self.holds.iter().any(|h| h.id == end.hold_id);
            if new { &mut inserted } else { &mut stored }
                .ended_holds
                .push(end);
        }
        for end in &self.ended_entries {
            let new = self.entries.iter().any(|e| e.id == end.entry_id);
            if new { &mut inserted } else { &mut stored }
                .ended_entries
                .push(end);
        }
        for booking in &self.changed_bookings {
            let new = self.bookings.iter().any(|b| b.booking.id == booking.id);
            if new { &mut inserted } else { &mut stored }
                .changed_bookings
                .push(booking);
        }
        (stored, inserted)
    }

    /// Whether the batch changes nothing of an event whose counters were `read`: no row
    /// and no counter (a capacity change alone writes only counters).
    #[must_use]
    pub fn writes_nothing(&self, read: &Seats) -> bool {
        self.holds.is_empty()
            && self.bookings.is_empty()
            && self.entries.is_empty()
            && self.ended_holds.is_empty()
            && self.ended_entries.is_empty()
            && self.changed_bookings.is_empty()
            && self.cancelled_at.is_none()
            && self.messages.is_empty()
            && self.cancelled_seats == 0
            && self.seats == *read
    }

    /// The ticket types whose counters differ from those `read`.
    pub fn changed_types<'p>(&'p self, read: &'p Seats) -> impl Iterator<Item = &'p TypeSeats> {
        self.seats.types.iter().filter(|t| !read.types.contains(t))
    }

    /// Logs what the plan does, one line per row, and counts expiries and promotions,
    /// once the store has written it.
    pub fn trace(&self, event_id: EventId) {
        for hold in &self.holds {
            let quantity = hold.quantity;
            tracing::info!(%event_id, hold_id = %hold.id, quantity, "seats held");
        }
        for new in &self.bookings {
            let b = &new.booking;
            let source = b.source.as_str();
            tracing::info!(%event_id, booking_id = %b.id, quantity = b.quantity, source, "booked");
        }
        for entry in &self.entries {
            let quantity = entry.quantity;
            tracing::info!(%event_id, entry_id = %entry.id, quantity, "waitlist joined");
        }
        for end in &self.ended_holds {
            let status = end.status.as_str();
            tracing::info!(%event_id, hold_id = %end.hold_id, status, "hold ended");
        }
        for end in &self.ended_entries {
            let status = end.status.as_str();
            tracing::info!(%event_id, entry_id = %end.entry_id, status, "waitlist entry ended");
        }
        for b in &self.changed_bookings {
            let (quantity, status) = (b.quantity, b.status.as_str());
            tracing::info!(%event_id, booking_id = %b.id, quantity, status, "booking cancelled");
        }
        if self.cancelled_at.is_some() {
            tracing::info!(%event_id, seats = self.cancelled_seats, "event cancelled");
        }
        let expired = self.ended_holds.iter();
        let expired = expired.filter(|e| e.status == HoldStatus::Expired).count();
        let promoted = self.ended_entries.iter();
        let promoted = promoted
            .filter(|e| e.status == WaitlistStatus::Promoted)
            .count();
        metrics::counter!("boxoffice_holds_expired_total").increment(expired as u64);
        metrics::counter!("boxoffice_waitlist_promotions_total").increment(promoted as u64);
    }
}

/// The planner walked past the waiting entries the store read while the queue has
/// more: read at least `needed` entries and plan again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the plan needs the first {needed} waiting entries")]
pub struct NeedQueue {
    /// Entries to read.
    pub needed: usize,
}

/// The users who ask for seats in `batch` (holds, bookings, joins), each once: whose
/// [`UserTickets`] a store reads.
#[must_use]
pub fn requesters(batch: &[Timed]) -> Vec<UserId> {
    let mut users: Vec<UserId> = batch.iter().filter_map(|t| t.op.requester()).collect();
    users.sort_unstable_by_key(|u| u.as_uuid());
    users.dedup();
    users
}

/// The waiting entries a batch may close, which a store reads as
/// [`EventFacts::closable`]: every entry of the types it sets the quantity of or
/// retires, and every entry that wants more seats than a capacity it sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Closable {
    /// Types whose every waiting entry is read, each once.
    pub types: Vec<TicketTypeId>,
    /// Entries of any type wanting more seats than this are read: the lowest capacity
    /// the batch sets.
    pub larger_than: Option<u32>,
}

impl Closable {
    /// Whether no entry is to be read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.types.is_empty() && self.larger_than.is_none()
    }

    /// Whether `entry` is one to read.
    #[must_use]
    pub fn covers(&self, entry: &Queued) -> bool {
        self.types.contains(&entry.ticket_type_id)
            || self.larger_than.is_some_and(|n| entry.quantity > n)
    }
}

/// What `batch` may close (see [`Closable`]).
#[must_use]
pub fn may_close(batch: &[Timed]) -> Closable {
    let mut closable = Closable::default();
    for timed in batch {
        match timed.op {
            SeatOp::ChangeType {
                ticket_type_id,
                quantity: Some(_),
                ..
            }
            | SeatOp::RetireType { ticket_type_id } => closable.types.push(ticket_type_id),
            SeatOp::Resize { capacity } => {
                let lowest = closable.larger_than.map_or(capacity, |n| n.min(capacity));
                closable.larger_than = Some(lowest);
            }
            _ => {}
        }
    }
    closable.types.sort_unstable_by_key(|t| t.as_uuid());
    closable.types.dedup();
    closable
}

/// Waiting entries a store reads first when promotion may happen.
pub const QUEUE_READ: usize = 100;

/// How many of the queue's first entries a store reads before planning, for an event
/// with `waitlist_count` waiting entries and these `seats` (after what `expiring` gives
/// back): `None` when nobody waits (the queue is known to be empty), `Some(0)` when
/// promotion cannot happen unless the batch gives seats back (the planner asks with
/// [`NeedQueue`] then).
#[must_use]
pub fn first_queue_read(seats: &Seats, waitlist_count: u32, expiring: bool) -> Option<usize> {
    let free = seats.types.iter().any(|t| seats.free(t.id) > 0);
    match waitlist_count {
        0 => None,
        _ if free || expiring => Some(QUEUE_READ),
        _ => Some(0),
    }
}

/// A batch being planned against facts whose queue the store reads on demand: only
/// where promotion may happen, and more of it when the planner asks.
#[derive(Debug, Clone)]
pub struct Planning {
    facts: EventFacts,
    read: Option<usize>,
}

impl Planning {
    /// Planning against `facts`; their `queue` is ignored (see [`Planning::queue_to_read`]).
    #[must_use]
    pub fn new(facts: EventFacts) -> Self {
        let expiring = !facts.expiring.is_empty();
        let read = first_queue_read(&facts.seats, facts.waitlist_count, expiring);
        Self { facts, read }
    }

    /// How many of the queue's first waiting entries to read before the next try
    /// (`None`: none).
    #[must_use]
    pub fn queue_to_read(&self) -> Option<usize> {
        self.read.filter(|&n| n > 0)
    }

    /// Plans `batch` with `queue`, the first [`Planning::queue_to_read`] entries in queue
    /// order; `None` when the planner needs more of the queue: read again and retry.
    pub fn try_plan(
        &mut self,
        queue: Vec<Queued>,
        batch: &[Timed],
    ) -> Option<(Vec<Outcome>, Plan)> {
        let queue_complete = match self.read {
            None => true, // nobody waits
            Some(n) => n > 0 && queue.len() < n,
        };
        let facts = EventFacts {
            queue,
            queue_complete,
            ..self.facts.clone()
        };
        match plan(facts, batch) {
            Ok(planned) => Some(planned),
            Err(NeedQueue { needed }) => {
                self.read = Some(needed);
                None
            }
        }
    }
}

/// Decides `batch` (in order) against `facts`: each request's outcome, at the same index,
/// and the writes of all of them.
///
/// # Errors
/// [`NeedQueue`] when promotion reaches the end of an incomplete `facts.queue`.
pub fn plan(facts: EventFacts, batch: &[Timed]) -> Result<(Vec<Outcome>, Plan), NeedQueue> {
    let mut planner = Planner::new(facts);
    let mut outcomes = Vec::with_capacity(batch.len());
    for timed in batch {
        outcomes.push(planner.run(&timed.op, timed.now)?);
    }
    Ok((outcomes, planner.into_plan()))
}

/// A confirmed booking of `event_id`: `(ticket type, user, quantity)` at `price_cents`
/// a ticket.
fn confirmed(
    id: BookingId,
    event_id: EventId,
    (ticket_type_id, user_id, quantity): (TicketTypeId, UserId, u32),
    price_cents: i64,
    source: BookingSource,
    created_at: Timestamp,
) -> Booking {
    Booking {
        id,
        event_id,
        ticket_type_id,
        user_id,
        quantity,
        price_cents,
        status: BookingStatus::Confirmed,
        source,
        created_at,
        cancelled_at: None,
    }
}

/// A new waiting entry (`queue_seq` is the store's).
fn waiting(
    event_id: EventId,
    request: &SeatRequest,
    ticket_type_id: TicketTypeId,
    quantity: u32,
    position: u32,
    now: Timestamp,
) -> WaitlistEntry {
    WaitlistEntry {
        id: WaitlistEntryId::generate(),
        event_id,
        ticket_type_id,
        user_id: request.user_id,
        quantity,
        position: Some(position),
        status: WaitlistStatus::Waiting,
        closed_reason: None,
        booking_id: None,
        created_at: now,
        queue_seq: 0,
    }
}

/// What a booking request got: a booking, an entry, or both.
fn booked(booking: Option<Booking>, waitlist_entry: Option<WaitlistEntry>) -> BookingOutcome {
    BookingOutcome {
        booking,
        waitlist_entry,
    }
}

#[cfg(test)]
#[path = "planner_tests.rs"]
mod tests;
