//! [`UserRepository`] over the `users` table.

use crate::PgStore;
use crate::models::{NewUserRow, UserRow};
use crate::schema::{password_reset_tokens, refresh_tokens, users};
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::ports::{CreateUserError, UpdateUserError, UserRepository, VersionKey};
use boxoffice_domain::user::{
    AccountChanges, Credentials, EmailKey, NewUser, PasswordHash, ProfileChanges, Role, Tombstone,
    User,
};
use boxoffice_domain::{Timestamp, UserId};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// The unique index that makes emails unique ignoring case.
const EMAIL_KEY: &str = "users_email_key";

/// Whether `error` is the violation of [`EMAIL_KEY`].
fn is_email_taken(error: &DieselError) -> bool {
    matches!(error, DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
        if info.constraint_name() == Some(EMAIL_KEY))
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct ProfileChangeset<'a> {
    name: Option<&'a str>,
    email: Option<&'a str>,
    email_key: Option<String>,
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct AccountChangeset<'a> {
    role: Option<&'a str>,
    active: Option<bool>,
}

impl PgStore {
    /// Account `id` with its password hash; with `erased`, also when it was erased.
    async fn credentials_where_id(
        &self,
        id: UserId,
        erased: bool,
    ) -> anyhow::Result<Option<Credentials>> {
        self.run(async |conn| {
            users::table
                .find(id.as_uuid())
                .filter(
                    users::erased_at
                        .is_null()
                        .or(erased.into_sql::<diesel::sql_types::Bool>()),
                )
                .select(UserRow::as_select())
                .first(conn)
                .await
                .optional()
                .with_context(|| format!("cannot read user {id}"))
        })
        .await?
        .map(UserRow::into_credentials)
        .transpose()
    }
}

/// Account `id`, unless it was erased: an erased account changes no more.
type LiveUser = diesel::dsl::Filter<
    diesel::dsl::Find<users::table, uuid::Uuid>,
    diesel::dsl::IsNull<users::erased_at>,
>;

fn live_user(id: UserId) -> LiveUser {
    users::table
        .find(id.as_uuid())
        .filter(users::erased_at.is_null())
}

/// Whether `id` is the one and only active admin. Locks the active admins' rows (in id
/// order) until the transaction ends: of two transactions demoting two admins at once,
/// the second sees the first's change and is refused.
async fn is_only_admin(conn: &mut AsyncPgConnection, id: UserId) -> anyhow::Result<bool> {
    let admins: Vec<uuid::Uuid> = users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::active.eq(true))
        .select(users::id)
        .order(users::id.asc())
        .for_update()
        .load(conn)
        .await
        .context("cannot lock the active admins")?;
    Ok(admins == [id.as_uuid()])
}

