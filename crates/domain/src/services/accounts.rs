use super::copies::Copies;
use crate::audit::{AuditAction, Auditor};
use crate::page::{Page, PageRequest};
use crate::ports::{
    AccessTokens, AuditLog, CreateUserError, Mailer, NewResetToken, OutgoingMail, PasswordHasher,
    TokenStore, UpdateUserError, UserRepository, VersionBoard,
};
use crate::secret::SecretToken;
use crate::user::{
    AccountChanges, Email, EmailKey, NewUser, Password, PersonName, ProfileChanges, Role,
    Tombstone, User, tokens_valid_from,
};
use crate::{Clock, UserId};
use chrono::Duration;
use std::sync::Arc;

/// The ports the account use cases need.
#[derive(Clone)]
pub struct AccountPorts {
    /// Accounts.
    pub users: Arc<dyn UserRepository>,
    /// Refresh and reset tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Access tokens.
    pub access: Arc<dyn AccessTokens>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Where security-relevant actions are recorded.
    pub audit: Arc<dyn AuditLog>,
}

/// Lifetimes of the tokens the account use cases hand out.
#[derive(Debug, Clone, Copy)]
pub struct AccountSettings {
    /// How long a refresh token works.
    pub refresh_ttl: Duration,
    /// How long a password-reset token works.
    pub reset_ttl: Duration,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            refresh_ttl: Duration::days(30),
            reset_ttl: Duration::hours(1),
        }
    }
}

/// An access token and the refresh token that renews it.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    /// Bearer token for requests.
    pub access_token: String,
    /// Single-use token for `/auth/refresh`.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// Login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password or deactivated account: one answer for all three.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// A port failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// A presented token (refresh or reset) is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Unknown, expired, used, revoked, or its user is deactivated.
    #[error("invalid or expired token")]
    InvalidToken,
    /// A port failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// An access token is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Missing, malformed, expired, wrongly signed, or its user is gone or deactivated.
    #[error("unauthorized")]
    Unauthorized,
    /// A port failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// Changing a password failed.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// The current password is wrong.
    #[error("current password is wrong")]
    InvalidCredentials,
    /// A port failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// An admin operation on accounts failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The caller is not an admin.
    #[error("admins only")]
    Forbidden,
    /// No such account.
    #[error("user not found")]
    NotFound,
    /// The change would leave no active admin.
    #[error("the only active admin cannot be deactivated or demoted")]
    LastAdmin,
    /// A port failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

impl From<UpdateUserError> for AdminError {
    fn from(e: UpdateUserError) -> Self {
        match e {
            UpdateUserError::NotFound => Self::NotFound,
            UpdateUserError::LastAdmin => Self::LastAdmin,
            // Admin changes touch neither email nor name.
            UpdateUserError::EmailTaken => {
                Self::Backend(anyhow::anyhow!("unexpected email conflict"))
            }
            UpdateUserError::Backend(e) => Self::Backend(e),
        }
    }
}

/// Registration, login, sessions, profile and account administration.
pub struct AccountService {
    pub(super) ports: AccountPorts,
    pub(super) settings: AccountSettings,
    pub(super) copies: Option<Copies<User>>,
    pub(super) audit: Auditor,
}

impl AccountService {
    /// Wires the use cases to their ports.
    #[must_use]
    pub fn new(ports: AccountPorts, settings: AccountSettings) -> Self {
        let audit = Auditor::new(ports.audit.clone(), ports.clock.clone());
        Self {
            ports,
            settings,
            copies: None,
            audit,
        }
    }

    /// The same use cases, with the accounts that tokens name read from memory while
    /// `board` shows the copy there is current. Every store that changes accounts must
    /// publish to `board`.
    #[must_use]
    pub fn with_versions(mut self, board: Arc<dyn VersionBoard>) -> Self {
        // A flash sale brings tens of thousands of accounts at once; a copy is small.
        self.copies = Some(Copies::new(board).holding(200_000));
        self
    }

    /// Creates an attendee account.
    /// # Errors
    /// `EmailTaken`, or a port failure.
    pub async fn register(
        &self,
        name: PersonName,
        email: Email,
        password: Password,
    ) -> Result<User, CreateUserError> {
        let ports = &self.ports;
        let new = NewAccount {
            name,
            email,
            password,
            role: Role::Attendee,
        };
        create_account(&*ports.users, &*ports.hasher, &*ports.clock, new).await
    }

