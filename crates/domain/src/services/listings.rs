//! Pages of `GET /events` kept in this process's memory, exact like the event copies
//! (see [`super::copies`]): a page is reused only while the catalog's published version
//! and every listed event's published version are no newer than the ones it was read
//! at, and until the first of its events starts (listings default to "from now") or a
//! hold it counts ends.

use super::copies::ReadSource;
use crate::event::{CatalogSnapshot, Event, EventCursor, EventQuery};
use crate::page::Page;
use crate::ports::{EventRepository, VersionBoard, VersionKey};
use crate::{EventId, Timestamp};
use chrono::Duration;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// Pages kept at most; past that they are dropped and read again.
const MAX_PAGES: usize = 1_000;

/// A listing as asked: `from` is `None` when it is "from now".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey {
    from: Option<Timestamp>,
    text: Option<String>,
    after: Option<(Timestamp, EventId)>,
    limit: u32,
}

impl PageKey {
    fn of(query: &EventQuery) -> Self {
        Self {
            from: (query.from != query.now).then_some(query.from),
            text: query.text.clone(),
            after: query.page.after.map(|c| (c.starts_at, c.id)),
            limit: query.page.limit,
        }
    }
}

/// A page as read, with the versions it was read at.
struct Listed {
    page: Arc<Page<Event, EventCursor>>,
    /// The catalog's version, then each listed event's, in the page's order.
    versions: Vec<(VersionKey, u64)>,
    /// When it stops holding without a change.
    until: Option<Timestamp>,
}

impl Listed {
    fn of(snapshot: CatalogSnapshot, from_now: bool) -> Self {
        let mut versions = vec![(VersionKey::Catalog, snapshot.version)];
        let mut until: Option<Timestamp> = None;
        let mut earliest = |at: Timestamp| until = Some(until.map_or(at, |u| u.min(at)));
        for item in &snapshot.page.items {
            versions.push((VersionKey::Event(item.event.id), item.version));
            if let Some(at) = item.changes_at {
                earliest(at);
            }
        }
        // "From now": the first event leaves the listing once it has started.
        if from_now && let Some(first) = snapshot.page.items.first() {
            earliest(first.event.details.starts_at + Duration::microseconds(1));
        }
        let page = Page {
            items: snapshot.page.items.into_iter().map(|s| s.event).collect(),
            next: snapshot.page.next,
        };
        Self {
            page: Arc::new(page),
            versions,
            until,
        }
    }
}

/// What the board says of a page kept in memory.
enum Check {
    /// Every version it was read at is still the newest: it can be used.
    Current(Arc<Page<Event, EventCursor>>),
    /// Missing, ended, or a version was overtaken: read the store again.
    Stale,
    /// The board failed or does not know a version: read the store, keep nothing.
    Unknown,
}

/// A listing answered on a remote board, shared by the readers of the same query that
/// arrived before it started.
struct Round {
    /// Readers with a lower ticket arrived before it started.
    started: u64,
    page: Arc<Page<Event, EventCursor>>,
    source: ReadSource,
}

/// Pages checked against `board` before each use.
pub(crate) struct Listings {
    board: Arc<dyn VersionBoard>,
    pages: RwLock<HashMap<PageKey, Arc<Listed>>>,
    /// One refresh of a missed page at a time, however many readers miss it.
    refresh: tokio::sync::Mutex<()>,
    /// With a remote board: the last round of each query, and readers' arrival order.
    rounds: std::sync::Mutex<HashMap<PageKey, Arc<tokio::sync::Mutex<Option<Round>>>>>,
    tickets: AtomicU64,
}

impl Listings {
    pub(crate) fn new(board: Arc<dyn VersionBoard>) -> Self {
        Self {
            board,
            pages: RwLock::new(HashMap::new()),
            refresh: tokio::sync::Mutex::new(()),
            rounds: std::sync::Mutex::default(),
            tickets: AtomicU64::new(0),
        }
    }

