//! Seat requests that carry an `Idempotency-Key`: a client that lost an answer sends the
//! same request again and gets what the first one made, as it is now, with no second
//! effect. The same key with another request is refused.

use super::BookingService;
use crate::booking::{Booking, Hold, Quantity, WaitlistEntry};
use crate::planner::{SeatOp, Timed};
use crate::ports::{
    CancelBookingError, ConfirmHoldError, HoldError, Idempotency, JoinWaitlistError, Keyed,
    SeatRequest,
};
use crate::user::User;
use crate::{EventId, HoldId, UserId};

/// The request a seat request's key stands for: its operation and all it asks for.
fn seats_key(key: String, operation: &str, request: &SeatRequest) -> Idempotency {
    let ticket_type = request
        .ticket_type_id
        .map(|t| t.to_string())
        .unwrap_or_default();
    Idempotency::new(
        key,
        &[
            operation,
            &request.event_id.to_string(),
            &ticket_type,
            &request.quantity.get().to_string(),
        ],
    )
}

/// A replay that should hold something but does not: its rows are gone.
fn vanished(what: &str) -> anyhow::Error {
    anyhow::anyhow!("the {what} an idempotency key recorded is gone")
}

impl BookingService {
    async fn run_keyed(
        &self,
        event: EventId,
        user: UserId,
        key: &Idempotency,
        op: SeatOp,
    ) -> anyhow::Result<Keyed> {
        let now = self.now();
        self.ports
            .keyed
            .run_keyed(event, user, key, Timed { op, now })
            .await
    }

    pub(super) async fn hold_keyed(
        &self,
        request: &SeatRequest,
        key: String,
    ) -> Result<Hold, HoldError> {
        let key = seats_key(key, "hold", request);
        let op = SeatOp::Hold {
            id: HoldId::generate(),
            request: *request,
            expires_at: self.now() + self.hold_ttl,
        };
        match self
            .run_keyed(request.event_id, request.user_id, &key, op)
            .await?
        {
            Keyed::Ran(outcome) => outcome.into_hold(),
            Keyed::Repeat(replay) => Ok(replay.hold.ok_or_else(|| vanished("hold"))?),
            Keyed::KeyReused => Err(HoldError::IdempotencyKeyReused),
        }
    }

    pub(super) async fn join_keyed(
        &self,
        request: &SeatRequest,
        key: String,
    ) -> Result<WaitlistEntry, JoinWaitlistError> {
        let key = seats_key(key, "join", request);
        let op = SeatOp::Join(*request);
        match self
            .run_keyed(request.event_id, request.user_id, &key, op)
            .await?
        {
            Keyed::Ran(outcome) => outcome.into_entry(),
            Keyed::Repeat(replay) => Ok(replay
                .waitlist_entry
                .ok_or_else(|| vanished("waitlist entry"))?),
            Keyed::KeyReused => Err(JoinWaitlistError::IdempotencyKeyReused),
        }
    }

    /// The hold's event: from the live hold, or from the booking it became.
    pub(super) async fn confirm_keyed(
        &self,
        user: UserId,
        id: HoldId,
        key: String,
    ) -> Result<Booking, ConfirmHoldError> {
        let live = self.ports.reservations.find_hold(id, self.now()).await?;
        let event = match live {
            Some(hold) if hold.user_id == user => hold.event_id,
            Some(_) => return Err(ConfirmHoldError::NotFound),
            None => match self.ports.bookings.booking_of_hold(id).await? {
                Some(booking) if booking.user_id == user => booking.event_id,
                _ => return Err(ConfirmHoldError::NotFound),
            },
        };
        let key = Idempotency::new(key, &["confirm", &id.to_string()]);
        let op = SeatOp::Confirm {
            hold_id: id,
            user_id: user,
        };
        match self.run_keyed(event, user, &key, op).await? {
            Keyed::Ran(outcome) => match outcome.into_confirmation() {
                // Confirmed by an earlier request without this key: its booking.
                Err(ConfirmHoldError::NotFound) => self.booking_of_hold(user, id).await,
                confirmed => confirmed,
            },
            Keyed::Repeat(replay) => Ok(replay.booking.ok_or_else(|| vanished("booking"))?),
            Keyed::KeyReused => Err(ConfirmHoldError::IdempotencyKeyReused),
        }
    }

    /// `seats` names what is cancelled for telling a repeat from a reuse: `all`, a
    /// count, or the tickets named.
    pub(super) async fn cancel_keyed(
        &self,
        actor: &User,
        booking: &Booking,
        quantity: Option<Quantity>,
        seats: &str,
        key: String,
    ) -> Result<Booking, CancelBookingError> {
        let key = Idempotency::new(key, &["cancel", &booking.id.to_string(), seats]);
        let op = SeatOp::Cancel {
            booking_id: booking.id,
            quantity,
        };
        match self.run_keyed(booking.event_id, actor.id, &key, op).await? {
            Keyed::Ran(outcome) => outcome.into_cancellation(),
            Keyed::Repeat(replay) => Ok(replay.booking.ok_or_else(|| vanished("booking"))?),
            Keyed::KeyReused => Err(CancelBookingError::IdempotencyKeyReused),
        }
    }

    /// The booking `user`'s hold `id` became.
    pub(super) async fn booking_of_hold(
        &self,
        user: UserId,
        id: HoldId,
    ) -> Result<Booking, ConfirmHoldError> {
        match self.ports.bookings.booking_of_hold(id).await? {
            Some(booking) if booking.user_id == user => Ok(booking),
            _ => Err(ConfirmHoldError::NotFound),
        }
    }
}
