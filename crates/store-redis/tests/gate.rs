//! What the contract suite cannot show through the ports alone: that the gate answers
//! sold-out requests without Postgres's event lock, and that a lost, stale or abandoned
//! Redis state never oversells and never keeps a seat.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: failing loudly is the point

use boxoffice_contract::EngineStores;
use boxoffice_contract::engine::{base, booking, open_event, organizer, seats, secs};
use boxoffice_domain::booking::OnSoldOut;
use boxoffice_domain::event::Event;
use boxoffice_domain::ports::{
    BookError, Bookings, CancelBookingError, HealthCheck, LocalVersionBoard, Reservations,
    StoreUnavailable,
};
use boxoffice_domain::{BookingId, Timestamp};
use boxoffice_store_postgres::PgStore;
use boxoffice_store_postgres::testing::TestDatabase;
use boxoffice_store_redis::{Redis, SeatGate};
use deadpool_redis::redis::cmd;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

struct Fixture {
    stores: EngineStores,
    gate: Arc<SeatGate<PgStore>>,
    store: Arc<PgStore>,
    redis: Redis,
    database: TestDatabase,
}

async fn fixture() -> Option<Fixture> {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let redis = Redis::new(&url, 8, &format!("test:{}:", uuid::Uuid::new_v4())).unwrap();
    if let Err(e) = redis.ping().await {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Redis unreachable under CI: {e:#}"
        );
        eprintln!("SKIPPED: Redis unreachable: {e:#}");
        return None;
    }
    let database = TestDatabase::create().await?;
    let store = Arc::new(
        boxoffice_store_postgres::connect(database.url(), 8)
            .await
            .unwrap(),
    );
    let gate = Arc::new(SeatGate::new(store.clone(), redis.clone()));
    let stores = EngineStores {
        versions: Arc::new(LocalVersionBoard::default()),
        users: store.clone(),
        events: gate.clone(),
        reservations: gate.clone(),
        bookings: gate.clone(),
        waitlists: store.clone(),
        keyed: gate.clone(),
        analytics: store.clone(),
        check_ins: store.clone(),
        api_tokens: store.clone(),
        outbox: store.clone(),
    };
    Some(Fixture {
        stores,
        gate,
        store,
        redis,
        database,
    })
}

impl Fixture {
    /// Books `n` seats through the gate, failing when sold out.
    async fn book(&self, event: &Event, n: u32, at: Timestamp) -> Result<u32, BookError> {
        let user = boxoffice_contract::engine::attendee(&self.stores).await;
        let outcome = self
            .gate
            .book(
                &booking(seats(event.id, None, user.id, n), OnSoldOut::Fail, false),
                at,
            )
            .await?;
        Ok(outcome.booking.map_or(0, |b| b.quantity))
    }

    /// Seats sold of `event` in Postgres.
    async fn sold(&self, event: &Event, at: Timestamp) -> u32 {
        boxoffice_contract::engine::counters(&self.stores, event.id, at)
            .await
            .0
    }

    /// The event's admission state field `field` in Redis.
    async fn state(&self, event: &Event, field: &str) -> Option<i64> {
        let key = self.redis.key(&format!("seats:{{{}}}", event.id));
        self.redis
            .run("read", async |c| {
                cmd("HGET").arg(&key).arg(field).query_async(c).await
            })
            .await
            .unwrap()
    }

    /// Runs a raw Redis command on this fixture's keys.
    async fn redis(&self, args: &[String]) {
        self.redis
            .run("write", async |c| {
                let mut command = cmd(&args[0]);
                for a in &args[1..] {
                    command.arg(a);
                }
                command.query_async::<deadpool_redis::redis::Value>(c).await
            })
            .await
            .unwrap();
    }

    fn key(&self, name: &str, event: &Event) -> String {
        self.redis.key(&format!("{name}:{{{}}}", event.id))
    }
}

