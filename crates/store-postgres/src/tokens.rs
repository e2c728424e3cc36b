//! [`TokenStore`] over `refresh_tokens` and `password_reset_tokens`.

use crate::PgStore;
use crate::models::{NewRefreshRow, NewResetRow, RefreshRow, ResetRow};
use crate::schema::{password_reset_tokens as resets, refresh_tokens as refresh};
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::ports::{
    NewRefreshToken, NewResetToken, RefreshSession, RotateError, TokenStore,
};
use boxoffice_domain::secret::TokenHash;
use boxoffice_domain::{Timestamp, TokenFamilyId, UserId};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// How a rotation ended. `Reused` is a value, not an error, so the transaction that
/// revoked the family commits before the caller hears about it.
enum Rotation {
    Rotated(RefreshSession),
    Invalid,
    Reused(UserId),
}

/// Revokes every live token of `family` at `now`.
async fn revoke_family_of(
    conn: &mut AsyncPgConnection,
    family: Uuid,
    now: Timestamp,
) -> QueryResult<usize> {
    diesel::update(refresh::table)
        .filter(refresh::family_id.eq(family))
        .filter(refresh::revoked_at.is_null())
        .set(refresh::revoked_at.eq(now))
        .execute(conn)
        .await
}

#[async_trait]
impl TokenStore for PgStore {
    async fn save_refresh(&self, token: &NewRefreshToken) -> anyhow::Result<()> {
        self.run(async |conn| {
            diesel::insert_into(refresh::table)
                .values(NewRefreshRow::from(token))
                .execute(conn)
                .await
                .context("cannot save refresh token")
        })
        .await
        .map(drop)
    }

    async fn rotate_refresh(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: Timestamp,
        next_expires_at: Timestamp,
    ) -> Result<RefreshSession, RotateError> {
        let outcome = self
            .transaction(async |conn| {
                let Some(token) = refresh::table
                    .find(presented.as_str())
                    .select(RefreshRow::as_select())
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?
                else {
                    return Ok(Rotation::Invalid);
                };
                if token.revoked_at.is_some() || now >= token.expires_at {
                    return Ok(Rotation::Invalid);
                }
                if token.rotated_at.is_some() {
                    revoke_family_of(conn, token.family_id, now).await?;
                    return Ok(Rotation::Reused(UserId::from_uuid(token.user_id)));
                }
                diesel::update(refresh::table.find(presented.as_str()))
                    .set(refresh::rotated_at.eq(now))
                    .execute(conn)
                    .await?;
                diesel::insert_into(refresh::table)
                    .values(NewRefreshRow {
                        token_hash: next.as_str(),
                        family_id: token.family_id,
                        user_id: token.user_id,
                        issued_at: now,
                        expires_at: next_expires_at,
                    })
                    .execute(conn)
                    .await?;
                Ok(Rotation::Rotated(RefreshSession {
                    user_id: UserId::from_uuid(token.user_id),
                    family: TokenFamilyId::from_uuid(token.family_id),
                }))
            })
            .await
            .context("cannot rotate refresh token")?;
        match outcome {
            Rotation::Rotated(session) => Ok(session),
            Rotation::Invalid => Err(RotateError::Invalid),
            Rotation::Reused(user) => {
                tracing::warn!(
                    "a rotated refresh token was presented again; its family is revoked"
                );
                Err(RotateError::Reused { user })
            }
        }
    }

    async fn revoke_family(&self, presented: &TokenHash, now: Timestamp) -> anyhow::Result<()> {
        self.transaction(async |conn| {
            let family = refresh::table
                .find(presented.as_str())
                .select(refresh::family_id)
                .first::<Uuid>(conn)
                .await
                .optional()?;
            if let Some(family) = family {
                revoke_family_of(conn, family, now).await?;
            }
            Ok(())
        })
        .await
        .context("cannot revoke refresh token family")
    }

    async fn revoke_all_refresh(&self, user: UserId, now: Timestamp) -> anyhow::Result<()> {
        self.run(async |conn| {
            diesel::update(refresh::table)
                .filter(refresh::user_id.eq(user.as_uuid()))
                .filter(refresh::revoked_at.is_null())
                .set(refresh::revoked_at.eq(now))
                .execute(conn)
                .await
                .with_context(|| format!("cannot revoke the refresh tokens of user {user}"))
        })
        .await
        .map(drop)
    }

    async fn save_reset(&self, token: &NewResetToken) -> anyhow::Result<()> {
        self.run(async |conn| {
            diesel::insert_into(resets::table)
                .values(NewResetRow::from(token))
                .execute(conn)
                .await
                .context("cannot save password-reset token")
        })
        .await
        .map(drop)
    }

    async fn consume_reset(
        &self,
        presented: &TokenHash,
        now: Timestamp,
    ) -> anyhow::Result<Option<UserId>> {
        self.transaction(async |conn| {
            let Some(token) = resets::table
                .find(presented.as_str())
                .select(ResetRow::as_select())
                .for_update()
                .first(conn)
                .await
                .optional()?
            else {
                return Ok(None);
            };
            if token.used_at.is_some() || now >= token.expires_at {
                return Ok(None);
            }
            // This token and its unused siblings: one reset link works, then none do.
            diesel::update(resets::table)
                .filter(resets::user_id.eq(token.user_id))
                .filter(resets::used_at.is_null())
                .set(resets::used_at.eq(now))
                .execute(conn)
                .await?;
            Ok(Some(UserId::from_uuid(token.user_id)))
        })
        .await
        .context("cannot consume password-reset token")
    }
}
