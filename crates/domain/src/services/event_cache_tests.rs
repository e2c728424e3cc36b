//! Unit tests of the event cache: when it answers from memory, and when it must not.

use super::*;
use crate::event::{EventCursor, EventDetails, EventQuery, EventStatus, NewEvent, tests_support};
use crate::page::Page;
use crate::ports::{
    CancelEventError, LocalVersionBoard, MockEventRepository, MockVersionBoard, UpdateEventError,
};
use crate::{Timestamp, UserId};
use async_trait::async_trait;
use chrono::{Duration, Utc};
use std::sync::atomic::{AtomicUsize, Ordering};

fn event(id: EventId, sold: u32) -> Event {
    Event {
        id,
        organizer_id: UserId::generate(),
        details: tests_support::details(),
        status: EventStatus::Scheduled,
        created_at: Utc::now(),
        sold,
        held: 0,
        waitlist_count: 0,
        ticket_types: vec![],
    }
}

fn snapshot(id: EventId, version: u64, changes_at: Option<Timestamp>) -> EventSnapshot {
    EventSnapshot {
        event: event(id, u32::try_from(version).unwrap_or(u32::MAX)),
        version,
        changes_at,
    }
}

fn board_at(id: EventId, version: u64) -> Arc<LocalVersionBoard> {
    let board = Arc::new(LocalVersionBoard::default());
    board.raise(VersionKey::Event(id), version);
    board
}

#[tokio::test]
async fn a_current_copy_is_served_from_memory() {
    let id = EventId::generate();
    let mut store = MockEventRepository::new();
    store
        .expect_snapshot()
        .times(1)
        .returning(move |id, _| Ok(Some(snapshot(id, 3, None))));
    let cache = EventCache::new(board_at(id, 3));
    let now = Utc::now();
    let (first, from) = cache.read(&store, id, now).await.expect("read");
    assert_eq!(from, ReadSource::Store);
    let (second, from) = cache.read(&store, id, now).await.expect("read");
    assert_eq!(from, ReadSource::Memory);
    assert_eq!(first, second);
}

#[tokio::test]
async fn a_newer_published_version_reads_the_store_again() {
    let id = EventId::generate();
    let board = board_at(id, 3);
    let mut store = MockEventRepository::new();
    let version = Arc::new(AtomicUsize::new(3));
    let stored = version.clone();
    store.expect_snapshot().times(2).returning(move |id, _| {
        Ok(Some(snapshot(
            id,
            stored.load(Ordering::SeqCst) as u64,
            None,
        )))
    });
    let cache = EventCache::new(board.clone());
    let now = Utc::now();
    cache.read(&store, id, now).await.expect("read");
    version.store(4, Ordering::SeqCst);
    board.raise(VersionKey::Event(id), 4);
    let (event, from) = cache.read(&store, id, now).await.expect("read");
    assert_eq!((event.map(|e| e.sold), from), (Some(4), ReadSource::Store));
    let (event, from) = cache.read(&store, id, now).await.expect("read");
    assert_eq!((event.map(|e| e.sold), from), (Some(4), ReadSource::Memory));
}

#[tokio::test]
async fn a_copy_read_before_a_change_committed_is_not_reused() {
    // The store published version 5 before committing it; the read saw version 4.
    let id = EventId::generate();
    let mut store = MockEventRepository::new();
    store
        .expect_snapshot()
        .times(2)
        .returning(move |id, _| Ok(Some(snapshot(id, 4, None))));
    let cache = EventCache::new(board_at(id, 5));
    let now = Utc::now();
    for _ in 0..2 {
        let (_, from) = cache.read(&store, id, now).await.expect("read");
        assert_eq!(from, ReadSource::Store);
    }
}

