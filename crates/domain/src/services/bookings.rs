use crate::booking::{
    Booking, BookingOutcome, BookingStatus, Hold, OnSoldOut, Quantity, WaitlistEntry,
    WaitlistStatus,
};
use crate::page::{Page, PageRequest};
use crate::ports::{
    Analytics, BookError, BookRequest, Bookings, CancelBookingError, CheckIns, ConfirmHoldError,
    EventRepository, EventStats, HoldError, Idempotency, JoinWaitlistError, KeyedSeats,
    LeaveWaitlistError, Reservations, SeatRequest, Waitlists,
};
use crate::user::{Role, User};
use crate::{BookingId, Clock, EventId, HoldId, TicketTypeId, Timestamp, UserId, WaitlistEntryId};
use chrono::{Duration, TimeZone, Utc};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How long idempotency keys are kept (the contract asks for at least 24 hours).
pub const IDEMPOTENCY_KEY_RETENTION: Duration = Duration::hours(48);

/// The ports the booking use cases need.
#[derive(Clone)]
pub struct BookingPorts {
    /// Holds.
    pub reservations: Arc<dyn Reservations>,
    /// Bookings.
    pub bookings: Arc<dyn Bookings>,
    /// Waitlists.
    pub waitlists: Arc<dyn Waitlists>,
    /// Seat requests that carry an idempotency key.
    pub keyed: Arc<dyn KeyedSeats>,
    /// Analytics.
    pub analytics: Arc<dyn Analytics>,
    /// Events, for ownership checks.
    pub events: Arc<dyn EventRepository>,
    /// Check-ins and named voids, for cancellations that name tickets.
    pub check_ins: Arc<dyn CheckIns>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

/// A lookup or permission failure of a read.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No such thing, or the caller may not see it.
    #[error("not found")]
    NotFound,
    /// The caller sees it but may not do this.
    #[error("not allowed")]
    Forbidden,
    /// A port failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// What a booking request asks for, as the edge parsed it.
#[derive(Debug, Clone)]
pub struct BookingIntent {
    /// The event.
    pub event_id: EventId,
    /// The ticket type, `None` for the event's first.
    pub ticket_type_id: Option<TicketTypeId>,
    /// How many tickets.
    pub quantity: Quantity,
    /// Waitlist or fail when sold out.
    pub on_sold_out: OnSoldOut,
    /// Book what is free when not all is.
    pub allow_partial: bool,
    /// The client's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
}

impl BookingIntent {
    /// A stable hash of everything the request asks for, to tell a repeat from a reuse.
    #[must_use]
    pub fn request_hash(&self) -> String {
        let canonical = format!(
            "{}|{}|{}|{}|{}",
            self.event_id,
            self.ticket_type_id
                .map(|t| t.to_string())
                .unwrap_or_default(),
            self.quantity.get(),
            self.on_sold_out.as_str(),
            self.allow_partial
        );
        format!("{:x}", Sha256::digest(canonical.as_bytes()))
    }
}

/// One event's figures as organizers see them.
#[derive(Debug, Clone, PartialEq)]
pub struct EventReport {
    /// The raw figures.
    pub stats: EventStats,
    /// `sold / capacity`.
    pub utilisation: f64,
    /// `cancelled / (sold + cancelled)`, 0 when nothing was sold.
    pub cancellation_rate: f64,
}

impl EventReport {
    fn new(stats: EventStats) -> Self {
        let ratio = |part: u32, whole: u32| {
            if whole == 0 {
                0.0
            } else {
                f64::from(part) / f64::from(whole)
            }
        };
        Self {
            utilisation: ratio(stats.sold, stats.capacity),
            cancellation_rate: ratio(stats.cancelled, stats.sold + stats.cancelled),
            stats,
        }
    }
}

/// Holds, bookings, cancellations, waitlists and analytics.
pub struct BookingService {
    pub(super) ports: BookingPorts,
    pub(super) hold_ttl: Duration,
}

impl BookingService {
    /// Wires the use cases; holds last `hold_ttl`.
    #[must_use]
    pub fn new(ports: BookingPorts, hold_ttl: Duration) -> Self {
        Self { ports, hold_ttl }
    }

    pub(super) fn now(&self) -> Timestamp {
        self.ports.clock.now()
    }

    /// Holds seats for the hold TTL; with `key`, repeats hold once (see `retries`).
    /// # Errors
    /// See [`HoldError`].
    pub async fn hold(
        &self,
        request: &SeatRequest,
        key: Option<String>,
    ) -> Result<Hold, HoldError> {
        if let Some(key) = key {
            return self.hold_keyed(request, key).await;
        }
        let now = self.now();
        self.ports
            .reservations
            .hold(HoldId::generate(), request, now, now + self.hold_ttl)
            .await
    }

