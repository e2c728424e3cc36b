//! Events, their ticket types and seat availability.

use crate::validation::FieldError;
use crate::{EventId, TicketTypeId, Timestamp, UserId};
use std::str::FromStr;

/// The most seats one event may have.
pub const MAX_CAPACITY: u32 = 1_000_000;

/// The most ticket types one event may have, retired ones included.
pub const MAX_TICKET_TYPES: usize = 50;

/// Whether an event still takes bookings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    /// Published and bookable (within its sales window).
    Scheduled,
    /// Cancelled by its organizer or an admin: no new bookings.
    Cancelled,
}

impl EventStatus {
    /// The stable lowercase name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Cancelled => "cancelled",
        }
    }
}

impl FromStr for EventStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "scheduled" => Ok(Self::Scheduled),
            "cancelled" => Ok(Self::Cancelled),
            other => Err(format!("unknown event status {other:?}")),
        }
    }
}

/// The fields an organizer sets on an event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDetails {
    /// Title shown to attendees.
    pub name: String,
    /// Longer text.
    pub description: Option<String>,
    /// Where it happens.
    pub venue: String,
    /// When it starts.
    pub starts_at: Timestamp,
    /// When it ends, after `starts_at`.
    pub ends_at: Option<Timestamp>,
    /// Venue latitude in degrees.
    pub latitude: Option<f64>,
    /// Venue longitude in degrees.
    pub longitude: Option<f64>,
    /// ISO 4217 code of the ticket prices.
    pub currency: String,
    /// Seats across all ticket types.
    pub capacity: u32,
    /// Most tickets one user may hold and book for this event.
    pub max_tickets_per_user: Option<u32>,
    /// Sales start (open from creation when `None`).
    pub sales_open_at: Option<Timestamp>,
    /// Sales end (open until the event when `None`).
    pub sales_close_at: Option<Timestamp>,
}

impl EventDetails {
    /// Every rule the fields break, alone and together.
    #[must_use]
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut check = |ok: bool, field: &str, message: &str| {
            if !ok {
                errors.push(FieldError::new(field, message));
            }
        };
        check(
            text_fits(&self.name, 200),
            "name",
            "must be 1 to 200 characters",
        );
        check(
            text_fits(&self.venue, 200),
            "venue",
            "must be 1 to 200 characters",
        );
        check(
            self.description
                .as_deref()
                .is_none_or(|d| d.chars().count() <= 5000),
            "description",
            "must be at most 5000 characters",
        );
        check(
            self.ends_at.is_none_or(|end| end > self.starts_at),
            "ends_at",
            "must be after starts_at",
        );
        check(
            self.latitude.is_none_or(|l| (-90.0..=90.0).contains(&l)),
            "latitude",
            "must be between -90 and 90",
        );
        check(
            self.longitude.is_none_or(|l| (-180.0..=180.0).contains(&l)),
            "longitude",
            "must be between -180 and 180",
        );
        check(
            self.currency.len() == 3 && self.currency.chars().all(|c| c.is_ascii_uppercase()),
            "currency",
            "must be an ISO 4217 code such as EUR",
        );
        check(
            (1..=MAX_CAPACITY).contains(&self.capacity),
            "capacity",
            "must be between 1 and 1000000",
        );
        check(
            self.max_tickets_per_user
                .is_none_or(|m| (1..=MAX_CAPACITY).contains(&m)),
            "max_tickets_per_user",
            "must be between 1 and 1000000",
        );
        let window_ok = match (self.sales_open_at, self.sales_close_at) {
            (Some(open), Some(close)) => open < close,
            _ => true,
        };
        check(window_ok, "sales_close_at", "must be after sales_open_at");
        errors
    }
}

fn text_fits(text: &str, max_chars: usize) -> bool {
    !text.trim().is_empty() && text.chars().count() <= max_chars
}

/// A ticket type to create with its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicketType {
    /// New type's id.
    pub id: TicketTypeId,
    /// Name shown to attendees, unique within the event.
    pub name: String,
    /// Price in minor units of the event's currency.
    pub price_cents: i64,
    /// Seats of this type at most; the event's capacity caps all types together.
    pub quantity: Option<u32>,
}

impl NewTicketType {
    /// The type an event gets when its organizer names none.
    #[must_use]
    pub fn general() -> Self {
        Self {
            id: TicketTypeId::generate(),
            name: "General".to_owned(),
            price_cents: 0,
            quantity: None,
        }
    }
}

