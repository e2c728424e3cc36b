//! Versions of events and accounts: every transaction that changes what reading one
//! shows bumps its `version` and publishes it to the version board (Redis, shared by
//! every instance) *before* it commits, so that once the change is answered every
//! instance finds the new version and stops serving its older copy
//! (docs/performance.md).

use crate::models::ACTIVE;
use crate::schema::{events, holds};
use anyhow::Context as _;
use boxoffice_domain::event::EventVersion;
use boxoffice_domain::ports::{VersionBoard, VersionKey};
use boxoffice_domain::{EventId, Timestamp};
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel::{ExpressionMethods as _, QueryDsl as _, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

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
        let of_row = |table: &str| {
            format!("UPDATE {table} SET version = version + 1 WHERE id = $1 RETURNING version")
        };
        let bumped: Bumped = match key {
            VersionKey::Event(id) => {
                diesel::sql_query(of_row("events"))
                    .bind::<SqlUuid, _>(id.as_uuid())
                    .get_result(conn)
                    .await
            }
            VersionKey::User(id) => {
                diesel::sql_query(of_row("users"))
                    .bind::<SqlUuid, _>(id.as_uuid())
                    .get_result(conn)
                    .await
            }
            VersionKey::Catalog => {
                diesel::sql_query("UPDATE catalog SET version = version + 1 RETURNING version")
                    .get_result(conn)
                    .await
            }
        }
        .with_context(|| format!("cannot bump the version of {key:?}"))?;
        self.publish(key, bumped.version).await
    }
}

/// The catalog's version, read on `conn`.
pub(crate) async fn catalog(conn: &mut AsyncPgConnection) -> anyhow::Result<u64> {
    let read: Bumped = diesel::sql_query("SELECT version FROM catalog")
        .get_result(conn)
        .await
        .context("cannot read the catalog's version")?;
    Ok(u64::try_from(read.version)?)
}

/// The version of each of `ids`, and the earliest end after `now` of its live holds,
/// read on `conn`.
pub(crate) async fn of_events(
    conn: &mut AsyncPgConnection,
    ids: &[EventId],
    now: Timestamp,
) -> anyhow::Result<HashMap<EventId, EventVersion>> {
    let ids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
    let versions: Vec<(Uuid, i64)> = events::table
        .filter(events::id.eq_any(&ids))
        .select((events::id, events::version))
        .load(conn)
        .await
        .context("cannot read event versions")?;
    let ends: HashMap<Uuid, Option<Timestamp>> = holds::table
        .filter(holds::event_id.eq_any(&ids))
        .filter(holds::status.eq(ACTIVE))
        .filter(holds::expires_at.gt(now))
        .group_by(holds::event_id)
        .select((holds::event_id, diesel::dsl::min(holds::expires_at)))
        .load::<(Uuid, Option<Timestamp>)>(conn)
        .await
        .context("cannot read the next hold ends")?
        .into_iter()
        .collect();
    versions
        .into_iter()
        .map(|(id, version)| {
            let read = EventVersion {
                version: u64::try_from(version)?,
                changes_at: ends.get(&id).copied().flatten(),
            };
            Ok((EventId::from_uuid(id), read))
        })
        .collect()
}