    /// Changes the caller's name and/or email.
    /// # Errors
    /// `EmailTaken` when the email belongs to another account.
    pub async fn update_profile(
        &self,
        user: UserId,
        changes: &ProfileChanges,
    ) -> Result<User, UpdateUserError> {
        self.ports.users.update_profile(user, changes).await
    }

    /// Changes the caller's password and ends all their sessions.
    /// # Errors
    /// `InvalidCredentials` when `current` is wrong.
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    pub async fn change_password(
        &self,
        user: UserId,
        current: &str,
        new: Password,
    ) -> Result<(), ChangePasswordError> {
        self.check_password(user, current).await?;
        self.replace_password(user, &new).await?;
        tracing::info!("password changed");
        self.audit
            .record(AuditAction::PasswordChanged, Some(user), Some(user), None)
            .await;
        Ok(())
    }

    /// Checks that `password` is the current password of account `user`.
    /// # Errors
    /// `InvalidCredentials` when it is not, or the account has none (erased).
    pub(super) async fn check_password(
        &self,
        user: UserId,
        password: &str,
    ) -> Result<(), ChangePasswordError> {
        let credentials = self
            .ports
            .users
            .credentials_by_id(user)
            .await?
            .ok_or(ChangePasswordError::InvalidCredentials)?;
        if self
            .ports
            .hasher
            .verify(password, &credentials.password_hash)
            .await?
        {
            Ok(())
        } else {
            Err(ChangePasswordError::InvalidCredentials)
        }
    }

    /// Replaces the personal data of account `id` with its tombstone and ends its
    /// sessions for good (see [`UserRepository::erase`]); `actor` did it. Erasing an
    /// erased account changes nothing.
    /// # Errors
    /// `NotFound`, `LastAdmin`.
    pub(super) async fn erase_identity(&self, actor: UserId, id: UserId) -> Result<(), AdminError> {
        let now = self.ports.clock.now();
        let erased = self
            .ports
            .users
            .erase(id, &Tombstone::of(id), tokens_valid_from(now))
            .await?;
        if erased {
            tracing::info!(user_id = %id, actor_id = %actor, "account erased");
            self.audit
                .record(AuditAction::AccountErased, Some(actor), Some(id), None)
                .await;
        }
        Ok(())
    }

    /// Revokes the sessions first: if setting the hash then fails, the user is only logged
    /// out. Access tokens issued before the change stop working with it.
    async fn replace_password(&self, user: UserId, new: &Password) -> anyhow::Result<()> {
        let hash = self.ports.hasher.hash(new).await?;
        let now = self.ports.clock.now();
        self.ports.tokens.revoke_all_refresh(user, now).await?;
        self.ports
            .users
            .set_password(user, &hash, tokens_valid_from(now))
            .await
            .map_err(|e| match e {
                UpdateUserError::Backend(e) => e,
                other => anyhow::anyhow!(other),
            })
    }

    /// Deactivates the caller's account and ends all their sessions.
    /// # Errors
    /// Only when a port fails.
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    pub async fn deactivate(&self, user: UserId) -> Result<(), AdminError> {
        let changes = AccountChanges {
            role: None,
            active: Some(false),
        };
        self.change_account(user, changes).await?;
        tracing::info!("account deactivated");
        self.audit
            .record(
                AuditAction::AccountDeactivated,
                Some(user),
                Some(user),
                None,
            )
            .await;
        Ok(())
    }

    /// Applies `changes`; a deactivated account also loses all its sessions.
    async fn change_account(
        &self,
        user: UserId,
        changes: AccountChanges,
    ) -> Result<User, AdminError> {
        let updated = self.ports.users.update_account(user, changes).await?;
        if changes.active == Some(false) {
            self.ports
                .tokens
                .revoke_all_refresh(user, self.ports.clock.now())
                .await?;
        }
        Ok(updated)
    }

