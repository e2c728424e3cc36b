//! Unit tests of the listings kept in memory: when a page is reused, and when not.

use super::*;
use crate::UserId;
use crate::event::{EventSnapshot, EventStatus, tests_support};
use crate::page::PageRequest;
use crate::ports::{LocalVersionBoard, MockEventRepository};
use chrono::Utc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

fn event(starts_at: Timestamp) -> Event {
    let mut details = tests_support::details();
    details.starts_at = starts_at;
    details.ends_at = None;
    Event {
        id: EventId::generate(),
        organizer_id: UserId::generate(),
        details,
        status: EventStatus::Scheduled,
        created_at: Utc::now(),
        sold: 0,
        held: 0,
        waitlist_count: 0,
        ticket_types: vec![],
    }
}

fn query(now: Timestamp, from: Option<Timestamp>) -> EventQuery {
    EventQuery {
        from: from.unwrap_or(now),
        text: None,
        page: PageRequest {
            limit: 20,
            after: None,
        },
        now,
    }
}

/// A store listing `events` (at the versions and hold ends given), catalog version
/// `catalog`, counting its listings; what it lists can be changed.
struct Listing {
    snapshot: Arc<Mutex<CatalogSnapshot>>,
    reads: Arc<AtomicUsize>,
}

impl Listing {
    fn new(catalog: u64, events: &[(Event, u64, Option<Timestamp>)]) -> Self {
        let items = events
            .iter()
            .map(|(event, version, changes_at)| EventSnapshot {
                event: event.clone(),
                version: *version,
                changes_at: *changes_at,
            })
            .collect();
        Self {
            snapshot: Arc::new(Mutex::new(CatalogSnapshot {
                page: Page { items, next: None },
                version: catalog,
            })),
            reads: Arc::default(),
        }
    }

