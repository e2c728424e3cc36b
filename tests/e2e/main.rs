//! End-to-end tests: each starts the real `boxoffice serve` (on SQLite and on Postgres)
//! and checks the HTTP contract in ../shared/api-contract.md.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

mod analytics;
mod auth;
mod bookings;
mod check_ins;
mod edge;
mod erasure;
mod events;
mod faults;
mod holds;
mod input;
mod rate_limit;
mod retries;
mod security;
mod shutdown;
mod stream;
mod support;
mod ticket_types;
mod tickets;
mod users;
mod waitlist;

/// Runs an async test body once per store: `on_both_stores!(name, body_fn)` defines
/// `name::sqlite` and `name::postgres`; `on_both_stores!(name, body_fn, env = [("K", "V")])`
/// starts the servers with extra environment variables.
#[macro_export]
macro_rules! on_both_stores {
    ($name:ident, $body:path, env = $env:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                if let Some(server) =
                    boxoffice_e2e::TestServer::start_with(boxoffice_e2e::Backend::Sqlite, &$env)
                        .await
                {
                    $body(server).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(server) =
                    boxoffice_e2e::TestServer::start_with(boxoffice_e2e::Backend::Postgres, &$env)
                        .await
                {
                    $body(server).await;
                }
            }
        }
    };
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
