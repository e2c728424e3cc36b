//! Ticket codes: what a QR code carries, verifiable offline with a public key.
//!
//! A code is the unpadded RFC 4648 base32 (upper case, which QR codes store in their
//! compact alphanumeric mode) of 119 bytes:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format version, 1 |
//! | 4 | key id: the first 4 bytes of SHA-256 of the Ed25519 public key |
//! | 16 | event id |
//! | 16 | booking id |
//! | 16 | ticket type id |
//! | 2 | ticket number, big-endian |
//! | 64 | Ed25519 signature of the 55 bytes above |
//!
//! Nothing in it names a person.

use super::{TicketId, TicketNumber};
use crate::ports::TicketSigner;
use crate::{BookingId, EventId, TicketTypeId};
use std::fmt;
use uuid::Uuid;

/// The format version codes carry.
pub const CODE_VERSION: u8 = 1;

/// How many bytes of a code are signed.
pub const SIGNED_LEN: usize = 1 + 4 + 16 + 16 + 16 + 2;

/// How many bytes an Ed25519 signature has.
pub const SIGNATURE_LEN: usize = 64;

/// Names a signing key inside codes: the first 4 bytes of SHA-256 of its public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 4]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&data_encoding::HEXLOWER.encode(&self.0))
    }
}

/// What a code says: which ticket it admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketClaims {
    /// The event it admits to.
    pub event_id: EventId,
    /// The booking the ticket belongs to.
    pub booking_id: BookingId,
    /// Its ticket type.
    pub ticket_type_id: TicketTypeId,
    /// Its place in the booking.
    pub number: TicketNumber,
}

impl TicketClaims {
    /// The ticket these claims name.
    #[must_use]
    pub fn ticket_id(&self) -> TicketId {
        TicketId::of(self.booking_id, self.number)
    }

    /// The signed part of a code signed with `key`.
    fn signed_bytes(&self, key: KeyId) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(SIGNED_LEN + SIGNATURE_LEN);
        bytes.push(CODE_VERSION);
        bytes.extend_from_slice(&key.0);
        bytes.extend_from_slice(self.event_id.as_uuid().as_bytes());
        bytes.extend_from_slice(self.booking_id.as_uuid().as_bytes());
        bytes.extend_from_slice(self.ticket_type_id.as_uuid().as_bytes());
        bytes.extend_from_slice(&self.number.get().to_be_bytes());
        bytes
    }

    /// The code of this ticket, signed with `signer`'s current key.
    #[must_use]
    pub fn encode(&self, signer: &dyn TicketSigner) -> String {
        let mut bytes = self.signed_bytes(signer.signing_key());
        let signature = signer.sign(&bytes);
        bytes.extend_from_slice(&signature);
        data_encoding::BASE32_NOPAD.encode(&bytes)
    }

    /// The claims of `code` when it is well formed and signed by one of `signer`'s keys.
    /// Lower case and surrounding white space are accepted, as a keyboard may give them.
    ///
    /// # Errors
    /// What is wrong with the code.
    pub fn decode(code: &str, signer: &dyn TicketSigner) -> Result<Self, CodeError> {
        let bytes = data_encoding::BASE32_NOPAD
            .decode(code.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| CodeError::Malformed("not base32"))?;
        if bytes.len() != SIGNED_LEN + SIGNATURE_LEN {
            return Err(CodeError::Malformed("wrong length"));
        }
        let (signed, signature) = bytes.split_at(SIGNED_LEN);
        if signed[0] != CODE_VERSION {
            return Err(CodeError::Malformed("unknown format version"));
        }
        let key = KeyId([signed[1], signed[2], signed[3], signed[4]]);
        let signature: &[u8; SIGNATURE_LEN] = signature
            .try_into()
            .map_err(|_| CodeError::Malformed("wrong length"))?;
        signer.verify(key, signed, signature)?;
        let uuid_at = |at: usize| {
            let mut raw = [0_u8; 16];
            raw.copy_from_slice(&signed[at..at + 16]);
            Uuid::from_bytes(raw)
        };
        let number = u16::from_be_bytes([signed[53], signed[54]]);
        Ok(Self {
            event_id: EventId::from_uuid(uuid_at(5)),
            booking_id: BookingId::from_uuid(uuid_at(21)),
            ticket_type_id: TicketTypeId::from_uuid(uuid_at(37)),
            number: TicketNumber::new(u32::from(number))
                .map_err(|_| CodeError::Malformed("ticket number out of range"))?,
        })
    }
}

/// Why a code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Not a code at all: wrong characters, length or version.
    #[error("malformed ticket code: {0}")]
    Malformed(&'static str),
    /// Signed with a key this deployment does not have (any more).
    #[error("ticket code signed with an unknown key {0}")]
    UnknownKey(KeyId),
    /// The signature does not match: the code was changed or forged.
    #[error("ticket code signature does not match")]
    BadSignature,
}
