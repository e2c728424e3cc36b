use super::Instant;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use boxoffice_domain::api_token::ApiToken;
use boxoffice_domain::ports::VerifyingKey;
use boxoffice_domain::services::{Admitted, CodedTicket, TypeProgress};
use boxoffice_domain::ticket::{CheckIn, Scanner};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One ticket of a booking: what a door scans.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDto {
    /// Ticket id (derived from the booking and number; stable).
    pub id: Uuid,
    /// Its booking.
    pub booking_id: Uuid,
    /// Its event.
    pub event_id: Uuid,
    /// Its ticket type.
    pub ticket_type_id: Uuid,
    /// Its place in the booking, from 1.
    pub number: u16,
    /// The signed code a QR code carries (base32; see docs/tickets.md).
    pub code: String,
    /// `valid`, `voided` (its seat was cancelled) or `checked_in`.
    #[schema(example = "valid")]
    pub status: String,
    /// When it was checked in.
    pub checked_in_at: Option<DateTime<Utc>>,
}

impl From<CodedTicket> for TicketDto {
    fn from(coded: CodedTicket) -> Self {
        let ticket = coded.ticket;
        Self {
            id: ticket.id.as_uuid(),
            booking_id: ticket.booking_id.as_uuid(),
            event_id: ticket.event_id.as_uuid(),
            ticket_type_id: ticket.ticket_type_id.as_uuid(),
            number: ticket.number.get(),
            code: coded.code,
            status: ticket.status.as_str().to_owned(),
            checked_in_at: ticket.check_in.map(|c| c.scanned_at),
        }
    }
}

/// The tickets of a booking, by number.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketListDto {
    /// Valid, checked-in and voided tickets.
    pub items: Vec<TicketDto>,
}

/// A public key that verifies ticket codes offline.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyingKeyDto {
    /// The key id codes carry: 8 hex digits.
    #[schema(example = "1a2b3c4d")]
    pub key_id: String,
    /// Always `Ed25519`.
    #[schema(example = "Ed25519")]
    pub algorithm: String,
    /// The 32-byte public key, base64url without padding.
    pub public_key: String,
    /// Whether new codes are signed with it; others verify older codes only.
    pub signing: bool,
}

impl From<VerifyingKey> for VerifyingKeyDto {
    fn from(key: VerifyingKey) -> Self {
        Self {
            key_id: key.key_id.to_string(),
            algorithm: "Ed25519".to_owned(),
            public_key: URL_SAFE_NO_PAD.encode(key.public_key),
            signing: key.signing,
        }
    }
}

/// The keys an offline scanner needs.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyingKeysDto {
    /// The signing key first.
    pub keys: Vec<VerifyingKeyDto>,
}

/// `POST /events/{id}/check-ins`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInRequest {
    /// The code as scanned (case and surrounding spaces are ignored).
    pub code: String,
}

/// Who scanned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScannerDto {
    /// `user` (an organizer or admin) or `token` (an API token).
    #[schema(example = "token")]
    pub kind: String,
    /// The user's or token's id.
    pub id: Uuid,
}

impl From<Scanner> for ScannerDto {
    fn from(scanner: Scanner) -> Self {
        Self {
            kind: scanner.kind().to_owned(),
            id: scanner.id(),
        }
    }
}

/// A ticket let in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckInDto {
    /// The check-in's id.
    pub id: Uuid,
    /// The ticket.
    pub ticket_id: Uuid,
    /// Its booking.
    pub booking_id: Uuid,
    /// Its event.
    pub event_id: Uuid,
    /// Its ticket type.
    pub ticket_type_id: Uuid,
    /// Its number in the booking.
    pub number: u16,
    /// When the door scanned it.
    pub scanned_at: DateTime<Utc>,
    /// When the server recorded it.
    pub recorded_at: DateTime<Utc>,
    /// Who scanned it.
    pub scanner: ScannerDto,
}

impl From<CheckIn> for CheckInDto {
    fn from(check_in: CheckIn) -> Self {
        let ticket = check_in.ticket;
        Self {
            id: check_in.id,
            ticket_id: ticket.ticket_id().as_uuid(),
            booking_id: ticket.booking_id.as_uuid(),
            event_id: ticket.event_id.as_uuid(),
            ticket_type_id: ticket.ticket_type_id.as_uuid(),
            number: ticket.number.get(),
            scanned_at: check_in.scanned_at,
            recorded_at: check_in.recorded_at,
            scanner: check_in.scanner.into(),
        }
    }
}

