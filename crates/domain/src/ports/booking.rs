use crate::booking::{
    Booking, BookingOutcome, BookingStatus, Hold, OnSoldOut, Quantity, WaitlistEntry,
    WaitlistStatus,
};
use crate::page::{Page, PageRequest};
use crate::seats::SaleRefusal;
use crate::{BookingId, EventId, HoldId, TicketTypeId, Timestamp, UserId, WaitlistEntryId};
use async_trait::async_trait;

/// Which seats a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatRequest {
    /// The event.
    pub event_id: EventId,
    /// The ticket type; `None` means the event's first type.
    pub ticket_type_id: Option<TicketTypeId>,
    /// Who asks.
    pub user_id: UserId,
    /// How many seats.
    pub quantity: Quantity,
}

/// An `Idempotency-Key` with a hash of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The client's key (scoped to the user).
    pub key: String,
    /// Hash of the request body, to refuse the same key with another body.
    pub request_hash: String,
}

impl Idempotency {
    /// `key` for the request that `parts` describe: the operation's name first, then
    /// everything it asks for, so one key cannot serve two different requests.
    #[must_use]
    pub fn new(key: String, parts: &[&str]) -> Self {
        use sha2::{Digest, Sha256};
        let request_hash = format!("{:x}", Sha256::digest(parts.join("|").as_bytes()));
        Self { key, request_hash }
    }
}

/// A direct booking request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookRequest {
    /// The id the booking gets, chosen by the caller so that an admission gate in front
    /// of the store can recognise it once stored. A repeat of an idempotent request
    /// returns the first request's booking instead.
    pub booking_id: BookingId,
    /// The seats.
    pub seats: SeatRequest,
    /// Waitlist or fail when there are not enough seats.
    pub on_sold_out: OnSoldOut,
    /// Book what is free when there is not enough for all.
    pub allow_partial: bool,
    /// Makes repeats book once.
    pub idempotency: Option<Idempotency>,
}

/// Why seats could not be held.
#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    /// No such event or ticket type.
    #[error("event or ticket type not found")]
    NotFound,
    /// The event does not sell to this request.
    #[error("refused: {0:?}")]
    Refused(SaleRefusal),
    /// Fewer seats than asked for are free.
    #[error("sold out: {available} free")]
    SoldOut {
        /// Seats free for this type.
        available: u32,
    },
    /// The idempotency key was used with another request.
    #[error("idempotency key reused with another request")]
    IdempotencyKeyReused,
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// Why a hold could not be confirmed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmHoldError {
    /// No such live hold of this user (released, confirmed, or another user's).
    #[error("hold not found")]
    NotFound,
    /// The hold expired before it was confirmed; its seats are returned.
    #[error("hold expired")]
    Expired,
    /// The idempotency key was used with another request.
    #[error("idempotency key reused with another request")]
    IdempotencyKeyReused,
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// Why a booking request failed.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    /// No such event or ticket type.
    #[error("event or ticket type not found")]
    NotFound,
    /// The event does not sell to this request.
    #[error("refused: {0:?}")]
    Refused(SaleRefusal),
    /// Not enough seats and `on_sold_out` is `Fail`.
    #[error("sold out: {available} free")]
    SoldOut {
        /// Seats free for this type.
        available: u32,
    },
    /// The user already waits for this event and ticket type.
    #[error("already waitlisted")]
    AlreadyWaitlisted,
    /// The idempotency key was used with another request.
    #[error("idempotency key reused with another request")]
    IdempotencyKeyReused,
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// Why a booking could not be cancelled.
#[derive(Debug, thiserror::Error)]
pub enum CancelBookingError {
    /// No such booking.
    #[error("booking not found")]
    NotFound,
    /// It is cancelled already.
    #[error("already cancelled")]
    AlreadyCancelled,
    /// More seats than booked were to be cancelled.
    #[error("only {booked} seats are booked")]
    TooMany {
        /// Seats booked.
        booked: u32,
    },
    /// The idempotency key was used with another request.
    #[error("idempotency key reused with another request")]
    IdempotencyKeyReused,
    /// More seats than the booking has unused tickets: a seat whose ticket was
    /// checked in is taken by someone inside, and is never given back.
    #[error("only {unused} tickets are unused")]
    TicketsUsed {
        /// Tickets not checked in (nor voided).
        unused: u32,
    },
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// Why a user could not join a waitlist.
#[derive(Debug, thiserror::Error)]
pub enum JoinWaitlistError {
    /// No such event or ticket type.
    #[error("event or ticket type not found")]
    NotFound,
    /// The event does not sell to this request.
    #[error("refused: {0:?}")]
    Refused(SaleRefusal),
    /// The user already waits for this event and ticket type.
    #[error("already waitlisted")]
    AlreadyWaitlisted,
    /// Enough seats are free: book them instead.
    #[error("tickets are available")]
    TicketsAvailable,
    /// The idempotency key was used with another request.
    #[error("idempotency key reused with another request")]
    IdempotencyKeyReused,
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// Why a user could not leave a waitlist.
#[derive(Debug, thiserror::Error)]
pub enum LeaveWaitlistError {
    /// No such entry of this user.
    #[error("waitlist entry not found")]
    NotFound,
    /// The entry was promoted or closed: there is nothing to leave.
    #[error("entry is {0:?}")]
    NotWaiting(WaitlistStatus),
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// Holds: seats taken for a while, then confirmed, released or expired. Every way seats
/// come back promotes the event's waitlist in the same transaction.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Reservations: Send + Sync + 'static {
    /// Holds seats until `expires_at` as hold `id` (chosen by the caller, like
    /// [`BookRequest::booking_id`]).
    /// # Errors
    /// `NotFound`, `Refused`, or `SoldOut` when fewer seats are free at `now`.
    async fn hold(
        &self,
        id: HoldId,
        request: &SeatRequest,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Hold, HoldError>;

    /// A live (unconfirmed, unreleased, unexpired at `now`) hold.
    /// # Errors
    /// Only when the store fails.
    async fn find_hold(&self, id: HoldId, now: Timestamp) -> anyhow::Result<Option<Hold>>;

    /// Turns `user`'s live hold into a booking (`source: hold`). A hold expiring at the
    /// same instant is either confirmed or expired, never both.
    /// # Errors
    /// `NotFound`, or `Expired` when `now >= expires_at` (its seats are then returned).
    async fn confirm_hold(
        &self,
        id: HoldId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Booking, ConfirmHoldError>;

    /// Returns `user`'s live hold's seats at once and promotes the waitlist.
    /// # Errors
    /// `NotFound` when there is no such live hold.
    async fn release_hold(
        &self,
        id: HoldId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), ConfirmHoldError>;

    /// Ends up to `limit` holds that expired by `now`, returning their seats and promoting
    /// waitlists; returns how many ended. Safe to run from several processes at once.
    /// # Errors
    /// Only when the store fails.
    async fn expire_holds(&self, now: Timestamp, limit: u32) -> anyhow::Result<u32>;
}

/// Bookings: direct booking with waitlist fallback, cancellation, and reads.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Bookings: Send + Sync + 'static {
    /// Books seats, or queues for them, as [`crate::seats::plan_booking`] decides.
    /// A repeat with the same idempotency key books nothing and returns what the first
    /// request made.
    /// # Errors
    /// See [`BookError`].
    async fn book(
        &self,
        request: &BookRequest,
        now: Timestamp,
    ) -> Result<BookingOutcome, BookError>;

    /// One booking.
    /// # Errors
    /// Only when the store fails.
    async fn find_booking(&self, id: BookingId) -> anyhow::Result<Option<Booking>>;

    /// The booking hold `hold` became, as it is now.
    /// # Errors
    /// Only when the store fails.
    async fn booking_of_hold(&self, hold: HoldId) -> anyhow::Result<Option<Booking>>;

    /// Cancels `quantity` seats (all when `None`), returns them and promotes the waitlist.
    /// # Errors
    /// `NotFound`, `AlreadyCancelled`, `TooMany`.
    async fn cancel_booking(
        &self,
        id: BookingId,
        quantity: Option<Quantity>,
        now: Timestamp,
    ) -> Result<Booking, CancelBookingError>;

    /// Deletes idempotency keys recorded before `before`; returns how many.
    /// # Errors
    /// Only when the store fails.
    async fn forget_idempotency_keys(&self, before: Timestamp) -> anyhow::Result<u64>;

    /// `user`'s bookings, newest first, optionally of one status.
    /// # Errors
    /// Only when the store fails.
    async fn user_bookings(
        &self,
        user: UserId,
        status: Option<BookingStatus>,
        page: &PageRequest<BookingId>,
    ) -> anyhow::Result<Page<Booking, BookingId>>;
}

/// Waitlists: one strict FIFO queue per event.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Waitlists: Send + Sync + 'static {
    /// Queues `request` when not enough seats are free for it.
    /// # Errors
    /// `TicketsAvailable` when they are; `AlreadyWaitlisted`; `NotFound`; `Refused`.
    async fn join(
        &self,
        request: &SeatRequest,
        now: Timestamp,
    ) -> Result<WaitlistEntry, JoinWaitlistError>;

