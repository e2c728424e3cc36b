use crate::api_token::ApiToken;
use crate::page::{Page, PageRequest};
use crate::secret::TokenHash;
use crate::ticket::{
    BookingTickets, CheckIn, CheckInOutcome, CodeError, KeyId, Scan, TicketId, TicketNumber,
};
use crate::{BookingId, EventId, TicketTypeId, Timestamp, UserId};
use async_trait::async_trait;
use uuid::Uuid;

/// A public key that verifies ticket codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    /// Its id inside codes.
    pub key_id: KeyId,
    /// The 32 bytes of the Ed25519 public key.
    pub public_key: [u8; 32],
    /// Whether new codes are signed with it (else it only verifies older ones).
    pub signing: bool,
}

/// Signs ticket codes with the deployment's current key and verifies them with any of
/// its keys, so keys rotate without breaking printed tickets.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TicketSigner: Send + Sync + 'static {
    /// The key new codes are signed with.
    fn signing_key(&self) -> KeyId;

    /// The Ed25519 signature of `message` with the signing key.
    fn sign(&self, message: &[u8]) -> [u8; 64];

    /// Checks `signature` of `message` with key `key`.
    /// # Errors
    /// `UnknownKey` or `BadSignature`.
    fn verify(&self, key: KeyId, message: &[u8], signature: &[u8; 64]) -> Result<(), CodeError>;

    /// Every key that verifies codes, the signing one first.
    fn verifying_keys(&self) -> Vec<VerifyingKey>;
}

/// What an undo came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UndoOutcome {
    /// The check-in ended; the ticket is valid again.
    Undone(CheckIn),
    /// The ticket has no check-in in force.
    NotCheckedIn,
}

/// Where check-ins are kept.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CheckIns: Send + Sync + 'static {
    /// The booking with its check-ins in force.
    /// # Errors
    /// Only when the store fails.
    async fn booking_tickets(&self, booking: BookingId) -> anyhow::Result<Option<BookingTickets>>;

    /// In one transaction: locks the booking the scan names against changes, reads it
    /// with its check-ins, decides with [`crate::ticket::decide_check_in`] and writes
    /// what that says.
    /// # Errors
    /// Only when the store fails.
    async fn check_in(&self, scan: Scan) -> anyhow::Result<CheckInOutcome>;

    /// Records that a cancellation of `booking` named tickets `numbers`, so those are
    /// the ones it voided. Recording one twice is not an error.
    /// # Errors
    /// Only when the store fails.
    async fn void_tickets(
        &self,
        booking: BookingId,
        numbers: &[TicketNumber],
        at: Timestamp,
    ) -> anyhow::Result<()>;

    /// The check-in in force of `ticket` at event `event`.
    /// # Errors
    /// Only when the store fails.
    async fn check_in_of(
        &self,
        event: EventId,
        ticket: TicketId,
    ) -> anyhow::Result<Option<CheckIn>>;

    /// Ends check-in `id` as undone at `at`, if it is still in force.
    /// # Errors
    /// Only when the store fails.
    async fn undo(&self, id: Uuid, at: Timestamp) -> anyhow::Result<UndoOutcome>;

    /// How many tickets of each type of `event` are checked in (types with none left out).
    /// # Errors
    /// Only when the store fails.
    async fn checked_in_counts(&self, event: EventId) -> anyhow::Result<Vec<(TicketTypeId, u32)>>;

    /// The check-ins in force at `event`, in the order they were recorded.
    /// # Errors
    /// Only when the store fails.
    async fn check_ins(
        &self,
        event: EventId,
        page: &PageRequest<Uuid>,
    ) -> anyhow::Result<Page<CheckIn, Uuid>>;
}

/// Where API tokens are kept (as hashes).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApiTokens: Send + Sync + 'static {
    /// Stores a new token under `hash`.
    /// # Errors
    /// Only when the store fails.
    async fn create(&self, token: &ApiToken, hash: &TokenHash) -> anyhow::Result<()>;

    /// The token stored under `hash`, revoked or not.
    /// # Errors
    /// Only when the store fails.
    async fn find_by_hash(&self, hash: &TokenHash) -> anyhow::Result<Option<ApiToken>>;

    /// Token `id`.
    /// # Errors
    /// Only when the store fails.
    async fn find(&self, id: Uuid) -> anyhow::Result<Option<ApiToken>>;

    /// The tokens `owner` created (every token for `None`), newest first.
    /// # Errors
    /// Only when the store fails.
    async fn list(&self, owner: Option<UserId>) -> anyhow::Result<Vec<ApiToken>>;

    /// Revokes token `id` at `at`; false when it was revoked already.
    /// # Errors
    /// Only when the store fails.
    async fn revoke(&self, id: Uuid, at: Timestamp) -> anyhow::Result<bool>;
}