    /// The page `query` asks for, from memory when the copy there is current, else
    /// from `store` (kept for the next readers).
    pub(crate) async fn list(
        &self,
        store: &dyn EventRepository,
        query: &EventQuery,
    ) -> anyhow::Result<(Arc<Page<Event, EventCursor>>, ReadSource)> {
        let key = PageKey::of(query);
        if !self.board.lookups_are_remote() {
            return self.list_now(store, query, key).await;
        }
        // On a remote board, readers of one query take turns: each turn checks (or
        // reads the store) once, for itself and for every reader that arrived before
        // the turn started, so a busy listing costs one round trip per round trip.
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst);
        let round = {
            let mut rounds = self.rounds.lock().unwrap_or_else(PoisonError::into_inner);
            if rounds.len() >= MAX_PAGES && !rounds.contains_key(&key) {
                rounds.clear();
            }
            rounds.entry(key.clone()).or_default().clone()
        };
        let mut last = round.lock().await;
        if let Some(done) = &*last
            && done.started > ticket
        {
            return Ok((done.page.clone(), done.source));
        }
        let started = self.tickets.fetch_add(1, Ordering::SeqCst);
        let (page, source) = self.list_now(store, query, key).await?;
        *last = Some(Round {
            started,
            page: page.clone(),
            source,
        });
        Ok((page, source))
    }

    /// [`Listings::list`] for this reader alone.
    async fn list_now(
        &self,
        store: &dyn EventRepository,
        query: &EventQuery,
        key: PageKey,
    ) -> anyhow::Result<(Arc<Page<Event, EventCursor>>, ReadSource)> {
        let mut turn = None;
        loop {
            match self.check(&key, query.now).await {
                Check::Current(page) => return Ok((page, ReadSource::Memory)),
                Check::Unknown => {
                    let snapshot = store.list_snapshot(query).await?;
                    self.board.learn(VersionKey::Catalog, snapshot.version);
                    for item in &snapshot.page.items {
                        self.board
                            .learn(VersionKey::Event(item.event.id), item.version);
                    }
                    return Ok((self.keep(key, snapshot), ReadSource::Store));
                }
                // Wait for the reader refreshing it, then look again.
                Check::Stale if turn.is_none() => turn = Some(self.refresh.lock().await),
                Check::Stale => break,
            }
        }
        let snapshot = store.list_snapshot(query).await?;
        Ok((self.keep(key, snapshot), ReadSource::Store))
    }

    /// Keeps the page read as `snapshot` under `key`, telling the board the versions it
    /// was read at (see [`VersionBoard::learn`]); returns it.
    fn keep(&self, key: PageKey, snapshot: CatalogSnapshot) -> Arc<Page<Event, EventCursor>> {
        self.board.learn(VersionKey::Catalog, snapshot.version);
        for item in &snapshot.page.items {
            self.board
                .learn(VersionKey::Event(item.event.id), item.version);
        }
        let listed = Arc::new(Listed::of(snapshot, key.from.is_none()));
        let page = listed.page.clone();
        let mut pages = self.pages.write().unwrap_or_else(PoisonError::into_inner);
        if pages.len() >= MAX_PAGES && !pages.contains_key(&key) {
            pages.clear();
            self.rounds
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
        pages.insert(key, listed);
        page
    }

    /// Whether the page kept under `key` can be used at `now`.
    async fn check(&self, key: &PageKey, now: Timestamp) -> Check {
        let listed = self
            .pages
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned();
        let Some(listed) = listed else {
            return Check::Stale;
        };
        if listed.until.is_some_and(|until| now >= until) {
            return Check::Stale;
        }
        let keys: Vec<VersionKey> = listed.versions.iter().map(|(k, _)| *k).collect();
        let published = match self.board.current_many(&keys).await {
            Ok(published) => published,
            Err(error) => {
                tracing::debug!(error = %error, "versions unknown: listing from the store");
                return Check::Unknown;
            }
        };
        let mut check = Check::Current(listed.page.clone());
        for (published, (_, read)) in published.iter().zip(&listed.versions) {
            match published {
                None => return Check::Unknown,
                Some(p) if p > read => check = Check::Stale,
                Some(_) => {}
            }
        }
        check
    }
}

#[cfg(test)]
#[path = "listings_tests.rs"]
mod tests;
