use crate::event::{
    CatalogSnapshot, Event, EventCursor, EventDetails, EventQuery, EventSnapshot, NewEvent,
    NewTicketType, TicketTypeChanges,
};
use crate::page::Page;
use crate::{EventId, TicketTypeId, Timestamp};
use async_trait::async_trait;

/// Why an event could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateEventError {
    /// No such event.
    #[error("event not found")]
    NotFound,
    /// Cancelled events do not change any more.
    #[error("event is cancelled")]
    Cancelled,
    /// The new capacity is below the seats already sold or held.
    #[error("capacity below the {taken} seats sold or held")]
    CapacityBelowSold {
        /// Seats sold plus held when the change was refused.
        taken: u32,
    },
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// Why an event could not be cancelled.
#[derive(Debug, thiserror::Error)]
pub enum CancelEventError {
    /// No such event.
    #[error("event not found")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// Why a ticket type could not be added, changed or retired.
#[derive(Debug, thiserror::Error)]
pub enum TicketTypeError {
    /// No such event, or no such type of it.
    #[error("event or ticket type not found")]
    NotFound,
    /// Cancelled events do not change any more.
    #[error("event is cancelled")]
    EventCancelled,
    /// A retired type does not change any more.
    #[error("ticket type is retired")]
    Retired,
    /// The new quantity is below the type's seats sold or held.
    #[error("quantity below the {taken} seats of the type sold or held")]
    QuantityBelowSold {
        /// The type's seats sold plus held when the change was refused.
        taken: u32,
    },
    /// Another type of the event has this name (ignoring case).
    #[error("another ticket type has this name")]
    NameTaken,
    /// The event has [`MAX_TICKET_TYPES`](crate::event::MAX_TICKET_TYPES) types already.
    #[error("the event has as many ticket types as it may")]
    TooMany,
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// Where events and their ticket types live.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventRepository: Send + Sync + 'static {
    /// Stores a new event with its ticket types.
    /// # Errors
    /// Only when the store fails.
    async fn create(&self, event: &NewEvent) -> anyhow::Result<Event>;

    /// The event with its ticket types and counters as of `now`: holds that expired by
    /// `now` no longer count as held, even before they are cleaned up.
    /// # Errors
    /// Only when the store fails.
    async fn find(&self, id: EventId, now: Timestamp) -> anyhow::Result<Option<Event>>;

    /// [`EventRepository::find`], read in one snapshot with the event's version and the
    /// earliest end of its live holds, for caches.
    /// # Errors
    /// Only when the store fails.
    async fn snapshot(&self, id: EventId, now: Timestamp) -> anyhow::Result<Option<EventSnapshot>>;

    /// Scheduled events matching `query`, by `starts_at` then id, with counters as of
    /// `query.now` (as in [`EventRepository::find`]).
    /// # Errors
    /// Only when the store fails.
    async fn list_scheduled(&self, query: &EventQuery) -> anyhow::Result<Page<Event, EventCursor>>;

    /// [`EventRepository::list_scheduled`], read in one snapshot with each event's
    /// version and earliest live hold end (as [`EventRepository::snapshot`]) and the
    /// catalog's version, for caches.
    /// # Errors
    /// Only when the store fails.
    async fn list_snapshot(&self, query: &EventQuery) -> anyhow::Result<CatalogSnapshot>;

    /// Replaces the organizer's fields, checking the capacity against the counters (after
    /// sweeping holds expired by `now`) in the same transaction; a raised capacity
    /// promotes the waitlist in that transaction.
    /// # Errors
    /// `NotFound`, `Cancelled`, or `CapacityBelowSold` when `details.capacity < sold + held`.
    async fn update_details(
        &self,
        id: EventId,
        details: &EventDetails,
        now: Timestamp,
    ) -> Result<Event, UpdateEventError>;

    /// Adds a ticket type after the event's others, under the event's lock (its name
    /// unique within the event, ignoring case); returns the event as it is then.
    /// # Errors
    /// `NotFound`, `EventCancelled`, `NameTaken` or `TooMany`.
    async fn add_ticket_type(
        &self,
        event: EventId,
        ticket_type: &NewTicketType,
        now: Timestamp,
    ) -> Result<Event, TicketTypeError>;

    /// Changes a ticket type in one transaction: its quantity and price as the seat
    /// planner decides ([`SeatOp::ChangeType`](crate::planner::SeatOp::ChangeType): a
    /// higher quantity promotes the waitlist in it), then its name.
    /// # Errors
    /// `NotFound`, `EventCancelled`, `Retired`, `QuantityBelowSold` or `NameTaken`.
    async fn change_ticket_type(
        &self,
        event: EventId,
        ticket_type: TicketTypeId,
        changes: &TicketTypeChanges,
        now: Timestamp,
    ) -> Result<Event, TicketTypeError>;

    /// Retires a ticket type (idempotent) as the seat planner decides
    /// ([`SeatOp::RetireType`](crate::planner::SeatOp::RetireType)).
    /// # Errors
    /// `NotFound` or `EventCancelled`.
    async fn retire_ticket_type(
        &self,
        event: EventId,
        ticket_type: TicketTypeId,
        now: Timestamp,
    ) -> Result<Event, TicketTypeError>;

    /// Marks the event cancelled (idempotent), and in the same transaction cancels its
    /// confirmed bookings, releases its live holds and closes its waitlist.
    /// # Errors
    /// `NotFound` when there is no such event.
    async fn cancel(&self, id: EventId, now: Timestamp) -> Result<Event, CancelEventError>;
}
