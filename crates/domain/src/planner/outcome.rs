//! What each request of a batch got, and how the ports answer it.

use crate::booking::{Booking, BookingOutcome, Hold, WaitlistEntry, WaitlistStatus};
use crate::ports::{
    BookError, CancelBookingError, ConfirmHoldError, HoldError, JoinWaitlistError,
    LeaveWaitlistError, TicketTypeError, UpdateEventError,
};
use crate::seats::SaleRefusal;

/// Why a request was refused, changing nothing of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such event or ticket type.
    NotFound,
    /// The sale terms refuse it.
    Refused(SaleRefusal),
    /// Fewer seats than asked for are free.
    SoldOut {
        /// Seats free for its type.
        available: u32,
    },
    /// The user already waits for this type.
    AlreadyWaitlisted,
    /// A join while enough seats are free to book.
    TicketsAvailable,
    /// No such live hold of this user.
    HoldNotFound,
    /// The hold expired before it was confirmed.
    HoldExpired,
    /// No such booking of the event.
    BookingNotFound,
    /// The booking is cancelled already.
    AlreadyCancelled,
    /// More seats than booked were to be cancelled.
    TooMany {
        /// Seats booked.
        booked: u32,
    },
    /// No such entry of this user.
    EntryNotFound,
    /// The entry was promoted or closed.
    NotWaiting(WaitlistStatus),
    /// A cancelled event does not change any more.
    Cancelled,
    /// A capacity below the seats sold and held.
    CapacityBelowSold {
        /// Seats sold plus held.
        taken: u32,
    },
    /// A retired ticket type does not change any more.
    TypeRetired,
    /// A ticket type's quantity below its seats sold and held.
    QuantityBelowSold {
        /// The type's seats sold plus held.
        taken: u32,
    },
}

/// What a request got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A hold was taken.
    Held(Hold),
    /// Seats were booked, queued for, or both. A new entry's `queue_seq` is 0 until
    /// the store stores it.
    Booked(BookingOutcome),
    /// The user joined the waitlist (`queue_seq` as for `Booked`).
    Joined(WaitlistEntry),
    /// A hold became this booking.
    Confirmed(Booking),
    /// A hold's seats came back.
    Released,
    /// The booking as it is after the cancellation.
    Cancelled(Booking),
    /// The entry left the queue (or had left it already).
    Left,
    /// The capacity changed.
    Resized,
    /// A ticket type changed or was retired (or was retired already).
    TypeChanged,
    /// Holds that expired at this request.
    Swept {
        /// How many.
        expired: u32,
    },
    /// The event is cancelled (now, or it was already).
    EventCancelled,
    /// Nothing changed.
    Refused(Refusal),
}

impl Outcome {
    /// The entry this outcome queued, if any.
    pub fn entry_mut(&mut self) -> Option<&mut WaitlistEntry> {
        match self {
            Self::Booked(outcome) => outcome.waitlist_entry.as_mut(),
            Self::Joined(entry) => Some(entry),
            _ => None,
        }
    }

    /// The outcome of a hold request as the port answers it.
    ///
    /// # Errors
    /// The refusal, or `Backend` for an outcome a hold cannot have.
    pub fn into_hold(self) -> Result<Hold, HoldError> {
        match self {
            Self::Held(hold) => Ok(hold),
            Self::Refused(Refusal::NotFound) => Err(HoldError::NotFound),
            Self::Refused(Refusal::Refused(why)) => Err(HoldError::Refused(why)),
            Self::Refused(Refusal::SoldOut { available }) => Err(HoldError::SoldOut { available }),
            other => Err(HoldError::Backend(mismatch("hold", &other))),
        }
    }

    /// The outcome of a booking request as the port answers it.
    ///
    /// # Errors
    /// The refusal, or `Backend` for an outcome a booking cannot have.
    pub fn into_booking(self) -> Result<BookingOutcome, BookError> {
        match self {
            Self::Booked(outcome) => Ok(outcome),
            Self::Refused(Refusal::NotFound) => Err(BookError::NotFound),
            Self::Refused(Refusal::Refused(why)) => Err(BookError::Refused(why)),
            Self::Refused(Refusal::SoldOut { available }) => Err(BookError::SoldOut { available }),
            Self::Refused(Refusal::AlreadyWaitlisted) => Err(BookError::AlreadyWaitlisted),
            other => Err(BookError::Backend(mismatch("booking", &other))),
        }
    }

    /// The outcome of a join as the port answers it.
    ///
    /// # Errors
    /// The refusal, or `Backend` for an outcome a join cannot have.
    pub fn into_entry(self) -> Result<WaitlistEntry, JoinWaitlistError> {
        match self {
            Self::Joined(entry) => Ok(entry),
            Self::Refused(Refusal::NotFound) => Err(JoinWaitlistError::NotFound),
            Self::Refused(Refusal::Refused(why)) => Err(JoinWaitlistError::Refused(why)),
            Self::Refused(Refusal::AlreadyWaitlisted) => Err(JoinWaitlistError::AlreadyWaitlisted),
            Self::Refused(Refusal::TicketsAvailable) => Err(JoinWaitlistError::TicketsAvailable),
            other => Err(JoinWaitlistError::Backend(mismatch("join", &other))),
        }
    }

