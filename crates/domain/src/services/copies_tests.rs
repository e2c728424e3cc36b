//! Unit tests of the copies in memory: when they answer, and when they must not.

use super::*;
use crate::EventId;
use crate::ports::{LocalVersionBoard, MockVersionBoard};
use chrono::{Duration, Utc};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A store of one number whose version is the number itself; counts its reads.
#[derive(Default)]
struct Store {
    value: AtomicU64,
    until: Option<Timestamp>,
    reads: AtomicUsize,
}

impl Store {
    fn at(value: u64) -> Self {
        Self {
            value: AtomicU64::new(value),
            ..Self::default()
        }
    }

    async fn load(&self) -> anyhow::Result<Option<Versioned<u64>>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let value = self.value.load(Ordering::SeqCst);
        Ok(Some(Versioned {
            value,
            version: value,
            until: self.until,
        }))
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

/// `copies.read`, with the value instead of its versioned copy.
async fn read_value<F, Fut>(
    copies: &Copies<u64>,
    key: VersionKey,
    now: Timestamp,
    load: F,
) -> (Option<u64>, ReadSource)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<Versioned<u64>>>>,
{
    let (read, source) = copies.read(key, now, load).await.expect("read");
    (read.map(|r| r.value), source)
}

fn key() -> VersionKey {
    VersionKey::Event(EventId::generate())
}

fn board_at(key: VersionKey, version: u64) -> Arc<LocalVersionBoard> {
    let board = Arc::new(LocalVersionBoard::default());
    board.raise(key, version);
    board
}

#[tokio::test]
async fn a_current_copy_is_served_from_memory() {
    let (key, store) = (key(), Store::at(3));
    let copies = Copies::new(board_at(key, 3));
    let now = Utc::now();
    let first = read_value(&copies, key, now, || store.load()).await;
    let second = read_value(&copies, key, now, || store.load()).await;
    assert_eq!(first, (Some(3), ReadSource::Store));
    assert_eq!(second, (Some(3), ReadSource::Memory));
    assert_eq!(store.reads(), 1);
}

#[tokio::test]
async fn a_newer_published_version_reads_the_store_again() {
    let (key, store) = (key(), Store::at(3));
    let board = board_at(key, 3);
    let copies = Copies::new(board.clone());
    let now = Utc::now();
    read_value(&copies, key, now, || store.load()).await;
    store.value.store(4, Ordering::SeqCst);
    board.raise(key, 4);
    let read = read_value(&copies, key, now, || store.load()).await;
    assert_eq!(read, (Some(4), ReadSource::Store));
    let read = read_value(&copies, key, now, || store.load()).await;
    assert_eq!(read, (Some(4), ReadSource::Memory));
}

#[tokio::test]
async fn a_copy_read_before_a_change_committed_is_not_reused() {
    // The store published version 5 before committing it; the reads see version 4.
    let (key, store) = (key(), Store::at(4));
    let copies = Copies::new(board_at(key, 5));
    let now = Utc::now();
    for _ in 0..2 {
        let read = read_value(&copies, key, now, || store.load()).await;
        assert_eq!(read, (Some(4), ReadSource::Store));
    }
    assert_eq!(store.reads(), 2);
}

#[tokio::test]
async fn a_copy_is_not_reused_once_it_stops_holding() {
    let now = Utc::now();
    let ends = now + Duration::seconds(10);
    let key = key();
    let store = Store {
        until: Some(ends),
        ..Store::at(1)
    };
    let copies = Copies::new(board_at(key, 1));
    read_value(&copies, key, now, || store.load()).await;
    let just_before = ends - Duration::microseconds(1);
    let read = read_value(&copies, key, just_before, || store.load()).await;
    assert_eq!(read.1, ReadSource::Memory);
    let read = read_value(&copies, key, ends, || store.load()).await;
    assert_eq!(read.1, ReadSource::Store);
}

#[tokio::test]
async fn an_unknown_version_on_a_shared_board_reads_the_store_every_time() {
    let (key, store) = (key(), Store::at(1));
    let mut board = MockVersionBoard::new();
    board.expect_current().returning(|_| Ok(None));
    board.expect_lookups_are_remote().return_const(false);
    board.expect_learn().return_const(());
    let copies = Copies::new(Arc::new(board));
    for _ in 0..2 {
        let read = read_value(&copies, key, Utc::now(), || store.load()).await;
        assert_eq!(read, (Some(1), ReadSource::Store));
    }
    assert_eq!(store.reads(), 2);
}

#[tokio::test]
async fn a_board_of_the_only_writer_learns_versions_it_did_not_know() {
    // A restarted process: the local board is empty, the store has version 5.
    let (key, store) = (key(), Store::at(5));
    let board = Arc::new(LocalVersionBoard::default());
    let copies = Copies::new(board.clone());
    let read = read_value(&copies, key, Utc::now(), || store.load()).await;
    assert_eq!(read, (Some(5), ReadSource::Store));
    assert_eq!(board.get(key), Some(5), "learned");
    read_value(&copies, key, Utc::now(), || store.load()).await;
    let read = read_value(&copies, key, Utc::now(), || store.load()).await;
    assert_eq!(read, (Some(5), ReadSource::Memory));
    // A change in flight had raised a higher version: learning never lowers it.
    board.raise(key, 7);
    board.learn(key, 5);
    assert_eq!(board.get(key), Some(7));
}

#[tokio::test]
async fn an_unreachable_board_reads_the_store() {
    let mut board = MockVersionBoard::new();
    board
        .expect_current()
        .returning(|_| Err(anyhow::anyhow!("board down")));
    board.expect_lookups_are_remote().return_const(true);
    board.expect_learn().return_const(());
    let (key, store) = (key(), Store::at(7));
    let copies = Copies::new(Arc::new(board));
    for _ in 0..2 {
        let read = read_value(&copies, key, Utc::now(), || store.load()).await;
        assert_eq!(read, (Some(7), ReadSource::Store));
    }
    assert_eq!(store.reads(), 2);
}

#[tokio::test]
async fn a_missing_thing_is_none() {
    let key = key();
    let copies: Copies<u64> = Copies::new(board_at(key, 1));
    let read = read_value(&copies, key, Utc::now(), async || Ok(None)).await;
    assert_eq!(read, (None, ReadSource::Store));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_missing_at_once_read_the_store_once() {
    let key = key();
    let store = Store::at(2);
    let copies = Copies::new(board_at(key, 2));
    let now = Utc::now();
    let slow_load = || async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        store.load().await
    };
    let reads =
        futures_util::future::join_all((0..50).map(|_| copies.read(key, now, slow_load))).await;
    assert!(
        reads
            .iter()
            .all(|r| matches!(r, Ok((Some(c), _)) if c.value == 2))
    );
    assert_eq!(store.reads(), 1);
}

/// A remote board whose lookups take a while and answer the version they found when
/// they started; counts them.
struct SlowBoard {
    version: AtomicU64,
    lookups: AtomicUsize,
}

#[async_trait::async_trait]
impl VersionBoard for SlowBoard {
    async fn publish(&self, _: VersionKey, version: u64) -> anyhow::Result<()> {
        self.version.store(version, Ordering::SeqCst);
        Ok(())
    }

