//! Tickets at the door: a booking's tickets with their codes, check-in, its undo, the
//! organizer's progress, and who may scan (a [`Door`]).

use crate::api_token::{ApiToken, Scope};
use crate::event::Event;
use crate::page::{Page, PageRequest};
use crate::ports::{
    ApiTokens, CheckIns, EventRepository, TicketSigner, UndoOutcome, UserRepository,
};
use crate::ticket::{
    CheckIn, CheckInOutcome, CodeError, Scan, Scanner, Ticket, TicketClaims, TicketId, undo_allowed,
};
use crate::user::{Role, User};
use crate::{BookingId, Clock, EventId, TicketTypeId, Timestamp};
use std::sync::Arc;
use uuid::Uuid;

/// The ports the ticket use cases need.
#[derive(Clone)]
pub struct TicketPorts {
    /// Check-ins, and bookings with them.
    pub check_ins: Arc<dyn CheckIns>,
    /// API tokens.
    pub api_tokens: Arc<dyn ApiTokens>,
    /// Events, for ownership.
    pub events: Arc<dyn EventRepository>,
    /// Users, for the owners of API tokens.
    pub users: Arc<dyn UserRepository>,
    /// Signs and verifies codes.
    pub signer: Arc<dyn TicketSigner>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

/// Who is at the door: a user, or an API token acting for its owner.
#[derive(Debug, Clone)]
pub enum Door {
    /// A logged-in user.
    User(User),
    /// An API token and the user it acts for.
    Token {
        /// The token.
        token: ApiToken,
        /// Its owner, active.
        owner: User,
    },
}

impl Door {
    /// How check-ins record this door.
    #[must_use]
    pub const fn scanner(&self) -> Scanner {
        match self {
            Self::User(user) => Scanner::User(user.id),
            Self::Token { token, .. } => Scanner::Token(token.id),
        }
    }

    fn user(&self) -> &User {
        match self {
            Self::User(user) | Self::Token { owner: user, .. } => user,
        }
    }
}

/// A ticket with the code that admits it.
#[derive(Debug, Clone)]
pub struct CodedTicket {
    /// The ticket.
    pub ticket: Ticket,
    /// Its signed code.
    pub code: String,
}

/// Why a check-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum CheckInError {
    /// The code is malformed, forged or signed with an unknown key.
    #[error(transparent)]
    InvalidCode(#[from] CodeError),
    /// No such event, or the ticket is of another event.
    #[error("not found")]
    NotFound,
    /// The caller may not check tickets in at this event.
    #[error("not allowed")]
    Forbidden,
    /// The ticket was let in already.
    #[error("already checked in")]
    AlreadyCheckedIn(CheckIn),
    /// The ticket's seat was cancelled.
    #[error("ticket voided")]
    Voided,
    /// A port failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// A ticket let in, with the later check-in it replaced when the scan was an earlier
/// offline one.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The check-in now in force.
    pub check_in: CheckIn,
    /// The later check-in it replaced.
    pub replaced: Option<CheckIn>,
}

/// One scan of an offline upload: the code and when the device scanned it.
#[derive(Debug, Clone)]
pub struct OfflineScan {
    /// The code as scanned.
    pub code: String,
    /// When it was scanned.
    pub scanned_at: Timestamp,
}

/// Checked in / sold of one ticket type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeProgress {
    /// The type.
    pub ticket_type_id: TicketTypeId,
    /// Its name.
    pub name: String,
    /// Tickets sold.
    pub sold: u32,
    /// Tickets checked in.
    pub checked_in: u32,
}

/// The use cases of tickets, check-in and API tokens.
pub struct TicketService {
    pub(super) ports: TicketPorts,
}

impl TicketService {
    /// Wires the use cases to their ports.
    #[must_use]
    pub const fn new(ports: TicketPorts) -> Self {
        Self { ports }
    }

    pub(super) fn now(&self) -> Timestamp {
        self.ports.clock.now()
    }

