//! The JSON form in which the stores keep outbox payloads, and read them back. The
//! domain knows no serde: this crate mirrors its payloads in JSON shapes of their own,
//! so a change of a domain type cannot change stored messages unnoticed.

use anyhow::Context as _;
use boxoffice_domain::booking::{Booking, Hold, WaitlistEntry};
use boxoffice_domain::outbox::Payload;
use boxoffice_domain::{
    BookingId, EventId, HoldId, TicketTypeId, Timestamp, UserId, WaitlistEntryId,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `payload` as the JSON the stores keep.
///
/// # Errors
/// Never in practice: every field serialises.
pub fn to_json(payload: &Payload) -> anyhow::Result<String> {
    serde_json::to_string(&Stored::from(payload)).context("cannot write an outbox payload")
}

/// The payload a store kept as `json`.
///
/// # Errors
/// For JSON that is not a payload.
pub fn from_json(json: &str) -> anyhow::Result<Payload> {
    let stored: Stored = serde_json::from_str(json).context("not an outbox payload")?;
    stored.try_into()
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Stored {
    BookingConfirmed {
        booking: StoredBooking,
    },
    BookingCancelled {
        booking: StoredBooking,
        quantity: u32,
        partial: bool,
    },
    HoldCreated {
        hold: StoredHold,
    },
    HoldEnded {
        hold_id: Uuid,
        ticket_type_id: Uuid,
        quantity: u32,
        status: String,
    },
    WaitlistJoined {
        entry: StoredEntry,
    },
    WaitlistPromoted {
        entry_id: Uuid,
        booking_id: Uuid,
    },
    WaitlistLeft {
        entry_id: Uuid,
        status: String,
        closed_reason: Option<String>,
    },
    Event {
        event_id: Uuid,
    },
}

#[derive(Serialize, Deserialize)]
struct StoredBooking {
    id: Uuid,
    event_id: Uuid,
    ticket_type_id: Uuid,
    user_id: Uuid,
    quantity: u32,
    price_cents: i64,
    status: String,
    source: String,
    created_at: Timestamp,
    cancelled_at: Option<Timestamp>,
}

#[derive(Serialize, Deserialize)]
struct StoredHold {
    id: Uuid,
    event_id: Uuid,
    ticket_type_id: Uuid,
    user_id: Uuid,
    quantity: u32,
    price_cents: i64,
    expires_at: Timestamp,
    created_at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct StoredEntry {
    id: Uuid,
    event_id: Uuid,
    ticket_type_id: Uuid,
    user_id: Uuid,
    quantity: u32,
    position: Option<u32>,
    status: String,
    closed_reason: Option<String>,
    booking_id: Option<Uuid>,
    created_at: Timestamp,
    queue_seq: u64,
}

/// A stored status text as the domain's enum.
fn parse<T: std::str::FromStr<Err = String>>(text: &str) -> anyhow::Result<T> {
    text.parse().map_err(anyhow::Error::msg)
}

impl From<&Booking> for StoredBooking {
    fn from(b: &Booking) -> Self {
        Self {
            id: b.id.as_uuid(),
            event_id: b.event_id.as_uuid(),
            ticket_type_id: b.ticket_type_id.as_uuid(),
            user_id: b.user_id.as_uuid(),
            quantity: b.quantity,
            price_cents: b.price_cents,
            status: b.status.as_str().to_owned(),
            source: b.source.as_str().to_owned(),
            created_at: b.created_at,
            cancelled_at: b.cancelled_at,
        }
    }
}

impl TryFrom<StoredBooking> for Booking {
    type Error = anyhow::Error;
    fn try_from(b: StoredBooking) -> anyhow::Result<Self> {
        Ok(Self {
            id: BookingId::from_uuid(b.id),
            event_id: EventId::from_uuid(b.event_id),
            ticket_type_id: TicketTypeId::from_uuid(b.ticket_type_id),
            user_id: UserId::from_uuid(b.user_id),
            quantity: b.quantity,
            price_cents: b.price_cents,
            status: parse(&b.status)?,
            source: parse(&b.source)?,
            created_at: b.created_at,
            cancelled_at: b.cancelled_at,
        })
    }
}

impl From<&Hold> for StoredHold {
    fn from(h: &Hold) -> Self {
        Self {
            id: h.id.as_uuid(),
            event_id: h.event_id.as_uuid(),
            ticket_type_id: h.ticket_type_id.as_uuid(),
            user_id: h.user_id.as_uuid(),
            quantity: h.quantity,
            price_cents: h.price_cents,
            expires_at: h.expires_at,
            created_at: h.created_at,
        }
    }
}

impl From<StoredHold> for Hold {
    fn from(h: StoredHold) -> Self {
        Self {
            id: HoldId::from_uuid(h.id),
            event_id: EventId::from_uuid(h.event_id),
            ticket_type_id: TicketTypeId::from_uuid(h.ticket_type_id),
            user_id: UserId::from_uuid(h.user_id),
            quantity: h.quantity,
            price_cents: h.price_cents,
            expires_at: h.expires_at,
            created_at: h.created_at,
        }
    }
}

impl From<&WaitlistEntry> for StoredEntry {
    fn from(e: &WaitlistEntry) -> Self {
        Self {
            id: e.id.as_uuid(),
            event_id: e.event_id.as_uuid(),
            ticket_type_id: e.ticket_type_id.as_uuid(),
            user_id: e.user_id.as_uuid(),
            quantity: e.quantity,
            position: e.position,
            status: e.status.as_str().to_owned(),
            closed_reason: e.closed_reason.map(|r| r.as_str().to_owned()),
            booking_id: e.booking_id.map(|b| b.as_uuid()),
            created_at: e.created_at,
            queue_seq: e.queue_seq,
        }
    }
}

impl TryFrom<StoredEntry> for WaitlistEntry {
    type Error = anyhow::Error;
    fn try_from(e: StoredEntry) -> anyhow::Result<Self> {
        Ok(Self {
            id: WaitlistEntryId::from_uuid(e.id),
            event_id: EventId::from_uuid(e.event_id),
            ticket_type_id: TicketTypeId::from_uuid(e.ticket_type_id),
            user_id: UserId::from_uuid(e.user_id),
            quantity: e.quantity,
            position: e.position,
            status: parse(&e.status)?,
            closed_reason: e.closed_reason.as_deref().map(parse).transpose()?,
            booking_id: e.booking_id.map(BookingId::from_uuid),
            created_at: e.created_at,
            queue_seq: e.queue_seq,
        })
    }
}

impl From<&Payload> for Stored {
    fn from(payload: &Payload) -> Self {
        match payload {
            Payload::BookingConfirmed { booking } => Self::BookingConfirmed {
                booking: booking.into(),
            },
            Payload::BookingCancelled {
                booking,
                quantity,
                partial,
            } => Self::BookingCancelled {
                booking: booking.into(),
                quantity: *quantity,
                partial: *partial,
            },
            Payload::HoldCreated { hold } => Self::HoldCreated { hold: hold.into() },
            Payload::HoldEnded {
                hold_id,
                ticket_type_id,
                quantity,
                status,
            } => Self::HoldEnded {
                hold_id: hold_id.as_uuid(),
                ticket_type_id: ticket_type_id.as_uuid(),
                quantity: *quantity,
                status: status.as_str().to_owned(),
            },
            Payload::WaitlistJoined { entry } => Self::WaitlistJoined {
                entry: entry.into(),
            },
            Payload::WaitlistPromoted {
                entry_id,
                booking_id,
            } => Self::WaitlistPromoted {
                entry_id: entry_id.as_uuid(),
                booking_id: booking_id.as_uuid(),
            },
            Payload::WaitlistLeft {
                entry_id,
                status,
                closed_reason,
            } => Self::WaitlistLeft {
                entry_id: entry_id.as_uuid(),
                status: status.as_str().to_owned(),
                closed_reason: closed_reason.map(|r| r.as_str().to_owned()),
            },
            Payload::Event { event_id } => Self::Event {
                event_id: event_id.as_uuid(),
            },
        }
    }
}

impl TryFrom<Stored> for Payload {
    type Error = anyhow::Error;
    fn try_from(stored: Stored) -> anyhow::Result<Self> {
        Ok(match stored {
            Stored::BookingConfirmed { booking } => Self::BookingConfirmed {
                booking: booking.try_into()?,
            },
            Stored::BookingCancelled {
                booking,
                quantity,
                partial,
            } => Self::BookingCancelled {
                booking: booking.try_into()?,
                quantity,
                partial,
            },
            Stored::HoldCreated { hold } => Self::HoldCreated { hold: hold.into() },
            Stored::HoldEnded {
                hold_id,
                ticket_type_id,
                quantity,
                status,
            } => Self::HoldEnded {
                hold_id: HoldId::from_uuid(hold_id),
                ticket_type_id: TicketTypeId::from_uuid(ticket_type_id),
                quantity,
                status: parse(&status)?,
            },
            Stored::WaitlistJoined { entry } => Self::WaitlistJoined {
                entry: entry.try_into()?,
            },
            Stored::WaitlistPromoted {
                entry_id,
                booking_id,
            } => Self::WaitlistPromoted {
                entry_id: WaitlistEntryId::from_uuid(entry_id),
                booking_id: BookingId::from_uuid(booking_id),
            },
            Stored::WaitlistLeft {
                entry_id,
                status,
                closed_reason,
            } => Self::WaitlistLeft {
                entry_id: WaitlistEntryId::from_uuid(entry_id),
                status: parse(&status)?,
                closed_reason: closed_reason.as_deref().map(parse).transpose()?,
            },
            Stored::Event { event_id } => Self::Event {
                event_id: EventId::from_uuid(event_id),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice_domain::booking::{
        BookingSource, BookingStatus, ClosedReason, HoldStatus, WaitlistStatus,
    };

    fn booking() -> Booking {
        Booking {
            id: BookingId::generate(),
            event_id: EventId::generate(),
            ticket_type_id: TicketTypeId::generate(),
            user_id: UserId::generate(),
            quantity: 2,
            price_cents: 2500,
            status: BookingStatus::Confirmed,
            source: BookingSource::Waitlist,
            created_at: chrono::Utc::now(),
            cancelled_at: None,
        }
    }

    #[test]
    fn every_payload_reads_back_as_written() {
        let now = chrono::Utc::now();
        let booking = booking();
        let hold = Hold {
            id: HoldId::generate(),
            event_id: booking.event_id,
            ticket_type_id: booking.ticket_type_id,
            user_id: booking.user_id,
            quantity: 1,
            price_cents: 900,
            expires_at: now,
            created_at: now,
        };
        let entry = WaitlistEntry {
            id: WaitlistEntryId::generate(),
            event_id: booking.event_id,
            ticket_type_id: booking.ticket_type_id,
            user_id: booking.user_id,
            quantity: 3,
            position: Some(4),
            status: WaitlistStatus::Waiting,
            closed_reason: None,
            booking_id: None,
            created_at: now,
            queue_seq: 7,
        };
        let payloads = [
            Payload::BookingConfirmed {
                booking: booking.clone(),
            },
            Payload::BookingCancelled {
                booking: booking.clone(),
                quantity: 1,
                partial: true,
            },
            Payload::HoldCreated { hold: hold.clone() },
            Payload::HoldEnded {
                hold_id: hold.id,
                ticket_type_id: hold.ticket_type_id,
                quantity: 1,
                status: HoldStatus::Expired,
            },
            Payload::WaitlistJoined { entry },
            Payload::WaitlistPromoted {
                entry_id: WaitlistEntryId::generate(),
                booking_id: booking.id,
            },
            Payload::WaitlistLeft {
                entry_id: WaitlistEntryId::generate(),
                status: WaitlistStatus::Closed,
                closed_reason: Some(ClosedReason::QuantityLowered),
            },
            Payload::Event {
                event_id: booking.event_id,
            },
        ];
        for payload in payloads {
            let json = to_json(&payload).expect("written");
            assert_eq!(from_json(&json).expect("read"), payload, "{json}");
        }
        let left = to_json(&Payload::WaitlistLeft {
            entry_id: WaitlistEntryId::generate(),
            status: WaitlistStatus::Closed,
            closed_reason: Some(ClosedReason::CapacityLowered),
        })
        .expect("written");
        assert!(left.contains(r#""kind":"waitlist_left""#), "{left}");
        assert!(
            left.contains(r#""closed_reason":"capacity_lowered""#),
            "{left}"
        );
        assert!(from_json(r#"{"kind":"nothing"}"#).is_err());
    }
}