    async fn current(&self, _: VersionKey) -> anyhow::Result<Option<u64>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let found = self.version.load(Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        Ok(Some(found))
    }

    fn lookups_are_remote(&self) -> bool {
        true
    }
}

fn slow_board(version: u64) -> Arc<SlowBoard> {
    Arc::new(SlowBoard {
        version: AtomicU64::new(version),
        lookups: AtomicUsize::new(0),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_waiting_at_once_share_remote_lookups() {
    let (key, store, board) = (key(), Store::at(1), slow_board(1));
    let copies = Copies::new(board.clone());
    let now = Utc::now();
    let reads =
        futures_util::future::join_all((0..50).map(|_| copies.read(key, now, || store.load())))
            .await;
    assert!(
        reads
            .iter()
            .all(|r| matches!(r, Ok((Some(c), _)) if c.value == 1))
    );
    let lookups = board.lookups.load(Ordering::SeqCst);
    assert!(lookups <= 3, "50 readers at once made {lookups} lookups");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_never_takes_the_answer_of_a_lookup_that_started_before_it() {
    let (key, store, board) = (key(), Arc::new(Store::at(1)), slow_board(1));
    let copies = Arc::new(Copies::new(board.clone()));
    let now = Utc::now();
    read_value(&copies, key, now, || store.load()).await;
    // Reader A's lookup starts and sees version 1 ...
    let (a_copies, a_store) = (copies.clone(), store.clone());
    let a = tokio::spawn(async move { a_copies.read(key, now, || a_store.load()).await });
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    // ... then a change is published and answered, then reader B arrives.
    store.value.store(2, Ordering::SeqCst);
    board.publish(key, 2).await.expect("publish");
    let b = read_value(&copies, key, now, || store.load()).await;
    let a = a.await.expect("reader A").expect("read").0;
    assert_eq!(a.map(|c| c.value), Some(1));
    assert_eq!(
        b,
        (Some(2), ReadSource::Store),
        "B must not reuse A's lookup"
    );
}
