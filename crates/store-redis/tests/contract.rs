//! The booking-engine contract suite against the Redis admission gate in front of a
//! fresh Postgres database per test: the gate must not change a single answer.
#![allow(clippy::expect_used)] // test code: failing loudly is the point

use boxoffice_contract::EngineStores;
use boxoffice_store_postgres::PgStore;
use boxoffice_store_postgres::testing::TestDatabase;
use boxoffice_store_redis::{Redis, SeatGate};
use std::sync::Arc;

/// Connections per test store (see store-postgres's contract tests).
const POOL_SIZE: usize = 20;

/// The Redis the tests use: `TEST_REDIS_URL`, or the local default.
fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A Redis pool under a key prefix of its own, or `None` (skip) when Redis is
/// unreachable outside CI; under `CI=true` an unreachable Redis fails the test.
async fn fresh_redis() -> Option<Redis> {
    use boxoffice_domain::ports::HealthCheck as _;
    let prefix = format!("test:{}:", uuid::Uuid::new_v4());
    let redis = Redis::new(&redis_url(), 32, &prefix).expect("Redis URL");
    match redis.ping().await {
        Ok(()) => Some(redis),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("Redis at {} is unreachable under CI: {e:#}", redis_url())
        }
        Err(e) => {
            eprintln!("SKIPPED: Redis at {} is unreachable: {e:#}", redis_url());
            None
        }
    }
}

/// Every port of the booking engine: the gate for those that take seats, the store for
/// the rest.
async fn fresh_engine() -> Option<(EngineStores, TestDatabase)> {
    let redis = fresh_redis().await?;
    let database = TestDatabase::create().await?;
    let store: Arc<PgStore> = Arc::new(
        boxoffice_store_postgres::connect(database.url(), POOL_SIZE)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e:#}", database.name())),
    );
    let gate = Arc::new(SeatGate::new(store.clone(), redis));
    let stores = EngineStores {
        users: store.clone(),
        events: gate.clone(),
        reservations: gate.clone(),
        bookings: gate,
        waitlists: store.clone(),
        analytics: store,
    };
    Some((stores, database))
}

boxoffice_contract::engine_contract!(fresh_engine);
