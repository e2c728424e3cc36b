//! Refresh and password-reset tokens, stored as hashes.

use crate::SqliteStore;
use crate::convert::{micros, uuid};
use crate::schema::{password_reset_tokens as resets, refresh_tokens as refresh};
use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::ports::{
    NewRefreshToken, NewResetToken, RefreshSession, RotateError, TokenStore,
};
use boxoffice_domain::secret::TokenHash;
use boxoffice_domain::{Timestamp, TokenFamilyId, UserId};
use diesel::prelude::*;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh, check_for_backend(diesel::sqlite::Sqlite))]
struct RefreshRow {
    token_hash: String,
    family_id: String,
    user_id: String,
    issued_at: i64,
    expires_at: i64,
    rotated_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl RefreshRow {
    fn new(token: &NewRefreshToken) -> Self {
        Self {
            token_hash: token.hash.as_str().to_owned(),
            family_id: token.family.to_string(),
            user_id: token.user_id.to_string(),
            issued_at: micros(token.issued_at),
            expires_at: micros(token.expires_at),
            rotated_at: None,
            revoked_at: None,
        }
    }
}

fn revoke_family(c: &mut SqliteConnection, family: &str, now: i64) -> anyhow::Result<()> {
    diesel::update(refresh::table)
        .filter(refresh::family_id.eq(family))
        .filter(refresh::revoked_at.is_null())
        .set(refresh::revoked_at.eq(now))
        .execute(c)
        .context("cannot revoke refresh tokens")?;
    Ok(())
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn save_refresh(&self, token: &NewRefreshToken) -> anyhow::Result<()> {
        let row = RefreshRow::new(token);
        self.write(move |c| {
            diesel::insert_into(refresh::table)
                .values(&row)
                .execute(c)
                .context("cannot store refresh token")?;
            Ok(())
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: Timestamp,
        next_expires_at: Timestamp,
    ) -> Result<RefreshSession, RotateError> {
        let presented = presented.as_str().to_owned();
        let next = next.as_str().to_owned();
        let (now, next_expires_at) = (micros(now), micros(next_expires_at));
        self.write(move |c| {
            let Some(row) = refresh::table
                .find(&presented)
                .select(RefreshRow::as_select())
                .first(c)
                .optional()
                .context("cannot read refresh token")?
            else {
                return Ok(Err(RotateError::Invalid));
            };
            if row.revoked_at.is_some() || row.expires_at <= now {
                return Ok(Err(RotateError::Invalid));
            }
            if row.rotated_at.is_some() {
                revoke_family(c, &row.family_id, now)?;
                let user = UserId::from_uuid(uuid(&row.user_id)?);
                return Ok(Err(RotateError::Reused { user }));
            }
            diesel::update(refresh::table.find(&presented))
                .set(refresh::rotated_at.eq(now))
                .execute(c)
                .context("cannot retire refresh token")?;
            let successor = RefreshRow {
                token_hash: next,
                family_id: row.family_id.clone(),
                user_id: row.user_id.clone(),
                issued_at: now,
                expires_at: next_expires_at,
                rotated_at: None,
                revoked_at: None,
            };
            diesel::insert_into(refresh::table)
                .values(&successor)
                .execute(c)
                .context("cannot store refresh token")?;
            Ok(Ok(RefreshSession {
                user_id: UserId::from_uuid(uuid(&row.user_id)?),
                family: TokenFamilyId::from_uuid(uuid(&row.family_id)?),
            }))
        })
        .await?
    }

    async fn revoke_family(&self, presented: &TokenHash, now: Timestamp) -> anyhow::Result<()> {
        let presented = presented.as_str().to_owned();
        self.write(move |c| {
            let family: Option<String> = refresh::table
                .find(&presented)
                .select(refresh::family_id)
                .first(c)
                .optional()
                .context("cannot read refresh token")?;
            match family {
                Some(family) => revoke_family(c, &family, micros(now)),
                None => Ok(()),
            }
        })
        .await
    }

    async fn revoke_all_refresh(&self, user: UserId, now: Timestamp) -> anyhow::Result<()> {
        self.write(move |c| {
            diesel::update(refresh::table)
                .filter(refresh::user_id.eq(user.to_string()))
                .filter(refresh::revoked_at.is_null())
                .set(refresh::revoked_at.eq(micros(now)))
                .execute(c)
                .context("cannot revoke refresh tokens")?;
            Ok(())
        })
        .await
    }

    async fn save_reset(&self, token: &NewResetToken) -> anyhow::Result<()> {
        let row = (
            resets::token_hash.eq(token.hash.as_str().to_owned()),
            resets::user_id.eq(token.user_id.to_string()),
            resets::created_at.eq(micros(token.created_at)),
            resets::expires_at.eq(micros(token.expires_at)),
        );
        self.write(move |c| {
            diesel::insert_into(resets::table)
                .values(row)
                .execute(c)
                .context("cannot store reset token")?;
            Ok(())
        })
        .await
    }

    async fn consume_reset(
        &self,
        presented: &TokenHash,
        now: Timestamp,
    ) -> anyhow::Result<Option<UserId>> {
        let presented = presented.as_str().to_owned();
        let now = micros(now);
        self.write(move |c| {
            let user: Option<String> = resets::table
                .find(&presented)
                .filter(resets::used_at.is_null())
                .filter(resets::expires_at.gt(now))
                .select(resets::user_id)
                .first(c)
                .optional()
                .context("cannot read reset token")?;
            let Some(user) = user else { return Ok(None) };
            diesel::update(resets::table)
                .filter(resets::user_id.eq(&user))
                .filter(resets::used_at.is_null())
                .set(resets::used_at.eq(now))
                .execute(c)
                .context("cannot use up reset tokens")?;
            Ok(Some(UserId::from_uuid(uuid(&user)?)))
        })
        .await
    }
}