    /// The public keys that verify codes, the signing one first.
    #[must_use]
    pub fn verifying_keys(&self) -> Vec<crate::ports::VerifyingKey> {
        self.ports.signer.verifying_keys()
    }

    /// The tickets of a booking with their codes (its owner, its event's organizer,
    /// admins). Voided tickets keep their codes: scanned, they answer `ticket_voided`.
    /// # Errors
    /// `NotFound` when there is no such booking or the caller may not see it.
    pub async fn tickets(
        &self,
        actor: &User,
        booking: BookingId,
    ) -> Result<Vec<CodedTicket>, super::AccessError> {
        let tickets = self
            .ports
            .check_ins
            .booking_tickets(booking)
            .await?
            .ok_or(super::AccessError::NotFound)?;
        let owner = tickets.booking.user_id == actor.id || actor.role == Role::Admin;
        if !owner && !self.organizes(actor, tickets.booking.event_id).await? {
            return Err(super::AccessError::NotFound);
        }
        Ok(tickets
            .tickets()
            .into_iter()
            .map(|ticket| CodedTicket {
                code: ticket.claims().encode(self.ports.signer.as_ref()),
                ticket,
            })
            .collect())
    }

    /// One ticket of a booking with its code, as [`TicketService::tickets`] allows.
    /// # Errors
    /// `NotFound` as there, or when the booking has no such ticket.
    pub async fn ticket(
        &self,
        actor: &User,
        booking: BookingId,
        ticket: TicketId,
    ) -> Result<CodedTicket, super::AccessError> {
        self.tickets(actor, booking)
            .await?
            .into_iter()
            .find(|t| t.ticket.id == ticket)
            .ok_or(super::AccessError::NotFound)
    }

    /// Whether `actor` manages `event` (its organizer, or an admin).
    async fn organizes(&self, actor: &User, event: EventId) -> anyhow::Result<bool> {
        if actor.role == Role::Admin {
            return Ok(true);
        }
        let found = self.ports.events.find(event, self.now()).await?;
        Ok(found.is_some_and(|e| e.is_managed_by(actor)))
    }

    /// The event if `door` may work at it: its organizer or an admin, or their API
    /// token with `scope` for it.
    async fn door_event(&self, door: &Door, event: EventId) -> Result<Event, CheckInError> {
        let now = self.now();
        let found = self
            .ports
            .events
            .find(event, now)
            .await?
            .ok_or(CheckInError::NotFound)?;
        let organizes = found.is_managed_by(door.user());
        let token_allows = match door {
            Door::User(_) => true,
            Door::Token { token, .. } => token.allows(Scope::Checkin, event, now),
        };
        if organizes && token_allows {
            Ok(found)
        } else {
            Err(CheckInError::Forbidden)
        }
    }

    /// Checks the ticket of `code` in at `event`, scanned now.
    /// # Errors
    /// See [`CheckInError`].
    pub async fn check_in(
        &self,
        door: &Door,
        event: EventId,
        code: &str,
    ) -> Result<Admitted, CheckInError> {
        self.door_event(door, event).await?;
        let now = self.now();
        self.scan(door, event, code, now, now, false).await
    }

    async fn scan(
        &self,
        door: &Door,
        event: EventId,
        code: &str,
        scanned_at: Timestamp,
        now: Timestamp,
        offline: bool,
    ) -> Result<Admitted, CheckInError> {
        let claims = TicketClaims::decode(code, self.ports.signer.as_ref())?;
        if claims.event_id != event {
            return Err(CheckInError::NotFound);
        }
        let scan = Scan {
            ticket: claims,
            scanner: door.scanner(),
            // Kept as stores keep it, so the answer equals what is read back later.
            scanned_at: crate::time::to_store_precision(scanned_at),
            recorded_at: now,
            offline,
        };
        match self.ports.check_ins.check_in(scan).await? {
            CheckInOutcome::CheckedIn { check_in, replaced } => Ok(Admitted { check_in, replaced }),
            CheckInOutcome::AlreadyCheckedIn(first) => Err(CheckInError::AlreadyCheckedIn(first)),
            CheckInOutcome::Voided => Err(CheckInError::Voided),
            CheckInOutcome::NotFound => Err(CheckInError::NotFound),
        }
    }