    /// The outcome of a confirmation as the port answers it.
    ///
    /// # Errors
    /// The refusal, or `Backend` for an outcome a confirmation cannot have.
    pub fn into_confirmation(self) -> Result<Booking, ConfirmHoldError> {
        match self {
            Self::Confirmed(booking) => Ok(booking),
            Self::Refused(Refusal::HoldNotFound) => Err(ConfirmHoldError::NotFound),
            Self::Refused(Refusal::HoldExpired) => Err(ConfirmHoldError::Expired),
            other => Err(ConfirmHoldError::Backend(mismatch("confirmation", &other))),
        }
    }

    /// The outcome of a release as the port answers it.
    ///
    /// # Errors
    /// The refusal, or `Backend` for an outcome a release cannot have.
    pub fn into_release(self) -> Result<(), ConfirmHoldError> {
        match self {
            Self::Released => Ok(()),
            Self::Refused(Refusal::HoldNotFound) => Err(ConfirmHoldError::NotFound),
            other => Err(ConfirmHoldError::Backend(mismatch("release", &other))),
        }
    }

    /// The outcome of a cancellation as the port answers it.
    ///
    /// # Errors
    /// The refusal, or `Backend` for an outcome a cancellation cannot have.
    pub fn into_cancellation(self) -> Result<Booking, CancelBookingError> {
        match self {
            Self::Cancelled(booking) => Ok(booking),
            Self::Refused(Refusal::BookingNotFound) => Err(CancelBookingError::NotFound),
            Self::Refused(Refusal::AlreadyCancelled) => Err(CancelBookingError::AlreadyCancelled),
            Self::Refused(Refusal::TooMany { booked }) => {
                Err(CancelBookingError::TooMany { booked })
            }
            other => Err(CancelBookingError::Backend(mismatch(
                "cancellation",
                &other,
            ))),
        }
    }

    /// The outcome of leaving the queue as the port answers it.
    ///
    /// # Errors
    /// The refusal, or `Backend` for an outcome a leave cannot have.
    pub fn into_leave(self) -> Result<(), LeaveWaitlistError> {
        match self {
            Self::Left => Ok(()),
            Self::Refused(Refusal::EntryNotFound) => Err(LeaveWaitlistError::NotFound),
            Self::Refused(Refusal::NotWaiting(status)) => {
                Err(LeaveWaitlistError::NotWaiting(status))
            }
            other => Err(LeaveWaitlistError::Backend(mismatch("leave", &other))),
        }
    }

    /// The outcome of a capacity change as the port answers it.
    ///
    /// # Errors
    /// The refusal, or `Backend` for an outcome a capacity change cannot have.
    pub fn into_resize(self) -> Result<(), UpdateEventError> {
        match self {
            Self::Resized => Ok(()),
            Self::Refused(Refusal::NotFound) => Err(UpdateEventError::NotFound),
            Self::Refused(Refusal::Cancelled) => Err(UpdateEventError::Cancelled),
            Self::Refused(Refusal::CapacityBelowSold { taken }) => {
                Err(UpdateEventError::CapacityBelowSold { taken })
            }
            other => Err(UpdateEventError::Backend(mismatch(
                "capacity change",
                &other,
            ))),
        }
    }

    /// The outcome of a ticket type's change or retirement as the port answers it.
    ///
    /// # Errors
    /// The refusal, or `Backend` for an outcome such a change cannot have.
    pub fn into_type_change(self) -> Result<(), TicketTypeError> {
        match self {
            Self::TypeChanged => Ok(()),
            Self::Refused(Refusal::NotFound) => Err(TicketTypeError::NotFound),
            Self::Refused(Refusal::Cancelled) => Err(TicketTypeError::EventCancelled),
            Self::Refused(Refusal::TypeRetired) => Err(TicketTypeError::Retired),
            Self::Refused(Refusal::QuantityBelowSold { taken }) => {
                Err(TicketTypeError::QuantityBelowSold { taken })
            }
            other => Err(TicketTypeError::Backend(mismatch(
                "ticket type change",
                &other,
            ))),
        }
    }

    /// Holds a sweep expired.
    ///
    /// # Errors
    /// For an outcome a sweep cannot have.
    pub fn into_swept(self) -> anyhow::Result<u32> {
        match self {
            Self::Swept { expired } => Ok(expired),
            Self::Refused(Refusal::NotFound) => Ok(0),
            other => Err(mismatch("sweep", &other)),
        }
    }

    /// Whether an event cancellation found the event.
    ///
    /// # Errors
    /// For an outcome an event cancellation cannot have.
    pub fn into_event_cancelled(self) -> anyhow::Result<bool> {
        match self {
            Self::EventCancelled => Ok(true),
            Self::Refused(Refusal::NotFound) => Ok(false),
            other => Err(mismatch("event cancellation", &other)),
        }
    }
}

fn mismatch(request: &str, outcome: &Outcome) -> anyhow::Error {
    anyhow::anyhow!("a {request} request cannot end as {outcome:?}")
}
