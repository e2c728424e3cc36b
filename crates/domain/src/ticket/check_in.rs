//! Check-ins: the rule a store applies, under its lock on the booking, to a scan.

use super::{BookingTickets, TicketClaims, TicketStatus};
use crate::{Timestamp, UserId};
use chrono::Duration;
use std::fmt;
use uuid::Uuid;

/// How long after a check-in was recorded it may be undone (a scan of the wrong
/// person's phone, a double tap).
pub const UNDO_WINDOW: Duration = Duration::minutes(2);

/// Who scanned: an organizer or admin logged in, or a scanner token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scanner {
    /// A user with an access token.
    User(UserId),
    /// An API token with the `checkin` scope.
    Token(Uuid),
}

impl Scanner {
    /// `"user"` or `"token"`, as stores and the API write it.
    #[must_use]
    pub const fn kind(self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Token(_) => "token",
        }
    }

    /// The user's or token's id.
    #[must_use]
    pub const fn id(self) -> Uuid {
        match self {
            Self::User(user) => user.as_uuid(),
            Self::Token(token) => token,
        }
    }

    /// Reads what [`Scanner::kind`] and [`Scanner::id`] wrote.
    ///
    /// # Errors
    /// A message for an unknown kind.
    pub fn from_parts(kind: &str, id: Uuid) -> Result<Self, String> {
        match kind {
            "user" => Ok(Self::User(UserId::from_uuid(id))),
            "token" => Ok(Self::Token(id)),
            other => Err(format!("unknown scanner kind {other:?}")),
        }
    }
}

impl fmt::Display for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.id())
    }
}

/// A scan of a verified code, online (scanned now) or uploaded from an offline device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// The ticket the code names.
    pub ticket: TicketClaims,
    /// Who scanned.
    pub scanner: Scanner,
    /// When the door scanned it.
    pub scanned_at: Timestamp,
    /// When the server learnt of it.
    pub recorded_at: Timestamp,
    /// Made by a device without the server's answer, and uploaded later. Only such a
    /// scan can take the place of a check-in: an online scan is answered at once, so
    /// whichever online scan is decided first wins, whatever the clocks say.
    pub offline: bool,
}

/// A ticket let in: the earliest scan of it that is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckIn {
    /// Identifies the record (a v7 UUID: later records sort after earlier ones).
    pub id: Uuid,
    /// The ticket.
    pub ticket: TicketClaims,
    /// Who scanned it.
    pub scanner: Scanner,
    /// When it was scanned.
    pub scanned_at: Timestamp,
    /// When the server recorded it.
    pub recorded_at: Timestamp,
}

impl From<Scan> for CheckIn {
    fn from(scan: Scan) -> Self {
        Self {
            id: Uuid::now_v7(),
            ticket: scan.ticket,
            scanner: scan.scanner,
            scanned_at: scan.scanned_at,
            recorded_at: scan.recorded_at,
        }
    }
}

/// What a scan comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckInOutcome {
    /// Let in. `replaced` is a later check-in of the same ticket that this earlier
    /// offline scan takes the place of: among scans the doors made on their own, the
    /// earliest wins.
    CheckedIn {
        /// The check-in now in force.
        check_in: CheckIn,
        /// The later one it replaced, reported as the conflict.
        replaced: Option<CheckIn>,
    },
    /// The ticket was let in before, by this earlier or equal scan.
    AlreadyCheckedIn(CheckIn),
    /// The ticket's seat was cancelled.
    Voided,
    /// No such booking, or it is of another event or ticket type than the code says.
    NotFound,
}

/// What a store writes for a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckInWrite {
    /// Nothing.
    None,
    /// A new check-in.
    Insert(CheckIn),
    /// `old` ends (it was later than the scan) and `new` takes its place.
    Replace {
        /// The check-in that ends.
        old: CheckIn,
        /// The one that takes its place.
        new: CheckIn,
    },
}

/// Decides `scan` against its booking (`None` when there is none), as read under a lock
/// that keeps the booking and its check-ins from changing until the write commits.
#[must_use]
pub fn decide_check_in(
    booking: Option<&BookingTickets>,
    scan: Scan,
) -> (CheckInOutcome, CheckInWrite) {
    let Some(tickets) = booking.filter(|t| {
        t.booking.id == scan.ticket.booking_id
            && t.booking.event_id == scan.ticket.event_id
            && t.booking.ticket_type_id == scan.ticket.ticket_type_id
    }) else {
        return (CheckInOutcome::NotFound, CheckInWrite::None);
    };
    if let Some(existing) = tickets
        .check_ins
        .iter()
        .find(|c| c.ticket.number == scan.ticket.number)
    {
        if !scan.offline || existing.scanned_at <= scan.scanned_at {
            return (
                CheckInOutcome::AlreadyCheckedIn(existing.clone()),
                CheckInWrite::None,
            );
        }
        let new = CheckIn::from(scan);
        return (
            CheckInOutcome::CheckedIn {
                check_in: new.clone(),
                replaced: Some(existing.clone()),
            },
            CheckInWrite::Replace {
                old: existing.clone(),
                new,
            },
        );
    }
    match tickets.status(scan.ticket.number) {
        TicketStatus::Valid => {
            let new = CheckIn::from(scan);
            (
                CheckInOutcome::CheckedIn {
                    check_in: new.clone(),
                    replaced: None,
                },
                CheckInWrite::Insert(new),
            )
        }
        TicketStatus::Voided | TicketStatus::CheckedIn => {
            (CheckInOutcome::Voided, CheckInWrite::None)
        }
    }
}

/// Whether a check-in recorded at `recorded_at` may still be undone at `now`.
#[must_use]
pub fn undo_allowed(recorded_at: Timestamp, now: Timestamp) -> bool {
    now.signed_duration_since(recorded_at) <= UNDO_WINDOW
}
