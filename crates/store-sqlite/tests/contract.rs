//! The port contract suite, against a fresh SQLite file per test.
#![allow(clippy::expect_used)] // test setup: failing loudly is the point

use boxoffice_contract::{EngineStores, Stores};
use boxoffice_store_sqlite::SqliteStore;
use std::sync::Arc;
use tempfile::TempDir;

/// A migrated SQLite store in a fresh temporary folder, dropped with the `TempDir`.
async fn fresh_sqlite() -> (Arc<SqliteStore>, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("contract.db");
    let store = SqliteStore::open(path.to_str().expect("utf-8 path"))
        .await
        .expect("open SQLite");
    store.migrate().await.expect("migrate SQLite");
    (Arc::new(store), dir)
}

async fn fresh_store() -> Option<(Stores, TempDir)> {
    let (store, dir) = fresh_sqlite().await;
    let stores = Stores {
        users: store.clone(),
        tokens: store.clone(),
        events: store.clone(),
        audit: store,
    };
    Some((stores, dir))
}

async fn fresh_engine() -> Option<(EngineStores, TempDir)> {
    let (store, dir) = fresh_sqlite().await;
    let stores = EngineStores {
        versions: store.versions(),
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
    Some((stores, dir))
}

boxoffice_contract::port_contract!(fresh_store);
boxoffice_contract::engine_contract!(fresh_engine);
