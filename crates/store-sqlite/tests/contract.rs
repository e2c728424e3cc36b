//! The port contract suite, against a fresh SQLite file per test.
#![allow(clippy::expect_used)] // test setup: failing loudly is the point

use boxoffice_contract::Stores;
use boxoffice_store_sqlite::SqliteStore;
use std::sync::Arc;
use tempfile::TempDir;

async fn fresh_store() -> Option<(Stores, TempDir)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("contract.db");
    let store = SqliteStore::open(path.to_str().expect("utf-8 path"))
        .await
        .expect("open SQLite");
    store.migrate().await.expect("migrate SQLite");
    let store = Arc::new(store);
    let stores = Stores {
        users: store.clone(),
        tokens: store.clone(),
        events: store,
    };
    Some((stores, dir))
}

boxoffice_contract::port_contract!(fresh_store);
