//! The seat planner: the rules of `docs/seat-accounting.md` applied to a batch of
//! requests for one event, as a pure function. A store locks the event, reads its
//! [`EventFacts`], calls [`plan`] and writes the [`Plan`] in the same transaction, so
//! both stores share one copy of the rules and a batch commits once.
//!
//! Requests are applied in order, each exactly as if it ran alone in a transaction of
//! its own at its own `now`: holds that expired by then end and give their seats back,
//! the waitlist is promoted in strict FIFO order, then the request is decided.

use crate::booking::{
    Booking, BookingOutcome, BookingSource, BookingStatus, Hold, OnSoldOut, WaitlistEntry,
    WaitlistStatus,
};
use crate::ports::{BookError, HoldError, JoinWaitlistError, SeatRequest};
use crate::seats::{self, SaleRefusal, SaleTerms, Seats, Taken};
use crate::{BookingId, EventId, HoldId, TicketTypeId, Timestamp, UserId, WaitlistEntryId};
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
    /// Active holds that expire by the latest `now` of the batch, earliest first.
    pub expiring: Vec<ExpiringHold>,
    /// The first waiting entries, in queue order.
    pub queue: Vec<Queued>,
    /// Whether `queue` holds every waiting entry.
    pub queue_complete: bool,
    /// What each requester of the batch has; a user missing here has nothing.
    pub users: HashMap<UserId, UserTickets>,
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
}

impl SeatOp {
    /// Who asks.
    #[must_use]
    pub const fn user_id(&self) -> UserId {
        match self {
            Self::Hold { request, .. } | Self::Book { request, .. } | Self::Join(request) => {
                request.user_id
            }
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

/// Why a request was refused, changing nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such ticket type of the event.
    NotFound,
    /// The sale terms refuse it.
    Refused(SaleRefusal),
    /// Fewer seats than asked for are free.
    SoldOut {
        /// Seats free for its type.
        available: u32,
    },
    /// The user already waits for this type.
    AlreadyWaitlisted,
    /// A join while enough seats are free to book.
    TicketsAvailable,
}

/// What a request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A hold was taken.
    Held(Hold),
    /// Seats were booked, queued for, or both. A new entry's `queue_seq` is 0 until
    /// the store stores it.
    Booked(BookingOutcome),
    /// The user joined the waitlist (`queue_seq` as for `Booked`).
    Joined(WaitlistEntry),
    /// Nothing changed.
    Refused(Refusal),
}

impl Outcome {
    /// The outcome of a [`SeatOp::Hold`] as the port answers it.
    ///
    /// # Errors
    /// The refusal, or `Backend` for an outcome a hold cannot have.
    pub fn into_hold(self) -> Result<Hold, HoldError> {
        match self {
            Self::Held(hold) => Ok(hold),
            Self::Refused(Refusal::NotFound) => Err(HoldError::NotFound),
            Self::Refused(Refusal::Refused(why)) => Err(HoldError::Refused(why)),
            Self::Refused(Refusal::SoldOut { available }) => Err(HoldError::SoldOut { available }),
            other => Err(HoldError::Backend(mismatch("hold", &other))),
        }
    }

    /// The outcome of a [`SeatOp::Book`] as the port answers it.
    ///
    /// # Errors
    /// The refusal, or `Backend` for an outcome a booking cannot have.
    pub fn into_booking(self) -> Result<BookingOutcome, BookError> {
        match self {
            Self::Booked(outcome) => Ok(outcome),
            Self::Refused(Refusal::NotFound) => Err(BookError::NotFound),
            Self::Refused(Refusal::Refused(why)) => Err(BookError::Refused(why)),
            Self::Refused(Refusal::SoldOut { available }) => Err(BookError::SoldOut { available }),
            Self::Refused(Refusal::AlreadyWaitlisted) => Err(BookError::AlreadyWaitlisted),
            other => Err(BookError::Backend(mismatch("booking", &other))),
        }
    }

    /// The outcome of a [`SeatOp::Join`] as the port answers it.
    ///
    /// # Errors
    /// The refusal, or `Backend` for an outcome a join cannot have.
    pub fn into_entry(self) -> Result<WaitlistEntry, JoinWaitlistError> {
        match self {
            Self::Joined(entry) => Ok(entry),
            Self::Refused(Refusal::NotFound) => Err(JoinWaitlistError::NotFound),
            Self::Refused(Refusal::Refused(why)) => Err(JoinWaitlistError::Refused(why)),
            Self::Refused(Refusal::AlreadyWaitlisted) => Err(JoinWaitlistError::AlreadyWaitlisted),
            Self::Refused(Refusal::TicketsAvailable) => Err(JoinWaitlistError::TicketsAvailable),
            other => Err(JoinWaitlistError::Backend(mismatch("join", &other))),
        }
    }

