//! The state of one event while a batch is decided, and the rule of each request.

use super::{
    EntryEnd, EventFacts, ExpiringHold, HoldEnd, NeedQueue, NewBooking, Outcome, Plan, Queued,
    Refusal, SeatOp, UserTickets, booked, confirmed, waiting,
};
use crate::booking::{
    Booking, BookingOutcome, BookingSource, BookingStatus, ClosedReason, Hold, HoldStatus,
    OnSoldOut, Quantity, WaitlistEntry, WaitlistStatus,
};
use crate::event::EventStatus;
use crate::outbox::{Message, MessageType, Payload};
use crate::ports::SeatRequest;
use crate::seats::{self, SaleTerms, Taken, TypeSeats};
use crate::{BookingId, EventId, HoldId, TicketTypeId, Timestamp, UserId, WaitlistEntryId};
use std::collections::{HashMap, HashSet, VecDeque};

/// The next entry promotion looks at.
enum Next {
    /// From the entries the store read.
    Head(Queued),
    /// From the entries this batch queued.
    Tail(Queued),
}

impl Next {
    const fn entry(&self) -> Queued {
        match self {
            Self::Head(entry) | Self::Tail(entry) => *entry,
        }
    }
}

/// How a waiting entry leaves the queue.
#[derive(Clone, Copy)]
enum Ended {
    /// It became this booking.
    Promoted(BookingId),
    /// Its user took it out.
    Left,
    /// A change of its ticket type closed it.
    Closed(ClosedReason),
}

/// One event while a batch is decided.
pub(super) struct Planner {
    event_id: EventId,
    terms: SaleTerms,
    users: HashMap<UserId, UserTickets>,
    /// Active holds that may expire during the batch, the earliest last.
    expiring: Vec<ExpiringHold>,
    /// Holds the batch names or made, as they are now.
    holds: HashMap<HoldId, (Hold, HoldStatus)>,
    /// Bookings the batch names or made, as they are now.
    bookings: HashMap<BookingId, Booking>,
    /// Entries the batch names or queued, as they are now.
    entries: HashMap<WaitlistEntryId, WaitlistEntry>,
    /// Entries that left the queue during the batch: promotion skips them.
    gone: HashSet<WaitlistEntryId>,
    /// Waiting entries read by the store, not yet promoted.
    head: std::vec::IntoIter<Queued>,
    /// Entries of `head` looked at so far (for [`NeedQueue`]).
    read: usize,
    queue_complete: bool,
    /// Entries this batch queued, not yet promoted, in queue order.
    tail: VecDeque<Queued>,
    /// Waiting entries the batch may close (see [`EventFacts::closable`]).
    closable: Vec<Queued>,
    plan: Plan,
}

impl Planner {
    pub(super) fn new(facts: EventFacts) -> Self {
        let mut expiring = facts.expiring;
        expiring.sort_by_key(|h| std::cmp::Reverse(h.expires_at));
        Self {
            event_id: facts.event_id,
            terms: facts.terms,
            users: facts.users,
            expiring,
            holds: facts.holds,
            bookings: facts.bookings,
            entries: facts.entries,
            gone: HashSet::new(),
            head: facts.queue.into_iter(),
            read: 0,
            queue_complete: facts.queue_complete,
            tail: VecDeque::new(),
            closable: facts.closable,
            plan: Plan {
                seats: facts.seats,
                waitlist_count: facts.waitlist_count,
                cancelled_seats: 0,
                holds: Vec::new(),
                bookings: Vec::new(),
                entries: Vec::new(),
                ended_holds: Vec::new(),
                ended_entries: Vec::new(),
                changed_bookings: Vec::new(),
                cancelled_at: None,
                messages: Vec::new(),
            },
        }
    }

    pub(super) fn into_plan(self) -> Plan {
        self.plan
    }

