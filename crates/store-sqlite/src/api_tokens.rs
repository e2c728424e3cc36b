//! [`ApiTokens`] over the `api_tokens` table.

use crate::SqliteStore;
use crate::convert::{instant, instant_opt, micros, micros_opt, uuid};
use crate::schema::api_tokens;
use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::api_token::{ApiToken, StoredLists};
use boxoffice_domain::ports::ApiTokens;
use boxoffice_domain::secret::TokenHash;
use boxoffice_domain::{Timestamp, UserId};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::sqlite::Sqlite))]
struct TokenRow {
    id: String,
    owner_id: String,
    name: String,
    token_hash: String,
    scopes: String,
    event_ids: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
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
            id: uuid(&self.id)?,
            owner_id: UserId::from_uuid(uuid(&self.owner_id)?),
            name: self.name,
            scopes,
            event_ids,
            created_at: instant(self.created_at)?,
            expires_at: instant_opt(self.expires_at)?,
            revoked_at: instant_opt(self.revoked_at)?,
        })
    }
}

fn load(
    c: &mut SqliteConnection,
    query: api_tokens::BoxedQuery<'static, diesel::sqlite::Sqlite>,
) -> anyhow::Result<Vec<ApiToken>> {
    query
        .select(TokenRow::as_select())
        .load::<TokenRow>(c)
        .context("cannot read api tokens")?
        .into_iter()
        .map(TokenRow::into_token)
        .collect()
}

#[async_trait]
impl ApiTokens for SqliteStore {
    async fn create(&self, token: &ApiToken, hash: &TokenHash) -> anyhow::Result<()> {
        let lists = StoredLists::of(token);
        let row = TokenRow {
            id: token.id.to_string(),
            owner_id: token.owner_id.to_string(),
            name: token.name.clone(),
            token_hash: hash.as_str().to_owned(),
            scopes: lists.scopes,
            event_ids: lists.event_ids,
            created_at: micros(token.created_at),
            expires_at: micros_opt(token.expires_at),
            revoked_at: micros_opt(token.revoked_at),
        };
        self.write(move |c| {
            diesel::insert_into(api_tokens::table)
                .values(&row)
                .execute(c)
                .context("cannot store an api token")
        })
        .await?;
        Ok(())
    }

    async fn find_by_hash(&self, hash: &TokenHash) -> anyhow::Result<Option<ApiToken>> {
        let hash = hash.as_str().to_owned();
        self.read(move |c| {
            let query = api_tokens::table
                .filter(api_tokens::token_hash.eq(hash))
                .into_boxed();
            Ok(load(c, query)?.pop())
        })
        .await
    }

    async fn find(&self, id: Uuid) -> anyhow::Result<Option<ApiToken>> {
        self.read(move |c| {
            let query = api_tokens::table.find(id.to_string()).into_boxed();
            Ok(load(c, query)?.pop())
        })
        .await
    }

    async fn list(&self, owner: Option<UserId>) -> anyhow::Result<Vec<ApiToken>> {
        self.read(move |c| {
            let mut query = api_tokens::table.order(api_tokens::id.desc()).into_boxed();
            if let Some(owner) = owner {
                query = query.filter(api_tokens::owner_id.eq(owner.to_string()));
            }
            load(c, query)
        })
        .await
    }

    async fn revoke(&self, id: Uuid, at: Timestamp) -> anyhow::Result<bool> {
        let changed = self
            .write(move |c| {
                diesel::update(
                    api_tokens::table
                        .find(id.to_string())
                        .filter(api_tokens::revoked_at.is_null()),
                )
                .set(api_tokens::revoked_at.eq(micros(at)))
                .execute(c)
                .context("cannot revoke an api token")
            })
            .await?;
        Ok(changed == 1)
    }
}
