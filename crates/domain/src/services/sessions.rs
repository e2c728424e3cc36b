//! Sessions: logging in, refreshing and ending them, and who an access token belongs
//! to (from memory when a version board says the copy there is current).

use super::accounts::{AccountService, AuthError, IssuedTokens, LoginError, TokenError};
use super::copies::Versioned;
use crate::audit::AuditAction;
use crate::ports::{NewRefreshToken, RotateError, VersionKey};
use crate::secret::SecretToken;
use crate::user::{EmailKey, User};
use crate::{TokenFamilyId, UserId};

impl AccountService {
    /// Checks email and password and starts a session.
    /// # Errors
    /// `InvalidCredentials` for an unknown email, a wrong password or a deactivated account.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, email: &str, password: &str) -> Result<IssuedTokens, LoginError> {
        let key = EmailKey::of(email);
        let Some(credentials) = self.ports.users.credentials_by_email(&key).await? else {
            self.ports.hasher.verify_decoy(password).await;
            self.audit
                .record(AuditAction::LoginFailed, None, None, None)
                .await;
            return Err(LoginError::InvalidCredentials);
        };
        let matches = self
            .ports
            .hasher
            .verify(password, &credentials.password_hash)
            .await?;
        let user = Some(credentials.user.id);
        if !matches || !credentials.user.active {
            self.audit
                .record(AuditAction::LoginFailed, None, user, None)
                .await;
            return Err(LoginError::InvalidCredentials);
        }
        let tokens = self.start_session(&credentials.user).await?;
        self.audit
            .record(AuditAction::LoginSucceeded, user, user, None)
            .await;
        tracing::info!(user_id = %credentials.user.id, "logged in");
        Ok(tokens)
    }

    async fn start_session(&self, user: &User) -> anyhow::Result<IssuedTokens> {
        let now = self.ports.clock.now();
        let refresh = SecretToken::generate();
        self.ports
            .tokens
            .save_refresh(&NewRefreshToken {
                hash: refresh.hash(),
                user_id: user.id,
                family: TokenFamilyId::generate(),
                issued_at: now,
                expires_at: now + self.settings.refresh_ttl,
            })
            .await?;
        let access = self.ports.access.issue(user, user.token_issue_time(now))?;
        Ok(IssuedTokens {
            access_token: access.token,
            refresh_token: refresh.expose().to_owned(),
            expires_in: access.expires_in,
        })
    }

    /// Exchanges a refresh token for new tokens; the presented one stops working.
    /// # Errors
    /// `InvalidToken` when it is unknown, expired, revoked or reused (reuse revokes its
    /// whole family), or its user is deactivated.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, presented: &str) -> Result<IssuedTokens, TokenError> {
        let now = self.ports.clock.now();
        let next = SecretToken::generate();
        let rotated = self
            .ports
            .tokens
            .rotate_refresh(
                &SecretToken::presented(presented).hash(),
                &next.hash(),
                now,
                now + self.settings.refresh_ttl,
            )
            .await;
        let session = match rotated {
            Ok(session) => session,
            Err(RotateError::Invalid) => return Err(TokenError::InvalidToken),
            Err(RotateError::Reused { user }) => {
                tracing::warn!("a rotated refresh token was reused; its family is revoked");
                self.audit
                    .record(AuditAction::TokenFamilyRevoked, None, Some(user), None)
                    .await;
                return Err(TokenError::InvalidToken);
            }
            Err(RotateError::Backend(e)) => return Err(TokenError::Backend(e)),
        };
        let user = self.ports.users.find(session.user_id).await?;
        let Some(user) = user.filter(|u| u.active) else {
            self.ports
                .tokens
                .revoke_all_refresh(session.user_id, now)
                .await?;
            return Err(TokenError::InvalidToken);
        };
        let access = self.ports.access.issue(&user, user.token_issue_time(now))?;
        Ok(IssuedTokens {
            access_token: access.token,
            refresh_token: next.expose().to_owned(),
            expires_in: access.expires_in,
        })
    }

    /// Ends the session the refresh token belongs to. Unknown tokens are ignored.
    /// # Errors
    /// Only when a port fails.
    pub async fn logout(&self, presented: &str) -> anyhow::Result<()> {
        let now = self.ports.clock.now();
        self.ports
            .tokens
            .revoke_family(&SecretToken::presented(presented).hash(), now)
            .await
    }

    /// The active user an access token belongs to.
    /// # Errors
    /// `Unauthorized` for a bad or expired token, a deleted or deactivated user, or a
    /// token issued before the user's password last changed.
    pub async fn authenticate(&self, access_token: &str) -> Result<User, AuthError> {
        let claims = self
            .ports
            .access
            .verify(access_token, self.ports.clock.now())
            .map_err(|_| AuthError::Unauthorized)?;
        match self.account(claims.user_id).await? {
            Some(user) if user.active && user.honours_token_issued_at(claims.issued_at) => Ok(user),
            _ => Err(AuthError::Unauthorized),
        }
    }

    /// The account `id`, from memory when the copy there is current.
    async fn account(&self, id: UserId) -> anyhow::Result<Option<User>> {
        let Some(copies) = &self.copies else {
            return self.ports.users.find(id).await;
        };
        let load = async || {
            let read = self.ports.users.snapshot(id).await?;
            Ok(read.map(|(user, version)| Versioned {
                value: user,
                version,
                until: None,
            }))
        };
        let now = self.ports.clock.now();
        let (user, _) = copies.read(VersionKey::User(id), now, load).await?;
        Ok(user.map(|read| read.value.clone()))
    }

    /// The user a valid, unexpired access token was issued to, without loading the
    /// user: cheap enough to run before every write, for per-user rate limits.
    #[must_use]
    pub fn token_user(&self, access_token: &str) -> Option<UserId> {
        let now = self.ports.clock.now();
        let claims = self.ports.access.verify(access_token, now).ok()?;
        Some(claims.user_id)
    }
}