    /// One request as its own transaction would run it: end the holds expired by `now`,
    /// promote, decide, promote again if seats came back.
    pub(super) fn run(&mut self, op: &SeatOp, now: Timestamp) -> Result<Outcome, NeedQueue> {
        let expired = self.sweep(now);
        if *op != SeatOp::CancelEvent {
            // A promotion would only make a booking that is cancelled at once.
            self.promote(now)?;
        }
        let outcome = self.decide(op, now, expired);
        self.promote(now)?;
        Ok(outcome)
    }

    fn cancelled(&self) -> bool {
        self.terms.status == EventStatus::Cancelled
    }

    fn user(&mut self, user: UserId) -> &mut UserTickets {
        self.users.entry(user).or_default()
    }

    /// Ends the holds expired by `now`; returns how many.
    fn sweep(&mut self, now: Timestamp) -> u32 {
        let mut expired = 0;
        while let Some(due) = self.expiring.pop_if(|h| h.expires_at <= now) {
            let still_active = self
                .holds
                .get(&due.id)
                .is_none_or(|(_, status)| *status == HoldStatus::Active);
            if still_active {
                self.end_hold(due.id, due.user_id, due.ticket_type_id, due.quantity, now);
                expired += 1;
            }
        }
        expired
    }

    /// Ends active hold `id` by expiry, giving its seats back.
    fn end_hold(&mut self, id: HoldId, user: UserId, ty: TicketTypeId, qty: u32, now: Timestamp) {
        self.plan.seats.give_back(ty, qty, Taken::Held);
        let tickets = &mut self.user(user).tickets;
        *tickets = tickets.saturating_sub(qty);
        self.set_hold(id, (ty, qty), HoldStatus::Expired, now);
    }

    /// Ends hold `id` of `qty` seats of `ty`; an expiry or a release is a message (a
    /// confirmation is told by its booking's).
    fn set_hold(
        &mut self,
        id: HoldId,
        (ty, qty): (TicketTypeId, u32),
        status: HoldStatus,
        now: Timestamp,
    ) {
        if let Some((_, current)) = self.holds.get_mut(&id) {
            *current = status;
        }
        self.plan.ended_holds.push(HoldEnd {
            hold_id: id,
            status,
            at: now,
        });
        let kind = match status {
            HoldStatus::Expired => MessageType::HoldExpired,
            HoldStatus::Released => MessageType::HoldReleased,
            HoldStatus::Active | HoldStatus::Confirmed => return,
        };
        let payload = Payload::HoldEnded {
            hold_id: id,
            ticket_type_id: ty,
            quantity: qty,
            status,
        };
        self.tell(kind, now, payload);
    }

    /// Adds an outbox message about the event.
    fn tell(&mut self, kind: MessageType, now: Timestamp, payload: Payload) {
        let message = Message::new(self.event_id, kind, now, payload);
        self.plan.messages.push(message);
    }

    /// The next waiting entry, skipping those that left; `None` at the end of the queue.
    fn next_waiting(&mut self) -> Result<Option<Next>, NeedQueue> {
        loop {
            if let Some(entry) = self.head.as_slice().first().copied() {
                if self.gone.contains(&entry.id) {
                    self.head.next();
                    self.read += 1;
                    continue;
                }
                return Ok(Some(Next::Head(entry)));
            }
            if !self.queue_complete {
                return Err(NeedQueue {
                    needed: (self.read * 2).max(100),
                });
            }
            match self.tail.front().copied() {
                Some(entry) if self.gone.contains(&entry.id) => {
                    self.tail.pop_front();
                }
                Some(entry) => return Ok(Some(Next::Tail(entry))),
                None => return Ok(None),
            }
        }
    }

