//! A hot event, side by side: many concurrent clients asking one event for a ticket
//! (`on_sold_out: fail`), through Postgres alone and through the Redis gate in front of
//! the same Postgres, in one run. Prints requests per second of each and their ratio.
//!
//! `cargo bench -p boxoffice-store-redis --bench hot_event` runs the full size; under
//! `cargo test` (no `--bench` argument) a small size runs as a smoke test. Both check
//! that exactly `capacity` tickets were sold each way.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: failing loudly is the point

use boxoffice_contract::EngineStores;
use boxoffice_contract::engine::{attendees, base, booking, open_event, organizer, seats};
use boxoffice_domain::booking::OnSoldOut;
use boxoffice_domain::ports::{BookError, Bookings, HealthCheck, LocalVersionBoard};
use boxoffice_domain::user::User;
use boxoffice_store_postgres::PgStore;
use boxoffice_store_postgres::testing::TestDatabase;
use boxoffice_store_redis::{Redis, SeatGate};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent clients, requests per client, and seats.
struct Size {
    clients: usize,
    requests: usize,
    capacity: u32,
}

fn stores(bookings: Arc<dyn Bookings>, store: &Arc<PgStore>) -> EngineStores {
    EngineStores {
        versions: Arc::new(LocalVersionBoard::default()),
        users: store.clone(),
        events: store.clone(),
        reservations: store.clone(),
        bookings,
        waitlists: store.clone(),
        keyed: store.clone(),
        analytics: store.clone(),
        check_ins: store.clone(),
        api_tokens: store.clone(),
        outbox: store.clone(),
    }
}

/// Runs the hot event through `stores.bookings`; returns the time taken and the seats
/// sold.
async fn run(stores: &EngineStores, users: &[User], size: &Size) -> (Duration, u32) {
    let org = organizer(stores).await;
    let t = base();
    let event = open_event(stores, &org, t, size.capacity).await;
    let started = Instant::now();
    let clients = users.iter().map(|user| {
        let bookings = stores.bookings.clone();
        let (event, user) = (event.id, user.id);
        let requests = size.requests;
        tokio::spawn(async move {
            let mut sold = 0;
            for _ in 0..requests {
                let request = booking(seats(event, None, user, 1), OnSoldOut::Fail, false);
                match bookings.book(&request, t).await {
                    Ok(outcome) => sold += outcome.booking.map_or(0, |b| b.quantity),
                    Err(BookError::SoldOut { .. }) => {}
                    Err(e) => panic!("unexpected answer: {e:?}"),
                }
            }
            sold
        })
    });
    let sold: u32 = futures_util::future::join_all(clients)
        .await
        .into_iter()
        .map(Result::unwrap)
        .sum();
    (started.elapsed(), sold)
}

#[tokio::main]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let size = if full {
        Size {
            clients: 200,
            requests: 50,
            capacity: 100,
        }
    } else {
        Size {
            clients: 20,
            requests: 5,
            capacity: 10,
        }
    };
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let redis = Redis::new(&url, 32, &format!("bench:{}:", uuid::Uuid::new_v4())).unwrap();
    if let Err(e) = redis.ping().await {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Redis unreachable: {e:#}"
        );
        eprintln!("SKIPPED: Redis unreachable: {e:#}");
        return;
    }
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let store = Arc::new(
        boxoffice_store_postgres::connect(database.url(), 16)
            .await
            .unwrap(),
    );
    let gate = Arc::new(SeatGate::new(store.clone(), redis));
    let postgres_only = stores(store.clone(), &store);
    let gated = stores(gate, &store);
    let users = attendees(&postgres_only, size.clients).await;

    let total = (size.clients * size.requests) as f64;
    let (pg_time, pg_sold) = run(&postgres_only, &users, &size).await;
    let (gate_time, gate_sold) = run(&gated, &users, &size).await;
    assert_eq!(
        pg_sold, size.capacity,
        "Postgres alone sold exactly the capacity"
    );
    assert_eq!(
        gate_sold, size.capacity,
        "the gate sold exactly the capacity"
    );
    let rate = |d: Duration| total / d.as_secs_f64();
    println!(
        "hot event, {} clients x {} requests on {} seats: Postgres alone {:.0} req/s, \
         Redis gate {:.0} req/s, ratio {:.1}",
        size.clients,
        size.requests,
        size.capacity,
        rate(pg_time),
        rate(gate_time),
        pg_time.as_secs_f64() / gate_time.as_secs_f64()
    );
}