#[tokio::test]
async fn sold_out_is_answered_without_the_event_lock() {
    let Some(f) = fixture().await else { return };
    let org = organizer(&f.stores).await;
    let t = base();
    let event = open_event(&f.stores, &org, t, 2).await;
    assert_eq!(f.book(&event, 2, t).await.unwrap(), 2);

    // Another session holds the event's row lock for a long time.
    let mut locker = Command::new("psql")
        .arg(f.database.url())
        .arg("-c")
        .arg(format!(
            "BEGIN; SELECT id FROM events WHERE id = '{}' FOR UPDATE; SELECT pg_sleep(30); COMMIT;",
            event.id
        ))
        .stdout(Stdio::null())
        .spawn()
        .expect("psql");
    let probe = "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
         WHERE c.relname = 'events' AND l.mode = 'RowShareLock' AND l.pid <> pg_backend_pid()";
    let mut locked = false;
    for _ in 0..100 {
        let out = Command::new("psql")
            .args([f.database.url(), "-tAc", probe])
            .output()
            .expect("psql");
        if String::from_utf8_lossy(&out.stdout).trim() != "0" {
            locked = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(locked, "the other session never took the lock");

    let answer = tokio::time::timeout(Duration::from_secs(10), f.book(&event, 1, t)).await;
    let still_locked = locker.try_wait().expect("psql status").is_none();
    let _ = locker.kill();
    let _ = locker.wait();
    assert!(
        matches!(answer, Ok(Err(BookError::SoldOut { available: 0 }))),
        "got {answer:?}"
    );
    assert!(
        still_locked,
        "the answer came only after the lock was released"
    );
}

#[tokio::test]
async fn lost_state_is_rebuilt_from_postgres() {
    let Some(f) = fixture().await else { return };
    let org = organizer(&f.stores).await;
    let t = base();
    let event = open_event(&f.stores, &org, t, 5).await;
    assert_eq!(f.book(&event, 3, t).await.unwrap(), 3);
    assert_eq!(f.state(&event, "free").await, Some(2));

    // Redis forgets everything (FLUSHALL, or a restart without persistence).
    f.redis(&[
        "DEL".into(),
        f.key("seats", &event),
        f.key("leases", &event),
    ])
    .await;
    assert_eq!(f.state(&event, "free").await, None);

    assert_eq!(f.book(&event, 2, t).await.unwrap(), 2);
    assert!(matches!(
        f.book(&event, 1, t).await,
        Err(BookError::SoldOut { available: 0 })
    ));
    assert_eq!(f.sold(&event, t).await, 5);
    assert_eq!(f.state(&event, "free").await, Some(0));
}

#[tokio::test]
async fn a_lying_redis_is_caught_by_postgres_and_rebuilt() {
    let Some(f) = fixture().await else { return };
    let org = organizer(&f.stores).await;
    let t = base();
    let event = open_event(&f.stores, &org, t, 3).await;
    assert_eq!(f.book(&event, 3, t).await.unwrap(), 3);
    let ty = event.ticket_types[0].id;

    // Redis believes 4 seats are free; Postgres has none.
    let state = f.key("seats", &event);
    f.redis(&["HINCRBY".into(), state.clone(), "free".into(), "4".into()])
        .await;
    f.redis(&["HINCRBY".into(), state, format!("t:{ty}"), "4".into()])
        .await;

    let answer = f.book(&event, 2, t).await;
    assert!(
        matches!(answer, Err(BookError::SoldOut { available: 0 })),
        "got {answer:?}"
    );
    assert_eq!(f.sold(&event, t).await, 3, "Postgres refused to oversell");
    assert_eq!(
        f.state(&event, "free").await,
        Some(0),
        "and Redis was rebuilt"
    );
}

/// Concurrent requests of one event share the gate's script calls: each ask sees what
/// the asks before it in the same call took, and every lease ends once Postgres has
/// answered, whatever the mix of whole and partial requests.
#[tokio::test]
async fn concurrent_asks_of_one_event_take_exactly_its_seats() {
    let Some(f) = fixture().await else { return };
    let org = organizer(&f.stores).await;
    let t = base();
    let event = open_event(&f.stores, &org, t, 50).await;
    let mut users = Vec::new();
    for _ in 0..80 {
        users.push(boxoffice_contract::engine::attendee(&f.stores).await);
    }
    let asks = users.iter().enumerate().map(|(i, user)| {
        let gate = f.gate.clone();
        let quantity = u32::try_from(i % 3 + 1).unwrap();
        let request = booking(
            seats(event.id, None, user.id, quantity),
            OnSoldOut::Fail,
            i % 2 == 0,
        );
        async move { (quantity, gate.book(&request, t).await) }
    });
    let mut booked = 0;
    for (asked, answer) in futures_util::future::join_all(asks).await {
        match answer {
            Ok(outcome) => {
                let got = outcome.booking.map_or(0, |b| b.quantity);
                assert!((1..=asked).contains(&got), "asked {asked}, got {got}");
                booked += got;
            }
            Err(BookError::SoldOut { .. }) => {}
            Err(e) => panic!("unexpected answer: {e:?}"),
        }
    }
    assert_eq!(booked, 50, "every seat sold once");
    assert_eq!(f.sold(&event, t).await, 50);
    assert_eq!(f.state(&event, "free").await, Some(0));
    let leases = f.key("leases", &event);
    let left: i64 = f
        .redis
        .run("count leases", async |c| {
            cmd("HLEN").arg(&leases).query_async(c).await
        })
        .await
        .unwrap();
    assert_eq!(left, 0, "a lease outlived its request");
}

#[tokio::test]
async fn an_abandoned_lease_returns_its_seats_after_its_deadline() {
    let Some(f) = fixture().await else { return };
    let org = organizer(&f.stores).await;
    let t = base();
    let event = open_event(&f.stores, &org, t, 3).await;
    assert_eq!(f.book(&event, 1, t).await.unwrap(), 1);
    let ty = event.ticket_types[0].id;

    // A process took 2 seats in Redis and died before Postgres heard of them.
    let deadline = secs(t, 60).timestamp_millis();
    let state = f.key("seats", &event);
    for field in ["free".to_owned(), format!("t:{ty}")] {
        f.redis(&["HINCRBY".into(), state.clone(), field, "-2".into()])
            .await;
    }
    f.redis(&[
        "HSET".into(),
        f.key("leases", &event),
        uuid::Uuid::now_v7().to_string(),
        format!("{ty} 2 {deadline}"),
    ])
    .await;
    f.redis(&[
        "ZADD".into(),
        f.redis.key("due"),
        deadline.to_string(),
        event.id.to_string(),
    ])
    .await;

    assert!(matches!(
        f.book(&event, 1, secs(t, 1)).await,
        Err(BookError::SoldOut { .. })
    ));
    // Before the deadline the sweep leaves the lease alone.
    f.gate.expire_holds(secs(t, 30), 100).await.unwrap();
    assert_eq!(f.state(&event, "free").await, Some(0));
    // After it, the sweep rebuilds the event and the seats come back.
    f.gate.expire_holds(secs(t, 61), 100).await.unwrap();
    assert_eq!(f.state(&event, "free").await, Some(2));
    assert_eq!(f.book(&event, 2, secs(t, 62)).await.unwrap(), 2);
    assert_eq!(f.sold(&event, secs(t, 62)).await, 3);
}

#[tokio::test]
async fn a_lease_postgres_recorded_is_not_counted_twice() {
    let Some(f) = fixture().await else { return };
    let org = organizer(&f.stores).await;
    let t = base();
    let event = open_event(&f.stores, &org, t, 4).await;
    assert_eq!(f.book(&event, 1, t).await.unwrap(), 1);
    let ty = event.ticket_types[0].id;

    // A process took 2 seats, Postgres recorded its booking, and it died before
    // settling the lease.
    let user = boxoffice_contract::engine::attendee(&f.stores).await;
    let mut request = booking(seats(event.id, None, user.id, 2), OnSoldOut::Fail, false);
    request.booking_id = BookingId::generate();
    let state = f.key("seats", &event);
    for field in ["free".to_owned(), format!("t:{ty}")] {
        f.redis(&["HINCRBY".into(), state.clone(), field, "-2".into()])
            .await;
    }
    let deadline = secs(t, 60).timestamp_millis();
    f.redis(&[
        "HSET".into(),
        f.key("leases", &event),
        request.booking_id.to_string(),
        format!("{ty} 2 {deadline}"),
    ])
    .await;
    f.store.book(&request, t).await.unwrap();
    assert_eq!(f.sold(&event, t).await, 3);

    // The next rebuild (here: after a cancellation) sees the lease recorded.
    let other = boxoffice_contract::engine::attendee(&f.stores).await;
    let first = f
        .gate
        .book(
            &booking(seats(event.id, None, other.id, 1), OnSoldOut::Fail, false),
            t,
        )
        .await
        .unwrap()
        .booking
        .unwrap();
    f.gate.cancel_booking(first.id, None, t).await.unwrap();
    assert_eq!(
        f.state(&event, "free").await,
        Some(1),
        "4 - 3 sold, lease dropped"
    );
    assert_eq!(f.book(&event, 1, t).await.unwrap(), 1);
    assert_eq!(f.sold(&event, t).await, 4);
}

#[tokio::test]
async fn a_mark_outlives_a_rebuild_from_an_older_snapshot() {
    let Some(f) = fixture().await else { return };
    let org = organizer(&f.stores).await;
    let t = base();
    let event = open_event(&f.stores, &org, t, 3).await;
    let user = boxoffice_contract::engine::attendee(&f.stores).await;
    let booked = f
        .gate
        .book(
            &booking(seats(event.id, None, user.id, 2), OnSoldOut::Fail, false),
            t,
        )
        .await
        .unwrap()
        .booking
        .unwrap();
    assert_eq!(f.state(&event, "free").await, Some(1));

    // A cancellation marks the event, as the gate does before giving seats back...
    let ms = |s: i64| secs(t, s).timestamp_millis().to_string();
    f.redis(&[
        "HSET".into(),
        f.key("leases", &event),
        "mark:test".into(),
        format!("mark {}", ms(25)),
    ])
    .await;
    f.redis(&[
        "ZADD".into(),
        f.redis.key("due"),
        ms(2),
        event.id.to_string(),
    ])
    .await;
    // ...a sweep rebuilds from a snapshot taken before the cancellation commits...
    f.gate.expire_holds(secs(t, 3), 100).await.unwrap();
    // ...and the cancelling process dies after its commit, before its own rebuild.
    f.store
        .cancel_booking(booked.id, None, secs(t, 3))
        .await
        .unwrap();
    assert_eq!(
        f.state(&event, "free").await,
        Some(1),
        "Redis missed it so far"
    );

    // The mark kept the event due: the next sweep sees the seats back.
    f.gate.expire_holds(secs(t, 5), 100).await.unwrap();
    assert_eq!(f.state(&event, "free").await, Some(3));
    assert_eq!(f.book(&event, 3, secs(t, 6)).await.unwrap(), 3);

    // Once the mark has ended, the event is no longer due.
    f.gate.expire_holds(secs(t, 30), 100).await.unwrap();
    let due = f.redis.key("due");
    let score: Option<f64> = f
        .redis
        .run("read", async |c| {
            cmd("ZSCORE")
                .arg(&due)
                .arg(event.id.to_string())
                .query_async(c)
                .await
        })
        .await
        .unwrap();
    assert_eq!(score, None);
}

#[tokio::test]
async fn unreachable_redis_is_unavailable_not_a_fault() {
    let Some(f) = fixture().await else { return };
    let org = organizer(&f.stores).await;
    let t = base();
    let event = open_event(&f.stores, &org, t, 2).await;
    let nowhere = Redis::new("redis://127.0.0.1:1", 2, "test:").unwrap();
    let gate = SeatGate::new(f.store.clone(), nowhere.clone());
    let user = boxoffice_contract::engine::attendee(&f.stores).await;
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        gate.book(
            &booking(seats(event.id, None, user.id, 1), OnSoldOut::Fail, false),
            t,
        ),
    )
    .await
    .expect("answered in time");
    match answer {
        Err(BookError::Backend(e)) => assert!(
            e.downcast_ref::<StoreUnavailable>().is_some(),
            "not marked unavailable: {e:#}"
        ),
        other => panic!("expected a backend failure, got {other:?}"),
    }
    assert!(nowhere.ping().await.is_err());
    assert_eq!(f.sold(&event, t).await, 0, "nothing booked");

    // Giving seats back needs Redis too (or Redis would miss it): refused, unchanged.
    let booked = f
        .store
        .book(
            &booking(seats(event.id, None, user.id, 1), OnSoldOut::Fail, false),
            t,
        )
        .await
        .unwrap()
        .booking
        .unwrap();
    match gate.cancel_booking(booked.id, None, t).await {
        Err(CancelBookingError::Backend(e)) => {
            assert!(e.downcast_ref::<StoreUnavailable>().is_some(), "{e:#}");
        }
        other => panic!("expected a backend failure, got {other:?}"),
    }
    assert_eq!(f.sold(&event, t).await, 1, "still booked");
}