    /// Strict FIFO promotion: sells seats to the queue's head while it fits.
    fn promote(&mut self, now: Timestamp) -> Result<(), NeedQueue> {
        loop {
            let seats = &self.plan.seats;
            if self.cancelled() || !seats.types.iter().any(|t| seats.free(t.id) > 0) {
                return Ok(()); // nothing can fit: no need to look at the queue
            }
            let Some(next) = self.next_waiting()? else {
                return Ok(());
            };
            let entry = next.entry();
            let seats = &mut self.plan.seats;
            if !seats.take(entry.ticket_type_id, entry.quantity, Taken::Sold) {
                return Ok(()); // the head does not fit: nobody may overtake it
            }
            match next {
                Next::Head(_) => {
                    self.head.next();
                    self.read += 1;
                }
                Next::Tail(_) => {
                    self.tail.pop_front();
                }
            }
            let booking = confirmed(
                BookingId::generate(),
                self.event_id,
                (entry.ticket_type_id, entry.user_id, entry.quantity),
                self.price_of(entry.ticket_type_id),
                BookingSource::Waitlist,
                now,
            );
            let booking = self.insert_booking(booking, None);
            let promoted = Ended::Promoted(booking.id);
            self.end_entry(entry, promoted, now);
        }
    }

    /// The price of one ticket of `ty` now (0 for an unknown type, which sells nothing).
    fn price_of(&self, ty: TicketTypeId) -> i64 {
        self.plan.seats.of(ty).map_or(0, |t| t.price_cents)
    }

    /// Takes waiting `entry` out of the queue.
    fn end_entry(&mut self, entry: Queued, ended: Ended, now: Timestamp) {
        let (status, booking_id, closed_reason) = match ended {
            Ended::Promoted(booking) => (WaitlistStatus::Promoted, Some(booking), None),
            Ended::Left => (WaitlistStatus::Left, None, None),
            Ended::Closed(reason) => (WaitlistStatus::Closed, None, Some(reason)),
        };
        self.plan.waitlist_count = self.plan.waitlist_count.saturating_sub(1);
        self.gone.insert(entry.id);
        if let Some(stored) = self.entries.get_mut(&entry.id) {
            stored.status = status;
            stored.booking_id = booking_id;
            stored.closed_reason = closed_reason;
        }
        let user = self.user(entry.user_id);
        user.waiting.retain(|t| *t != entry.ticket_type_id);
        if status != WaitlistStatus::Promoted {
            user.tickets = user.tickets.saturating_sub(entry.quantity);
        }
        self.plan.ended_entries.push(EntryEnd {
            entry_id: entry.id,
            status,
            closed_reason,
            booking_id,
            at: now,
        });
        let (kind, payload) = match ended {
            Ended::Promoted(booking_id) => (
                MessageType::WaitlistPromoted,
                Payload::WaitlistPromoted {
                    entry_id: entry.id,
                    booking_id,
                },
            ),
            Ended::Left | Ended::Closed(_) => (
                MessageType::WaitlistLeft,
                Payload::WaitlistLeft {
                    entry_id: entry.id,
                    status,
                    closed_reason,
                },
            ),
        };
        self.tell(kind, now, payload);
    }

    /// Closes the waiting entries that `close` picks, stored or queued by the batch.
    fn close_entries(
        &mut self,
        close: impl Fn(&Queued) -> bool,
        reason: ClosedReason,
        now: Timestamp,
    ) {
        let picked: Vec<Queued> = self
            .closable
            .iter()
            .chain(&self.tail)
            .filter(|e| !self.gone.contains(&e.id) && close(e))
            .copied()
            .collect();
        for entry in picked {
            self.end_entry(entry, Ended::Closed(reason), now);
        }
    }