    /// The caller's live hold.
    /// # Errors
    /// `NotFound` for another user's, ended or unknown hold.
    pub async fn hold_of(&self, user: UserId, id: HoldId) -> Result<Hold, AccessError> {
        match self.ports.reservations.find_hold(id, self.now()).await? {
            Some(hold) if hold.user_id == user => Ok(hold),
            _ => Err(AccessError::NotFound),
        }
    }

    /// Turns the caller's hold into a booking. Confirming a hold that is already
    /// confirmed answers its booking (as it is now), so a client that lost the first
    /// answer can simply send the request again.
    /// # Errors
    /// `NotFound`, or `Expired` when the hold ran out first.
    pub async fn confirm_hold(
        &self,
        user: UserId,
        id: HoldId,
        key: Option<String>,
    ) -> Result<Booking, ConfirmHoldError> {
        if let Some(key) = key {
            return self.confirm_keyed(user, id, key).await;
        }
        let confirmed = self
            .ports
            .reservations
            .confirm_hold(id, user, self.now())
            .await;
        if !matches!(confirmed, Err(ConfirmHoldError::NotFound)) {
            return confirmed;
        }
        self.booking_of_hold(user, id).await
    }

    /// Gives the caller's held seats back at once.
    /// # Errors
    /// `NotFound` when there is no such live hold.
    pub async fn release_hold(&self, user: UserId, id: HoldId) -> Result<(), ConfirmHoldError> {
        self.ports
            .reservations
            .release_hold(id, user, self.now())
            .await
    }

    /// Books seats, or queues for them; repeats with one idempotency key book once.
    /// # Errors
    /// See [`BookError`].
    pub async fn book(
        &self,
        user: UserId,
        intent: BookingIntent,
    ) -> Result<BookingOutcome, BookError> {
        let idempotency = intent.idempotency_key.clone().map(|key| Idempotency {
            key,
            request_hash: intent.request_hash(),
        });
        let request = BookRequest {
            booking_id: BookingId::generate(),
            seats: SeatRequest {
                event_id: intent.event_id,
                ticket_type_id: intent.ticket_type_id,
                user_id: user,
                quantity: intent.quantity,
            },
            on_sold_out: intent.on_sold_out,
            allow_partial: intent.allow_partial,
            idempotency,
        };
        self.ports.bookings.book(&request, self.now()).await
    }

    /// A booking its owner, its event's organizer or an admin may see.
    /// # Errors
    /// `NotFound` for anyone else, as for unknown ids.
    pub async fn booking(&self, actor: &User, id: BookingId) -> Result<Booking, AccessError> {
        let booking = self
            .ports
            .bookings
            .find_booking(id)
            .await?
            .ok_or(AccessError::NotFound)?;
        if booking.user_id == actor.id || actor.role == Role::Admin {
            return Ok(booking);
        }
        let event = self.ports.events.find(booking.event_id, self.now()).await?;
        match event {
            Some(event) if event.organizer_id == actor.id && actor.role.can_organize() => {
                Ok(booking)
            }
            _ => Err(AccessError::NotFound),
        }
    }

    /// Cancels all or part of a booking (its owner or an admin).
    /// # Errors
    /// `NotFound` for anyone else; see [`CancelBookingError`].
    pub async fn cancel_booking(
        &self,
        actor: &User,
        id: BookingId,
        quantity: Option<Quantity>,
        key: Option<String>,
    ) -> Result<Booking, CancelBookingError> {
        let booking = self
            .ports
            .bookings
            .find_booking(id)
            .await?
            .ok_or(CancelBookingError::NotFound)?;
        if booking.user_id != actor.id && actor.role != Role::Admin {
            return Err(CancelBookingError::NotFound);
        }
        let before = self.tickets_before_cancel(id, quantity).await?;
        let cancelled = match key {
            Some(key) => {
                let seats = quantity.map_or_else(|| "all".to_owned(), |q| q.get().to_string());
                self.cancel_keyed(actor, &booking, quantity, &seats, key)
                    .await?
            }
            None => {
                self.ports
                    .bookings
                    .cancel_booking(id, quantity, self.now())
                    .await?
            }
        };
        self.record_voids(before, &cancelled, &[]).await;
        Ok(cancelled)
    }