/// Checks ticket types against each other and the event's capacity.
#[must_use]
pub fn validate_ticket_types(types: &[NewTicketType], capacity: u32) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if types.is_empty() {
        errors.push(FieldError::new("ticket_types", "must not be empty"));
    }
    if types.len() > MAX_TICKET_TYPES {
        errors.push(FieldError::new("ticket_types", "at most 50 ticket types"));
    }
    for (i, t) in types.iter().enumerate() {
        let field = |name: &str| format!("ticket_types[{i}].{name}");
        let changes = TicketTypeChanges {
            name: Some(t.name.clone()),
            price_cents: Some(t.price_cents),
            quantity: Some(t.quantity),
        };
        let mut own = changes.validate(capacity);
        if !own.iter().any(|e| e.field == "name") && has_name(&types[..i], &t.name) {
            own.insert(
                0,
                FieldError::new("name", "must be unique within the event"),
            );
        }
        errors.extend(
            own.into_iter()
                .map(|e| FieldError::new(field(&e.field), e.message)),
        );
    }
    errors
}

/// Whether one of `types` is named `name`, ignoring case and surrounding blanks.
fn has_name(types: &[NewTicketType], name: &str) -> bool {
    types.iter().any(|t| same_name(&t.name, name))
}

/// Whether two ticket type names are the same to attendees: ignoring case and
/// surrounding blanks.
#[must_use]
pub fn same_name(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Changes to a ticket type; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(clippy::option_option)] // Some(None) lifts the cap: that is the point.
pub struct TicketTypeChanges {
    /// New name, unique within the event.
    pub name: Option<String>,
    /// New price of one ticket, for bookings made from now on.
    pub price_cents: Option<i64>,
    /// New cap, or `Some(None)` to lift it (the event's capacity still holds).
    pub quantity: Option<Option<u32>>,
}

impl TicketTypeChanges {
    /// Every rule the fields set break, for an event of `capacity` seats.
    #[must_use]
    pub fn validate(&self, capacity: u32) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.name.as_deref().is_some_and(|n| !text_fits(n, 100)) {
            errors.push(FieldError::new("name", "must be 1 to 100 characters"));
        }
        if self.price_cents.is_some_and(|p| p < 0) {
            errors.push(FieldError::new("price_cents", "must not be negative"));
        }
        if let Some(Some(q)) = self.quantity
            && (q == 0 || q > capacity)
        {
            errors.push(FieldError::new(
                "quantity",
                "must be between 1 and the event's capacity",
            ));
        }
        errors
    }
}

/// A ticket type with its seat counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketType {
    /// The type's id.
    pub id: TicketTypeId,
    /// Name shown to attendees.
    pub name: String,
    /// Price in minor units.
    pub price_cents: i64,
    /// Cap on this type's seats, if any.
    pub quantity: Option<u32>,
    /// Seats of this type in confirmed bookings.
    pub sold: u32,
    /// Seats of this type in live holds.
    pub held: u32,
    /// Retired types sell nothing any more; their bookings and holds stay valid.
    pub retired: bool,
}

impl TicketType {
    /// Seats of this type that can still be taken when `event_free` seats are free
    /// event-wide (none once retired).
    #[must_use]
    pub fn available(&self, event_free: u32) -> u32 {
        if self.retired {
            return 0;
        }
        self.quantity.map_or(event_free, |q| {
            q.saturating_sub(self.sold + self.held).min(event_free)
        })
    }
}

/// An event with its ticket types and seat counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event's id.
    pub id: EventId,
    /// The organizer who created it.
    pub organizer_id: UserId,
    /// What the organizer set.
    pub details: EventDetails,
    /// Scheduled or cancelled.
    pub status: EventStatus,
    /// Creation time.
    pub created_at: Timestamp,
    /// Seats in confirmed bookings, all types.
    pub sold: u32,
    /// Seats in live holds, all types.
    pub held: u32,
    /// Waiting waitlist entries.
    pub waitlist_count: u32,
    /// The event's ticket types, in creation order.
    pub ticket_types: Vec<TicketType>,
}

/// An event as read at one committed version, with what a cache needs to know to
/// reuse it: which version it shows and until when its figures hold without a write.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSnapshot {
    /// The event, with counters as of the read.
    pub event: Event,
    /// The event's version when read: it grows with every committed change of what
    /// [`EventRepository::find`](crate::ports::EventRepository::find) shows.
    pub version: u64,
    /// When the figures change without a write: the earliest end of a hold that was
    /// live at the read (its seats stop counting as held then). `None`: nothing is held.
    pub changes_at: Option<Timestamp>,
}

/// What a store reads beside an event for caches: its version and when its figures next
/// change without a write (see [`EventSnapshot`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventVersion {
    /// The event's version.
    pub version: u64,
    /// The earliest end of a hold live at the read, if any.
    pub changes_at: Option<Timestamp>,
}

