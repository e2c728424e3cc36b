use super::copies::{Copies, ReadSource, Versioned};
use super::listings::Listings;
use crate::audit::{AuditAction, Auditor};
use crate::event::{
    Event, EventChanges, EventCursor, EventDetails, EventQuery, MAX_TICKET_TYPES, NewEvent,
    NewTicketType, TicketTypeChanges, validate_ticket_types,
};
use crate::page::Page;
use crate::ports::AuditLog;
use crate::ports::{
    CancelEventError, EventRepository, TicketTypeError, UpdateEventError, VersionBoard, VersionKey,
};
use crate::user::User;
use crate::validation::FieldError;
use crate::{Clock, EventId, TicketTypeId};
use std::sync::Arc;

/// An event use case failed.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// No such event.
    #[error("event not found")]
    NotFound,
    /// The caller may not do this to this event.
    #[error("not allowed")]
    Forbidden,
    /// The input breaks field rules.
    #[error("invalid event")]
    Invalid(Vec<FieldError>),
    /// Cancelled events do not change any more.
    #[error("event is cancelled")]
    Cancelled,
    /// The new capacity is below the seats already sold or held.
    #[error("capacity is below the {taken} seats sold or held")]
    CapacityBelowSold {
        /// Seats sold plus held.
        taken: u32,
    },
    /// The ticket type is retired: it does not change any more.
    #[error("ticket type is retired")]
    TicketTypeRetired,
    /// A ticket type's new quantity is below its seats already sold or held.
    #[error("quantity is below the {taken} seats of the type sold or held")]
    QuantityBelowSold {
        /// The type's seats sold plus held.
        taken: u32,
    },
    /// A port failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

impl From<UpdateEventError> for EventError {
    fn from(e: UpdateEventError) -> Self {
        match e {
            UpdateEventError::NotFound => Self::NotFound,
            UpdateEventError::Cancelled => Self::Cancelled,
            UpdateEventError::CapacityBelowSold { taken } => Self::CapacityBelowSold { taken },
            UpdateEventError::Backend(e) => Self::Backend(e),
        }
    }
}

impl From<TicketTypeError> for EventError {
    fn from(e: TicketTypeError) -> Self {
        match e {
            TicketTypeError::NotFound => Self::NotFound,
            TicketTypeError::EventCancelled => Self::Cancelled,
            TicketTypeError::Retired => Self::TicketTypeRetired,
            TicketTypeError::QuantityBelowSold { taken } => Self::QuantityBelowSold { taken },
            TicketTypeError::NameTaken => Self::Invalid(vec![FieldError::new(
                "name",
                "must be unique within the event",
            )]),
            TicketTypeError::TooMany => Self::Invalid(vec![FieldError::new(
                "ticket_types",
                format!("the event has {MAX_TICKET_TYPES} ticket types, the most it may have"),
            )]),
            TicketTypeError::Backend(e) => Self::Backend(e),
        }
    }
}

impl From<CancelEventError> for EventError {
    fn from(e: CancelEventError) -> Self {
        match e {
            CancelEventError::NotFound => Self::NotFound,
            CancelEventError::Backend(e) => Self::Backend(e),
        }
    }
}

/// Publishing, listing, changing and cancelling events.
pub struct EventService {
    events: Arc<dyn EventRepository>,
    clock: Arc<dyn Clock>,
    copies: Option<Copies<Event>>,
    listings: Option<Listings>,
    audit: Auditor,
}

impl EventService {
    /// Wires the use cases to their ports.
    #[must_use]
    pub fn new(
        events: Arc<dyn EventRepository>,
        clock: Arc<dyn Clock>,
        audit: Arc<dyn AuditLog>,
    ) -> Self {
        let audit = Auditor::new(audit, clock.clone());
        Self {
            events,
            clock,
            copies: None,
            listings: None,
            audit,
        }
    }

