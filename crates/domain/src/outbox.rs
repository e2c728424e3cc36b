//! The transactional outbox: every change an integrator could care about becomes a
//! message, written in the transaction that makes the change. Messages of one event
//! carry a gap-free sequence number, assigned under the event's lock, so a receiver can
//! order them and spot a gap.

use crate::booking::{
    Booking, ClosedReason, Hold, HoldStatus, WaitlistEntry, WaitlistStatus, string_enum,
};
use crate::{BookingId, EventId, HoldId, TicketTypeId, Timestamp, WaitlistEntryId};
use std::str::FromStr;
use uuid::Uuid;

string_enum!(
    /// What a message tells.
    MessageType {
        /// A booking was made (directly, from a hold or by a promotion).
        BookingConfirmed = "booking.confirmed",
        /// A booking was cancelled in whole or in part.
        BookingCancelled = "booking.cancelled",
        /// Seats were held.
        HoldCreated = "hold.created",
        /// A hold ran out; its seats came back.
        HoldExpired = "hold.expired",
        /// A hold was given back by its user.
        HoldReleased = "hold.released",
        /// A user joined the waitlist.
        WaitlistJoined = "waitlist.joined",
        /// A waiting entry became a booking.
        WaitlistPromoted = "waitlist.promoted",
        /// A waiting entry left the queue: its user took it out, or a change of its
        /// ticket type closed it.
        WaitlistLeft = "waitlist.left",
        /// The event was published.
        EventCreated = "event.created",
        /// The event or one of its ticket types changed.
        EventUpdated = "event.updated",
        /// The event was cancelled: its bookings, holds and waiting entries ended with it.
        EventCancelled = "event.cancelled",
    }
);

impl MessageType {
    /// Every message type, in the order of the documentation.
    pub const ALL: [Self; 11] = [
        Self::BookingConfirmed,
        Self::BookingCancelled,
        Self::HoldCreated,
        Self::HoldExpired,
        Self::HoldReleased,
        Self::WaitlistJoined,
        Self::WaitlistPromoted,
        Self::WaitlistLeft,
        Self::EventCreated,
        Self::EventUpdated,
        Self::EventCancelled,
    ];
}

/// What changed, with the objects as they are after the change. Only ids name people.
/// The stores keep it as JSON through `boxoffice-outbox-json` (the domain knows no
/// serde).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A new booking.
    BookingConfirmed {
        /// The booking.
        booking: Booking,
    },
    /// A booking cancelled in whole or in part.
    BookingCancelled {
        /// The booking as it is after the cancellation.
        booking: Booking,
        /// Seats cancelled.
        quantity: u32,
        /// Whether seats of it stay booked.
        partial: bool,
    },
    /// A new hold.
    HoldCreated {
        /// The hold.
        hold: Hold,
    },
    /// A hold that expired or was released.
    HoldEnded {
        /// The hold.
        hold_id: HoldId,
        /// Its type.
        ticket_type_id: TicketTypeId,
        /// Seats it gave back.
        quantity: u32,
        /// `expired` or `released`.
        status: HoldStatus,
    },
    /// A new waiting entry.
    WaitlistJoined {
        /// The entry.
        entry: WaitlistEntry,
    },
    /// A waiting entry that became a booking (the booking has its own message).
    WaitlistPromoted {
        /// The entry.
        entry_id: WaitlistEntryId,
        /// The booking it became.
        booking_id: BookingId,
    },
    /// A waiting entry that left the queue.
    WaitlistLeft {
        /// The entry.
        entry_id: WaitlistEntryId,
        /// `left` or `closed`.
        status: WaitlistStatus,
        /// Why it was closed, when it was.
        closed_reason: Option<ClosedReason>,
    },
    /// The event was published, changed or cancelled; receivers read it anew.
    Event {
        /// The event.
        event_id: EventId,
    },
}

/// One message of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its id, the same at every delivery (`webhook-id`).
    pub id: Uuid,
    /// The event it is about.
    pub event_id: EventId,
    /// Its place among the event's messages: 1, 2, 3... without gaps (0 until stored).
    pub seq: u64,
    /// What it tells.
    pub kind: MessageType,
    /// When the change happened.
    pub at: Timestamp,
    /// What changed.
    pub payload: Payload,
}

impl Message {
    /// A new message of `kind` about `event_id` (its `seq` is the store's).
    #[must_use]
    pub fn new(event_id: EventId, kind: MessageType, at: Timestamp, payload: Payload) -> Self {
        Self {
            id: Uuid::now_v7(),
            event_id,
            seq: 0,
            kind,
            at,
            payload,
        }
    }

    /// `event.created`, `event.updated` or `event.cancelled` of `event_id`.
    #[must_use]
    pub fn about_event(event_id: EventId, kind: MessageType, at: Timestamp) -> Self {
        Self::new(event_id, kind, at, Payload::Event { event_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip_by_their_dotted_names() {
        for kind in MessageType::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
        assert!("booking.maybe".parse::<MessageType>().is_err());
    }
}