/// A ticket let in: the check-in, and the later one it replaced when an earlier
/// offline scan won.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdmittedDto {
    /// The check-in now in force.
    pub check_in: CheckInDto,
    /// A later check-in of the same ticket this scan took the place of.
    pub replaced: Option<CheckInDto>,
}

impl From<Admitted> for AdmittedDto {
    fn from(admitted: Admitted) -> Self {
        Self {
            check_in: admitted.check_in.into(),
            replaced: admitted.replaced.map(Into::into),
        }
    }
}

/// One scan a device made offline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineScanDto {
    /// The code as scanned.
    pub code: String,
    /// When the device scanned it (not in the future).
    #[schema(value_type = DateTime<Utc>)]
    pub scanned_at: Instant,
}

/// `POST /events/{id}/check-ins/batch`: scans a device made offline, up to 1,000.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineBatchRequest {
    /// The scans, in any order.
    pub scans: Vec<OfflineScanDto>,
}

/// What one offline scan came to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanResultDto {
    /// Its place in the request, from 0.
    pub index: usize,
    /// `checked_in`, `already_checked_in`, `ticket_voided`, `invalid_ticket_code` or
    /// `not_found` (a ticket of another event).
    #[schema(example = "checked_in")]
    pub status: String,
    /// For `checked_in`, the check-in this scan made; for `already_checked_in`, the
    /// earlier one that let the ticket in.
    pub check_in: Option<CheckInDto>,
    /// For `checked_in`: a later check-in of the same ticket (made online or by another
    /// device) that this earlier scan took the place of. The conflict to look into.
    pub conflict: Option<CheckInDto>,
    /// What was wrong, for the refusals.
    pub detail: Option<String>,
}

/// The results of an offline upload, one per scan, in the order sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfflineBatchDto {
    /// One per scan.
    pub results: Vec<ScanResultDto>,
}

/// Checked in / sold of one ticket type.
#[derive(Debug, Serialize, ToSchema)]
pub struct TypeProgressDto {
    /// The type.
    pub ticket_type_id: Uuid,
    /// Its name.
    pub name: String,
    /// Tickets sold.
    pub sold: u32,
    /// Tickets checked in.
    pub checked_in: u32,
}

impl From<TypeProgress> for TypeProgressDto {
    fn from(p: TypeProgress) -> Self {
        Self {
            ticket_type_id: p.ticket_type_id.as_uuid(),
            name: p.name,
            sold: p.sold,
            checked_in: p.checked_in,
        }
    }
}

/// How the door is doing.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckInProgressDto {
    /// The event.
    pub event_id: Uuid,
    /// Tickets sold.
    pub sold: u32,
    /// Tickets checked in.
    pub checked_in: u32,
    /// Per ticket type.
    pub ticket_types: Vec<TypeProgressDto>,
}

/// `POST /api-tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiTokenRequest {
    /// A label, 1 to 100 characters ("North door").
    pub name: String,
    /// What it may do: `checkin` (check tickets in and read check-in progress).
    pub scopes: Vec<String>,
    /// The events it may act on: 1 to 50 of the caller's events.
    pub event_ids: Vec<Uuid>,
    /// When it stops working by itself (in the future); never without.
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires_at: Option<Instant>,
}

/// An API token (never with its secret, except once at creation).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenDto {
    /// Its id.
    pub id: Uuid,
    /// Its label.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<String>,
    /// The events it may act on.
    pub event_ids: Vec<Uuid>,
    /// Who created it; it acts for them.
    pub owner_id: Uuid,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working by itself.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for ApiTokenDto {
    fn from(token: ApiToken) -> Self {
        Self {
            id: token.id,
            name: token.name,
            scopes: token.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            event_ids: token.event_ids.iter().map(|e| e.as_uuid()).collect(),
            owner_id: token.owner_id.as_uuid(),
            created_at: token.created_at,
            expires_at: token.expires_at,
            revoked_at: token.revoked_at,
        }
    }
}

/// A new API token with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiTokenDto {
    /// The secret (`bxo_...`): send it as `Authorization: Bearer`. It is stored only
    /// as a hash and cannot be shown again.
    pub token: String,
    /// The token's record.
    pub api_token: ApiTokenDto,
}

/// The caller's API tokens, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenListDto {
    /// Revoked ones included.
    pub items: Vec<ApiTokenDto>,
}