#[async_trait]
impl UserRepository for PgStore {
    async fn create(&self, user: &NewUser) -> Result<User, CreateUserError> {
        // Published before the row exists: a reader that finds the version first reads
        // the store, and finds the account or nothing. Without it the account is only
        // never kept in memory (its version is unknown), so a failure does not stop
        // the registration.
        if let Err(error) = self.versions.publish(VersionKey::User(user.id), 0).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "a new account's version is not published"
            );
        }
        let row = self
            .run(async |conn| {
                let inserted = diesel::insert_into(users::table)
                    .values(NewUserRow::from(user))
                    .returning(UserRow::as_returning())
                    .get_result::<UserRow>(conn)
                    .await;
                match inserted {
                    Err(e) if is_email_taken(&e) => Ok(Err(CreateUserError::EmailTaken)),
                    inserted => Ok(Ok(inserted.context("cannot insert user")?)),
                }
            })
            .await??;
        Ok(row.into_user()?)
    }

    async fn find(&self, id: UserId) -> anyhow::Result<Option<User>> {
        Ok(self.credentials_where_id(id, true).await?.map(|c| c.user))
    }

    async fn snapshot(&self, id: UserId) -> anyhow::Result<Option<(User, u64)>> {
        self.run(async |conn| {
            users::table
                .find(id.as_uuid())
                .select((UserRow::as_select(), users::version))
                .first::<(UserRow, i64)>(conn)
                .await
                .optional()
                .with_context(|| format!("cannot read user {id}"))
        })
        .await?
        .map(|(row, version)| Ok((row.into_user()?, u64::try_from(version)?)))
        .transpose()
    }

    async fn credentials_by_email(&self, key: &EmailKey) -> anyhow::Result<Option<Credentials>> {
        self.run(async |conn| {
            users::table
                .filter(users::email_key.eq(key.as_str()))
                .filter(users::erased_at.is_null())
                .select(UserRow::as_select())
                .first(conn)
                .await
                .optional()
                .context("cannot look up user by email")
        })
        .await?
        .map(UserRow::into_credentials)
        .transpose()
    }

    async fn credentials_by_id(&self, id: UserId) -> anyhow::Result<Option<Credentials>> {
        self.credentials_where_id(id, false).await
    }

    async fn update_profile(
        &self,
        id: UserId,
        changes: &ProfileChanges,
    ) -> Result<User, UpdateUserError> {
        let changeset = ProfileChangeset {
            name: changes.name.as_ref().map(|n| n.as_str()),
            email: changes.email.as_ref().map(|e| e.as_str()),
            email_key: changes.email.as_ref().map(|e| e.key().as_str().to_owned()),
        };
        if changeset.name.is_none() && changeset.email.is_none() {
            // Diesel refuses an UPDATE without columns; nothing to change is a read.
            return self.find(id).await?.ok_or(UpdateUserError::NotFound);
        }
        let row = self
            .transaction(async |conn| {
                let updated = diesel::update(live_user(id))
                    .set(changeset)
                    .returning(UserRow::as_returning())
                    .get_result::<UserRow>(conn)
                    .await
                    .optional();
                match updated {
                    Err(e) if is_email_taken(&e) => Ok(Err(UpdateUserError::EmailTaken)),
                    updated => {
                        let updated =
                            updated.with_context(|| format!("cannot update user {id}"))?;
                        if updated.is_some() {
                            self.versions.bump(conn, VersionKey::User(id)).await?;
                        }
                        Ok(Ok(updated))
                    }
                }
            })
            .await??
            .ok_or(UpdateUserError::NotFound)?;
        Ok(row.into_user()?)
    }

    async fn update_account(
        &self,
        id: UserId,
        changes: AccountChanges,
    ) -> Result<User, UpdateUserError> {
        let changeset = AccountChangeset {
            role: changes.role.map(|r| r.as_str()),
            active: changes.active,
        };
        if changeset.role.is_none() && changeset.active.is_none() {
            let live = self.credentials_where_id(id, false).await?;
            return live.map(|c| c.user).ok_or(UpdateUserError::NotFound);
        }
        let row = self
            .transaction(async |conn| {
                if changes.unmakes_admin() && is_only_admin(conn, id).await? {
                    return Ok(Err(UpdateUserError::LastAdmin));
                }
                let updated = diesel::update(live_user(id))
                    .set(changeset)
                    .returning(UserRow::as_returning())
                    .get_result::<UserRow>(conn)
                    .await
                    .optional()
                    .with_context(|| format!("cannot update account {id}"))?;
                if updated.is_some() {
                    self.versions.bump(conn, VersionKey::User(id)).await?;
                }
                Ok(updated.ok_or(UpdateUserError::NotFound))
            })
            .await??;
        Ok(row.into_user()?)
    }

    async fn set_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        tokens_valid_from: Timestamp,
    ) -> Result<(), UpdateUserError> {
        let updated = self
            .transaction(async |conn| {
                let updated = diesel::update(live_user(id))
                    .set((
                        users::password_hash.eq(hash.as_str()),
                        users::tokens_valid_from.eq(tokens_valid_from),
                    ))
                    .execute(conn)
                    .await
                    .with_context(|| format!("cannot set the password of user {id}"))?;
                if updated > 0 {
                    self.versions.bump(conn, VersionKey::User(id)).await?;
                }
                Ok(updated)
            })
            .await?;
        if updated == 0 {
            return Err(UpdateUserError::NotFound);
        }
        Ok(())
    }

    async fn erase(
        &self,
        id: UserId,
        tombstone: &Tombstone,
        at: Timestamp,
    ) -> Result<bool, UpdateUserError> {
        let erased = self
            .transaction(async |conn| {
                // The active admins first, in id order as every admin change locks them, so
                // an erasure and a role change never wait for each other in a circle.
                let only_admin = is_only_admin(conn, id).await?;
                let found = users::table
                    .find(id.as_uuid())
                    .select(users::erased_at)
                    .for_update()
                    .first::<Option<Timestamp>>(conn)
                    .await
                    .optional()
                    .with_context(|| format!("cannot read account {id}"))?;
                let Some(erased_at) = found else {
                    return Ok(Err(UpdateUserError::NotFound));
                };
                if erased_at.is_some() {
                    return Ok(Ok(false));
                }
                if only_admin {
                    return Ok(Err(UpdateUserError::LastAdmin));
                }
                diesel::update(live_user(id))
                    .set((
                        users::name.eq(&tombstone.name),
                        users::email.eq(&tombstone.email),
                        users::email_key.eq(tombstone.email_key.as_str()),
                        users::password_hash.eq(""),
                        users::active.eq(false),
                        users::tokens_valid_from.eq(at),
                        users::erased_at.eq(at),
                    ))
                    .execute(conn)
                    .await
                    .with_context(|| format!("cannot erase account {id}"))?;
                self.versions.bump(conn, VersionKey::User(id)).await?;
                Ok(Ok(true))
            })
            .await??;
        // Apart, and also after an earlier erasure: a refresh locks its token row and
        // then the account's (by its foreign key), so deleting tokens while holding the
        // account's row could deadlock with it. The account is inactive already, so a
        // token left for a moment cannot be used.
        self.transaction(async |conn| {
            diesel::delete(refresh_tokens::table.filter(refresh_tokens::user_id.eq(id.as_uuid())))
                .execute(conn)
                .await
                .with_context(|| format!("cannot delete the sessions of account {id}"))?;
            diesel::delete(
                password_reset_tokens::table
                    .filter(password_reset_tokens::user_id.eq(id.as_uuid())),
            )
            .execute(conn)
            .await
            .with_context(|| format!("cannot delete the reset tokens of account {id}"))?;
            Ok(())
        })
        .await?;
        Ok(erased)
    }

    async fn list(&self, page: &PageRequest<UserId>) -> anyhow::Result<Page<User, UserId>> {
        // Ids are UUIDv7, made when the account is: id order is creation order, and the
        // id alone is the page key.
        let mut query = users::table
            .select(UserRow::as_select())
            .order(users::id.asc())
            .limit(i64::from(page.limit) + 1)
            .into_boxed();
        if let Some(after) = page.after {
            query = query.filter(users::id.gt(after.as_uuid()));
        }
        let rows = self
            .run(async |conn| query.load(conn).await.context("cannot list users"))
            .await?;
        let page = Page::from_rows(rows, page.limit, |row: &UserRow| UserId::from_uuid(row.id));
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(UserRow::into_user)
                .collect::<anyhow::Result<_>>()?,
            next: page.next,
        })
    }
}