    /// Entry `id` as it is now, with its position when it waits.
    /// # Errors
    /// Only when the store fails.
    async fn find_entry(&self, id: WaitlistEntryId) -> anyhow::Result<Option<WaitlistEntry>>;

    /// Takes `user`'s waiting entry out of the queue (leaving twice is harmless).
    /// # Errors
    /// `NotFound`, or `NotWaiting` for a promoted or closed entry.
    async fn leave(
        &self,
        id: WaitlistEntryId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), LeaveWaitlistError>;

    /// An event's entries of `status`: waiting ones in queue order with their positions,
    /// others newest first. Pages continue after a `queue_seq`.
    /// # Errors
    /// Only when the store fails.
    async fn event_queue(
        &self,
        event: EventId,
        status: WaitlistStatus,
        page: &PageRequest<u64>,
    ) -> anyhow::Result<Page<WaitlistEntry, u64>>;

    /// `user`'s entries of every status, newest first, waiting ones with their positions.
    /// Pages continue after a `queue_seq`.
    /// # Errors
    /// Only when the store fails.
    async fn user_entries(
        &self,
        user: UserId,
        page: &PageRequest<u64>,
    ) -> anyhow::Result<Page<WaitlistEntry, u64>>;
}

/// Seat figures of one event for organizers' analytics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventStats {
    /// The event.
    pub event_id: EventId,
    /// Its name.
    pub name: String,
    /// Seats in all.
    pub capacity: u32,
    /// Seats sold now.
    pub sold: u32,
    /// Seats held now.
    pub held: u32,
    /// Seats of bookings confirmed since the given instant (still booked).
    pub booked_since: u32,
    /// Seats cancelled, ever.
    pub cancelled: u32,
    /// Waiting waitlist entries.
    pub waitlist_count: u32,
}

/// Aggregates for organizers, computed by the store.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Analytics: Send + Sync + 'static {
    /// Figures of every event, or of `organizer`'s events only.
    /// # Errors
    /// Only when the store fails.
    async fn event_stats(
        &self,
        organizer: Option<UserId>,
        since: Timestamp,
    ) -> anyhow::Result<Vec<EventStats>>;
}
