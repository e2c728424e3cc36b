//! Versions of events, accounts and the catalog: every write that changes what reading
//! one shows bumps its `version` and raises it on the store's [`LocalVersionBoard`]
//! before the write is answered, so reads served from memory stay exact
//! (docs/performance.md).

use crate::convert::{instant_opt, micros, uuid};
use crate::schema::{events, holds};
use anyhow::Context as _;
use boxoffice_domain::booking::HoldStatus;
use boxoffice_domain::event::EventVersion;
use boxoffice_domain::ports::{LocalVersionBoard, VersionKey};
use boxoffice_domain::{EventId, Timestamp};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use std::collections::HashMap;

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = BigInt)]
    version: i64,
}

/// Bumps the version of `key` (an existing row) inside the caller's write transaction
/// and raises it on `board`. The board is in this process's memory: it cannot fail, and
/// a reader that sees the new version before the commit reads the store until its copy
/// catches up.
pub(crate) fn bump(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    key: VersionKey,
) -> anyhow::Result<()> {
    let of_row = |table: &str| {
        format!("UPDATE {table} SET version = version + 1 WHERE id = ? RETURNING version")
    };
    let bumped: Version = match key {
        VersionKey::Event(id) => diesel::sql_query(of_row("events"))
            .bind::<Text, _>(id.to_string())
            .get_result(c),
        VersionKey::User(id) => diesel::sql_query(of_row("users"))
            .bind::<Text, _>(id.to_string())
            .get_result(c),
        VersionKey::Catalog => {
            diesel::sql_query("UPDATE catalog SET version = version + 1 RETURNING version")
                .get_result(c)
        }
    }
    .with_context(|| format!("cannot bump the version of {key:?}"))?;
    board.raise(key, u64::try_from(bumped.version)?);
    Ok(())
}

/// The catalog's version.
pub(crate) fn catalog(c: &mut SqliteConnection) -> anyhow::Result<u64> {
    let read: Version = diesel::sql_query("SELECT version FROM catalog")
        .get_result(c)
        .context("cannot read the catalog's version")?;
    Ok(u64::try_from(read.version)?)
}

/// The version of each of `ids`, and the earliest end after `now` of its live holds.
pub(crate) fn of_events(
    c: &mut SqliteConnection,
    ids: &[EventId],
    now: Timestamp,
) -> anyhow::Result<HashMap<EventId, EventVersion>> {
    let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let versions: Vec<(String, i64)> = events::table
        .filter(events::id.eq_any(&keys))
        .select((events::id, events::version))
        .load(c)
        .context("cannot read event versions")?;
    let ends: HashMap<String, Option<i64>> = holds::table
        .filter(holds::event_id.eq_any(&keys))
        .filter(holds::status.eq(HoldStatus::Active.as_str()))
        .filter(holds::expires_at.gt(micros(now)))
        .group_by(holds::event_id)
        .select((holds::event_id, diesel::dsl::min(holds::expires_at)))
        .load::<(String, Option<i64>)>(c)
        .context("cannot read the next hold ends")?
        .into_iter()
        .collect();
    versions
        .into_iter()
        .map(|(id, version)| {
            let read = EventVersion {
                version: u64::try_from(version)?,
                changes_at: instant_opt(ends.get(&id).copied().flatten())?,
            };
            Ok((EventId::from_uuid(uuid(&id)?), read))
        })
        .collect()
}