impl EventSnapshot {
    /// `event` with what was read beside it.
    #[must_use]
    pub fn new(event: Event, read: EventVersion) -> Self {
        Self {
            event,
            version: read.version,
            changes_at: read.changes_at,
        }
    }
}

impl CatalogSnapshot {
    /// `page` with the versions read beside its events in the same snapshot, and the
    /// catalog's version.
    ///
    /// # Errors
    /// When an event of the page has no version among `versions`.
    pub fn new(
        page: crate::page::Page<Event, EventCursor>,
        mut versions: std::collections::HashMap<EventId, EventVersion>,
        catalog: u64,
    ) -> anyhow::Result<Self> {
        let items = page
            .items
            .into_iter()
            .map(|event| {
                let read = versions.remove(&event.id).ok_or_else(|| {
                    anyhow::anyhow!("event {} was read without its version", event.id)
                })?;
                Ok(EventSnapshot::new(event, read))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            page: crate::page::Page {
                items,
                next: page.next,
            },
            version: catalog,
        })
    }
}

/// A page of scheduled events read in one snapshot, each with its version, and the
/// catalog's version, for caches.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogSnapshot {
    /// The events, as [`EventRepository::list_scheduled`](crate::ports::EventRepository::list_scheduled)
    /// lists them.
    pub page: crate::page::Page<EventSnapshot, EventCursor>,
    /// The catalog's version when read: it grows with every event created, changed or
    /// cancelled.
    pub version: u64,
}

/// Seat counts of an event as clients see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Availability {
    /// Seats in all.
    pub capacity: u32,
    /// Seats in confirmed bookings.
    pub sold: u32,
    /// Seats in live holds.
    pub held: u32,
    /// `capacity - sold - held`, never negative.
    pub available: u32,
    /// Waiting waitlist entries.
    pub waitlist_count: u32,
}

impl Event {
    /// The event's seat counts.
    #[must_use]
    pub fn availability(&self) -> Availability {
        Availability {
            capacity: self.details.capacity,
            sold: self.sold,
            held: self.held,
            available: self.details.capacity.saturating_sub(self.sold + self.held),
            waitlist_count: self.waitlist_count,
        }
    }

    /// Whether `user` may change or cancel this event.
    #[must_use]
    pub fn is_managed_by(&self, user: &crate::user::User) -> bool {
        user.role == crate::user::Role::Admin
            || (user.role.can_organize() && user.id == self.organizer_id)
    }
}

/// What a store needs to create an event.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// New event's id.
    pub id: EventId,
    /// Its creator.
    pub organizer_id: UserId,
    /// Validated fields.
    pub details: EventDetails,
    /// At least one type.
    pub ticket_types: Vec<NewTicketType>,
    /// Creation time.
    pub created_at: Timestamp,
}

/// Changes to an event; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
#[allow(clippy::option_option)] // Some(None) clears a nullable field: that is the point.
pub struct EventChanges {
    /// New title.
    pub name: Option<String>,
    /// New or cleared description.
    pub description: Option<Option<String>>,
    /// New venue.
    pub venue: Option<String>,
    /// New start.
    pub starts_at: Option<Timestamp>,
    /// New or cleared end.
    pub ends_at: Option<Option<Timestamp>>,
    /// New or cleared latitude.
    pub latitude: Option<Option<f64>>,
    /// New or cleared longitude.
    pub longitude: Option<Option<f64>>,
    /// New currency.
    pub currency: Option<String>,
    /// New capacity; below sold + held is refused.
    pub capacity: Option<u32>,
    /// New or cleared per-user limit.
    pub max_tickets_per_user: Option<Option<u32>>,
    /// New or cleared sales start.
    pub sales_open_at: Option<Option<Timestamp>>,
    /// New or cleared sales end.
    pub sales_close_at: Option<Option<Timestamp>>,
}

impl EventChanges {
    /// `details` with these changes applied.
    #[must_use]
    pub fn apply_to(&self, details: &EventDetails) -> EventDetails {
        let d = details.clone();
        EventDetails {
            name: self.name.clone().unwrap_or(d.name),
            description: self.description.clone().unwrap_or(d.description),
            venue: self.venue.clone().unwrap_or(d.venue),
            starts_at: self.starts_at.unwrap_or(d.starts_at),
            ends_at: self.ends_at.unwrap_or(d.ends_at),
            latitude: self.latitude.unwrap_or(d.latitude),
            longitude: self.longitude.unwrap_or(d.longitude),
            currency: self.currency.clone().unwrap_or(d.currency),
            capacity: self.capacity.unwrap_or(d.capacity),
            max_tickets_per_user: self.max_tickets_per_user.unwrap_or(d.max_tickets_per_user),
            sales_open_at: self.sales_open_at.unwrap_or(d.sales_open_at),
            sales_close_at: self.sales_close_at.unwrap_or(d.sales_close_at),
        }
    }
}

