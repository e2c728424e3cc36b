//! The port contract suites against a fresh Postgres database per test.

use boxoffice_contract::{EngineStores, Stores};
use boxoffice_domain::ports::LocalVersionBoard;
use boxoffice_store_postgres::PgStore;
use boxoffice_store_postgres::testing::TestDatabase;
use std::sync::Arc;

/// Connections per test store: enough for the engine's concurrency tests (hundreds of
/// concurrent requests) to run many transactions at once, while several tests share the
/// server's `max_connections` (100 by default). Requests beyond it wait for a connection
/// (up to `testing::POOL_WAIT`).
const POOL_SIZE: usize = 20;

/// A migrated, empty database and a store over it; `None` skips (see `TestDatabase::create`).
async fn fresh_pg() -> Option<(Arc<PgStore>, TestDatabase)> {
    let database = TestDatabase::create().await?;
    let store = boxoffice_store_postgres::connect(database.url(), POOL_SIZE)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {}: {e:#}", database.name()));
    Some((Arc::new(store), database))
}

/// Every port of the foundation over a fresh database.
async fn fresh_store() -> Option<(Stores, TestDatabase)> {
    let (store, database) = fresh_pg().await?;
    let stores = Stores {
        users: store.clone(),
        tokens: store.clone(),
        events: store.clone(),
        audit: store,
    };
    Some((stores, database))
}

/// Every port of the booking engine over a fresh database, publishing event versions to
/// a board in memory.
async fn fresh_engine() -> Option<(EngineStores, TestDatabase)> {
    let (store, database) = fresh_pg().await?;
    let versions = Arc::new(LocalVersionBoard::default());
    let store = Arc::new(PgStore::clone(&store).publishing_to(versions.clone()));
    let stores = EngineStores {
        versions,
        users: store.clone(),
        events: store.clone(),
        reservations: store.clone(),
        bookings: store.clone(),
        waitlists: store.clone(),
        keyed: store.clone(),
        check_ins: store.clone(),
        api_tokens: store.clone(),
        outbox: store.clone(),
        analytics: store,
    };
    Some((stores, database))
}

boxoffice_contract::port_contract!(fresh_store);
boxoffice_contract::engine_contract!(fresh_engine);