    /// The entry this outcome queued, if any.
    pub fn entry_mut(&mut self) -> Option<&mut WaitlistEntry> {
        match self {
            Self::Booked(outcome) => outcome.waitlist_entry.as_mut(),
            Self::Joined(entry) => Some(entry),
            Self::Held(_) | Self::Refused(_) => None,
        }
    }
}

fn mismatch(request: &str, outcome: &Outcome) -> anyhow::Error {
    anyhow::anyhow!("a {request} request cannot end as {outcome:?}")
}

/// A waiting entry promoted into a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Promotion {
    /// The entry.
    pub entry_id: WaitlistEntryId,
    /// The booking it became.
    pub booking_id: BookingId,
    /// When.
    pub at: Timestamp,
}

/// An expired hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    /// The hold.
    pub hold_id: HoldId,
    /// When it was ended.
    pub at: Timestamp,
}

/// The writes of a batch, for the store to apply in its transaction: the inserts first,
/// then the changes (which may change rows the batch inserted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The counters after the batch.
    pub seats: Seats,
    /// Waiting entries after the batch.
    pub waitlist_count: u32,
    /// Holds that ended by expiry, those of `holds` included.
    pub expired: Vec<Expiry>,
    /// Holds to insert.
    pub holds: Vec<Hold>,
    /// Bookings to insert: direct ones and promotions.
    pub bookings: Vec<Booking>,
    /// Waiting entries to insert, in queue order (`queue_seq` is the store's).
    pub entries: Vec<WaitlistEntry>,
    /// Entries promoted, in queue order; they may include entries of `entries`, which
    /// are then inserted before they are promoted.
    pub promotions: Vec<Promotion>,
}

impl Plan {
    /// Whether the batch writes nothing but its refusals.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.expired.is_empty()
            && self.holds.is_empty()
            && self.bookings.is_empty()
            && self.entries.is_empty()
            && self.promotions.is_empty()
    }
}

