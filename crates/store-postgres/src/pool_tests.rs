//! Which failures `run`, `transaction` and the health check report as
//! `StoreUnavailable`, on a real Postgres (skipped without one, unless `CI=true`).

#![allow(clippy::expect_used)] // test code: failing loudly is the point

use crate::PgStore;
use crate::testing::TestDatabase;
use anyhow::Context as _;
use boxoffice_domain::UserId;
use boxoffice_domain::ports::{HealthCheck as _, StoreUnavailable, UserRepository as _};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use std::time::{Duration, Instant};

async fn fresh() -> Option<(PgStore, TestDatabase)> {
    let database = TestDatabase::create().await?;
    let store = crate::connect(database.url(), 2).await.expect("connect");
    Some((store, database))
}

fn is_unavailable(error: &anyhow::Error) -> bool {
    error.downcast_ref::<StoreUnavailable>().is_some()
}

/// Postgres ending the session that runs the statement: what a fast shutdown does.
const END_OWN_SESSION: &str = "SELECT pg_terminate_backend(pg_backend_pid())";

async fn execute(conn: &mut AsyncPgConnection, sql: &str) -> anyhow::Result<usize> {
    diesel::sql_query(sql)
        .execute(conn)
        .await
        .with_context(|| format!("{sql} failed"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_under_a_statement_is_unavailable_and_its_connection_is_dropped() {
    let Some((store, _database)) = fresh().await else {
        return;
    };
    let error = store
        .run(async |conn| execute(conn, END_OWN_SESSION).await)
        .await
        .expect_err("the session ended");
    assert!(is_unavailable(&error), "{error:#}");

    let error = store
        .transaction(async |conn| execute(conn, END_OWN_SESSION).await)
        .await
        .expect_err("the session ended");
    assert!(is_unavailable(&error), "{error:#}");

    // The pool hands out working connections again, not the dead ones.
    for _ in 0..4 {
        store
            .find(UserId::generate())
            .await
            .expect("a fresh connection");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_statement_is_a_fault_not_an_outage() {
    let Some((store, _database)) = fresh().await else {
        return;
    };
    let error = store
        .run(async |conn| execute(conn, "SELEC 1").await)
        .await
        .expect_err("a syntax error");
    assert!(!is_unavailable(&error), "{error:#}");
    let error = store
        .transaction(async |conn| execute(conn, "SELECT 1/0").await)
        .await
        .expect_err("a division by zero");
    assert!(!is_unavailable(&error), "{error:#}");
    store.ping().await.expect("the connection still works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_unavailable_until_postgres_accepts_them_again() {
    let Some((store, database)) = fresh().await else {
        return;
    };
    store
        .find(UserId::generate())
        .await
        .expect("works at first");
    // A database cannot refuse connections to itself: administer it from the server's
    // admin database, as the fixture does.
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| crate::testing::DEFAULT_ADMIN_URL.to_owned());
    let mut admin = AsyncPgConnection::establish(&admin_url)
        .await
        .expect("admin connection");
    let name = database.name();
    execute(
        &mut admin,
        &format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"),
    )
    .await
    .expect("refuse connections");
    execute(
        &mut admin,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ),
    )
    .await
    .expect("end the pool's sessions");

    let error = store
        .find(UserId::generate())
        .await
        .expect_err("no connection");
    assert!(is_unavailable(&error), "{error:#}");
    let started = Instant::now();
    let error = store.ping().await.expect_err("not ready");
    assert!(is_unavailable(&error), "{error:#}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    execute(
        &mut admin,
        &format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"),
    )
    .await
    .expect("accept connections");
    store
        .find(UserId::generate())
        .await
        .expect("the pool recovered");
    store.ping().await.expect("ready again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_check_does_not_wait_for_a_busy_pool() {
    let Some((store, _database)) = fresh().await else {
        return;
    };
    // Hold both pooled connections, as a rush on one event does.
    let (first, second) = (store.conn().await, store.conn().await);
    let (_first, _second) = (first.expect("one"), second.expect("two"));
    let started = Instant::now();
    let error = store.ping().await.expect_err("no connection free");
    assert!(is_unavailable(&error), "{error:#}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
