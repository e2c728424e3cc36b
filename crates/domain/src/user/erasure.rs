//! What an erased account (GDPR art. 17) shows instead of its personal data.

use super::EmailKey;
use crate::UserId;

/// The name every erased account shows.
pub const ERASED_NAME: &str = "Erased user";

/// An erased account's name and email: a name that says so, and an address in the
/// reserved `.invalid` domain, unique to the account, so that the old address is free
/// for a new registration and nothing can ever be mailed to the tombstone. No account
/// can take it first: [`Email::parse`](super::Email::parse) refuses `.invalid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// [`ERASED_NAME`].
    pub name: String,
    /// `erased-<user id>@erased.invalid`.
    pub email: String,
    /// The key of `email`.
    pub email_key: EmailKey,
}

impl Tombstone {
    /// The tombstone of account `user`.
    #[must_use]
    pub fn of(user: UserId) -> Self {
        let email = format!("erased-{user}@erased.invalid");
        Self {
            name: ERASED_NAME.to_owned(),
            email_key: EmailKey::of(&email),
            email,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tombstone_names_no_one_and_is_unique_per_account() {
        let (a, b) = (UserId::generate(), UserId::generate());
        let tomb = Tombstone::of(a);
        assert_eq!(tomb.name, ERASED_NAME);
        assert_eq!(tomb.email, format!("erased-{a}@erased.invalid"));
        assert_eq!(tomb.email_key, EmailKey::of(&tomb.email));
        assert_ne!(tomb.email, Tombstone::of(b).email);
        assert!(
            crate::user::Email::parse(&tomb.email).is_err(),
            "no one can register or take a tombstone's address"
        );
    }
}
