//! Ed25519 keys that sign ticket codes.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use boxoffice_domain::ports::{TicketSigner, VerifyingKey};
use boxoffice_domain::ticket::{CodeError, KeyId};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Signs with the first of its keys and verifies with any of them, so a new key can
/// be put first while codes signed with the older ones stay valid.
pub struct Ed25519Signer {
    keys: Vec<(KeyId, SigningKey)>,
}

impl Ed25519Signer {
    /// Keys from their 32-byte seeds in base64 (standard or URL-safe, padded or not),
    /// the signing key first.
    ///
    /// # Errors
    /// When there is no seed, a seed is not 32 bytes of base64, or two seeds are the same key.
    pub fn from_seeds<S: AsRef<str>>(seeds: &[S]) -> anyhow::Result<Self> {
        if seeds.is_empty() {
            bail!("at least one ticket signing key is needed");
        }
        let mut keys: Vec<(KeyId, SigningKey)> = Vec::with_capacity(seeds.len());
        for (i, seed) in seeds.iter().enumerate() {
            let text = seed.as_ref().trim().trim_end_matches('=');
            let bytes = URL_SAFE_NO_PAD
                .decode(text)
                .or_else(|_| STANDARD.decode(seed.as_ref().trim()))
                .with_context(|| format!("ticket signing key {} is not base64", i + 1))?;
            let seed: [u8; 32] = bytes
                .try_into()
                .map_err(|_| anyhow::anyhow!("ticket signing key {} must be 32 bytes", i + 1))?;
            let key = SigningKey::from_bytes(&seed);
            let id = key_id(&key);
            if keys.iter().any(|(known, _)| *known == id) {
                bail!("ticket signing key {} is listed twice", i + 1);
            }
            keys.push((id, key));
        }
        Ok(Self { keys })
    }

    fn signing(&self) -> &(KeyId, SigningKey) {
        &self.keys[0]
    }
}

/// A new random seed, base64url encoded: what `TICKET_SIGNING_KEYS` lists.
#[must_use]
pub fn generate_seed() -> String {
    let mut seed = [0_u8; 32];
    rand::rng().fill_bytes(&mut seed);
    URL_SAFE_NO_PAD.encode(seed)
}

/// The first 4 bytes of SHA-256 of the public key.
fn key_id(key: &SigningKey) -> KeyId {
    let digest = Sha256::digest(key.verifying_key().as_bytes());
    KeyId([digest[0], digest[1], digest[2], digest[3]])
}

impl TicketSigner for Ed25519Signer {
    fn signing_key(&self) -> KeyId {
        self.signing().0
    }

    fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing().1.sign(message).to_bytes()
    }

    fn verify(&self, key: KeyId, message: &[u8], signature: &[u8; 64]) -> Result<(), CodeError> {
        let (_, signing) = self
            .keys
            .iter()
            .find(|(id, _)| *id == key)
            .ok_or(CodeError::UnknownKey(key))?;
        signing
            .verifying_key()
            .verify(message, &Signature::from_bytes(signature))
            .map_err(|_| CodeError::BadSignature)
    }

    fn verifying_keys(&self) -> Vec<VerifyingKey> {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, (key_id, key))| VerifyingKey {
                key_id: *key_id,
                public_key: key.verifying_key().to_bytes(),
                signing: i == 0,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice_domain::ticket::{TicketClaims, TicketNumber};
    use boxoffice_domain::{BookingId, EventId, TicketTypeId};
    use data_encoding::BASE32_NOPAD;

    fn claims() -> TicketClaims {
        TicketClaims {
            event_id: EventId::generate(),
            booking_id: BookingId::generate(),
            ticket_type_id: TicketTypeId::generate(),
            number: TicketNumber::new(1).expect("in range"),
        }
    }

    #[test]
    fn codes_verify_with_the_key_that_signed_them_after_a_rotation() {
        let old = generate_seed();
        let new = generate_seed();
        let before = Ed25519Signer::from_seeds(&[&old]).expect("keys");
        let after = Ed25519Signer::from_seeds(&[&new, &old]).expect("keys");
        let claims = claims();
        let old_code = claims.encode(&before);
        assert_eq!(TicketClaims::decode(&old_code, &after), Ok(claims));
        let new_code = claims.encode(&after);
        assert_eq!(
            TicketClaims::decode(&new_code, &before),
            Err(CodeError::UnknownKey(after.signing_key()))
        );
        let keys = after.verifying_keys();
        assert_eq!(keys.len(), 2);
        assert!(keys[0].signing && !keys[1].signing);
        assert_eq!(keys[1].key_id, before.signing_key());
    }

    #[test]
    fn a_code_signed_by_another_key_with_a_known_key_id_is_forged() {
        let real = Ed25519Signer::from_seeds(&[generate_seed()]).expect("keys");
        let forger = Ed25519Signer::from_seeds(&[generate_seed()]).expect("keys");
        let claims = claims();
        let mut bytes = BASE32_NOPAD
            .decode(claims.encode(&forger).as_bytes())
            .expect("base32");
        bytes[1..5].copy_from_slice(&real.signing_key().0);
        let forged = BASE32_NOPAD.encode(&bytes);
        assert_eq!(
            TicketClaims::decode(&forged, &real),
            Err(CodeError::BadSignature)
        );
    }

    #[test]
    fn seeds_must_be_32_bytes_of_base64_and_distinct() {
        let seed = generate_seed();
        assert!(Ed25519Signer::from_seeds::<&str>(&[]).is_err());
        assert!(Ed25519Signer::from_seeds(&["short"]).is_err());
        assert!(Ed25519Signer::from_seeds(&[&seed, &seed]).is_err());
        let padded = STANDARD.encode(URL_SAFE_NO_PAD.decode(&seed).expect("base64"));
        let same = Ed25519Signer::from_seeds(&[&padded]).expect("standard base64");
        let original = Ed25519Signer::from_seeds(&[&seed]).expect("url-safe");
        assert_eq!(same.signing_key(), original.signing_key());
    }

    /// RFC 8032's first test vector: the adapter signs as any Ed25519 library verifies.
    #[test]
    fn signatures_are_standard_ed25519() {
        let seed = URL_SAFE_NO_PAD.encode(hex(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        ));
        let signer = Ed25519Signer::from_seeds(&[seed]).expect("keys");
        assert_eq!(
            signer.verifying_keys()[0].public_key.to_vec(),
            hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        );
        assert_eq!(
            signer.sign(b"").to_vec(),
            hex(concat!(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155",
                "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
            ))
        );
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    }
}