    /// The caller's bookings, newest first.
    /// # Errors
    /// Only when the store fails.
    pub async fn my_bookings(
        &self,
        user: UserId,
        status: Option<BookingStatus>,
        page: &PageRequest<BookingId>,
    ) -> anyhow::Result<Page<Booking, BookingId>> {
        self.ports.bookings.user_bookings(user, status, page).await
    }

    /// Queues for seats that are not free.
    /// # Errors
    /// See [`JoinWaitlistError`].
    pub async fn join_waitlist(
        &self,
        request: &SeatRequest,
        key: Option<String>,
    ) -> Result<WaitlistEntry, JoinWaitlistError> {
        if let Some(key) = key {
            return self.join_keyed(request, key).await;
        }
        self.ports.waitlists.join(request, self.now()).await
    }

    /// Takes a waiting entry out of its queue: the entry's owner leaves, and the event's
    /// organizer or an admin may remove anyone's entry (one that can never be served, say).
    /// # Errors
    /// `NotFound` also when the caller may not see the entry; see [`LeaveWaitlistError`].
    #[tracing::instrument(skip_all, fields(entry_id = %id))]
    pub async fn leave_waitlist(
        &self,
        actor: &User,
        id: WaitlistEntryId,
    ) -> Result<(), LeaveWaitlistError> {
        let now = self.now();
        let entry = self
            .ports
            .waitlists
            .find_entry(id)
            .await?
            .ok_or(LeaveWaitlistError::NotFound)?;
        if entry.user_id != actor.id {
            let event = self.ports.events.find(entry.event_id, now).await?;
            if !event.is_some_and(|event| event.is_managed_by(actor)) {
                return Err(LeaveWaitlistError::NotFound);
            }
            tracing::info!(event_id = %entry.event_id, user_id = %entry.user_id, removed_by = %actor.id, "waitlist entry removed by the event's organizer");
        }
        self.ports.waitlists.leave(id, entry.user_id, now).await
    }

    /// An event's queue, for its organizer and admins.
    /// # Errors
    /// `NotFound` for an unknown event, `Forbidden` for other callers.
    pub async fn event_waitlist(
        &self,
        actor: &User,
        event: EventId,
        status: WaitlistStatus,
        page: &PageRequest<u64>,
    ) -> Result<Page<WaitlistEntry, u64>, AccessError> {
        let found = self
            .ports
            .events
            .find(event, self.now())
            .await?
            .ok_or(AccessError::NotFound)?;
        if !found.is_managed_by(actor) {
            return Err(AccessError::Forbidden);
        }
        Ok(self
            .ports
            .waitlists
            .event_queue(event, status, page)
            .await?)
    }

    /// The caller's waitlist entries, newest first.
    /// # Errors
    /// Only when the store fails.
    pub async fn my_waitlist(
        &self,
        user: UserId,
        page: &PageRequest<u64>,
    ) -> anyhow::Result<Page<WaitlistEntry, u64>> {
        self.ports.waitlists.user_entries(user, page).await
    }

    /// Figures of every event (admins) or of the caller's own (organizers), by utilisation.
    /// # Errors
    /// `Forbidden` for attendees.
    pub async fn analytics(&self, actor: &User) -> Result<Vec<EventReport>, AccessError> {
        let organizer = match actor.role {
            Role::Admin => None,
            Role::Organizer => Some(actor.id),
            Role::Attendee => return Err(AccessError::Forbidden),
        };
        let now = self.now();
        let midnight = Utc.from_utc_datetime(&now.date_naive().and_time(chrono::NaiveTime::MIN));
        let mut reports: Vec<_> = self
            .ports
            .analytics
            .event_stats(organizer, midnight)
            .await?
            .into_iter()
            .map(EventReport::new)
            .collect();
        reports.sort_by(|a, b| b.utilisation.total_cmp(&a.utilisation));
        Ok(reports)
    }

    /// Deletes idempotency keys older than [`IDEMPOTENCY_KEY_RETENTION`]; returns how many.
    /// # Errors
    /// Only when the store fails.
    pub async fn forget_old_idempotency_keys(&self) -> anyhow::Result<u64> {
        let before = self.now() - IDEMPOTENCY_KEY_RETENTION;
        self.ports.bookings.forget_idempotency_keys(before).await
    }

    /// Ends holds that expired by now, returning their seats; returns how many ended.
    /// # Errors
    /// Only when the store fails.
    pub async fn expire_due_holds(&self) -> anyhow::Result<u32> {
        const BATCH: u32 = 500;
        let now = self.now();
        let mut total = 0;
        loop {
            let expired = self.ports.reservations.expire_holds(now, BATCH).await?;
            total += expired;
            if expired < BATCH {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
#[path = "bookings_tests.rs"]
mod tests;
