//! Email addresses, and the key that makes them unique ignoring case.

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;

/// A syntactically plausible email address, as the user typed it.
///
/// Uniqueness ignores case: accounts are found by [`EmailKey`], never by the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trims and checks the address: one `@`, a non-empty local part, a dotted domain
    /// outside the reserved `.invalid` top-level domain (RFC 2606), which can receive no
    /// mail and is where erased accounts' tombstones live.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim();
        let bad = || Err("must be a valid email address".to_owned());
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad();
        }
        let Some((local, domain)) = email.split_once('@') else {
            return bad();
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !domain.to_ascii_lowercase().ends_with(".invalid");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return bad();
        }
        Ok(Self(email.to_owned()))
    }

    /// The address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key that finds this address's account.
    #[must_use]
    pub fn key(&self) -> EmailKey {
        EmailKey::of(&self.0)
    }
}

/// An email address folded for comparison: Unicode canonical caseless matching
/// (decompose, case-fold, decompose again), stored composed. `Ü@exämple.com` and
/// `ü@exämple.com` share one key, as do `K` and the Kelvin sign, and `ß` and `ss`.
/// Stores keep it beside the address, unique, so every store agrees on what "the same
/// email" means.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailKey(String);

impl EmailKey {
    /// The key of `raw` (trimmed), whether or not it is a valid address: a login with a
    /// malformed address simply finds no account.
    #[must_use]
    pub fn of(raw: &str) -> Self {
        Self(raw.trim().nfd().default_case_fold().nfd().nfc().collect())
    }

    /// The key as stored.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_trimmed() {
        assert_eq!(
            Email::parse(" Ann@Example.org ").map(|e| e.as_str().to_owned()),
            Ok("Ann@Example.org".to_owned())
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.org",
            "ann@example",
            "a b@x.org",
            "a@b@c.org",
            "a@.org",
            "erased-1@erased.invalid",
            "ann@Example.INVALID",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn keys_ignore_case_across_unicode() {
        let key = |raw: &str| EmailKey::of(raw).as_str().to_owned();
        assert_eq!(key(" Ann@Example.ORG "), "ann@example.org");
        assert_eq!(key("Ü@exämple.com"), key("ü@exämple.com"));
        // U+212A KELVIN SIGN folds to the letter k.
        assert_eq!(key("\u{212A}im@example.org"), key("kim@example.org"));
        assert_eq!(key("straße@example.org"), key("STRASSE@example.org"));
        // Composed and decomposed ü are one address.
        assert_eq!(key("u\u{0308}@example.org"), key("\u{00FC}@example.org"));
        assert_eq!(key("u\u{0308}@example.org"), "\u{00FC}@example.org");
        assert_ne!(key("ann@example.org"), key("anne@example.org"));
        let email = Email::parse("Ü@exämple.com").expect("valid");
        assert_eq!(email.as_str(), "Ü@exämple.com");
        assert_eq!(email.key(), EmailKey::of("ü@EXÄMPLE.COM"));
    }
}