    fn store(&self) -> MockEventRepository {
        let mut store = MockEventRepository::new();
        let (snapshot, reads) = (self.snapshot.clone(), self.reads.clone());
        store.expect_list_snapshot().returning(move |_| {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok(snapshot.lock().expect("lock").clone())
        });
        store
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

fn board(versions: &[(VersionKey, u64)]) -> Arc<LocalVersionBoard> {
    let board = Arc::new(LocalVersionBoard::default());
    for &(key, version) in versions {
        board.raise(key, version);
    }
    board
}

#[tokio::test]
async fn a_current_page_is_served_from_memory() {
    let now = Utc::now();
    let first = event(now + chrono::Duration::days(1));
    let listing = Listing::new(4, &[(first.clone(), 2, None)]);
    let store = listing.store();
    let listings = Listings::new(board(&[
        (VersionKey::Catalog, 4),
        (VersionKey::Event(first.id), 2),
    ]));
    let (page, from) = listings
        .list(&store, &query(now, None))
        .await
        .expect("list");
    assert_eq!((page.items.len(), from), (1, ReadSource::Store));
    let (again, from) = listings
        .list(&store, &query(now, None))
        .await
        .expect("list");
    assert_eq!(from, ReadSource::Memory);
    assert!(Arc::ptr_eq(&page, &again), "the same page");
    assert_eq!(listing.reads(), 1);
}

#[tokio::test]
async fn a_newer_event_or_catalog_version_reads_the_store_again() {
    let now = Utc::now();
    let first = event(now + chrono::Duration::days(1));
    let listing = Listing::new(4, &[(first.clone(), 2, None)]);
    let store = listing.store();
    let board = board(&[(VersionKey::Catalog, 4), (VersionKey::Event(first.id), 2)]);
    let listings = Listings::new(board.clone());
    listings
        .list(&store, &query(now, None))
        .await
        .expect("list");
    for key in [VersionKey::Event(first.id), VersionKey::Catalog] {
        board.raise(key, 9);
        let (_, from) = listings
            .list(&store, &query(now, None))
            .await
            .expect("list");
        assert_eq!(from, ReadSource::Store, "after {key:?} changed");
    }
    assert_eq!(listing.reads(), 3);
}

#[tokio::test]
async fn a_page_from_now_stops_holding_once_its_first_event_starts() {
    let now = Utc::now();
    let starts = now + chrono::Duration::seconds(30);
    let first = event(starts);
    let listing = Listing::new(1, &[(first.clone(), 1, None)]);
    let store = listing.store();
    let listings = Listings::new(board(&[
        (VersionKey::Catalog, 1),
        (VersionKey::Event(first.id), 1),
    ]));
    listings
        .list(&store, &query(now, None))
        .await
        .expect("list");
    let (_, from) = listings
        .list(&store, &query(starts, None))
        .await
        .expect("list");
    assert_eq!(from, ReadSource::Memory, "still listed at its start");
    let later = starts + chrono::Duration::microseconds(1);
    let (_, from) = listings
        .list(&store, &query(later, None))
        .await
        .expect("list");
    assert_eq!(from, ReadSource::Store, "started: the page changes");
    // A listing from a fixed instant does not change with time.
    listings
        .list(&store, &query(now, Some(now - chrono::Duration::days(1))))
        .await
        .expect("list");
    let fixed = Some(now - chrono::Duration::days(1));
    let (_, from) = listings
        .list(&store, &query(later, fixed))
        .await
        .expect("list");
    assert_eq!(from, ReadSource::Memory);
}

#[tokio::test]
async fn a_page_stops_holding_when_a_hold_it_counts_ends() {
    let now = Utc::now();
    let ends = now + chrono::Duration::seconds(5);
    let first = event(now + chrono::Duration::days(1));
    let listing = Listing::new(1, &[(first.clone(), 1, Some(ends))]);
    let store = listing.store();
    let listings = Listings::new(board(&[
        (VersionKey::Catalog, 1),
        (VersionKey::Event(first.id), 1),
    ]));
    listings
        .list(&store, &query(now, None))
        .await
        .expect("list");
    let (_, from) = listings
        .list(&store, &query(ends, None))
        .await
        .expect("list");
    assert_eq!(from, ReadSource::Store);
}

#[tokio::test]
async fn unknown_versions_on_a_shared_board_list_from_the_store_every_time() {
    let now = Utc::now();
    let first = event(now + chrono::Duration::days(1));
    let listing = Listing::new(1, &[(first.clone(), 1, None)]);
    let store = listing.store();
    // The board lost the catalog's version.
    let mut board = crate::ports::MockVersionBoard::new();
    board.expect_current_many().returning(|keys| {
        Ok(keys
            .iter()
            .map(|k| (*k != VersionKey::Catalog).then_some(1))
            .collect())
    });
    board.expect_lookups_are_remote().return_const(false);
    board.expect_learn().return_const(());
    let listings = Listings::new(Arc::new(board));
    for _ in 0..3 {
        let (_, from) = listings
            .list(&store, &query(now, None))
            .await
            .expect("list");
        assert_eq!(from, ReadSource::Store);
    }
    assert_eq!(listing.reads(), 3);
}

#[tokio::test]
async fn a_board_of_the_only_writer_learns_the_versions_a_listing_read() {
    let now = Utc::now();
    let first = event(now + chrono::Duration::days(1));
    let listing = Listing::new(3, &[(first.clone(), 2, None)]);
    let store = listing.store();
    // A restarted process: its board knows nothing yet.
    let board = Arc::new(LocalVersionBoard::default());
    let listings = Listings::new(board.clone());
    let (_, from) = listings
        .list(&store, &query(now, None))
        .await
        .expect("list");
    assert_eq!(from, ReadSource::Store);
    assert_eq!(board.get(VersionKey::Catalog), Some(3));
    assert_eq!(board.get(VersionKey::Event(first.id)), Some(2));
    let (_, from) = listings
        .list(&store, &query(now, None))
        .await
        .expect("list");
    assert_eq!(from, ReadSource::Memory);
    assert_eq!(listing.reads(), 1);
}

/// A remote board whose lookups take a while and answer what they found when they
/// started; counts them.
struct SlowBoard {
    inner: LocalVersionBoard,
    lookups: AtomicUsize,
}

#[async_trait::async_trait]
impl VersionBoard for SlowBoard {
    async fn publish(&self, key: VersionKey, version: u64) -> anyhow::Result<()> {
        self.inner.raise(key, version);
        Ok(())
    }

    async fn current(&self, key: VersionKey) -> anyhow::Result<Option<u64>> {
        Ok(self.current_many(&[key]).await?[0])
    }

    async fn current_many(&self, keys: &[VersionKey]) -> anyhow::Result<Vec<Option<u64>>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let found = keys.iter().map(|&k| self.inner.get(k)).collect();
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        Ok(found)
    }

    fn lookups_are_remote(&self) -> bool {
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_a_remote_board_readers_share_turns_that_started_after_they_arrived() {
    let now = Utc::now();
    let first = event(now + chrono::Duration::days(1));
    let listing = Arc::new(Listing::new(1, &[(first.clone(), 1, None)]));
    let board = Arc::new(SlowBoard {
        inner: LocalVersionBoard::default(),
        lookups: AtomicUsize::new(0),
    });
    board.inner.raise(VersionKey::Catalog, 1);
    board.inner.raise(VersionKey::Event(first.id), 1);
    let listings = Arc::new(Listings::new(board.clone()));
    let store = Arc::new(listing.store());
    listings
        .list(&*store, &query(now, None))
        .await
        .expect("list");

    let reads = futures_util::future::join_all((0..50).map(|_| {
        let (listings, store, q) = (listings.clone(), store.clone(), query(now, None));
        async move { listings.list(&*store, &q).await }
    }))
    .await;
    assert!(
        reads
            .iter()
            .all(|r| matches!(r, Ok((p, _)) if p.items.len() == 1))
    );
    let lookups = board.lookups.load(Ordering::SeqCst);
    assert!(lookups <= 4, "50 readers at once made {lookups} lookups");

    // Reader A's turn starts and finds the page current ...
    let (a_listings, a_store) = (listings.clone(), store.clone());
    let a = tokio::spawn(async move { a_listings.list(&*a_store, &query(now, None)).await });
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    // ... then the event changes and the change is answered, then reader B arrives.
    listing.snapshot.lock().expect("lock").page.items[0].version = 2;
    board
        .publish(VersionKey::Event(first.id), 2)
        .await
        .expect("publish");
    let reads_before = listing.reads();
    let (_, b) = listings
        .list(&*store, &query(now, None))
        .await
        .expect("list");
    assert_eq!(
        a.await.expect("reader A").expect("list").1,
        ReadSource::Memory
    );
    assert_eq!(b, ReadSource::Store, "B must not take A's turn");
    assert_eq!(listing.reads(), reads_before + 1);
}
