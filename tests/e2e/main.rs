//! End-to-end tests: each starts the real `boxoffice serve` (on SQLite and on Postgres)
//! and checks the HTTP contract in ../shared/api-contract.md.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

mod auth;
mod edge;
mod events;
mod support;
mod users;

/// Runs an async test body once per store: `on_both_stores!(name, body_fn)` defines
/// `name_sqlite` and `name_postgres`.
#[macro_export]
macro_rules! on_both_stores {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                if let Some(server) =
                    boxoffice_e2e::TestServer::start(boxoffice_e2e::Backend::Sqlite).await
                {
                    $body(server).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(server) =
                    boxoffice_e2e::TestServer::start(boxoffice_e2e::Backend::Postgres).await
                {
                    $body(server).await;
                }
            }
        }
    };
}
