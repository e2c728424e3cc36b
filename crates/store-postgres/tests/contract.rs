//! The port contract suite against a fresh Postgres database per test.

use boxoffice_contract::Stores;
use boxoffice_store_postgres::testing::TestDatabase;
use std::sync::Arc;

/// A migrated, empty database and every port over it; `None` skips (see `TestDatabase::create`).
async fn fresh_store() -> Option<(Stores, TestDatabase)> {
    let database = TestDatabase::create().await?;
    let store = boxoffice_store_postgres::connect(database.url(), 8)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {}: {e:#}", database.name()));
    let store = Arc::new(store);
    let stores = Stores {
        users: store.clone(),
        tokens: store.clone(),
        events: store,
    };
    Some((stores, database))
}

boxoffice_contract::port_contract!(fresh_store);
