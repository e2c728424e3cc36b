//! Accounts.

use crate::SqliteStore;
use crate::convert::{instant, micros, uuid};
use crate::schema::{password_reset_tokens, refresh_tokens, users};
use crate::versions;
use anyhow::Context;
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

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::sqlite::Sqlite))]
struct UserRow {
    id: String,
    name: String,
    email: String,
    password_hash: String,
    role: String,
    active: bool,
    created_at: i64,
    tokens_valid_from: Option<i64>,
    email_key: String,
}

impl UserRow {
    fn into_credentials(self) -> anyhow::Result<Credentials> {
        let password_hash = PasswordHash::new(self.password_hash.clone());
        Ok(Credentials {
            user: self.into_user()?,
            password_hash,
        })
    }

    fn into_user(self) -> anyhow::Result<User> {
        Ok(User {
            id: UserId::from_uuid(uuid(&self.id)?),
            name: self.name,
            email: self.email,
            role: self.role.parse().map_err(anyhow::Error::msg)?,
            active: self.active,
            created_at: instant(self.created_at)?,
            tokens_valid_from: self.tokens_valid_from.map(instant).transpose()?,
        })
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct ProfileRow {
    name: Option<String>,
    email: Option<String>,
    email_key: Option<String>,
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct AccountRow {
    role: Option<&'static str>,
    active: Option<bool>,
}

fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

fn find_row(c: &mut SqliteConnection, id: UserId) -> anyhow::Result<Option<UserRow>> {
    users::table
        .find(id.to_string())
        .select(UserRow::as_select())
        .first(c)
        .optional()
        .context("cannot read user")
}

/// The account `query` finds, with its password hash, unless it was erased.
fn live_credentials(
    c: &mut SqliteConnection,
    query: users::BoxedQuery<'static, diesel::sqlite::Sqlite>,
) -> anyhow::Result<Option<Credentials>> {
    query
        .filter(users::erased_at.is_null())
        .select(UserRow::as_select())
        .first(c)
        .optional()
        .context("cannot read user")?
        .map(UserRow::into_credentials)
        .transpose()
}

/// Account `id`, unless it was erased: an erased account changes no more.
type LiveUser = diesel::dsl::Filter<
    diesel::dsl::Find<users::table, String>,
    diesel::dsl::IsNull<users::erased_at>,
>;

fn live_user(id: UserId) -> LiveUser {
    users::table
        .find(id.to_string())
        .filter(users::erased_at.is_null())
}

/// Whether `id` is the one and only active admin.
fn is_only_admin(c: &mut SqliteConnection, id: UserId) -> anyhow::Result<bool> {
    let admins: Vec<String> = users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::active.eq(true))
        .select(users::id)
        .limit(2)
        .load(c)
        .context("cannot read the active admins")?;
    Ok(admins == [id.to_string()])
}

#[async_trait]
impl UserRepository for SqliteStore {
    async fn create(&self, user: &NewUser) -> Result<User, CreateUserError> {
        let row = UserRow {
            id: user.id.to_string(),
            name: user.name.as_str().to_owned(),
            email: user.email.as_str().to_owned(),
            password_hash: user.password_hash.as_str().to_owned(),
            role: user.role.as_str().to_owned(),
            active: true,
            created_at: micros(user.created_at),
            tokens_valid_from: None,
            email_key: user.email.key().as_str().to_owned(),
        };
        let (id, board) = (user.id, self.versions.clone());
        self.write(
            move |c| match diesel::insert_into(users::table).values(&row).execute(c) {
                Ok(_) => {
                    board.raise(VersionKey::User(id), 0);
                    Ok(Ok(row.into_user()?))
                }
                Err(e) if is_unique_violation(&e) => Ok(Err(CreateUserError::EmailTaken)),
                Err(e) => Err(anyhow::Error::new(e).context("cannot insert user")),
            },
        )
        .await?
    }

    async fn find(&self, id: UserId) -> anyhow::Result<Option<User>> {
        self.read(move |c| find_row(c, id)?.map(UserRow::into_user).transpose())
            .await
    }

    async fn snapshot(&self, id: UserId) -> anyhow::Result<Option<(User, u64)>> {
        self.read(move |c| {
            let row: Option<(UserRow, i64)> = users::table
                .find(id.to_string())
                .select((UserRow::as_select(), users::version))
                .first(c)
                .optional()
                .context("cannot read user")?;
            row.map(|(row, version)| Ok((row.into_user()?, u64::try_from(version)?)))
                .transpose()
        })
        .await
    }

    async fn credentials_by_email(&self, key: &EmailKey) -> anyhow::Result<Option<Credentials>> {
        let key = key.as_str().to_owned();
        self.read(move |c| {
            live_credentials(
                c,
                users::table.filter(users::email_key.eq(key)).into_boxed(),
            )
        })
        .await
    }

    async fn credentials_by_id(&self, id: UserId) -> anyhow::Result<Option<Credentials>> {
        self.read(move |c| live_credentials(c, users::table.find(id.to_string()).into_boxed()))
            .await
    }

    async fn update_profile(
        &self,
        id: UserId,
        changes: &ProfileChanges,
    ) -> Result<User, UpdateUserError> {
        let row = ProfileRow {
            name: changes.name.as_ref().map(|n| n.as_str().to_owned()),
            email: changes.email.as_ref().map(|e| e.as_str().to_owned()),
            email_key: changes.email.as_ref().map(|e| e.key().as_str().to_owned()),
        };
        let board = self.versions.clone();
        self.write(move |c| {
            if row.name.is_some() || row.email.is_some() {
                match diesel::update(live_user(id)).set(&row).execute(c) {
                    Ok(0) => return Ok(Err(UpdateUserError::NotFound)),
                    Ok(_) => versions::bump(c, &board, VersionKey::User(id))?,
                    Err(e) if is_unique_violation(&e) => {
                        return Ok(Err(UpdateUserError::EmailTaken));
                    }
                    Err(e) => return Err(anyhow::Error::new(e).context("cannot update user")),
                }
            }
            Ok(match find_row(c, id)? {
                Some(row) => Ok(row.into_user()?),
                None => Err(UpdateUserError::NotFound),
            })
        })
        .await?
    }

    async fn update_account(
        &self,
        id: UserId,
        changes: AccountChanges,
    ) -> Result<User, UpdateUserError> {
        let row = AccountRow {
            role: changes.role.map(|r| r.as_str()),
            active: changes.active,
        };
        let board = self.versions.clone();
        self.write(move |c| {
            // The writer's transaction is the lock: no other change runs meanwhile.
            if changes.unmakes_admin() && is_only_admin(c, id)? {
                return Ok(Err(UpdateUserError::LastAdmin));
            }
            if row.role.is_some() || row.active.is_some() {
                let updated = diesel::update(live_user(id))
                    .set(&row)
                    .execute(c)
                    .context("cannot update user")?;
                if updated == 0 {
                    return Ok(Err(UpdateUserError::NotFound));
                }
                versions::bump(c, &board, VersionKey::User(id))?;
            }
            let live = live_credentials(c, users::table.find(id.to_string()).into_boxed())?;
            Ok(live.map(|c| c.user).ok_or(UpdateUserError::NotFound))
        })
        .await?
    }

    async fn set_password(
        &self,
        id: UserId,
        hash: &PasswordHash,
        tokens_valid_from: Timestamp,
    ) -> Result<(), UpdateUserError> {
        let (hash, board) = (hash.as_str().to_owned(), self.versions.clone());
        let updated = self
            .write(move |c| {
                let updated = diesel::update(live_user(id))
                    .set((
                        users::password_hash.eq(hash),
                        users::tokens_valid_from.eq(micros(tokens_valid_from)),
                    ))
                    .execute(c)
                    .context("cannot update password")?;
                if updated > 0 {
                    versions::bump(c, &board, VersionKey::User(id))?;
                }
                Ok(updated)
            })
            .await?;
        if updated == 0 {
            Err(UpdateUserError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn erase(
        &self,
        id: UserId,
        tombstone: &Tombstone,
        at: Timestamp,
    ) -> Result<bool, UpdateUserError> {
        let (tombstone, board) = (tombstone.clone(), self.versions.clone());
        self.write(move |c| {
            // The writer's transaction is the lock: no other change runs meanwhile.
            let found = users::table
                .find(id.to_string())
                .select(users::erased_at)
                .first::<Option<i64>>(c)
                .optional()
                .context("cannot read user")?;
            let Some(erased_at) = found else {
                return Ok(Err(UpdateUserError::NotFound));
            };
            if erased_at.is_some() {
                return Ok(Ok(false));
            }
            if is_only_admin(c, id)? {
                return Ok(Err(UpdateUserError::LastAdmin));
            }
            diesel::update(live_user(id))
                .set((
                    users::name.eq(&tombstone.name),
                    users::email.eq(&tombstone.email),
                    users::email_key.eq(tombstone.email_key.as_str()),
                    users::password_hash.eq(""),
                    users::active.eq(false),
                    users::tokens_valid_from.eq(micros(at)),
                    users::erased_at.eq(micros(at)),
                ))
                .execute(c)
                .context("cannot erase user")?;
            diesel::delete(
                refresh_tokens::table.filter(refresh_tokens::user_id.eq(id.to_string())),
            )
            .execute(c)
            .context("cannot delete the user's sessions")?;
            diesel::delete(
                password_reset_tokens::table
                    .filter(password_reset_tokens::user_id.eq(id.to_string())),
            )
            .execute(c)
            .context("cannot delete the user's reset tokens")?;
            versions::bump(c, &board, VersionKey::User(id))?;
            Ok(Ok(true))
        })
        .await?
    }

    async fn list(&self, page: &PageRequest<UserId>) -> anyhow::Result<Page<User, UserId>> {
        let PageRequest { limit, after } = page.clone();
        self.read(move |c| {
            let mut query = users::table
                .select(UserRow::as_select())
                .order(users::id)
                .limit(i64::from(limit) + 1)
                .into_boxed();
            if let Some(after) = after {
                query = query.filter(users::id.gt(after.to_string()));
            }
            let rows = query
                .load(c)
                .context("cannot list users")?
                .into_iter()
                .map(UserRow::into_user)
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |u| u.id))
        })
        .await
    }
}
