//! The contract suites against real Redis, each test under a key prefix of its own
//! (skipped loudly when Redis is unreachable, unless `CI=true`): the rate limiter, and
//! the booking engine through the seat admission gate in front of a fresh Postgres
//! database per test — the gate must not change a single answer.

use boxoffice_contract::EngineStores;
use boxoffice_domain::ports::RateLimiter;
use boxoffice_store_postgres::PgStore;
use boxoffice_store_postgres::testing::TestDatabase;
use boxoffice_store_redis::testing::TestRedis;
use boxoffice_store_redis::{RedisRateLimiter, RedisVersionBoard, SeatGate};
use std::sync::Arc;

/// Connections per test store (see store-postgres's contract tests).
const POOL_SIZE: usize = 20;

async fn limiter() -> Option<(Arc<dyn RateLimiter>, ())> {
    let redis = TestRedis::connect().await?;
    Some((Arc::new(RedisRateLimiter::new(redis.redis().clone())), ()))
}

/// Every port of the booking engine: the gate for those that take seats, the store for
/// the rest.
async fn fresh_engine() -> Option<(EngineStores, TestDatabase)> {
    let redis = TestRedis::connect().await?;
    let database = TestDatabase::create().await?;
    let versions = Arc::new(RedisVersionBoard::new(redis.redis().clone()));
    let store: Arc<PgStore> = Arc::new(
        boxoffice_store_postgres::connect(database.url(), POOL_SIZE)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e:#}", database.name()))
            .publishing_to(versions.clone()),
    );
    let gate = Arc::new(SeatGate::new(store.clone(), redis.redis().clone()));
    let stores = EngineStores {
        versions,
        users: store.clone(),
        events: gate.clone(),
        reservations: gate.clone(),
        bookings: gate.clone(),
        waitlists: store.clone(),
        keyed: gate,
        check_ins: store.clone(),
        api_tokens: store.clone(),
        outbox: store.clone(),
        analytics: store,
    };
    Some((stores, database))
}

boxoffice_contract::rate_limit_contract!(limiter);
boxoffice_contract::engine_contract!(fresh_engine);
