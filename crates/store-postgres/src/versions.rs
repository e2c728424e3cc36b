//! Versions of events and accounts: every transaction that changes what reading one
//! shows bumps its `version` and publishes it to the version board (Redis, shared by
//! every instance) *before* it commits, so that once the change is answered every
//! instance finds the new version and stops serving its older copy
//! (docs/performance.md).

use anyhow::Context as _;
use boxoffice_domain::ports::{VersionBoard, VersionKey};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use std::sync::Arc;

#[derive(QueryableByName)]
struct Bumped {
    #[diesel(sql_type = BigInt)]
    version: i64,
}

/// Where transactions publish versions; without a board, nothing is published and no
/// instance may serve events or accounts from memory.
#[derive(Clone, Default)]
pub(crate) struct Publisher(Option<Arc<dyn VersionBoard>>);

impl Publisher {
    pub(crate) fn to(board: Arc<dyn VersionBoard>) -> Self {
        Self(Some(board))
    }

    /// Publishes `version` of `key`. The caller's transaction has not committed yet:
    /// when this fails, the caller fails and the change rolls back.
    pub(crate) async fn publish(&self, key: VersionKey, version: i64) -> anyhow::Result<()> {
        if let Some(board) = &self.0 {
            board
                .publish(key, u64::try_from(version)?)
                .await
                .with_context(|| format!("cannot publish version {version} of {key:?}"))?;
        }
        Ok(())
    }

    /// Bumps the version of `key` (an existing row) inside the caller's transaction and
    /// publishes it.
    pub(crate) async fn bump(
        &self,
        conn: &mut AsyncPgConnection,
        key: VersionKey,
    ) -> anyhow::Result<()> {
        let (table, id) = match key {
            VersionKey::Event(id) => ("events", id.as_uuid()),
            VersionKey::User(id) => ("users", id.as_uuid()),
        };
        let bumped: Bumped = diesel::sql_query(format!(
            "UPDATE {table} SET version = version + 1 WHERE id = $1 RETURNING version"
        ))
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .with_context(|| format!("cannot bump the version of {key:?}"))?;
        self.publish(key, bumped.version).await
    }
}
