//! Copies of stored things (events, users) in this process's memory, kept exact by the
//! published versions of a [`VersionBoard`]: a copy is reused only while its version is
//! at least the published one and it has not reached the instant it stops holding.

use crate::Timestamp;
use crate::ports::{VersionBoard, VersionKey};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// Things kept at most, unless set otherwise; past that the copies are dropped and read
/// again.
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
pub struct Versioned<T> {
    /// The thing.
    pub value: T,
    /// Its version when read.
    pub version: u64,
    /// When it stops holding without a change (an event's next hold expiry); `None`:
    /// only a change ends it.
    pub until: Option<Timestamp>,
}

/// One thing's copy, the turn readers take to refresh it (one read of the store per
/// version, however many readers miss at once), and the last shared lookup of its
/// published version.
struct Slot<T> {
    copy: Option<Arc<Versioned<T>>>,
    refresh: Arc<tokio::sync::Mutex<()>>,
    lookup: Arc<tokio::sync::Mutex<Option<Lookup>>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            copy: None,
            refresh: Arc::default(),
            lookup: Arc::default(),
        }
    }
}

/// A lookup of a published version on a remote board, shared by the readers that
/// arrived before it started.
#[derive(Clone, Copy)]
struct Lookup {
    /// Readers with a lower ticket arrived before the lookup started.
    started: u64,
    /// What it found; `None` also when the board failed.
    found: Option<u64>,
}

/// Copies checked against `board` before each use.
pub(crate) struct Copies<T> {
    board: Arc<dyn VersionBoard>,
    slots: RwLock<HashMap<VersionKey, Slot<T>>>,
    /// Readers' arrival order, for sharing lookups.
    tickets: AtomicU64,
    /// Things kept at most.
    max: usize,
}

impl<T: Clone> Copies<T> {
    pub(crate) fn new(board: Arc<dyn VersionBoard>) -> Self {
        Self {
            board,
            slots: RwLock::new(HashMap::new()),
            tickets: AtomicU64::new(0),
            max: MAX_COPIES,
        }
    }

    /// The same copies, keeping up to `max` things.
    pub(crate) fn holding(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    /// The thing under `key` as of `now`: from memory when the copy there is current,
    /// else from `load` (kept for the next readers). When the board cannot be reached or
    /// does not know the key, `load` answers and nothing is kept: slower, never stale.
    pub(crate) async fn read<F, Fut>(
        &self,
        key: VersionKey,
        now: Timestamp,
        load: F,
    ) -> anyhow::Result<(Option<Arc<Versioned<T>>>, ReadSource)>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<Option<Versioned<T>>>>,
    {
        let Some(published) = self.published(key).await else {
            let read = load().await?.map(Arc::new);
            if let Some(read) = &read {
                self.board.learn(key, read.version);
            }
            return Ok((read, ReadSource::Store));
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
        let read = Arc::new(read);
        self.keep(key, read.clone());
        Ok((Some(read), ReadSource::Store))
    }

    /// The published version of `key`; `None` when unknown or the board failed. On a
    /// remote board, readers that arrive while a lookup is under way share the next
    /// one: every reader gets the answer of a lookup that started after it arrived,
    /// and a busy key costs about one round trip per round trip, not one per reader.
    async fn published(&self, key: VersionKey) -> Option<u64> {
        if !self.board.lookups_are_remote() {
            return self.look_up(key).await;
        }
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst);
        let lookup = self.slot_part(key, |slot| slot.lookup.clone());
        let mut last = lookup.lock().await;
        if let Some(done) = *last
            && done.started > ticket
        {
            return done.found;
        }
        let started = self.tickets.fetch_add(1, Ordering::SeqCst);
        let found = self.look_up(key).await;
        *last = Some(Lookup { started, found });
        found
    }

    async fn look_up(&self, key: VersionKey) -> Option<u64> {
        match self.board.current(key).await {
            Ok(found) => found,
            Err(error) => {
                tracing::debug!(?key, error = %error, "version unknown: reading the store");
                None
            }
        }
    }

    /// The copy under `key` if it shows at least version `published` and still holds
    /// at `now`.
    fn current(
        &self,
        key: VersionKey,
        published: u64,
        now: Timestamp,
    ) -> Option<Arc<Versioned<T>>> {
        let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
        let copy = slots.get(&key)?.copy.as_ref()?;
        let holds = copy.until.is_none_or(|until| now < until);
        (copy.version >= published && holds).then(|| copy.clone())
    }

    fn refresh_turn(&self, key: VersionKey) -> Arc<tokio::sync::Mutex<()>> {
        self.slot_part(key, |slot| slot.refresh.clone())
    }

    /// `part` of the slot of `key`, made if missing.
    fn slot_part<P>(&self, key: VersionKey, part: impl FnOnce(&Slot<T>) -> P) -> P {
        if let Some(slot) = self
            .slots
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return part(slot);
        }
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        if slots.len() >= self.max && !slots.contains_key(&key) {
            slots.clear();
        }
        part(slots.entry(key).or_default())
    }

    /// Keeps `read` unless the copy in memory is newer.
    fn keep(&self, key: VersionKey, read: Arc<Versioned<T>>) {
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.entry(key).or_default();
        if slot.copy.as_ref().is_none_or(|c| c.version <= read.version) {
            slot.copy = Some(read);
        }
    }
}

#[cfg(test)]
#[path = "copies_tests.rs"]
mod tests;
