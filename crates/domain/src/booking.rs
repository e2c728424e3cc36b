//! Holds, bookings and waitlist entries: what attendees get.

use crate::{BookingId, EventId, HoldId, TicketTypeId, Timestamp, UserId, WaitlistEntryId};
use std::str::FromStr;

/// The most tickets one request may ask for.
pub const MAX_QUANTITY: u32 = 100;

/// A number of tickets: 1 to [`MAX_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(u32);

impl Quantity {
    /// Checks the range.
    ///
    /// # Errors
    /// A message when `n` is 0 or above [`MAX_QUANTITY`].
    pub fn new(n: u32) -> Result<Self, String> {
        if (1..=MAX_QUANTITY).contains(&n) {
            Ok(Self(n))
        } else {
            Err(format!("must be between 1 and {MAX_QUANTITY}"))
        }
    }

    /// The number.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// The stable lowercase name used in stores and the API.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(format!("unknown {} {other:?}", stringify!($name))),
                }
            }
        }
    };
}

pub(crate) use string_enum;

string_enum!(
    /// Whether a booking still holds its seats.
    BookingStatus {
        /// Seats are sold to the user.
        Confirmed = "confirmed",
        /// Every seat was given back.
        Cancelled = "cancelled",
    }
);

string_enum!(
    /// How a booking came about.
    BookingSource {
        /// Booked directly.
        Direct = "direct",
        /// A confirmed hold.
        Hold = "hold",
        /// Promoted from the waitlist.
        Waitlist = "waitlist",
    }
);

string_enum!(
    /// Where a hold stands.
    HoldStatus {
        /// Its seats are held.
        Active = "active",
        /// Turned into a booking.
        Confirmed = "confirmed",
        /// Given back by its user, or by the event's cancellation.
        Released = "released",
        /// Ran out.
        Expired = "expired",
    }
);

string_enum!(
    /// Where a waitlist entry stands.
    WaitlistStatus {
        /// In the queue.
        Waiting = "waiting",
        /// Turned into a booking.
        Promoted = "promoted",
        /// Left by its user.
        Left = "left",
        /// Closed by the organizer's change: see its [`ClosedReason`].
        Closed = "closed",
    }
);

string_enum!(
    /// Why a waitlist entry was closed.
    ClosedReason {
        /// The event was cancelled.
        EventCancelled = "event_cancelled",
        /// Its ticket type was retired.
        TicketTypeRetired = "ticket_type_retired",
        /// Its ticket type's quantity was lowered below the seats it waits for.
        QuantityLowered = "quantity_lowered",
        /// The event's capacity was lowered below the seats it waits for.
        CapacityLowered = "capacity_lowered",
    }
);

string_enum!(
    /// What a booking does when there are not enough seats.
    OnSoldOut {
        /// Join the waitlist (the default).
        Waitlist = "waitlist",
        /// Fail with `sold_out`.
        Fail = "fail",
    }
);

/// Seats taken for a while, until confirmed, released or expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The hold's id.
    pub id: HoldId,
    /// Its event.
    pub event_id: EventId,
    /// Its ticket type.
    pub ticket_type_id: TicketTypeId,
    /// Who holds the seats.
    pub user_id: UserId,
    /// How many seats.
    pub quantity: u32,
    /// Price of one ticket when the seats were taken: what confirming it charges.
    pub price_cents: i64,
    /// When the seats return unless confirmed.
    pub expires_at: Timestamp,
    /// When it was taken.
    pub created_at: Timestamp,
}

/// Seats sold to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    /// The booking's id.
    pub id: BookingId,
    /// Its event.
    pub event_id: EventId,
    /// Its ticket type.
    pub ticket_type_id: TicketTypeId,
    /// Who booked.
    pub user_id: UserId,
    /// Seats still booked (lowered by partial cancellations).
    pub quantity: u32,
    /// Price of one ticket when the booking was made (a later price change leaves it).
    pub price_cents: i64,
    /// Confirmed or cancelled.
    pub status: BookingStatus,
    /// Direct, from a hold, or from the waitlist.
    pub source: BookingSource,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was cancelled entirely.
    pub cancelled_at: Option<Timestamp>,
}

/// A place in an event's queue for seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitlistEntry {
    /// The entry's id.
    pub id: WaitlistEntryId,
    /// Its event.
    pub event_id: EventId,
    /// Its ticket type.
    pub ticket_type_id: TicketTypeId,
    /// Who waits.
    pub user_id: UserId,
    /// Seats wanted, all at once.
    pub quantity: u32,
    /// 1 for the head of the queue; `None` unless waiting.
    pub position: Option<u32>,
    /// Waiting, promoted, left or closed.
    pub status: WaitlistStatus,
    /// Why it was closed, when it was.
    pub closed_reason: Option<ClosedReason>,
    /// The booking a promotion made.
    pub booking_id: Option<BookingId>,
    /// When it joined.
    pub created_at: Timestamp,
    /// Order of joining within the store (assigned under the event's lock): the queue order.
    pub queue_seq: u64,
}

/// What a booking request ended with: a booking, a waitlist entry, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingOutcome {
    /// The seats booked now.
    pub booking: Option<Booking>,
    /// The queue place for the seats that could not be booked.
    pub waitlist_entry: Option<WaitlistEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_bounded() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(101).is_err());
        assert_eq!(Quantity::new(3).map(Quantity::get), Ok(3));
    }

    #[test]
    fn statuses_round_trip() {
        for s in [BookingStatus::Confirmed, BookingStatus::Cancelled] {
            assert_eq!(s.as_str().parse::<BookingStatus>(), Ok(s));
        }
        for s in [
            WaitlistStatus::Waiting,
            WaitlistStatus::Promoted,
            WaitlistStatus::Left,
            WaitlistStatus::Closed,
        ] {
            assert_eq!(s.as_str().parse::<WaitlistStatus>(), Ok(s));
        }
        for r in [
            ClosedReason::EventCancelled,
            ClosedReason::TicketTypeRetired,
            ClosedReason::QuantityLowered,
            ClosedReason::CapacityLowered,
        ] {
            assert_eq!(r.as_str().parse::<ClosedReason>(), Ok(r));
        }
        assert!("maybe".parse::<OnSoldOut>().is_err());
    }
}
