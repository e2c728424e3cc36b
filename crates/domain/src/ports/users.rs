use crate::page::{Page, PageRequest};
use crate::user::{
    AccountChanges, Credentials, EmailKey, NewUser, PasswordHash, ProfileChanges, Tombstone, User,
};
use crate::{Timestamp, UserId};
use async_trait::async_trait;

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// Another account has this email, ignoring case.
    #[error("email is already taken")]
    EmailTaken,
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// Why an account could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateUserError {
    /// No such account.
    #[error("user not found")]
    NotFound,
    /// Another account has the new email, ignoring case.
    #[error("email is already taken")]
    EmailTaken,
    /// The changes would leave no active admin.
    #[error("the only active admin cannot be deactivated, demoted or erased")]
    LastAdmin,
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// Where accounts live.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync + 'static {
    /// Stores a new account.
    /// # Errors
    /// `EmailTaken` when the email is used by another account, ignoring case.
    async fn create(&self, user: &NewUser) -> Result<User, CreateUserError>;

    /// The account with this id.
    /// # Errors
    /// Only when the store fails.
    async fn find(&self, id: UserId) -> anyhow::Result<Option<User>>;

    /// [`UserRepository::find`] with the account's version, which grows with every
    /// committed change of the account, for caches.
    /// # Errors
    /// Only when the store fails.
    async fn snapshot(&self, id: UserId) -> anyhow::Result<Option<(User, u64)>>;

    /// The account whose email has this key, and its password hash; none for an erased
    /// account, which has neither.
    /// # Errors
    /// Only when the store fails.
    async fn credentials_by_email(&self, key: &EmailKey) -> anyhow::Result<Option<Credentials>>;

    /// The account with this id and its password hash.
    /// # Errors
    /// Only when the store fails.
    async fn credentials_by_id(&self, id: UserId) -> anyhow::Result<Option<Credentials>>;

    /// Changes name and/or email.
    /// # Errors
    /// `NotFound`, or `EmailTaken` when the new email belongs to another account.
    async fn update_profile(
        &self,
        id: UserId,
        changes: &ProfileChanges,
    ) -> Result<User, UpdateUserError>;

    /// Changes role and/or active flag; refuses, in the same transaction, changes that
    /// [unmake](AccountChanges::unmakes_admin) the only active admin (concurrent
    /// changes of two admins cannot both pass).
    /// # Errors
    /// `NotFound` when there is no such account or it was erased (an erased account
    /// stays as it is for good), `LastAdmin`.
    async fn update_account(
        &self,
        id: UserId,
        changes: AccountChanges,
    ) -> Result<User, UpdateUserError>;

    /// Replaces the password hash, and refuses the account's access tokens issued
    /// before `tokens_valid_from` from then on.
    /// # Errors
    /// `NotFound` when there is no such account.
    async fn set_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        tokens_valid_from: Timestamp,
    ) -> Result<(), UpdateUserError>;

    /// Erases account `id` for good: in one transaction its name and email become
    /// `tombstone`, its password hash is deleted, it is inactive and refuses access
    /// tokens issued before `at`; the same transaction refuses to erase the only active
    /// admin. Then its refresh and reset tokens are deleted (also when the account was
    /// erased before, which returns `false` and changes nothing else). An erased
    /// account's name, email and password cannot be changed any more.
    /// # Errors
    /// `NotFound` when there is no such account, `LastAdmin`.
    async fn erase(
        &self,
        id: UserId,
        tombstone: &Tombstone,
        at: Timestamp,
    ) -> Result<bool, UpdateUserError>;

    /// All accounts, oldest first.
    /// # Errors
    /// Only when the store fails.
    async fn list(&self, page: &PageRequest<UserId>) -> anyhow::Result<Page<User, UserId>>;
}