    /// The same use cases, with event reads served from memory while `board` shows the
    /// copy there is current. Every store that changes events must publish to `board`.
    #[must_use]
    pub fn with_versions(mut self, board: Arc<dyn VersionBoard>) -> Self {
        self.copies = Some(Copies::new(board.clone()));
        self.listings = Some(Listings::new(board));
        self
    }

    /// Publishes an event; without ticket types it gets one `General` type sharing the capacity.
    /// # Errors
    /// `Forbidden` for attendees, `Invalid` for broken field rules.
    #[tracing::instrument(skip_all, fields(organizer_id = %actor.id))]
    pub async fn create(
        &self,
        actor: &User,
        details: EventDetails,
        ticket_types: Option<Vec<NewTicketType>>,
    ) -> Result<Event, EventError> {
        if !actor.role.can_organize() {
            return Err(EventError::Forbidden);
        }
        let ticket_types = ticket_types.unwrap_or_else(|| vec![NewTicketType::general()]);
        let mut errors = details.validate();
        errors.extend(validate_ticket_types(&ticket_types, details.capacity));
        if !errors.is_empty() {
            return Err(EventError::Invalid(errors));
        }
        let event = self
            .events
            .create(&NewEvent {
                id: EventId::generate(),
                organizer_id: actor.id,
                details,
                ticket_types,
                created_at: self.clock.now(),
            })
            .await?;
        tracing::info!(event_id = %event.id, capacity = event.details.capacity, "event created");
        Ok(event)
    }

    /// Scheduled events, upcoming first.
    /// # Errors
    /// Only when the store fails.
    pub async fn list(
        &self,
        query: &EventQuery,
    ) -> anyhow::Result<(Arc<Page<Event, EventCursor>>, ReadSource)> {
        match &self.listings {
            Some(listings) => listings.list(&*self.events, query).await,
            None => Ok((
                Arc::new(self.events.list_scheduled(query).await?),
                ReadSource::Store,
            )),
        }
    }

    /// One event, cancelled ones included.
    /// # Errors
    /// `NotFound` for an unknown id.
    pub async fn get(&self, id: EventId) -> Result<Event, EventError> {
        self.read(id).await.map(|(read, _)| read.value.clone())
    }

    /// [`EventService::get`] at the version it was read at (the same version and `until`
    /// mean the same figures), and where it was answered from.
    /// # Errors
    /// `NotFound` for an unknown id.
    pub async fn read(
        &self,
        id: EventId,
    ) -> Result<(Arc<Versioned<Event>>, ReadSource), EventError> {
        let now = self.clock.now();
        let load = async || {
            let snapshot = self.events.snapshot(id, now).await?;
            Ok(snapshot.map(|s| Versioned {
                value: s.event,
                version: s.version,
                until: s.changes_at,
            }))
        };
        let (read, source) = match &self.copies {
            Some(copies) => copies.read(VersionKey::Event(id), now, load).await?,
            None => (load().await?.map(Arc::new), ReadSource::Store),
        };
        read.map(|r| (r, source)).ok_or(EventError::NotFound)
    }

    /// Changes an event; only its organizer and admins may.
    /// # Errors
    /// `NotFound`, `Forbidden`, `Invalid`, `Cancelled` or `CapacityBelowSold`.
    #[tracing::instrument(skip_all, fields(event_id = %id, actor = %actor.id))]
    pub async fn update(
        &self,
        actor: &User,
        id: EventId,
        changes: &EventChanges,
    ) -> Result<Event, EventError> {
        let event = self.managed_event(actor, id).await?;
        let details = changes.apply_to(&event.details);
        let errors = details.validate();
        if !errors.is_empty() {
            return Err(EventError::Invalid(errors));
        }
        let updated = self
            .events
            .update_details(id, &details, self.clock.now())
            .await?;
        tracing::info!(capacity = updated.details.capacity, "event changed");
        Ok(updated)
    }

