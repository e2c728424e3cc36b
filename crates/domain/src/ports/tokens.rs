use crate::secret::TokenHash;
use crate::{Timestamp, TokenFamilyId, UserId};
use async_trait::async_trait;

/// A refresh token to store (only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    /// Hash of the token handed to the client.
    pub hash: TokenHash,
    /// Whose session it is.
    pub user_id: UserId,
    /// The session (login) it belongs to.
    pub family: TokenFamilyId,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// The session a rotated refresh token belonged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshSession {
    /// Whose session it is.
    pub user_id: UserId,
    /// Which session.
    pub family: TokenFamilyId,
}

/// Why a refresh token could not be rotated.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// Unknown, expired or revoked.
    #[error("invalid refresh token")]
    Invalid,
    /// Already rotated once: a sign of theft. The store has revoked its whole family.
    #[error("refresh token reused; its family was revoked")]
    Reused {
        /// Whose session it was.
        user: UserId,
    },
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// A password-reset token to store (only its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewResetToken {
    /// Hash of the token mailed to the user.
    pub hash: TokenHash,
    /// Whose password it resets.
    pub user_id: UserId,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// Where refresh and password-reset tokens live.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Stores the first refresh token of a new session.
    /// # Errors
    /// Only when the store fails.
    async fn save_refresh(&self, token: &NewRefreshToken) -> anyhow::Result<()>;

    /// Retires `presented` and stores `next` in the same family, in one transaction.
    /// # Errors
    /// `Invalid` when `presented` is unknown, expired or revoked at `now`; `Reused` when it
    /// was rotated before, after revoking every token of its family.
    async fn rotate_refresh(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: Timestamp,
        next_expires_at: Timestamp,
    ) -> Result<RefreshSession, RotateError>;

    /// Revokes the family of `presented` (logging out that session); unknown tokens are ignored.
    /// # Errors
    /// Only when the store fails.
    async fn revoke_family(&self, presented: &TokenHash, now: Timestamp) -> anyhow::Result<()>;

    /// Revokes every refresh token of `user` (password change, deactivation).
    /// # Errors
    /// Only when the store fails.
    async fn revoke_all_refresh(&self, user: UserId, now: Timestamp) -> anyhow::Result<()>;

    /// Stores a password-reset token.
    /// # Errors
    /// Only when the store fails.
    async fn save_reset(&self, token: &NewResetToken) -> anyhow::Result<()>;

    /// Uses up `presented` if it is unused and unexpired at `now`, together with every
    /// other reset token of its user, and says whose it was.
    /// # Errors
    /// Only when the store fails.
    async fn consume_reset(
        &self,
        presented: &TokenHash,
        now: Timestamp,
    ) -> anyhow::Result<Option<UserId>>;
}
