use super::{Instant, nullable};
use boxoffice_domain::TicketTypeId;
use boxoffice_domain::event::{
    Availability, Event, EventChanges, EventDetails, EventStatus, NewTicketType, TicketType,
    TicketTypeChanges,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The currency of events created without one.
pub const DEFAULT_CURRENCY: &str = "EUR";

/// A ticket type to create with its event.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TicketTypeRequest {
    /// Name, 1 to 100 characters, unique within the event.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// Price in minor units of the event's currency.
    #[schema(minimum = 0)]
    pub price_cents: i64,
    /// Seats of this type at most (up to the event's capacity); absent = limited by the
    /// event's capacity only.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: Option<u32>,
}

impl TicketTypeRequest {
    /// The new type, for the domain to validate.
    #[must_use]
    pub fn into_domain(self) -> NewTicketType {
        NewTicketType {
            id: TicketTypeId::generate(),
            name: self.name.trim().to_owned(),
            price_cents: self.price_cents,
            quantity: self.quantity,
        }
    }
}

/// `PATCH /events/{id}/ticket-types/{type_id}`: absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[allow(clippy::option_option)]
#[schema(example = json!({"price_cents": 3000, "quantity": 40}))]
pub struct UpdateTicketTypeRequest {
    /// New name, 1 to 100 characters, unique within the event.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    /// New price of one ticket in minor units, for holds and bookings made from now on
    /// (existing ones keep theirs).
    #[schema(minimum = 0)]
    pub price_cents: Option<i64>,
    /// New cap (1 to the event's capacity), or `null` to lift it (the event's capacity
    /// still holds). Below the type's sold + held is 409 `quantity_below_sold`; a higher
    /// cap promotes the type's waiting entries at once, in queue order; a lower one
    /// closes those that want more seats than it (`closed_reason: quantity_lowered`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1_000_000)]
    pub quantity: Option<Option<u32>>,
}

impl From<UpdateTicketTypeRequest> for TicketTypeChanges {
    fn from(r: UpdateTicketTypeRequest) -> Self {
        Self {
            name: r.name.map(|n| n.trim().to_owned()),
            price_cents: r.price_cents,
            quantity: r.quantity,
        }
    }
}

/// `POST /events`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "name": "Spring Concert", "description": "An evening of chamber music.", "venue": "Hall A",
    "starts_at": "2031-06-01T18:00:00Z", "capacity": 300, "max_tickets_per_user": 6,
    "ticket_types": [{"name": "Standard", "price_cents": 2500}, {"name": "VIP", "price_cents": 9000, "quantity": 20}]
}))]
pub struct CreateEventRequest {
    /// Title, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// Longer text, up to 5000 characters.
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// Where it happens, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub venue: String,
    /// When it starts.
    #[schema(value_type = DateTime<Utc>)]
    pub starts_at: Instant,
    /// When it ends, after `starts_at`.
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub ends_at: Option<Instant>,
    /// Venue latitude.
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: Option<f64>,
    /// Venue longitude.
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: Option<f64>,
    /// ISO 4217 code (default EUR).
    #[schema(pattern = r"^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// Seats across all ticket types, 1 to 1000000.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub capacity: u32,
    /// Most tickets one user may hold and book, 1 to 1000000.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub max_tickets_per_user: Option<u32>,
    /// Sales start.
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub sales_open_at: Option<Instant>,
    /// Sales end.
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub sales_close_at: Option<Instant>,
    /// Ticket types, 1 to 50; absent = one `General` type, price 0, sharing the
    /// capacity.
    #[schema(min_items = 1, max_items = 50)]
    pub ticket_types: Option<Vec<TicketTypeRequest>>,
}