    /// Cancels an event; only its organizer and admins may. Cancelling twice is harmless.
    /// # Errors
    /// `NotFound` or `Forbidden`.
    #[tracing::instrument(skip_all, fields(event_id = %id, actor = %actor.id))]
    pub async fn cancel(&self, actor: &User, id: EventId) -> Result<Event, EventError> {
        self.managed_event(actor, id).await?;
        let event = self.events.cancel(id, self.clock.now()).await?;
        tracing::info!("event cancelled");
        self.audit
            .record(AuditAction::EventCancelled, Some(actor.id), None, Some(id))
            .await;
        Ok(event)
    }

    /// Adds a ticket type to an event; only its organizer and admins may.
    /// # Errors
    /// `NotFound`, `Forbidden`, `Invalid` (a name taken included) or `Cancelled`.
    #[tracing::instrument(skip_all, fields(event_id = %id, actor = %actor.id))]
    pub async fn add_ticket_type(
        &self,
        actor: &User,
        id: EventId,
        ticket_type: NewTicketType,
    ) -> Result<Event, EventError> {
        let event = self.managed_event(actor, id).await?;
        let errors =
            validate_ticket_types(std::slice::from_ref(&ticket_type), event.details.capacity);
        if !errors.is_empty() {
            let fields = errors.into_iter().map(|e| {
                let field = e.field.rsplit('.').next().unwrap_or(&e.field).to_owned();
                FieldError::new(field, e.message)
            });
            return Err(EventError::Invalid(fields.collect()));
        }
        let added = self
            .events
            .add_ticket_type(id, &ticket_type, self.clock.now())
            .await?;
        tracing::info!(ticket_type_id = %ticket_type.id, "ticket type added");
        Ok(added)
    }

    /// Changes a ticket type's name, price or quantity; only the event's organizer and
    /// admins may. A new price applies to holds and bookings made afterwards.
    /// # Errors
    /// `NotFound`, `Forbidden`, `Invalid`, `Cancelled`, `TicketTypeRetired` or
    /// `QuantityBelowSold`.
    #[tracing::instrument(skip_all, fields(event_id = %id, ticket_type_id = %ticket_type, actor = %actor.id))]
    pub async fn change_ticket_type(
        &self,
        actor: &User,
        id: EventId,
        ticket_type: TicketTypeId,
        changes: &TicketTypeChanges,
    ) -> Result<Event, EventError> {
        let event = self.managed_event(actor, id).await?;
        let errors = changes.validate(event.details.capacity);
        if !errors.is_empty() {
            return Err(EventError::Invalid(errors));
        }
        let changed = self
            .events
            .change_ticket_type(id, ticket_type, changes, self.clock.now())
            .await?;
        tracing::info!(
            quantity = ?changes.quantity,
            price_cents = ?changes.price_cents,
            "ticket type changed"
        );
        Ok(changed)
    }

    /// Retires a ticket type: it sells nothing more and its waiting entries close; its
    /// bookings and holds stay valid. Only the event's organizer and admins may;
    /// retiring twice is harmless.
    /// # Errors
    /// `NotFound`, `Forbidden` or `Cancelled`.
    #[tracing::instrument(skip_all, fields(event_id = %id, ticket_type_id = %ticket_type, actor = %actor.id))]
    pub async fn retire_ticket_type(
        &self,
        actor: &User,
        id: EventId,
        ticket_type: TicketTypeId,
    ) -> Result<Event, EventError> {
        self.managed_event(actor, id).await?;
        let retired = self
            .events
            .retire_ticket_type(id, ticket_type, self.clock.now())
            .await?;
        tracing::info!("ticket type retired");
        Ok(retired)
    }

    async fn managed_event(&self, actor: &User, id: EventId) -> Result<Event, EventError> {
        let event = self.get(id).await?;
        if event.is_managed_by(actor) {
            Ok(event)
        } else {
            Err(EventError::Forbidden)
        }
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