    /// Records scans a device made offline, earliest first, so the earliest scan of a
    /// ticket wins wherever it was made. Each scan gets its own result, in the order
    /// given.
    /// # Errors
    /// `NotFound` or `Forbidden` for the event as a whole; a port failure.
    pub async fn check_in_offline(
        &self,
        door: &Door,
        event: EventId,
        scans: &[OfflineScan],
    ) -> Result<Vec<Result<Admitted, CheckInError>>, CheckInError> {
        self.door_event(door, event).await?;
        let now = self.now();
        let mut order: Vec<usize> = (0..scans.len()).collect();
        order.sort_by_key(|&i| scans[i].scanned_at);
        let mut results: Vec<Option<Result<Admitted, CheckInError>>> =
            (0..scans.len()).map(|_| None).collect();
        for i in order {
            let result = self
                .scan(door, event, &scans[i].code, scans[i].scanned_at, now, true)
                .await;
            if let Err(CheckInError::Backend(error)) = result {
                return Err(CheckInError::Backend(error));
            }
            results[i] = Some(result);
        }
        Ok(results.into_iter().flatten().collect())
    }

    /// Undoes the check-in of `ticket` if it was recorded within the undo window.
    /// # Errors
    /// `NotFound` when the ticket has no check-in in force; `TooLate` past the window.
    pub async fn undo_check_in(
        &self,
        door: &Door,
        event: EventId,
        ticket: TicketId,
    ) -> Result<CheckIn, UndoError> {
        self.door_event(door, event)
            .await
            .map_err(UndoError::from)?;
        let check_in = self
            .ports
            .check_ins
            .check_in_of(event, ticket)
            .await?
            .ok_or(UndoError::NotCheckedIn)?;
        let now = self.now();
        if !undo_allowed(check_in.recorded_at, now) {
            return Err(UndoError::TooLate(check_in));
        }
        match self.ports.check_ins.undo(check_in.id, now).await? {
            UndoOutcome::Undone(undone) => Ok(undone),
            UndoOutcome::NotCheckedIn => Err(UndoError::NotCheckedIn),
        }
    }

    /// Checked in / sold per ticket type of `event`.
    /// # Errors
    /// `NotFound` or `Forbidden` as for check-in.
    pub async fn progress(
        &self,
        door: &Door,
        event: EventId,
    ) -> Result<Vec<TypeProgress>, CheckInError> {
        let found = self.door_event(door, event).await?;
        let counts = self.ports.check_ins.checked_in_counts(event).await?;
        Ok(found
            .ticket_types
            .iter()
            .map(|t| TypeProgress {
                ticket_type_id: t.id,
                name: t.name.clone(),
                sold: t.sold,
                checked_in: counts
                    .iter()
                    .find(|(id, _)| *id == t.id)
                    .map_or(0, |(_, n)| *n),
            })
            .collect())
    }

    /// The check-ins in force at `event`, in the order they were recorded.
    /// # Errors
    /// `NotFound` or `Forbidden` as for check-in.
    pub async fn check_ins(
        &self,
        door: &Door,
        event: EventId,
        page: &PageRequest<Uuid>,
    ) -> Result<Page<CheckIn, Uuid>, CheckInError> {
        self.door_event(door, event).await?;
        Ok(self.ports.check_ins.check_ins(event, page).await?)
    }
}

/// Why an undo was refused.
#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    /// The ticket has no check-in in force.
    #[error("not checked in")]
    NotCheckedIn,
    /// The check-in was recorded longer ago than the undo window.
    #[error("undo window passed")]
    TooLate(CheckIn),
    /// As for check-in.
    #[error(transparent)]
    Door(#[from] CheckInError),
    /// A port failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}