impl CreateEventRequest {
    /// The organizer's fields and ticket types, for the domain to validate.
    #[must_use]
    pub fn into_domain(self) -> (EventDetails, Option<Vec<NewTicketType>>) {
        let details = EventDetails {
            name: self.name.trim().to_owned(),
            description: self.description,
            venue: self.venue.trim().to_owned(),
            starts_at: self.starts_at.into(),
            ends_at: self.ends_at.map(Into::into),
            latitude: self.latitude,
            longitude: self.longitude,
            currency: self.currency.unwrap_or_else(|| DEFAULT_CURRENCY.to_owned()),
            capacity: self.capacity,
            max_tickets_per_user: self.max_tickets_per_user,
            sales_open_at: self.sales_open_at.map(Into::into),
            sales_close_at: self.sales_close_at.map(Into::into),
        };
        let types = self.ticket_types.map(|types| {
            types
                .into_iter()
                .map(|t| NewTicketType {
                    id: TicketTypeId::generate(),
                    name: t.name.trim().to_owned(),
                    price_cents: t.price_cents,
                    quantity: t.quantity,
                })
                .collect()
        });
        (details, types)
    }
}

/// `PATCH /events/{id}`: absent fields stay, `null` clears an optional field.
/// Ticket types are not changed here.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[allow(clippy::option_option)]
#[schema(example = json!({"capacity": 350, "ends_at": null}))]
pub struct UpdateEventRequest {
    /// New title, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    /// New description (up to 5000 characters), or `null` to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub description: Option<Option<String>>,
    /// New venue, 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub venue: Option<String>,
    /// New start.
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub starts_at: Option<Instant>,
    /// New end, or `null` to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub ends_at: Option<Option<Instant>>,
    /// New latitude, or `null` to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>, minimum = -90, maximum = 90)]
    pub latitude: Option<Option<f64>>,
    /// New longitude, or `null` to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>, minimum = -180, maximum = 180)]
    pub longitude: Option<Option<f64>>,
    /// New currency, an ISO 4217 code.
    #[schema(pattern = r"^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// New capacity, 1 to 1000000; below sold + held is 409 `capacity_below_sold`.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub capacity: Option<u32>,
    /// New per-user limit, or `null` to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1_000_000)]
    pub max_tickets_per_user: Option<Option<u32>>,
    /// New sales start, or `null` to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub sales_open_at: Option<Option<Instant>>,
    /// New sales end, or `null` to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub sales_close_at: Option<Option<Instant>>,
}

impl From<UpdateEventRequest> for EventChanges {
    fn from(r: UpdateEventRequest) -> Self {
        Self {
            name: r.name.map(|n| n.trim().to_owned()),
            description: r.description,
            venue: r.venue.map(|v| v.trim().to_owned()),
            starts_at: r.starts_at.map(Into::into),
            ends_at: r.ends_at.map(|end| end.map(Into::into)),
            latitude: r.latitude,
            longitude: r.longitude,
            currency: r.currency,
            capacity: r.capacity,
            max_tickets_per_user: r.max_tickets_per_user,
            sales_open_at: r.sales_open_at.map(|at| at.map(Into::into)),
            sales_close_at: r.sales_close_at.map(|at| at.map(Into::into)),
        }
    }
}

/// Seat counts of an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityDto {
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

impl From<Availability> for AvailabilityDto {
    fn from(a: Availability) -> Self {
        Self {
            capacity: a.capacity,
            sold: a.sold,
            held: a.held,
            available: a.available,
            waitlist_count: a.waitlist_count,
        }
    }
}

/// A ticket type with its seat counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketTypeDto {
    /// Type id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Price in minor units.
    pub price_cents: i64,
    /// Cap on this type, `null` when only the event's capacity limits it.
    pub quantity: Option<u32>,
    /// Seats of this type sold.
    pub sold: u32,
    /// Seats of this type held.
    pub held: u32,
    /// Seats of this type that can still be taken (0 once retired).
    pub available: u32,
    /// `on_sale`, or `retired`: no new holds, bookings or waitlist entries (409
    /// `ticket_type_retired`); its bookings and holds stay valid.
    pub status: TicketTypeStatusDto,
}

