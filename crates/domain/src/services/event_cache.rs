//! The copy of events in this process's memory that event reads are served from, kept
//! exact by the published versions of a [`VersionBoard`]: a copy is reused only while
//! its version is at least the published one and no hold it counts has ended.

use crate::event::{Event, EventSnapshot};
use crate::ports::{EventRepository, VersionBoard, VersionKey};
use crate::{EventId, Timestamp};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

/// Events kept at most; past that the copies are dropped and read again.
const MAX_EVENTS: usize = 10_000;

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

/// One event's copy, and the turn readers take to refresh it (one read of the store per
/// version, however many readers miss at once).
#[derive(Default)]
struct Slot {
    copy: Option<Arc<EventSnapshot>>,
    refresh: Arc<tokio::sync::Mutex<()>>,
}

/// Copies of events, checked against `board` before each use.
pub(crate) struct EventCache {
    board: Arc<dyn VersionBoard>,
    slots: RwLock<HashMap<EventId, Slot>>,
}

impl EventCache {
    pub(crate) fn new(board: Arc<dyn VersionBoard>) -> Self {
        Self {
            board,
            slots: RwLock::new(HashMap::new()),
        }
    }

    /// The event as `store.find(id, now)` would read it, from memory when the copy there
    /// is current. When the board cannot be reached or does not know the event, the
    /// store answers: slower, never stale.
    pub(crate) async fn read(
        &self,
        store: &dyn EventRepository,
        id: EventId,
        now: Timestamp,
    ) -> anyhow::Result<(Option<Event>, ReadSource)> {
        let published = match self.board.current(VersionKey::Event(id)).await {
            Ok(Some(version)) => version,
            Ok(None) => return Ok((store.find(id, now).await?, ReadSource::Store)),
            Err(error) => {
                tracing::debug!(event_id = %id, error = %error, "version unknown: reading the store");
                return Ok((store.find(id, now).await?, ReadSource::Store));
            }
        };
        if let Some(event) = self.current(id, published, now) {
            return Ok((Some(event), ReadSource::Memory));
        }
        let refresh = self.refresh_turn(id);
        let _turn = refresh.lock().await;
        // Another reader may have refreshed the copy while this one waited.
        if let Some(event) = self.current(id, published, now) {
            return Ok((Some(event), ReadSource::Memory));
        }
        let Some(snapshot) = store.snapshot(id, now).await? else {
            return Ok((None, ReadSource::Store));
        };
        let event = snapshot.event.clone();
        self.keep(snapshot);
        Ok((Some(event), ReadSource::Store))
    }

    /// The copy of `id` if it shows at least version `published` and no hold it counts
    /// has ended by `now`.
    fn current(&self, id: EventId, published: u64, now: Timestamp) -> Option<Event> {
        let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
        let copy = slots.get(&id)?.copy.as_ref()?;
        let holds = copy.changes_at.is_none_or(|at| now < at);
        (copy.version >= published && holds).then(|| copy.event.clone())
    }

    fn refresh_turn(&self, id: EventId) -> Arc<tokio::sync::Mutex<()>> {
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        if slots.len() >= MAX_EVENTS && !slots.contains_key(&id) {
            slots.clear();
        }
        slots.entry(id).or_default().refresh.clone()
    }

    /// Keeps `snapshot` unless the copy in memory is newer.
    fn keep(&self, snapshot: EventSnapshot) {
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        let slot = slots.entry(snapshot.event.id).or_default();
        if slot
            .copy
            .as_ref()
            .is_none_or(|c| c.version <= snapshot.version)
        {
            slot.copy = Some(Arc::new(snapshot));
        }
    }
}

#[cfg(test)]
#[path = "event_cache_tests.rs"]
mod tests;
