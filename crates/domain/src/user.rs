//! User accounts and the values they are made of.

mod email;
mod erasure;
mod sessions;

pub use email::{Email, EmailKey};
pub use erasure::{ERASED_NAME, Tombstone};
pub use sessions::tokens_valid_from;

use crate::{Timestamp, UserId};
use std::fmt;
use std::str::FromStr;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Books tickets (the role every registration gets).
    Attendee,
    /// Also creates and manages their own events.
    Organizer,
    /// Everything, including managing users.
    Admin,
}

impl Role {
    /// The stable lowercase name used in tokens, stores and the API.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Attendee => "attendee",
            Self::Organizer => "organizer",
            Self::Admin => "admin",
        }
    }

    /// Whether this role may publish events.
    #[must_use]
    pub const fn can_organize(self) -> bool {
        matches!(self, Self::Organizer | Self::Admin)
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "attendee" => Ok(Self::Attendee),
            "organizer" => Ok(Self::Organizer),
            "admin" => Ok(Self::Admin),
            _ => Err("must be one of attendee, organizer, admin".to_owned()),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A display name: 1 to 100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// Trims and checks the length.
    ///
    /// # Errors
    /// A message when the name is empty or too long.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        match name.chars().count() {
            0 => Err("must not be empty".to_owned()),
            1..=100 => Ok(Self(name.to_owned())),
            _ => Err("must be at most 100 characters".to_owned()),
        }
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new plaintext password: 8 to 72 bytes (bcrypt reads no further).
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Checks the length.
    ///
    /// # Errors
    /// A message when the password is too short or too long.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().count() < 8 {
            Err("must be at least 8 characters".to_owned())
        } else if raw.len() > 72 {
            Err("must be at most 72 bytes".to_owned())
        } else {
            Ok(Self(raw.to_owned()))
        }
    }

    /// The plaintext, for the hasher only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// A password hash in the hasher's own format.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash made by a hasher or read from a store.
    #[must_use]
    pub fn new(hash: String) -> Self {
        Self(hash)
    }

    /// The hash text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// A user account as the rest of the system sees it (no password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The account's id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Email as the user typed it.
    pub email: String,
    /// What the user may do.
    pub role: Role,
    /// Deactivated users cannot log in and their tokens are refused.
    pub active: bool,
    /// When the account was made.
    pub created_at: Timestamp,
    /// Access tokens issued before this instant are refused (set by password changes).
    pub tokens_valid_from: Option<Timestamp>,
}

/// A user with the hash of their password, for logging in.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The account.
    pub user: User,
    /// Its password hash.
    pub password_hash: PasswordHash,
}

/// What a store needs to create an account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The new account's id.
    pub id: UserId,
    /// Display name.
    pub name: PersonName,
    /// Email, unique case-insensitively.
    pub email: Email,
    /// Hash of the initial password.
    pub password_hash: PasswordHash,
    /// Initial role.
    pub role: Role,
    /// Creation time.
    pub created_at: Timestamp,
}

/// Changes a user makes to their own profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    /// New display name.
    pub name: Option<PersonName>,
    /// New email, unique case-insensitively.
    pub email: Option<Email>,
}

/// Changes an admin makes to an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountChanges {
    /// New role.
    pub role: Option<Role>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}

impl AccountChanges {
    /// Whether the changes leave the account no longer an active admin, if it was one:
    /// stores refuse them for the only active admin, who would lock everyone out.
    #[must_use]
    pub fn unmakes_admin(&self) -> bool {
        self.active == Some(false) || self.role.is_some_and(|role| role != Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_eight_characters() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("long enough").is_ok());
        assert!(Password::parse(&"x".repeat(73)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("long enough")),
            "Ok(Password(..))"
        );
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert!(PersonName::parse("   ").is_err());
        assert_eq!(
            PersonName::parse(" Ann ").map(|n| n.as_str().to_owned()),
            Ok("Ann".to_owned())
        );
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn roles_round_trip() {
        for role in [Role::Attendee, Role::Organizer, Role::Admin] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
        assert!(!Role::Attendee.can_organize());
    }
}