    fn decide(&mut self, op: &SeatOp, now: Timestamp, expired: u32) -> Outcome {
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
            SeatOp::Confirm { hold_id, user_id } => self
                .confirm(*hold_id, *user_id, now)
                .map(Outcome::Confirmed),
            SeatOp::Release { hold_id, user_id } => self
                .release(*hold_id, *user_id, now)
                .map(|()| Outcome::Released),
            SeatOp::Cancel {
                booking_id,
                quantity,
            } => self
                .cancel(*booking_id, *quantity, now)
                .map(Outcome::Cancelled),
            SeatOp::Leave { entry_id, user_id } => {
                self.leave(*entry_id, *user_id, now).map(|()| Outcome::Left)
            }
            SeatOp::Resize { capacity } => self.resize(*capacity, now).map(|()| Outcome::Resized),
            SeatOp::ChangeType {
                ticket_type_id,
                quantity,
                price_cents,
            } => self
                .change_type(*ticket_type_id, *quantity, *price_cents, now)
                .map(|()| Outcome::TypeChanged),
            SeatOp::RetireType { ticket_type_id } => self
                .retire_type(*ticket_type_id, now)
                .map(|()| Outcome::TypeChanged),
            SeatOp::Sweep => Ok(Outcome::Swept { expired }),
            SeatOp::CancelEvent => Ok(self.cancel_event(now)),
        };
        decided.unwrap_or_else(Outcome::Refused)
    }

    /// The type `request` names, or the default type; then the sale terms.
    fn admit(&self, request: &SeatRequest, now: Timestamp) -> Result<TicketTypeId, Refusal> {
        let seats = &self.plan.seats;
        let ty = match request.ticket_type_id {
            Some(id) => seats.of(id),
            None => seats.default_type(),
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
        let hold = Hold {
            id,
            event_id: self.event_id,
            ticket_type_id: ty,
            user_id: request.user_id,
            quantity,
            price_cents: self.price_of(ty),
            expires_at,
            created_at: now,
        };
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
        self.holds.insert(id, (hold.clone(), HoldStatus::Active));
        self.plan.holds.push(hold.clone());
        let payload = Payload::HoldCreated { hold: hold.clone() };
        self.tell(MessageType::HoldCreated, now, payload);
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
            self.user(request.user_id).tickets += split.book;
            let seats = (ty, request.user_id, split.book);
            let price = self.price_of(ty);
            let booking = confirmed(id, self.event_id, seats, price, BookingSource::Direct, now);
            self.insert_booking(booking, None)
        });
        let entry = (split.wait > 0).then(|| self.enqueue(request, ty, split.wait, now));
        Ok(booked(booking, entry))
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
        // Entries join under the event's lock, so the newest is last in the queue.
        let position = self.plan.waitlist_count;
        let entry = waiting(self.event_id, request, ty, quantity, position, now);
        self.tail.push_back(Queued {
            id: entry.id,
            user_id: entry.user_id,
            ticket_type_id: ty,
            quantity,
        });
        self.entries.insert(entry.id, entry.clone());
        self.plan.entries.push(entry.clone());
        let payload = Payload::WaitlistJoined {
            entry: entry.clone(),
        };
        self.tell(MessageType::WaitlistJoined, now, payload);
        entry
    }

    /// Stores `booking` (from hold `hold_id`, if any); returns it.
    fn insert_booking(&mut self, booking: Booking, hold_id: Option<HoldId>) -> Booking {
        self.bookings.insert(booking.id, booking.clone());
        self.plan.bookings.push(NewBooking {
            booking: booking.clone(),
            hold_id,
        });
        let payload = Payload::BookingConfirmed {
            booking: booking.clone(),
        };
        self.tell(MessageType::BookingConfirmed, booking.created_at, payload);
        booking
    }

    /// `user`'s hold `id` if it is active; a hold past its expiry ends first.
    fn live_hold(&mut self, id: HoldId, user: UserId, now: Timestamp) -> Result<Hold, Refusal> {
        let (hold, status) = match self.holds.get(&id) {
            Some((hold, status)) if hold.user_id == user => (hold.clone(), *status),
            _ => return Err(Refusal::HoldNotFound),
        };
        match status {
            HoldStatus::Active if hold.expires_at <= now => {
                // The store's sweep facts missed it: it expires now, as the sweep would.
                self.end_hold(id, user, hold.ticket_type_id, hold.quantity, now);
                Err(Refusal::HoldExpired)
            }
            HoldStatus::Active => Ok(hold),
            HoldStatus::Expired => Err(Refusal::HoldExpired),
            HoldStatus::Confirmed | HoldStatus::Released => Err(Refusal::HoldNotFound),
        }
    }

    fn confirm(&mut self, id: HoldId, user: UserId, now: Timestamp) -> Result<Booking, Refusal> {
        let hold = self.live_hold(id, user, now)?;
        self.plan
            .seats
            .sell_held(hold.ticket_type_id, hold.quantity);
        let seats = (hold.ticket_type_id, hold.quantity);
        self.set_hold(id, seats, HoldStatus::Confirmed, now);
        let seats = (hold.ticket_type_id, user, hold.quantity);
        let booking = confirmed(
            BookingId::generate(),
            self.event_id,
            seats,
            hold.price_cents,
            BookingSource::Hold,
            now,
        );
        Ok(self.insert_booking(booking, Some(id)))
    }

    fn release(&mut self, id: HoldId, user: UserId, now: Timestamp) -> Result<(), Refusal> {
        let hold = self
            .live_hold(id, user, now)
            .map_err(|_| Refusal::HoldNotFound)?;
        let seats = &mut self.plan.seats;
        seats.give_back(hold.ticket_type_id, hold.quantity, Taken::Held);
        let tickets = &mut self.user(user).tickets;
        *tickets = tickets.saturating_sub(hold.quantity);
        let seats = (hold.ticket_type_id, hold.quantity);
        self.set_hold(id, seats, HoldStatus::Released, now);
        Ok(())
    }

    fn cancel(
        &mut self,
        id: BookingId,
        quantity: Option<Quantity>,
        now: Timestamp,
    ) -> Result<Booking, Refusal> {
        let Some(mut booking) = self.bookings.get(&id).cloned() else {
            return Err(Refusal::BookingNotFound);
        };
        if booking.status == BookingStatus::Cancelled {
            return Err(Refusal::AlreadyCancelled);
        }
        let n = quantity.map_or(booking.quantity, Quantity::get);
        if n > booking.quantity {
            return Err(Refusal::TooMany {
                booked: booking.quantity,
            });
        }
        if n == booking.quantity {
            booking.status = BookingStatus::Cancelled;
            booking.cancelled_at = Some(now);
        } else {
            booking.quantity -= n;
        }
        let seats = &mut self.plan.seats;
        seats.give_back(booking.ticket_type_id, n, Taken::Sold);
        self.plan.cancelled_seats += n;
        let tickets = &mut self.user(booking.user_id).tickets;
        *tickets = tickets.saturating_sub(n);
        self.bookings.insert(id, booking.clone());
        let changed = &mut self.plan.changed_bookings;
        changed.retain(|b| b.id != id);
        changed.push(booking.clone());
        let payload = Payload::BookingCancelled {
            booking: booking.clone(),
            quantity: n,
            partial: booking.status == BookingStatus::Confirmed,
        };
        self.tell(MessageType::BookingCancelled, now, payload);
        Ok(booking)
    }

    fn leave(&mut self, id: WaitlistEntryId, user: UserId, now: Timestamp) -> Result<(), Refusal> {
        let entry = match self.entries.get(&id) {
            Some(entry) if entry.user_id == user => entry,
            _ => return Err(Refusal::EntryNotFound),
        };
        match entry.status {
            WaitlistStatus::Left => Ok(()), // leaving twice is harmless
            WaitlistStatus::Promoted | WaitlistStatus::Closed => {
                Err(Refusal::NotWaiting(entry.status))
            }
            WaitlistStatus::Waiting => {
                let queued = Queued {
                    id,
                    user_id: user,
                    ticket_type_id: entry.ticket_type_id,
                    quantity: entry.quantity,
                };
                self.end_entry(queued, Ended::Left, now);
                Ok(())
            }
        }
    }

    /// Sets the capacity (and tells that the event changed: the store writes its other
    /// fields in the same transaction). Entries that want more seats than the new
    /// capacity close: they could never be served and would block the queue.
    fn resize(&mut self, capacity: u32, now: Timestamp) -> Result<(), Refusal> {
        if self.cancelled() {
            return Err(Refusal::Cancelled);
        }
        let seats = &mut self.plan.seats;
        let taken = seats.sold + seats.held;
        if capacity < taken {
            return Err(Refusal::CapacityBelowSold { taken });
        }
        seats.capacity = capacity;
        self.tell_event(MessageType::EventUpdated, now);
        let too_big = move |e: &Queued| e.quantity > capacity;
        self.close_entries(too_big, ClosedReason::CapacityLowered, now);
        Ok(())
    }

    /// Tells that the event itself changed.
    fn tell_event(&mut self, kind: MessageType, now: Timestamp) {
        let event_id = self.event_id;
        self.tell(kind, now, Payload::Event { event_id });
    }

    /// The type `ty` of an event that still changes, for a change of the type.
    fn changeable_type(&mut self, ty: TicketTypeId) -> Result<&mut TypeSeats, Refusal> {
        if self.cancelled() {
            return Err(Refusal::Cancelled);
        }
        let types = &mut self.plan.seats.types;
        types
            .iter_mut()
            .find(|t| t.id == ty)
            .ok_or(Refusal::NotFound)
    }

    /// Sets type `ty`'s quantity and price. A cap below its seats sold and held is
    /// refused; a lower cap closes the waiting entries of the type that want more than
    /// it (they could never be served and would block the queue); a higher or lifted
    /// cap promotes once the request is decided.
    #[allow(clippy::option_option)] // Some(None) lifts the cap.
    fn change_type(
        &mut self,
        ty: TicketTypeId,
        quantity: Option<Option<u32>>,
        price_cents: Option<i64>,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        let t = self.changeable_type(ty)?;
        if t.retired {
            return Err(Refusal::TypeRetired);
        }
        let taken = t.sold + t.held;
        if let Some(Some(cap)) = quantity
            && cap < taken
        {
            return Err(Refusal::QuantityBelowSold { taken });
        }
        if let Some(quantity) = quantity {
            t.quantity = quantity;
        }
        if let Some(price) = price_cents {
            t.price_cents = price;
        }
        self.tell_event(MessageType::EventUpdated, now);
        if let Some(Some(cap)) = quantity {
            let too_big = move |e: &Queued| e.ticket_type_id == ty && e.quantity > cap;
            self.close_entries(too_big, ClosedReason::QuantityLowered, now);
        }
        Ok(())
    }

    /// Retires type `ty` (again: nothing changes): its waiting entries close.
    fn retire_type(&mut self, ty: TicketTypeId, now: Timestamp) -> Result<(), Refusal> {
        let t = self.changeable_type(ty)?;
        if !t.retired {
            t.retired = true;
            self.tell_event(MessageType::EventUpdated, now);
            let of_type = move |e: &Queued| e.ticket_type_id == ty;
            self.close_entries(of_type, ClosedReason::TicketTypeRetired, now);
        }
        Ok(())
    }

    /// Cancels the event: every booking, hold and entry ends, every counter goes to zero.
    fn cancel_event(&mut self, now: Timestamp) -> Outcome {
        if self.cancelled() {
            return Outcome::EventCancelled; // cancelling again changes nothing
        }
        self.terms.status = EventStatus::Cancelled;
        self.tell_event(MessageType::EventCancelled, now);
        let seats = &mut self.plan.seats;
        self.plan.cancelled_seats += seats.sold;
        seats.sold = 0;
        seats.held = 0;
        for t in &mut seats.types {
            t.sold = 0;
            t.held = 0;
        }
        self.plan.waitlist_count = 0;
        self.plan.cancelled_at = Some(now);
        // What the store's cascade does to the rows, for the requests after this one.
        self.expiring.clear();
        self.head = Vec::new().into_iter();
        self.tail.clear();
        self.queue_complete = true;
        self.users.clear();
        for (_, status) in self.holds.values_mut() {
            if *status == HoldStatus::Active {
                *status = HoldStatus::Released;
            }
        }
        for booking in self.bookings.values_mut() {
            if booking.status == BookingStatus::Confirmed {
                booking.status = BookingStatus::Cancelled;
                booking.cancelled_at = Some(now);
            }
        }
        for entry in self.entries.values_mut() {
            if entry.status == WaitlistStatus::Waiting {
                entry.status = WaitlistStatus::Closed;
                entry.closed_reason = Some(ClosedReason::EventCancelled);
            }
        }
        Outcome::EventCancelled
    }
}