#[tokio::test]
async fn a_copy_is_not_reused_once_a_hold_it_counts_has_ended() {
    let id = EventId::generate();
    let now = Utc::now();
    let ends = now + Duration::seconds(10);
    let mut store = MockEventRepository::new();
    store
        .expect_snapshot()
        .times(2)
        .returning(move |id, _| Ok(Some(snapshot(id, 1, Some(ends)))));
    let cache = EventCache::new(board_at(id, 1));
    cache.read(&store, id, now).await.expect("read");
    let (_, from) = cache
        .read(&store, id, ends - Duration::microseconds(1))
        .await
        .expect("read");
    assert_eq!(from, ReadSource::Memory);
    let (_, from) = cache.read(&store, id, ends).await.expect("read");
    assert_eq!(from, ReadSource::Store);
}

#[tokio::test]
async fn an_unknown_version_reads_the_store_every_time() {
    let id = EventId::generate();
    let mut store = MockEventRepository::new();
    store
        .expect_find()
        .times(2)
        .returning(move |id, _| Ok(Some(event(id, 1))));
    store.expect_snapshot().never();
    let cache = EventCache::new(Arc::new(LocalVersionBoard::default()));
    for _ in 0..2 {
        let (event, from) = cache.read(&store, id, Utc::now()).await.expect("read");
        assert_eq!((event.is_some(), from), (true, ReadSource::Store));
    }
}

#[tokio::test]
async fn an_unreachable_board_reads_the_store() {
    let id = EventId::generate();
    let mut board = MockVersionBoard::new();
    board
        .expect_current()
        .returning(|_| Err(anyhow::anyhow!("board down")));
    let mut store = MockEventRepository::new();
    store
        .expect_find()
        .times(1)
        .returning(move |id, _| Ok(Some(event(id, 7))));
    let cache = EventCache::new(Arc::new(board));
    let (event, from) = cache.read(&store, id, Utc::now()).await.expect("read");
    assert_eq!((event.map(|e| e.sold), from), (Some(7), ReadSource::Store));
}

#[tokio::test]
async fn an_unknown_event_is_none() {
    let id = EventId::generate();
    let mut store = MockEventRepository::new();
    store.expect_snapshot().returning(|_, _| Ok(None));
    let cache = EventCache::new(board_at(id, 1));
    let (event, from) = cache.read(&store, id, Utc::now()).await.expect("read");
    assert_eq!((event, from), (None, ReadSource::Store));
}

/// A store whose snapshots take a while, counting them.
#[derive(Default)]
struct SlowStore {
    snapshots: AtomicUsize,
}

#[async_trait]
impl EventRepository for SlowStore {
    async fn create(&self, _: &NewEvent) -> anyhow::Result<Event> {
        unreachable!("not used")
    }
    async fn find(&self, _: EventId, _: Timestamp) -> anyhow::Result<Option<Event>> {
        unreachable!("not used")
    }
    async fn snapshot(&self, id: EventId, _: Timestamp) -> anyhow::Result<Option<EventSnapshot>> {
        self.snapshots.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        Ok(Some(snapshot(id, 2, None)))
    }
    async fn list_scheduled(&self, _: &EventQuery) -> anyhow::Result<Page<Event, EventCursor>> {
        unreachable!("not used")
    }
    async fn update_details(
        &self,
        _: EventId,
        _: &EventDetails,
        _: Timestamp,
    ) -> Result<Event, UpdateEventError> {
        unreachable!("not used")
    }
    async fn cancel(&self, _: EventId, _: Timestamp) -> Result<Event, CancelEventError> {
        unreachable!("not used")
    }
}

#[tokio::test]
async fn readers_missing_at_once_read_the_store_once() {
    let id = EventId::generate();
    let store = SlowStore::default();
    let cache = EventCache::new(board_at(id, 2));
    let now = Utc::now();
    let reads = futures_util::future::join_all((0..50).map(|_| cache.read(&store, id, now))).await;
    assert!(reads.iter().all(|r| matches!(r, Ok((Some(_), _)))));
    assert_eq!(store.snapshots.load(Ordering::SeqCst), 1);
}
