use boxoffice_domain::booking::{
    Booking, BookingOutcome, BookingSource, BookingStatus, ClosedReason, Hold, OnSoldOut,
    WaitlistEntry, WaitlistStatus,
};
use boxoffice_domain::services::EventReport;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// `POST /events/{id}/holds` and `POST /events/{id}/waitlist`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"quantity": 2}))]
pub struct SeatsRequest {
    /// Tickets, 1 to 100.
    #[schema(minimum = 1, maximum = 100)]
    pub quantity: u32,
    /// The ticket type; absent = the event's first type.
    pub ticket_type_id: Option<Uuid>,
}

/// What a booking does when there are not enough seats.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnSoldOutDto {
    /// Join the waitlist.
    #[default]
    Waitlist,
    /// Fail with 409 `sold_out`.
    Fail,
}

impl From<OnSoldOutDto> for OnSoldOut {
    fn from(v: OnSoldOutDto) -> Self {
        match v {
            OnSoldOutDto::Waitlist => Self::Waitlist,
            OnSoldOutDto::Fail => Self::Fail,
        }
    }
}

/// `POST /events/{id}/bookings`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"quantity": 2, "on_sold_out": "waitlist", "allow_partial": false}))]
pub struct BookRequestDto {
    /// Tickets, 1 to 100.
    #[schema(minimum = 1, maximum = 100)]
    pub quantity: u32,
    /// The ticket type; absent = the event's first type.
    pub ticket_type_id: Option<Uuid>,
    /// `waitlist` (default) or `fail`.
    #[serde(default)]
    pub on_sold_out: OnSoldOutDto,
    /// Book what is free when not all is (default false).
    #[serde(default)]
    pub allow_partial: bool,
}

/// `POST /bookings/{id}/cancel` (the body may be omitted: cancel everything).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"quantity": 1}))]
pub struct CancelRequest {
    /// Tickets to cancel, 1 to 100 and at most those booked; absent = all (or as many
    /// as `ticket_ids` names). Without `ticket_ids`, the newest valid tickets are voided.
    #[schema(minimum = 1, maximum = 100)]
    pub quantity: Option<u32>,
    /// The tickets to cancel (ids from `GET /bookings/{id}/tickets`): exactly these are
    /// voided. Tickets already voided are skipped; a checked-in ticket is refused.
    pub ticket_ids: Option<Vec<Uuid>>,
}

/// Seats held until `expires_at`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldDto {
    /// Hold id.
    pub id: Uuid,
    /// Its event.
    pub event_id: Uuid,
    /// Its ticket type.
    pub ticket_type_id: Uuid,
    /// Seats held.
    pub quantity: u32,
    /// Price of one ticket, in minor units of the event's currency: fixed when the seats
    /// were held, and what the booking that confirms them is charged.
    pub price_cents: i64,
    /// When the seats return unless confirmed.
    pub expires_at: DateTime<Utc>,
}

impl From<Hold> for HoldDto {
    fn from(h: Hold) -> Self {
        Self {
            id: h.id.as_uuid(),
            event_id: h.event_id.as_uuid(),
            ticket_type_id: h.ticket_type_id.as_uuid(),
            quantity: h.quantity,
            price_cents: h.price_cents,
            expires_at: h.expires_at,
        }
    }
}

/// A booking's state.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BookingStatusDto {
    /// Seats are sold.
    Confirmed,
    /// Every seat was given back.
    Cancelled,
}

impl From<BookingStatusDto> for BookingStatus {
    fn from(s: BookingStatusDto) -> Self {
        match s {
            BookingStatusDto::Confirmed => Self::Confirmed,
            BookingStatusDto::Cancelled => Self::Cancelled,
        }
    }
}

/// How a booking came about.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BookingSourceDto {
    /// Booked directly.
    Direct,
    /// A confirmed hold.
    Hold,
    /// Promoted from the waitlist.
    Waitlist,
}

/// A booking.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingDto {
    /// Booking id.
    pub id: Uuid,
    /// Its event.
    pub event_id: Uuid,
    /// Its ticket type.
    pub ticket_type_id: Uuid,
    /// Who booked.
    pub user_id: Uuid,
    /// Seats booked (lowered by partial cancellations).
    pub quantity: u32,
    /// Price of one ticket, in minor units of the event's currency, when the booking was
    /// made (for a confirmed hold: when it was held); a later price change leaves it.
    pub price_cents: i64,
    /// `confirmed` or `cancelled`.
    pub status: BookingStatusDto,
    /// `direct`, `hold` or `waitlist`.
    pub source: BookingSourceDto,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was cancelled entirely.
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<Booking> for BookingDto {
    fn from(b: Booking) -> Self {
        Self {
            id: b.id.as_uuid(),
            event_id: b.event_id.as_uuid(),
            ticket_type_id: b.ticket_type_id.as_uuid(),
            user_id: b.user_id.as_uuid(),
            quantity: b.quantity,
            price_cents: b.price_cents,
            status: match b.status {
                BookingStatus::Confirmed => BookingStatusDto::Confirmed,
                BookingStatus::Cancelled => BookingStatusDto::Cancelled,
            },
            source: match b.source {
                BookingSource::Direct => BookingSourceDto::Direct,
                BookingSource::Hold => BookingSourceDto::Hold,
                BookingSource::Waitlist => BookingSourceDto::Waitlist,
            },
            created_at: b.created_at,
            cancelled_at: b.cancelled_at,
        }
    }
}

