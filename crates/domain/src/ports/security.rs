use crate::user::{Password, PasswordHash, Role, User};
use crate::{Timestamp, UserId};
use async_trait::async_trait;

/// Hashes and checks passwords (slow on purpose; adapters keep it off the async executor).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync + 'static {
    /// A salted hash of `password`.
    /// # Errors
    /// Only when hashing fails.
    async fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash>;

    /// Whether `plaintext` matches `hash`.
    /// # Errors
    /// Only when `hash` is not in the hasher's format.
    async fn verify(&self, plaintext: &str, hash: &PasswordHash) -> anyhow::Result<bool>;

    /// Takes as long as [`PasswordHasher::verify`] and always fails: used for unknown
    /// emails, so response times do not tell which emails have accounts.
    async fn verify_decoy(&self, plaintext: &str);
}

/// An access token and how long it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The bearer token.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// What a valid access token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user it was issued to.
    pub user_id: UserId,
    /// The user's role when it was issued.
    pub role: Role,
    /// When it was issued (whole seconds).
    pub issued_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
}

/// The access token was missing, malformed, wrongly signed or expired.
#[derive(Debug, thiserror::Error)]
#[error("invalid access token")]
pub struct InvalidAccessToken;

/// Issues and checks short-lived access tokens.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AccessTokens: Send + Sync + 'static {
    /// A token for `user`, issued at `now`.
    /// # Errors
    /// Only when signing fails.
    fn issue(&self, user: &User, now: Timestamp) -> anyhow::Result<AccessToken>;

    /// The claims of `token` if it is well formed, correctly signed, unexpired at `now`
    /// and not marked valid only later (`nbf`).
    /// # Errors
    /// `InvalidAccessToken` otherwise.
    fn verify(&self, token: &str, now: Timestamp) -> Result<AccessClaims, InvalidAccessToken>;
}
