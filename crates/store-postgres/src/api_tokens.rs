//! [`ApiTokens`] over the `api_tokens` table.

use crate::PgStore;
use crate::schema::api_tokens;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::api_token::{ApiToken, StoredLists};
use boxoffice_domain::ports::ApiTokens;
use boxoffice_domain::secret::TokenHash;
use boxoffice_domain::{Timestamp, UserId};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::pg::Pg))]
struct TokenRow {
    id: Uuid,
    owner_id: Uuid,
    name: String,
    token_hash: String,
    scopes: String,
    event_ids: String,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
}

impl TokenRow {
    fn into_token(self) -> anyhow::Result<ApiToken> {
        let (scopes, event_ids) = StoredLists {
            scopes: self.scopes,
            event_ids: self.event_ids,
        }
        .parse()
        .with_context(|| format!("api token {}", self.id))?;
        Ok(ApiToken {
            id: self.id,
            owner_id: UserId::from_uuid(self.owner_id),
            name: self.name,
            scopes,
            event_ids,
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
        })
    }
}

#[async_trait]
impl ApiTokens for PgStore {
    async fn create(&self, token: &ApiToken, hash: &TokenHash) -> anyhow::Result<()> {
        let lists = StoredLists::of(token);
        let row = TokenRow {
            id: token.id,
            owner_id: token.owner_id.as_uuid(),
            name: token.name.clone(),
            token_hash: hash.as_str().to_owned(),
            scopes: lists.scopes,
            event_ids: lists.event_ids,
            created_at: token.created_at,
            expires_at: token.expires_at,
            revoked_at: token.revoked_at,
        };
        self.run(async |conn| {
            diesel::insert_into(api_tokens::table)
                .values(&row)
                .execute(conn)
                .await
                .context("cannot store an api token")
        })
        .await?;
        Ok(())
    }

    async fn find_by_hash(&self, hash: &TokenHash) -> anyhow::Result<Option<ApiToken>> {
        let hash = hash.as_str().to_owned();
        self.run(async |conn| {
            api_tokens::table
                .filter(api_tokens::token_hash.eq(hash))
                .select(TokenRow::as_select())
                .first(conn)
                .await
                .optional()
                .context("cannot read an api token")
        })
        .await?
        .map(TokenRow::into_token)
        .transpose()
    }

    async fn find(&self, id: Uuid) -> anyhow::Result<Option<ApiToken>> {
        self.run(async |conn| {
            api_tokens::table
                .find(id)
                .select(TokenRow::as_select())
                .first(conn)
                .await
                .optional()
                .context("cannot read an api token")
        })
        .await?
        .map(TokenRow::into_token)
        .transpose()
    }

    async fn list(&self, owner: Option<UserId>) -> anyhow::Result<Vec<ApiToken>> {
        let mut query = api_tokens::table
            .select(TokenRow::as_select())
            .order(api_tokens::id.desc())
            .into_boxed();
        if let Some(owner) = owner {
            query = query.filter(api_tokens::owner_id.eq(owner.as_uuid()));
        }
        self.run(async |conn| query.load(conn).await.context("cannot list api tokens"))
            .await?
            .into_iter()
            .map(TokenRow::into_token)
            .collect()
    }

    async fn revoke(&self, id: Uuid, at: Timestamp) -> anyhow::Result<bool> {
        let changed = self
            .run(async |conn| {
                diesel::update(
                    api_tokens::table
                        .find(id)
                        .filter(api_tokens::revoked_at.is_null()),
                )
                .set(api_tokens::revoked_at.eq(at))
                .execute(conn)
                .await
                .context("cannot revoke an api token")
            })
            .await?;
        Ok(changed == 1)
    }
}