    /// Mails a single-use reset token if the email belongs to an active account. Says
    /// nothing either way, so callers cannot probe for accounts.
    /// # Errors
    /// Only when the store fails; a failing mailer is logged, not reported.
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(&self, email: &str) -> anyhow::Result<()> {
        let key = EmailKey::of(email);
        let Some(credentials) = self.ports.users.credentials_by_email(&key).await? else {
            return Ok(());
        };
        let user = credentials.user;
        if !user.active {
            return Ok(());
        }
        let now = self.ports.clock.now();
        let token = SecretToken::generate();
        self.ports
            .tokens
            .save_reset(&NewResetToken {
                hash: token.hash(),
                user_id: user.id,
                created_at: now,
                expires_at: now + self.settings.reset_ttl,
            })
            .await?;
        let mail = OutgoingMail {
            to: user.email.clone(),
            subject: "Reset your boxoffice password".to_owned(),
            body: format!(
                "Someone asked to reset the password of your boxoffice account.\n\
                 If it was you, use this token within {} minutes: {}\n\
                 If not, ignore this message.",
                self.settings.reset_ttl.num_minutes(),
                token.expose()
            ),
        };
        if let Err(error) = self.ports.mailer.send(&mail).await {
            tracing::error!(user_id = %user.id, error = %error, "could not send the password-reset mail");
        }
        Ok(())
    }

    /// Sets a new password with a mailed reset token and ends all sessions of its user.
    /// # Errors
    /// `InvalidToken` when the token is unknown, used or expired.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_password_reset(
        &self,
        token: &str,
        new: Password,
    ) -> Result<(), TokenError> {
        let now = self.ports.clock.now();
        let user = self
            .ports
            .tokens
            .consume_reset(&SecretToken::presented(token).hash(), now)
            .await?
            .ok_or(TokenError::InvalidToken)?;
        if self.ports.users.credentials_by_id(user).await?.is_none() {
            return Err(TokenError::InvalidToken); // erased since the mail went out
        }
        self.replace_password(user, &new).await?;
        tracing::info!(user_id = %user, "password reset");
        self.audit
            .record(AuditAction::PasswordReset, None, Some(user), None)
            .await;
        Ok(())
    }

    /// Every account, for admins.
    /// # Errors
    /// `Forbidden` unless `actor` is an admin.
    pub async fn list_users(
        &self,
        actor: &User,
        page: &PageRequest<UserId>,
    ) -> Result<Page<User, UserId>, AdminError> {
        require_admin(actor)?;
        Ok(self.ports.users.list(page).await?)
    }

    /// Changes another account's role or active flag; deactivation ends its sessions.
    /// # Errors
    /// `Forbidden` unless `actor` is an admin; `NotFound` for an unknown id.
    #[tracing::instrument(skip_all, fields(actor = %actor.id, user_id = %id))]
    pub async fn update_user(
        &self,
        actor: &User,
        id: UserId,
        changes: AccountChanges,
    ) -> Result<User, AdminError> {
        require_admin(actor)?;
        let updated = self.change_account(id, changes).await?;
        tracing::info!(role = %updated.role, active = updated.active, "account changed by admin");
        let (by, to) = (Some(actor.id), Some(id));
        if changes.role.is_some() {
            self.audit
                .record(AuditAction::RoleChanged, by, to, None)
                .await;
        }
        match changes.active {
            Some(false) => {
                let action = AuditAction::AccountDeactivated;
                self.audit.record(action, by, to, None).await;
            }
            Some(true) => {
                let action = AuditAction::AccountActivated;
                self.audit.record(action, by, to, None).await;
            }
            None => {}
        }
        Ok(updated)
    }
}

/// What an account is made from.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Display name.
    pub name: PersonName,
    /// Email, unique ignoring case.
    pub email: Email,
    /// Initial password.
    pub password: Password,
    /// Initial role.
    pub role: Role,
}

/// Hashes the password and stores the account: registration and the CLI's `user create`
/// both come here, so they cannot drift apart.
/// # Errors
/// `EmailTaken`, or a port failure.
#[tracing::instrument(skip_all, fields(role = %new.role))]
pub async fn create_account(
    users: &dyn UserRepository,
    hasher: &dyn PasswordHasher,
    clock: &dyn Clock,
    new: NewAccount,
) -> Result<User, CreateUserError> {
    let password_hash = hasher.hash(&new.password).await?;
    let user = users
        .create(&NewUser {
            id: UserId::generate(),
            name: new.name,
            email: new.email,
            password_hash,
            role: new.role,
            created_at: clock.now(),
        })
        .await?;
    tracing::info!(user_id = %user.id, "account created");
    Ok(user)
}

pub(super) fn require_admin(actor: &User) -> Result<(), AdminError> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(AdminError::Forbidden)
    }
}

#[cfg(test)]
#[path = "accounts_tests.rs"]
mod tests;
