//! API tokens: long-lived, scoped credentials for devices and integrations (a door
//! scanner), so they never hold a person's password. A token acts for the user who
//! created it, limited to its scopes and events, and ends when revoked or when its
//! owner may no longer act.

use crate::secret::SecretToken;
use crate::{EventId, Timestamp, UserId};
use std::str::FromStr;
use uuid::Uuid;

/// What every API token's text starts with, so it is told from an access token (and
/// found by secret scanners) at a glance.
pub const TOKEN_PREFIX: &str = "bxo_";

/// The most events one token may be limited to.
pub const MAX_TOKEN_EVENTS: usize = 50;

/// What a token may do. Each route asks for one scope; later integrations add theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Check tickets in at the door of the token's events (and read their progress).
    Checkin,
}

impl Scope {
    /// The stable name used in stores and the API.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Checkin => "checkin",
        }
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "checkin" => Ok(Self::Checkin),
            other => Err(format!("unknown scope {other:?}")),
        }
    }
}

/// A stored API token (its secret is kept only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Its id.
    pub id: Uuid,
    /// The user it acts for: the one who created it.
    pub owner_id: UserId,
    /// A label its owner chose ("North door").
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// The events it may act on.
    pub event_ids: Vec<EventId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it stops working by itself, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
}

impl ApiToken {
    /// Whether the token may use `scope` on `event` at `now`.
    #[must_use]
    pub fn allows(&self, scope: Scope, event: EventId, now: Timestamp) -> bool {
        self.usable(now) && self.scopes.contains(&scope) && self.event_ids.contains(&event)
    }

    /// Neither revoked nor expired at `now`.
    #[must_use]
    pub fn usable(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}

/// A new token's text: [`TOKEN_PREFIX`] and 256 random bits.
#[must_use]
pub fn generate_token() -> SecretToken {
    SecretToken::presented(&format!(
        "{TOKEN_PREFIX}{}",
        SecretToken::generate().expose()
    ))
}

/// Whether a bearer credential is an API token rather than an access token.
#[must_use]
pub fn is_api_token(bearer: &str) -> bool {
    bearer.starts_with(TOKEN_PREFIX)
}

/// A token's scopes and events as the stores keep them: space-separated lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLists {
    /// Scope names.
    pub scopes: String,
    /// Event ids.
    pub event_ids: String,
}

impl StoredLists {
    /// The lists of `token`.
    #[must_use]
    pub fn of(token: &ApiToken) -> Self {
        let join = |items: Vec<String>| items.join(" ");
        Self {
            scopes: join(token.scopes.iter().map(|s| s.as_str().to_owned()).collect()),
            event_ids: join(token.event_ids.iter().map(ToString::to_string).collect()),
        }
    }

    /// Reads the lists back.
    ///
    /// # Errors
    /// An unknown scope or a malformed id.
    pub fn parse(&self) -> anyhow::Result<(Vec<Scope>, Vec<EventId>)> {
        let scopes = self
            .scopes
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?;
        let events = self
            .event_ids
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        Ok((scopes, events))
    }
}