/// A waitlist entry's state.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WaitlistStatusDto {
    /// In the queue.
    Waiting,
    /// Turned into a booking.
    Promoted,
    /// Left by its user.
    Left,
    /// Closed by the organizer: see `closed_reason`.
    Closed,
}

/// Why a waitlist entry was closed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClosedReasonDto {
    /// The event was cancelled.
    EventCancelled,
    /// Its ticket type was retired.
    TicketTypeRetired,
    /// Its ticket type's quantity was lowered below the seats it waits for.
    QuantityLowered,
    /// The event's capacity was lowered below the seats it waits for.
    CapacityLowered,
}

impl From<ClosedReason> for ClosedReasonDto {
    fn from(r: ClosedReason) -> Self {
        match r {
            ClosedReason::EventCancelled => Self::EventCancelled,
            ClosedReason::TicketTypeRetired => Self::TicketTypeRetired,
            ClosedReason::QuantityLowered => Self::QuantityLowered,
            ClosedReason::CapacityLowered => Self::CapacityLowered,
        }
    }
}

impl From<WaitlistStatusDto> for WaitlistStatus {
    fn from(s: WaitlistStatusDto) -> Self {
        match s {
            WaitlistStatusDto::Waiting => Self::Waiting,
            WaitlistStatusDto::Promoted => Self::Promoted,
            WaitlistStatusDto::Left => Self::Left,
            WaitlistStatusDto::Closed => Self::Closed,
        }
    }
}

impl From<WaitlistStatus> for WaitlistStatusDto {
    fn from(s: WaitlistStatus) -> Self {
        match s {
            WaitlistStatus::Waiting => Self::Waiting,
            WaitlistStatus::Promoted => Self::Promoted,
            WaitlistStatus::Left => Self::Left,
            WaitlistStatus::Closed => Self::Closed,
        }
    }
}

/// A place in an event's queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct WaitlistEntryDto {
    /// Entry id.
    pub id: Uuid,
    /// Its event.
    pub event_id: Uuid,
    /// Its ticket type.
    pub ticket_type_id: Uuid,
    /// Who waits.
    pub user_id: Uuid,
    /// Seats wanted, all at once.
    pub quantity: u32,
    /// 1 for the head of the queue; `null` unless waiting.
    pub position: Option<u32>,
    /// `waiting`, `promoted`, `left` or `closed`.
    pub status: WaitlistStatusDto,
    /// Why it was closed; `null` unless `closed`.
    pub closed_reason: Option<ClosedReasonDto>,
    /// The booking a promotion made.
    pub booking_id: Option<Uuid>,
    /// When it joined.
    pub created_at: DateTime<Utc>,
}

impl From<WaitlistEntry> for WaitlistEntryDto {
    fn from(e: WaitlistEntry) -> Self {
        Self {
            id: e.id.as_uuid(),
            event_id: e.event_id.as_uuid(),
            ticket_type_id: e.ticket_type_id.as_uuid(),
            user_id: e.user_id.as_uuid(),
            quantity: e.quantity,
            position: e.position,
            status: e.status.into(),
            closed_reason: e.closed_reason.map(Into::into),
            booking_id: e.booking_id.map(|b| b.as_uuid()),
            created_at: e.created_at,
        }
    }
}

/// What a booking request made: a booking, a waitlist entry, or both.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingOutcomeDto {
    /// Seats booked now.
    pub booking: Option<BookingDto>,
    /// The queue place for the rest.
    pub waitlist_entry: Option<WaitlistEntryDto>,
}

impl From<BookingOutcome> for BookingOutcomeDto {
    fn from(o: BookingOutcome) -> Self {
        Self {
            booking: o.booking.map(Into::into),
            waitlist_entry: o.waitlist_entry.map(Into::into),
        }
    }
}

/// `?status=` of `GET /users/me/bookings`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct BookingStatusFilter {
    /// Only bookings in this state.
    pub status: Option<BookingStatusDto>,
}

/// `?status=` of `GET /events/{id}/waitlist`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct WaitlistStatusFilter {
    /// Entries in this state (default `waiting`, in queue order).
    pub status: Option<WaitlistStatusDto>,
}

/// One row of `GET /analytics/events`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventAnalyticsDto {
    /// The event.
    pub event_id: Uuid,
    /// Its name.
    pub name: String,
    /// Seats in all.
    pub capacity: u32,
    /// Seats sold.
    pub sold: u32,
    /// Seats held.
    pub held: u32,
    /// `sold / capacity`.
    pub utilisation: f64,
    /// Tickets confirmed since UTC midnight (still booked).
    pub booked_today: u32,
    /// Tickets cancelled, ever.
    pub cancelled: u32,
    /// `cancelled / (sold + cancelled)`.
    pub cancellation_rate: f64,
    /// Waiting entries.
    pub waitlist_count: u32,
}

impl From<EventReport> for EventAnalyticsDto {
    fn from(r: EventReport) -> Self {
        let s = r.stats;
        Self {
            event_id: s.event_id.as_uuid(),
            name: s.name,
            capacity: s.capacity,
            sold: s.sold,
            held: s.held,
            utilisation: r.utilisation,
            booked_today: s.booked_since,
            cancelled: s.cancelled,
            cancellation_rate: r.cancellation_rate,
            waitlist_count: s.waitlist_count,
        }
    }
}
