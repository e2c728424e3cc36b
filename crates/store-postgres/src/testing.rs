//! Throwaway Postgres databases for tests (feature `testing`).
//!
//! Every test gets its own database, created empty and migrated, and dropped when the
//! [`TestDatabase`] guard goes out of scope, so tests run in parallel without sharing rows.

use anyhow::Context as _;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use std::time::Duration;

/// Where the fixture connects to create and drop databases, unless `TEST_DATABASE_URL` says.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long to wait for the admin connection before calling Postgres unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A fresh, migrated database that is dropped (`WITH (FORCE)`) when this guard drops.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates and migrates `boxoffice_test_<uuid>` on the server of `TEST_DATABASE_URL`.
    ///
    /// Returns `None` after printing a loud `SKIPPED` line when Postgres is unreachable,
    /// unless `CI=true`: then an unreachable database is a failure.
    ///
    /// # Panics
    /// When Postgres is unreachable and `CI=true`, or when it is reachable but the
    /// database cannot be created or migrated.
    pub async fn create() -> Option<Self> {
        let admin_url =
            std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
        let mut admin = match admin_connection(&admin_url).await {
            Ok(conn) => conn,
            Err(error) => {
                if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                    panic!("Postgres unreachable at {admin_url} and CI=true: {error:#}");
                }
                eprintln!(
                    "SKIPPED: Postgres unreachable at {admin_url} ({error:#}); set TEST_DATABASE_URL"
                );
                return None;
            }
        };
        let name = format!("boxoffice_test_{}", uuid::Uuid::new_v4().simple());
        if let Err(error) = diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
        {
            panic!("cannot create test database {name}: {error}");
        }
        let database = Self {
            url: with_database(&admin_url, &name),
            admin_url,
            name,
        };
        // From here on a failure drops the new database through the guard.
        if let Err(error) = crate::run_migrations(&database.url).await {
            panic!("cannot migrate test database {}: {error:#}", database.name);
        }
        Some(database)
    }

    /// The URL of the test database.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The name of the test database.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and a test's runtime cannot be blocked on from inside it:
        // drop the database from a thread with a small runtime of its own.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start a runtime")?;
            runtime.block_on(async {
                let mut admin = admin_connection(&admin_url).await?;
                diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .context("DROP DATABASE failed")?;
                Ok(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!(
                "warning: test database {} was not dropped: {error:#}",
                self.name
            ),
            Err(_) => eprintln!("warning: dropping test database {} panicked", self.name),
        }
    }
}

/// A connection to the admin database, or why there is none within [`CONNECT_TIMEOUT`].
async fn admin_connection(url: &str) -> anyhow::Result<AsyncPgConnection> {
    tokio::time::timeout(CONNECT_TIMEOUT, AsyncPgConnection::establish(url))
        .await
        .context("timed out")?
        .context("connection failed")
}

/// `url` with its database (the path) replaced by `database`; the query string is kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "t"),
            "postgres://u@h:5432/t"
        );
        assert_eq!(with_database("postgres://u@h", "t"), "postgres://u@h/t");
        assert_eq!(
            with_database("postgres://u:p@h/postgres?sslmode=disable", "t"),
            "postgres://u:p@h/t?sslmode=disable"
        );
    }
}
