//! Versions of what instances keep in memory, published where every instance can check
//! them before reusing its copy (see `docs/performance.md`).

use crate::{EventId, UserId};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Something whose copies in memory must be checked against its published version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionKey {
    /// One event: its details, ticket types and seat figures.
    Event(EventId),
    /// One account: its profile, role and whether it is active.
    User(UserId),
    /// Which events are scheduled, and their names, venues and start times: what
    /// decides which events a listing shows and in which order.
    Catalog,
}

/// Where stores publish versions and readers look them up. A version only grows: a
/// store publishes the version a change will have *before* the change commits (and
/// rolls the change back when publishing fails), so once the change is answered, every
/// reader finds at least that version.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait VersionBoard: Send + Sync + 'static {
    /// Raises the published version of `key` to `version`, unless it is already higher.
    /// # Errors
    /// When the board cannot be reached; the caller must then not commit its change.
    async fn publish(&self, key: VersionKey, version: u64) -> anyhow::Result<()>;

    /// The published version of `key`; `None` when the board does not know it (never
    /// published, or lost, as after a restart of a board in memory).
    /// # Errors
    /// When the board cannot be reached.
    async fn current(&self, key: VersionKey) -> anyhow::Result<Option<u64>>;

    /// [`VersionBoard::current`] of each of `keys`, in order, in one go where the board
    /// can.
    /// # Errors
    /// When the board cannot be reached.
    async fn current_many(&self, keys: &[VersionKey]) -> anyhow::Result<Vec<Option<u64>>> {
        let mut found = Vec::with_capacity(keys.len());
        for &key in keys {
            found.push(self.current(key).await?);
        }
        Ok(found)
    }

    /// Whether looking a version up is a round trip (to another server), worth sharing
    /// between readers that wait at once.
    fn lookups_are_remote(&self) -> bool {
        false
    }

    /// Tells the board the version a reader just read of `key` from the store, where
    /// the board did not know it. Only a board that no change can bypass may take it
    /// (one in the memory of the only process that writes, which every change raises
    /// before it commits); a shared board ignores it, since it may have lost a version
    /// published for a change not yet committed.
    fn learn(&self, _key: VersionKey, _version: u64) {}
}

/// A [`VersionBoard`] in this process's memory: enough when one process serves every
/// request (the embedded SQLite store).
#[derive(Debug, Default)]
pub struct LocalVersionBoard {
    versions: Mutex<HashMap<VersionKey, u64>>,
}

impl LocalVersionBoard {
    /// [`VersionBoard::publish`], for callers that cannot wait (it never does).
    pub fn raise(&self, key: VersionKey, version: u64) {
        let mut versions = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        let known = versions.entry(key).or_insert(version);
        *known = (*known).max(version);
    }

    /// [`VersionBoard::current`], without waiting.
    #[must_use]
    pub fn get(&self, key: VersionKey) -> Option<u64> {
        let versions = self.versions.lock().unwrap_or_else(PoisonError::into_inner);
        versions.get(&key).copied()
    }
}

#[async_trait]
impl VersionBoard for LocalVersionBoard {
    async fn publish(&self, key: VersionKey, version: u64) -> anyhow::Result<()> {
        self.raise(key, version);
        Ok(())
    }

    async fn current(&self, key: VersionKey) -> anyhow::Result<Option<u64>> {
        Ok(self.get(key))
    }

    /// Raising to a version read from the store is safe here: a change in flight has
    /// already raised its own, higher version, and raising never lowers one. This is
    /// how a restarted process comes to know the versions of things unchanged since.
    fn learn(&self, key: VersionKey, version: u64) {
        self.raise(key, version);
    }
}