/// Whether a ticket type still sells.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketTypeStatusDto {
    /// Sold (within the event's sales window).
    OnSale,
    /// No longer sold.
    Retired,
}

impl TicketTypeDto {
    fn new(t: TicketType, event_free: u32) -> Self {
        Self {
            id: t.id.as_uuid(),
            available: t.available(event_free),
            status: if t.retired {
                TicketTypeStatusDto::Retired
            } else {
                TicketTypeStatusDto::OnSale
            },
            name: t.name,
            price_cents: t.price_cents,
            quantity: t.quantity,
            sold: t.sold,
            held: t.held,
        }
    }
}

/// The ticket types of `event` as the API shows them.
#[must_use]
pub fn ticket_types_of(event: Event) -> Vec<TicketTypeDto> {
    let free = event.availability().available;
    let types = event.ticket_types.into_iter();
    types.map(|t| TicketTypeDto::new(t, free)).collect()
}

/// Type `id` of `event` as the API shows it, if the event has it.
#[must_use]
pub fn ticket_type_of(event: Event, id: TicketTypeId) -> Option<TicketTypeDto> {
    let free = event.availability().available;
    let found = event.ticket_types.into_iter().find(|t| t.id == id);
    found.map(|t| TicketTypeDto::new(t, free))
}

/// Whether an event still takes bookings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventStatusDto {
    /// Bookable within its sales window.
    Scheduled,
    /// Cancelled.
    Cancelled,
}

/// An event with its ticket types and availability.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    /// Event id.
    pub id: Uuid,
    /// Its organizer.
    pub organizer_id: Uuid,
    /// Title.
    pub name: String,
    /// Longer text.
    pub description: Option<String>,
    /// Where it happens.
    pub venue: String,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// When it ends.
    pub ends_at: Option<DateTime<Utc>>,
    /// Venue latitude.
    pub latitude: Option<f64>,
    /// Venue longitude.
    pub longitude: Option<f64>,
    /// ISO 4217 code of the prices.
    pub currency: String,
    /// Seats across all types.
    pub capacity: u32,
    /// Most tickets one user may hold and book.
    pub max_tickets_per_user: Option<u32>,
    /// Sales start.
    pub sales_open_at: Option<DateTime<Utc>>,
    /// Sales end.
    pub sales_close_at: Option<DateTime<Utc>>,
    /// Scheduled or cancelled.
    pub status: EventStatusDto,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Ticket types in creation order.
    pub ticket_types: Vec<TicketTypeDto>,
    /// Seat counts.
    pub availability: AvailabilityDto,
}

impl From<Event> for EventDto {
    fn from(event: Event) -> Self {
        let availability = event.availability();
        let d = event.details;
        Self {
            id: event.id.as_uuid(),
            organizer_id: event.organizer_id.as_uuid(),
            name: d.name,
            description: d.description,
            venue: d.venue,
            starts_at: d.starts_at,
            ends_at: d.ends_at,
            latitude: d.latitude,
            longitude: d.longitude,
            currency: d.currency,
            capacity: d.capacity,
            max_tickets_per_user: d.max_tickets_per_user,
            sales_open_at: d.sales_open_at,
            sales_close_at: d.sales_close_at,
            status: match event.status {
                EventStatus::Scheduled => EventStatusDto::Scheduled,
                EventStatus::Cancelled => EventStatusDto::Cancelled,
            },
            created_at: event.created_at,
            ticket_types: event
                .ticket_types
                .into_iter()
                .map(|t| TicketTypeDto::new(t, availability.available))
                .collect(),
            availability: availability.into(),
        }
    }
}

/// `GET /events` filters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EventListParams {
    /// Only events starting at or after this instant (default: now).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub from: Option<Instant>,
    /// Only events whose name or venue contains this text, ignoring case.
    pub q: Option<String>,
}
