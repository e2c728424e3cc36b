//! Event versions: every write that changes what reading an event shows bumps the
//! event's `version` and raises it on the store's [`LocalVersionBoard`] before the write
//! is answered, so event reads served from memory stay exact (docs/performance.md).

use crate::schema::events;
use anyhow::Context as _;
use boxoffice_domain::EventId;
use boxoffice_domain::ports::{LocalVersionBoard, VersionKey};
use diesel::prelude::*;

/// Bumps the version of event `id` inside the caller's write transaction and raises it
/// on `board`. The board is in this process's memory: it cannot fail, and a reader that
/// sees the new version before the commit reads the store until the copy catches up.
pub(crate) fn bump(
    c: &mut SqliteConnection,
    board: &LocalVersionBoard,
    id: EventId,
) -> anyhow::Result<()> {
    let key = id.to_string();
    diesel::update(events::table.find(&key))
        .set(events::version.eq(events::version + 1))
        .execute(c)
        .context("cannot bump the event's version")?;
    let version: i64 = events::table
        .find(&key)
        .select(events::version)
        .first(c)
        .context("cannot read the event's version")?;
    board.raise(VersionKey::Event(id), u64::try_from(version)?);
    Ok(())
}