/// Where a listing of events continues: after this start time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCursor {
    /// `starts_at` of the last event of the previous page.
    pub starts_at: Timestamp,
    /// Its id, to break ties.
    pub id: EventId,
}

/// Which scheduled events to list, upcoming first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events starting at or after this instant.
    pub from: Timestamp,
    /// Only events whose name or venue contains this text, ignoring case.
    pub text: Option<String>,
    /// Which page.
    pub page: crate::page::PageRequest<EventCursor>,
    /// The instant seat counts are computed at.
    pub now: Timestamp,
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    /// Valid details of an event in 2030.
    pub(crate) fn details() -> EventDetails {
        let starts_at = Utc
            .with_ymd_and_hms(2030, 5, 1, 18, 0, 0)
            .single()
            .expect("valid date");
        EventDetails {
            name: "RustConf".into(),
            description: None,
            venue: "Hall A".into(),
            starts_at,
            ends_at: Some(starts_at + Duration::hours(3)),
            latitude: Some(48.1),
            longitude: Some(11.5),
            currency: "EUR".into(),
            capacity: 100,
            max_tickets_per_user: None,
            sales_open_at: None,
            sales_close_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::details;
    use super::*;
    use chrono::{Duration, Utc};

    #[test]
    fn valid_details_pass() {
        assert_eq!(details().validate(), vec![]);
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let mut d = details();
        d.name = " ".into();
        d.capacity = 0;
        d.ends_at = Some(d.starts_at);
        d.latitude = Some(91.0);
        d.currency = "euro".into();
        d.max_tickets_per_user = Some(1 << 31);
        d.sales_open_at = Some(d.starts_at);
        d.sales_close_at = Some(d.starts_at - Duration::days(1));
        let fields: Vec<_> = d.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "name",
                "ends_at",
                "latitude",
                "currency",
                "capacity",
                "max_tickets_per_user",
                "sales_close_at"
            ]
        );
    }

    #[test]
    fn ticket_types_are_checked_against_capacity_and_each_other() {
        let t = |name: &str, quantity| NewTicketType {
            id: TicketTypeId::generate(),
            name: name.into(),
            price_cents: 100,
            quantity,
        };
        assert!(validate_ticket_types(&[t("VIP", Some(10)), t("Floor", None)], 100).is_empty());
        let errors = validate_ticket_types(&[t("VIP", Some(101)), t("vip", Some(0))], 100);
        let fields: Vec<_> = errors.into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "ticket_types[0].quantity",
                "ticket_types[1].name",
                "ticket_types[1].quantity"
            ]
        );
        assert_eq!(validate_ticket_types(&[], 100).len(), 1);
    }

    #[test]
    fn type_changes_check_only_what_they_set() {
        assert!(TicketTypeChanges::default().validate(10).is_empty());
        let lifted = TicketTypeChanges {
            quantity: Some(None),
            ..TicketTypeChanges::default()
        };
        assert!(lifted.validate(10).is_empty(), "lifting the cap is allowed");
        let broken = TicketTypeChanges {
            name: Some("  ".into()),
            price_cents: Some(-1),
            quantity: Some(Some(11)),
        };
        let fields: Vec<_> = broken.validate(10).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "price_cents", "quantity"]);
        assert!(same_name(" VIP ", "vip"));
    }

    #[test]
    fn availability_never_goes_negative() {
        let event = Event {
            id: EventId::generate(),
            organizer_id: UserId::generate(),
            details: details(),
            status: EventStatus::Scheduled,
            created_at: Utc::now(),
            sold: 60,
            held: 30,
            waitlist_count: 2,
            ticket_types: vec![],
        };
        assert_eq!(event.availability().available, 10);
        let capped = TicketType {
            id: TicketTypeId::generate(),
            name: "VIP".into(),
            price_cents: 0,
            quantity: Some(5),
            sold: 4,
            held: 0,
            retired: false,
        };
        assert_eq!(capped.available(10), 1);
        assert_eq!(capped.available(0), 0);
        let retired = TicketType {
            retired: true,
            ..capped
        };
        assert_eq!(retired.available(10), 0, "a retired type sells nothing");
    }

    #[test]
    fn changes_apply_and_clear() {
        let d = details();
        let changes = EventChanges {
            capacity: Some(50),
            ends_at: Some(None),
            ..EventChanges::default()
        };
        let changed = changes.apply_to(&d);
        assert_eq!(changed.capacity, 50);
        assert_eq!(changed.ends_at, None);
        assert_eq!(changed.name, d.name);
    }
}
