//! What an admission gate in front of the seat store (the Redis adapter) reads from it.

use crate::{EventId, TicketTypeId, Timestamp, UserId};
use async_trait::async_trait;
use uuid::Uuid;

/// One event's seats as the durable store counts them, for rebuilding an admission gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatSnapshot {
    /// The event.
    pub event_id: EventId,
    /// The instants between which the event sells: `None` when it does not sell at all
    /// (cancelled).
    pub sales: Option<(Option<Timestamp>, Timestamp)>,
    /// Seats free event-wide: capacity minus sold minus held by live holds.
    pub free: u32,
    /// The ticket types, in position order.
    pub types: Vec<TypeSnapshot>,
    /// Most tickets one user may have for the event.
    pub max_tickets_per_user: Option<u32>,
    /// When the next live hold ends (its seats come back then).
    pub next_expiry: Option<Timestamp>,
}

/// One ticket type in a [`SeatSnapshot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeSnapshot {
    /// The type.
    pub id: TicketTypeId,
    /// Seats of this type free now (a type without its own cap has the event's).
    pub free: u32,
    /// Its own cap, if any.
    pub quantity: Option<u32>,
}

/// The store's seat figures, read for an admission gate.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait SeatLedger: Send + Sync + 'static {
    /// Snapshots of `events` (unknown ones are left out) as of `now`, and which of
    /// `reservations` (ids of holds and bookings) the store has recorded, read
    /// consistently with the snapshots: a reservation recorded is counted in them.
    /// # Errors
    /// Only when the store fails.
    async fn seat_snapshots(
        &self,
        events: &[EventId],
        reservations: &[Uuid],
        now: Timestamp,
    ) -> anyhow::Result<(Vec<SeatSnapshot>, Vec<Uuid>)>;

    /// Tickets `user` has for `event` (booked, held and waiting), read without a lock:
    /// what the purchase limit counts.
    /// # Errors
    /// Only when the store fails.
    async fn tickets_of(&self, event: EventId, user: UserId) -> anyhow::Result<u32>;
}

/// Marks a store failure as the store being unreachable (down, restarting, pool
/// exhausted), as opposed to a fault: the HTTP layer answers 503 and clients retry.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the {0} is unavailable")]
pub struct StoreUnavailable(pub &'static str);
