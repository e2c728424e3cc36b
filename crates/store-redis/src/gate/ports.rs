//! The port decorators: holds and bookings pass the gate, operations that give seats
//! back (and keyed requests) are marked before and rebuilt after, the rest goes to the
//! store.

use super::{Admission, SeatGate};
use async_trait::async_trait;
use boxoffice_domain::booking::{Booking, BookingOutcome, Hold, OnSoldOut};
use boxoffice_domain::event::{
    CatalogSnapshot, Event, EventCursor, EventDetails, EventQuery, EventSnapshot, NewEvent,
    NewTicketType, TicketTypeChanges,
};
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::planner::Timed;
use boxoffice_domain::ports::{
    BookError, BookRequest, Bookings, CancelBookingError, CancelEventError, ConfirmHoldError,
    EventRepository, HoldError, Idempotency, Keyed, KeyedSeats, Reservations, SeatLedger,
    SeatRequest, TicketTypeError, UpdateEventError,
};
use boxoffice_domain::{BookingId, EventId, HoldId, TicketTypeId, Timestamp, UserId};

#[async_trait]
impl<S> Reservations for SeatGate<S>
where
    S: Reservations + Bookings + EventRepository + SeatLedger,
{
    async fn hold(
        &self,
        id: HoldId,
        request: &SeatRequest,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Hold, HoldError> {
        let event = request.event_id;
        let taken = match self.admit(request, false, id.as_uuid(), now).await? {
            Admission::Refused { free, limit } => {
                return Err(match self.over_limit(request, limit).await? {
                    Some(refusal) => HoldError::Refused(refusal),
                    None => HoldError::SoldOut { available: free },
                });
            }
            Admission::AskStore => {
                let held = self.store.hold(id, request, now, expires_at).await;
                if held.is_ok() {
                    self.rebuild_after(event, now).await;
                }
                return held;
            }
            Admission::Taken(n) => n,
        };
        let held = self.store.hold(id, request, now, expires_at).await;
        match &held {
            Ok(hold) => {
                self.settle(event, id.as_uuid(), hold.quantity, Some(hold.expires_at))
                    .await;
            }
            Err(HoldError::SoldOut { .. }) => {
                tracing::info!(event_id = %event, taken, "the store refused seats Redis admitted");
                self.settle(event, id.as_uuid(), 0, None).await;
                self.rebuild_after(event, now).await;
            }
            // The store may or may not have recorded it: a rebuild will tell.
            Err(HoldError::Backend(_)) => self.abandon(event, id.as_uuid(), now).await,
            Err(HoldError::NotFound | HoldError::Refused(_) | HoldError::IdempotencyKeyReused) => {
                self.settle(event, id.as_uuid(), 0, None).await;
            }
        }
        held
    }

    async fn find_hold(&self, id: HoldId, now: Timestamp) -> anyhow::Result<Option<Hold>> {
        self.store.find_hold(id, now).await
    }

    async fn confirm_hold(
        &self,
        id: HoldId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Booking, ConfirmHoldError> {
        // Held seats become sold: nothing changes in Redis. An expired hold's seats come
        // back in the store; the event was scheduled for a rebuild at its expiry.
        self.store.confirm_hold(id, user, now).await
    }

    async fn release_hold(
        &self,
        id: HoldId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), ConfirmHoldError> {
        let Some(event) = self.store.find_hold(id, now).await?.map(|h| h.event_id) else {
            return self.store.release_hold(id, user, now).await;
        };
        let mark = self.mark(event, now).await?;
        let released = self.store.release_hold(id, user, now).await;
        self.rebuild_after_mark(event, now, &mark).await;
        released
    }

    async fn expire_holds(&self, now: Timestamp, limit: u32) -> anyhow::Result<u32> {
        let expired = self.store.expire_holds(now, limit).await?;
        // The store's expiry stands on its own; due events wait for the next sweep.
        if let Err(e) = self.rebuild_due(now).await {
            tracing::warn!(error = format!("{e:#}"), "due admission rebuilds deferred");
        }
        Ok(expired)
    }
}

/// Seats a booking request's outcome recorded under the request's own id (a repeat of
/// an idempotent request returns an earlier booking and records nothing).
fn seats_recorded(request: &BookRequest, outcome: &BookingOutcome) -> u32 {
    outcome
        .booking
        .as_ref()
        .filter(|b| b.id == request.booking_id)
        .map_or(0, |b| b.quantity)
}

#[async_trait]
impl<S> Bookings for SeatGate<S>
where
    S: Reservations + Bookings + EventRepository + SeatLedger,
{
    async fn book(
        &self,
        request: &BookRequest,
        now: Timestamp,
    ) -> Result<BookingOutcome, BookError> {
        let seats = &request.seats;
        let event = seats.event_id;
        let token = request.booking_id.as_uuid();
        let admission = self.admit(seats, request.allow_partial, token, now).await?;
        let taken = match admission {
            Admission::Taken(n) => n,
            // A keyed request may repeat one that booked: only the store knows.
            Admission::Refused { free, limit }
                if request.on_sold_out == OnSoldOut::Fail && request.idempotency.is_none() =>
            {
                return Err(match self.over_limit(seats, limit).await? {
                    Some(refusal) => BookError::Refused(refusal),
                    None => BookError::SoldOut { available: free },
                });
            }
            Admission::Refused { .. } | Admission::AskStore => {
                let outcome = self.store.book(request, now).await;
                if outcome
                    .as_ref()
                    .is_ok_and(|o| seats_recorded(request, o) > 0)
                {
                    // Redis thought there were no seats: it is behind the store.
                    self.rebuild_after(event, now).await;
                }
                return outcome;
            }
        };
        let outcome = self.store.book(request, now).await;
        match &outcome {
            Ok(o) => {
                let kept = seats_recorded(request, o);
                self.settle(event, token, kept, None).await;
                let repeat = o
                    .booking
                    .as_ref()
                    .is_some_and(|b| b.id != request.booking_id);
                if kept < taken && !repeat {
                    // The store had fewer seats than Redis admitted: Redis is ahead.
                    self.rebuild_after(event, now).await;
                }
            }
            Err(BookError::SoldOut { .. }) => {
                tracing::info!(event_id = %event, taken, "the store refused seats Redis admitted");
                self.settle(event, token, 0, None).await;
                self.rebuild_after(event, now).await;
            }
            Err(BookError::Backend(_)) => self.abandon(event, token, now).await,
            Err(
                BookError::NotFound
                | BookError::Refused(_)
                | BookError::AlreadyWaitlisted
                | BookError::IdempotencyKeyReused,
            ) => self.settle(event, token, 0, None).await,
        }
        outcome
    }

    async fn find_booking(&self, id: BookingId) -> anyhow::Result<Option<Booking>> {
        self.store.find_booking(id).await
    }

    async fn booking_of_hold(&self, hold: HoldId) -> anyhow::Result<Option<Booking>> {
        self.store.booking_of_hold(hold).await
    }

    async fn cancel_booking(
        &self,
        id: BookingId,
        quantity: Option<boxoffice_domain::booking::Quantity>,
        now: Timestamp,
    ) -> Result<Booking, CancelBookingError> {
        let Some(event) = self.store.find_booking(id).await?.map(|b| b.event_id) else {
            return self.store.cancel_booking(id, quantity, now).await;
        };
        let mark = self.mark(event, now).await?;
        let cancelled = self.store.cancel_booking(id, quantity, now).await;
        self.rebuild_after_mark(event, now, &mark).await;
        cancelled
    }

    async fn forget_idempotency_keys(&self, before: Timestamp) -> anyhow::Result<u64> {
        self.store.forget_idempotency_keys(before).await
    }

    async fn user_bookings(
        &self,
        user: UserId,
        status: Option<boxoffice_domain::booking::BookingStatus>,
        page: &PageRequest<BookingId>,
    ) -> anyhow::Result<Page<Booking, BookingId>> {
        self.store.user_bookings(user, status, page).await
    }
}

#[async_trait]
impl<S> EventRepository for SeatGate<S>
where
    S: Reservations + Bookings + EventRepository + SeatLedger,
{
    async fn create(&self, event: &NewEvent) -> anyhow::Result<Event> {
        self.store.create(event).await
    }

    async fn find(&self, id: EventId, now: Timestamp) -> anyhow::Result<Option<Event>> {
        self.store.find(id, now).await
    }

    async fn snapshot(&self, id: EventId, now: Timestamp) -> anyhow::Result<Option<EventSnapshot>> {
        self.store.snapshot(id, now).await
    }

    async fn list_scheduled(&self, query: &EventQuery) -> anyhow::Result<Page<Event, EventCursor>> {
        self.store.list_scheduled(query).await
    }

    async fn list_snapshot(&self, query: &EventQuery) -> anyhow::Result<CatalogSnapshot> {
        self.store.list_snapshot(query).await
    }

    async fn update_details(
        &self,
        id: EventId,
        details: &EventDetails,
        now: Timestamp,
    ) -> Result<Event, UpdateEventError> {
        let mark = self.mark(id, now).await?;
        let updated = self.store.update_details(id, details, now).await;
        self.rebuild_after_mark(id, now, &mark).await;
        updated
    }

    async fn add_ticket_type(
        &self,
        id: EventId,
        ticket_type: &NewTicketType,
        now: Timestamp,
    ) -> Result<Event, TicketTypeError> {
        // A new type takes no seat: the gate learns it at a rebuild (until then the
        // gate leaves its requests to the store).
        let added = self.store.add_ticket_type(id, ticket_type, now).await;
        if added.is_ok() {
            self.rebuild_after(id, now).await;
        }
        added
    }

    async fn change_ticket_type(
        &self,
        id: EventId,
        ticket_type: TicketTypeId,
        changes: &TicketTypeChanges,
        now: Timestamp,
    ) -> Result<Event, TicketTypeError> {
        // A higher quantity gives seats back, a lower one takes them away.
        let mark = self.mark(id, now).await?;
        let changed = self
            .store
            .change_ticket_type(id, ticket_type, changes, now)
            .await;
        self.rebuild_after_mark(id, now, &mark).await;
        changed
    }

    async fn retire_ticket_type(
        &self,
        id: EventId,
        ticket_type: TicketTypeId,
        now: Timestamp,
    ) -> Result<Event, TicketTypeError> {
        let mark = self.mark(id, now).await?;
        let retired = self.store.retire_ticket_type(id, ticket_type, now).await;
        self.rebuild_after_mark(id, now, &mark).await;
        retired
    }

    async fn cancel(&self, id: EventId, now: Timestamp) -> Result<Event, CancelEventError> {
        let mark = self.mark(id, now).await?;
        let cancelled = self.store.cancel(id, now).await;
        self.rebuild_after_mark(id, now, &mark).await;
        cancelled
    }
}

#[async_trait]
impl<S> KeyedSeats for SeatGate<S>
where
    S: Reservations + Bookings + EventRepository + SeatLedger + KeyedSeats,
{
    /// Keyed requests (a hold, confirmation, cancellation or join that may be a repeat)
    /// take no lease: whatever they took or gave back, the event is rebuilt from the
    /// store after them, as after every operation that gives seats back.
    async fn run_keyed(
        &self,
        event: EventId,
        user: UserId,
        key: &Idempotency,
        timed: Timed,
    ) -> anyhow::Result<Keyed> {
        let now = timed.now;
        let mark = self.mark(event, now).await?;
        let keyed = self.store.run_keyed(event, user, key, timed).await;
        self.rebuild_after_mark(event, now, &mark).await;
        keyed
    }
}
