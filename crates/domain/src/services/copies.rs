//! Copies of stored things (events, users) in this process's memory, kept exact by the
//! published versions of a [`VersionBoard`]: a copy is reused only while its version is
//! at least the published one and it has not reached the instant it stops holding.

use crate::Timestamp;
use crate::ports::{VersionBoard, VersionKey};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};

/// Things kept at most; past that the copies are dropped and read again.
const MAX_COPIES: usize = 10_000;

/// Where a read was answered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSource {
    /// The copy in memory, checked against the published version.
    Memory,
    /// The store: the copy was missing or behind, or the version is unknown.
    Store,
}

impl ReadSource {
    /// The stable lowercase name (a metric label).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Store => "store",
        }
    }
}

/// A thing as the store read it, at one version.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Versioned<T> {
    /// The thing.
    pub value: T,
    /// Its version when read.
    pub version: u64,
    /// When it stops holding without a change (an event's next hold expiry); `None`:
    /// only a change ends it.
    pub until: Option<Timestamp>,
}

/// One thing's copy, and the turn readers take to refresh it (one read of the store per
/// version, however many readers miss at once).
struct Slot<T> {
    copy: Option<Arc<Versioned<T>>>,
    refresh: Arc<tokio::sync::Mutex<()>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            copy: None,
            refresh: Arc::default(),
        }
    }
}

/// Copies checked against `board` before each use.
pub(crate) struct Copies<T> {
    board: Arc<dyn VersionBoard>,
    slots: RwLock<HashMap<VersionKey, Slot<T>>>,
}

impl<T: Clone> Copies<T> {
    pub(crate) fn new(board: Arc<dyn VersionBoard>) -> Self {
        Self {
            board,
            slots: RwLock::new(HashMap::new()),
        }
    }

    /// The thing under `key` as of `now`: from memory when the copy there is current,
    /// else from `load` (kept for the next readers). When the board cannot be reached or
    /// does not know the key, `load` answers and nothing is kept: slower, never stale.
    pub(crate) async fn read<F, Fut>(
        &self,
        key: VersionKey,
        now: Timestamp,
        load: F,
    ) -> anyhow::Result<(Option<T>, ReadSource)>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<Option<Versioned<T>>>>,
    {
        let published = match self.board.current(key).await {
            Ok(Some(version)) => version,
            Ok(None) => return Ok((load().await?.map(|v| v.value), ReadSource::Store)),
            Err(error) => {
                tracing::debug!(?key, error = %error, "version unknown: reading the store");
                return Ok((load().await?.map(|v| v.value), ReadSource::Store));
            }
        };
        if let Some(value) = self.current(key, published, now) {
            return Ok((Some(value), ReadSource::Memory));
        }
        let refresh = self.refresh_turn(key);
        let _turn = refresh.lock().await;
        // Another reader may have refreshed the copy while this one waited.
        if let Some(value) = self.current(key, published, now) {
            return Ok((Some(value), ReadSource::Memory));
        }
        let Some(read) = load().await? else {
            return Ok((None, ReadSource::Store));
        };
        let value = read.value.clone();
        self.keep(key, read);
        Ok((Some(value), ReadSource::Store))
    }

    /// The copy under `key` if it shows at least version `published` and still holds
    /// at `now`.
    fn current(&self, key: VersionKey, published: u64, now: Timestamp) -> Option<T> {
        let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
        let copy = slots.get(&key)?.copy.as_ref()?;
        let holds = copy.until.is_none_or(|until| now < until);
        (copy.version >= published && holds).then(|| copy.value.clone())
    }

    fn refresh_turn(&self, key: VersionKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        if slots.len() >= MAX_COPIES && !slots.contains_key(&key) {
            slots.clear();
        }
        slots.entry(key).or_default().refresh.clone()
    }

    /// Keeps `read` unless the copy in memory is newer.
    fn keep(&self, key: VersionKey, read: Versioned<T>) {
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.entry(key).or_default();
        if slot.copy.as_ref().is_none_or(|c| c.version <= read.version) {
            slot.copy = Some(Arc::new(read));
        }
    }
}

#[cfg(test)]
#[path = "copies_tests.rs"]
mod tests;
