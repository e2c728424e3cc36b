//! Tickets: the seats of a confirmed booking as things a door checks.
//!
//! A booking of N seats has tickets numbered 1 to N. They are not stored: a ticket's id
//! is derived from its booking and number ([`TicketId::of`]), and its status from the
//! booking and the check-ins recorded for it ([`BookingTickets`]). Only check-ins are
//! stored, so booking stays as fast as before and a ticket's status can never disagree
//! with its booking.
//!
//! Which tickets a partial cancellation voids follows from the rule in
//! [`BookingTickets`]: the valid tickets are the lowest-numbered ones neither checked
//! in nor named by a cancellation, as many as the booking still has seats for. So a
//! cancellation that names no tickets voids the newest, and one that names tickets
//! (stored as voids) voids those.

mod check_in;
mod code;

pub use check_in::*;
pub use code::*;

use crate::booking::{Booking, BookingStatus, MAX_QUANTITY};
use crate::{BookingId, EventId, TicketTypeId};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// A ticket's place in its booking: 1 to [`MAX_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TicketNumber(u16);

impl TicketNumber {
    /// Checks the range.
    ///
    /// # Errors
    /// A message when `n` is 0 or above [`MAX_QUANTITY`].
    pub fn new(n: u32) -> Result<Self, String> {
        match u16::try_from(n) {
            Ok(small) if (1..=MAX_QUANTITY).contains(&n) => Ok(Self(small)),
            _ => Err(format!("must be between 1 and {MAX_QUANTITY}")),
        }
    }

    /// The number.
    #[must_use]
    pub const fn get(self) -> u16 {
        self.0
    }
}

/// Identifies a ticket: a version 8 UUID derived from its booking and number, so the
/// same ticket always has the same id without being stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketId(Uuid);

impl TicketId {
    /// The id of ticket `number` of `booking`.
    #[must_use]
    pub fn of(booking: BookingId, number: TicketNumber) -> Self {
        let digest = Sha256::new()
            .chain_update(b"boxoffice ticket\0")
            .chain_update(booking.as_uuid().as_bytes())
            .chain_update(number.get().to_be_bytes())
            .finalize();
        let mut bytes = [0_u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }

    /// Wraps a UUID read from a store or a request.
    #[must_use]
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID inside.
    #[must_use]
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for TicketId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// Whether a ticket lets someone in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketStatus {
    /// Not used yet.
    Valid,
    /// Its seat was cancelled: it never checks in.
    Voided,
    /// Used at the door.
    CheckedIn,
}

impl TicketStatus {
    /// The stable lowercase name used in the API.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Voided => "voided",
            Self::CheckedIn => "checked_in",
        }
    }
}

/// One ticket as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// Derived from the booking and number.
    pub id: TicketId,
    /// Its booking.
    pub booking_id: BookingId,
    /// Its event.
    pub event_id: EventId,
    /// Its ticket type.
    pub ticket_type_id: TicketTypeId,
    /// Its place in the booking.
    pub number: TicketNumber,
    /// Valid, voided or checked in.
    pub status: TicketStatus,
    /// The check-in, when it has one.
    pub check_in: Option<CheckIn>,
}

impl Ticket {
    /// What its code says about it.
    #[must_use]
    pub const fn claims(&self) -> TicketClaims {
        TicketClaims {
            event_id: self.event_id,
            booking_id: self.booking_id,
            ticket_type_id: self.ticket_type_id,
            number: self.number,
        }
    }
}

/// A booking with the check-ins of its tickets: everything a ticket's status follows from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingTickets {
    /// The booking as it is now.
    pub booking: Booking,
    /// How many tickets it was made with: its quantity before any cancellation.
    pub issued: u32,
    /// Tickets a cancellation named.
    pub voided: BTreeSet<TicketNumber>,
    /// The check-ins in force of its tickets.
    pub check_ins: Vec<CheckIn>,
}

impl BookingTickets {
    fn checked_in(&self) -> BTreeSet<TicketNumber> {
        self.check_ins.iter().map(|c| c.ticket.number).collect()
    }

    /// The tickets still valid: the lowest-numbered ones neither checked in nor named
    /// by a cancellation, as many as the booking has seats left beside its check-ins
    /// (none once it is cancelled).
    fn valid(&self, checked_in: &BTreeSet<TicketNumber>) -> BTreeSet<TicketNumber> {
        let seats = match self.booking.status {
            BookingStatus::Confirmed => self.booking.quantity,
            BookingStatus::Cancelled => 0,
        };
        let count = seats.saturating_sub(u32::try_from(checked_in.len()).unwrap_or(u32::MAX));
        // Only tickets the booking was made with: never a number no code was signed for.
        (1..=self.issued.max(self.booking.quantity).min(MAX_QUANTITY))
            .filter_map(|n| TicketNumber::new(n).ok())
            .filter(|n| !checked_in.contains(n) && !self.voided.contains(n))
            .take(usize::try_from(count).unwrap_or(usize::MAX))
            .collect()
    }

    /// The status of ticket `number`. A number the booking never had counts as voided:
    /// its code can only have been signed while the booking had it.
    #[must_use]
    pub fn status(&self, number: TicketNumber) -> TicketStatus {
        let checked_in = self.checked_in();
        classify(number, &checked_in, &self.valid(&checked_in))
    }

    /// Every ticket the booking was made with, by number: valid, checked in or voided.
    #[must_use]
    pub fn tickets(&self) -> Vec<Ticket> {
        let checked_in = self.checked_in();
        let valid = self.valid(&checked_in);
        // Valid tickets are among those issued; a check-in may be of a ticket above a
        // quantity that stands in for an unrecorded `issued`.
        let highest = checked_in
            .iter()
            .map(|n| u32::from(n.get()))
            .max()
            .unwrap_or(0)
            .max(self.booking.quantity)
            .max(self.issued);
        (1..=highest)
            .filter_map(|n| TicketNumber::new(n).ok())
            .map(|number| {
                let check_in = self
                    .check_ins
                    .iter()
                    .find(|c| c.ticket.number == number)
                    .cloned();
                let status = classify(number, &checked_in, &valid);
                Ticket {
                    id: TicketId::of(self.booking.id, number),
                    booking_id: self.booking.id,
                    event_id: self.booking.event_id,
                    ticket_type_id: self.booking.ticket_type_id,
                    number,
                    status,
                    check_in,
                }
            })
            .collect()
    }
}

/// The status of ticket `number` among the booking's `checked_in` and `valid` tickets.
fn classify(
    number: TicketNumber,
    checked_in: &BTreeSet<TicketNumber>,
    valid: &BTreeSet<TicketNumber>,
) -> TicketStatus {
    if checked_in.contains(&number) {
        TicketStatus::CheckedIn
    } else if valid.contains(&number) {
        TicketStatus::Valid
    } else {
        TicketStatus::Voided
    }
}

#[cfg(test)]
mod tests;
