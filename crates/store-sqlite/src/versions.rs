//! Versions of events and accounts: every write that changes what reading one shows
//! bumps its `version` and raises it on the store's [`LocalVersionBoard`] before the
//! write is answered, so reads served from memory stay exact (docs/performance.md).

use anyhow::Context as _;
use boxoffice_domain::ports::{LocalVersionBoard, VersionKey};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

#[derive(QueryableByName)]
struct Bumped {
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
    let (table, id) = match key {
        VersionKey::Event(id) => ("events", id.to_string()),
        VersionKey::User(id) => ("users", id.to_string()),
    };
    let bumped: Bumped = diesel::sql_query(format!(
        "UPDATE {table} SET version = version + 1 WHERE id = ? RETURNING version"
    ))
    .bind::<Text, _>(id)
    .get_result(c)
    .with_context(|| format!("cannot bump the version of {key:?}"))?;
    board.raise(key, u64::try_from(bumped.version)?);
    Ok(())
}