impl Plan {
    /// Logs what the plan does, one line per row, and counts expiries and promotions,
    /// once the store has written it.
    pub fn trace(&self, event_id: EventId) {
        for expiry in &self.expired {
            tracing::info!(%event_id, hold_id = %expiry.hold_id, "hold expired");
        }
        for hold in &self.holds {
            tracing::info!(%event_id, hold_id = %hold.id, quantity = hold.quantity, "seats held");
        }
        for booking in &self.bookings {
            let source = booking.source.as_str();
            tracing::info!(%event_id, booking_id = %booking.id, quantity = booking.quantity, source, "booked");
        }
        for entry in &self.entries {
            tracing::info!(%event_id, entry_id = %entry.id, quantity = entry.quantity, "waitlist joined");
        }
        for promotion in &self.promotions {
            tracing::info!(%event_id, entry_id = %promotion.entry_id, booking_id = %promotion.booking_id, "waitlist entry promoted");
        }
        metrics::counter!("holds_expired_total").increment(self.expired.len() as u64);
        metrics::counter!("waitlist_promotions_total").increment(self.promotions.len() as u64);
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

/// Decides `batch` (in order) against `facts`: each request's outcome, at the same index,
/// and the writes of all of them.
///
/// # Errors
/// [`NeedQueue`] when promotion reaches the end of an incomplete `facts.queue`.
pub fn plan(facts: EventFacts, batch: &[Timed]) -> Result<(Vec<Outcome>, Plan), NeedQueue> {
    let mut planner = Planner::new(facts);
    let mut outcomes = Vec::with_capacity(batch.len());
    for timed in batch {
        planner.settle(timed.now)?;
        outcomes.push(planner.decide(&timed.op, timed.now));
    }
    Ok((outcomes, planner.plan))
}

/// The state of one event while a batch is decided.
struct Planner {
    event_id: EventId,
    terms: SaleTerms,
    users: HashMap<UserId, UserTickets>,
    /// Active holds that may expire during the batch, the earliest last.
    expiring: Vec<ExpiringHold>,
    /// Waiting entries read by the store, not yet promoted.
    head: std::vec::IntoIter<Queued>,
    /// Entries read so far (for [`NeedQueue`]).
    read: usize,
    queue_complete: bool,
    /// Entries joined in this batch, not yet promoted, in queue order.
    tail: std::collections::VecDeque<Queued>,
    plan: Plan,
}

impl Planner {
    fn new(facts: EventFacts) -> Self {
        let mut expiring = facts.expiring;
        expiring.sort_by_key(|h| std::cmp::Reverse(h.expires_at));
        Self {
            event_id: facts.event_id,
            terms: facts.terms,
            users: facts.users,
            expiring,
            read: 0,
            head: facts.queue.into_iter(),
            queue_complete: facts.queue_complete,
            tail: std::collections::VecDeque::new(),
            plan: Plan {
                seats: facts.seats,
                waitlist_count: facts.waitlist_count,
                expired: Vec::new(),
                holds: Vec::new(),
                bookings: Vec::new(),
                entries: Vec::new(),
                promotions: Vec::new(),
            },
        }
    }

    fn user(&mut self, user: UserId) -> &mut UserTickets {
        self.users.entry(user).or_default()
    }

    /// What every transaction does first: end the holds expired by `now`, then promote.
    fn settle(&mut self, now: Timestamp) -> Result<(), NeedQueue> {
        while let Some(hold) = self.expiring.pop_if(|h| h.expires_at <= now) {
            let seats = &mut self.plan.seats;
            seats.give_back(hold.ticket_type_id, hold.quantity, Taken::Held);
            let user = self.user(hold.user_id);
            user.tickets = user.tickets.saturating_sub(hold.quantity);
            self.plan.expired.push(Expiry {
                hold_id: hold.id,
                at: now,
            });
        }
        self.promote(now)
    }

    /// Strict FIFO promotion: sells seats to the queue's head while it fits.
    fn promote(&mut self, now: Timestamp) -> Result<(), NeedQueue> {
        loop {
            let seats = &self.plan.seats;
            if !seats.types.iter().any(|t| seats.free(t.id) > 0) {
                return Ok(()); // nothing can fit: no need to look at the queue
            }
            let from_head = self.head.as_slice().first().copied();
            let next = match from_head {
                Some(entry) => entry,
                None if !self.queue_complete => {
                    return Err(NeedQueue {
                        needed: (self.read * 2).max(100),
                    });
                }
                None => match self.tail.front() {
                    Some(entry) => *entry,
                    None => return Ok(()),
                },
            };
            if !self
                .plan
                .seats
                .take(next.ticket_type_id, next.quantity, Taken::Sold)
            {
                return Ok(()); // the head does not fit: nobody may overtake it
            }
            if from_head.is_some() {
                self.head.next();
                self.read += 1;
            } else {
                self.tail.pop_front();
            }
            let booking = self.booking(
                BookingId::generate(),
                next.ticket_type_id,
                next.user_id,
                next.quantity,
                BookingSource::Waitlist,
                now,
            );
            self.plan.promotions.push(Promotion {
                entry_id: next.id,
                booking_id: booking.id,
                at: now,
            });
            self.plan.bookings.push(booking);
            self.plan.waitlist_count = self.plan.waitlist_count.saturating_sub(1);
            let user = self.user(next.user_id);
            user.waiting.retain(|t| *t != next.ticket_type_id);
        }
    }

    fn decide(&mut self, op: &SeatOp, now: Timestamp) -> Outcome {
        let decided = match op {
            SeatOp::Hold {
                id,
                request,
                expires_at,
            } => self.hold(*id, request, *expires_at, now).map(Outcome::Held),
            SeatOp::Book {
                id,
                request,
                on_sold_out,
                allow_partial,
            } => self
                .book(*id, request, *on_sold_out, *allow_partial, now)
                .map(Outcome::Booked),
            SeatOp::Join(request) => self.join(request, now).map(Outcome::Joined),
        };
        decided.unwrap_or_else(Outcome::Refused)
    }

    /// The type `request` names, or the default type; then the sale terms.
    fn admit(&mut self, request: &SeatRequest, now: Timestamp) -> Result<TicketTypeId, Refusal> {
        let types = &self.plan.seats.types;
        let ty = match request.ticket_type_id {
            Some(id) => types.iter().find(|t| t.id == id),
            None => types.first(),
        }
        .ok_or(Refusal::NotFound)?
        .id;
        let already = self.users.get(&request.user_id).map_or(0, |u| u.tickets);
        let qty = request.quantity.get();
        seats::admit(&self.plan.seats, &self.terms, ty, already, qty, now)
            .map_err(Refusal::Refused)?;
        Ok(ty)
    }

    fn waits_for(&self, user: UserId, ty: TicketTypeId) -> bool {
        self.users
            .get(&user)
            .is_some_and(|u| u.waiting.contains(&ty))
    }

    fn hold(
        &mut self,
        id: HoldId,
        request: &SeatRequest,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Hold, Refusal> {
        let ty = self.admit(request, now)?;
        let quantity = request.quantity.get();
        if !self.plan.seats.take(ty, quantity, Taken::Held) {
            let available = self.plan.seats.free(ty);
            return Err(Refusal::SoldOut { available });
        }
        self.user(request.user_id).tickets += quantity;
        let ends = self.expiring.partition_point(|h| h.expires_at > expires_at);
        self.expiring.insert(
            ends,
            ExpiringHold {
                id,
                user_id: request.user_id,
                ticket_type_id: ty,
                quantity,
                expires_at,
            },
        );
        let hold = Hold {
            id,
            event_id: self.event_id,
            ticket_type_id: ty,
            user_id: request.user_id,
            quantity,
            expires_at,
            created_at: now,
        };
        self.plan.holds.push(hold.clone());
        Ok(hold)
    }

    fn book(
        &mut self,
        id: BookingId,
        request: &SeatRequest,
        on_sold_out: OnSoldOut,
        allow_partial: bool,
        now: Timestamp,
    ) -> Result<BookingOutcome, Refusal> {
        let ty = self.admit(request, now)?;
        let free = self.plan.seats.free(ty);
        let split = seats::plan_booking(free, request.quantity.get(), allow_partial, on_sold_out)
            .map_err(|available| Refusal::SoldOut { available })?;
        if split.wait > 0 && self.waits_for(request.user_id, ty) {
            return Err(Refusal::AlreadyWaitlisted);
        }
        let booking = (split.book > 0).then(|| {
            let taken = self.plan.seats.take(ty, split.book, Taken::Sold);
            debug_assert!(taken, "plan_booking books only free seats");
            let booking = self.booking(
                id,
                ty,
                request.user_id,
                split.book,
                BookingSource::Direct,
                now,
            );
            self.plan.bookings.push(booking.clone());
            booking
        });
        self.user(request.user_id).tickets += split.book;
        let waitlist_entry = (split.wait > 0).then(|| self.enqueue(request, ty, split.wait, now));
        Ok(BookingOutcome {
            booking,
            waitlist_entry,
        })
    }

    fn join(&mut self, request: &SeatRequest, now: Timestamp) -> Result<WaitlistEntry, Refusal> {
        let ty = self.admit(request, now)?;
        let quantity = request.quantity.get();
        if self.plan.seats.free(ty) >= quantity {
            return Err(Refusal::TicketsAvailable);
        }
        if self.waits_for(request.user_id, ty) {
            return Err(Refusal::AlreadyWaitlisted);
        }
        Ok(self.enqueue(request, ty, quantity, now))
    }

    /// Puts the user at the end of the queue for `quantity` seats of `ty`.
    fn enqueue(
        &mut self,
        request: &SeatRequest,
        ty: TicketTypeId,
        quantity: u32,
        now: Timestamp,
    ) -> WaitlistEntry {
        self.plan.waitlist_count += 1;
        let user = self.user(request.user_id);
        user.tickets += quantity;
        user.waiting.push(ty);
        let entry = WaitlistEntry {
            id: WaitlistEntryId::generate(),
            event_id: self.event_id,
            ticket_type_id: ty,
            user_id: request.user_id,
            quantity,
            // Entries join under the event's lock, so the newest is last in the queue.
            position: Some(self.plan.waitlist_count),
            status: WaitlistStatus::Waiting,
            booking_id: None,
            created_at: now,
            queue_seq: 0,
        };
        self.tail.push_back(Queued {
            id: entry.id,
            user_id: entry.user_id,
            ticket_type_id: ty,
            quantity,
        });
        self.plan.entries.push(entry.clone());
        entry
    }

    fn booking(
        &self,
        id: BookingId,
        ticket_type_id: TicketTypeId,
        user_id: UserId,
        quantity: u32,
        source: BookingSource,
        created_at: Timestamp,
    ) -> Booking {
        Booking {
            id,
            event_id: self.event_id,
            ticket_type_id,
            user_id,
            quantity,
            status: BookingStatus::Confirmed,
            source,
            created_at,
            cancelled_at: None,
        }
    }
}

#[cfg(test)]
#[path = "planner_tests.rs"]
mod tests;
