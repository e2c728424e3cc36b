//! How every port operation reaches Postgres: [`PgStore::run`] and
//! [`PgStore::transaction`] lend it a pooled connection and, when it fails, tell a
//! Postgres that cannot be reached (down, restarting, no free connection) from a fault,
//! by putting [`StoreUnavailable`] in the error chain. The HTTP edge answers the first
//! with 503 and the second with 500.
//!
//! What a restart of Postgres under load looks like from here (`pg_ctl stop -m fast`,
//! then start): the pool cannot connect ("error connecting to server", "the database
//! system is shutting down" / "is starting up"); a transaction cut off by the shutdown
//! fails with `UnableToSendCommand` ("connection closed") when diesel-async rolls it
//! back; a plain statement that was running fails with SQLSTATE 57P01 ("terminating
//! connection due to administrator command"), which diesel reports as an `Unknown`
//! database error without its SQLSTATE, so the connection is asked whether it still
//! answers. A connection that failed like this is closed or broken, and the pool drops
//! it when it comes back instead of handing it out again.

use crate::PgStore;
use anyhow::Context as _;
use boxoffice_domain::ports::StoreUnavailable;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::PoolableConnection as _;
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use std::future::Future;
use std::time::Duration;

/// What a failure that means Postgres cannot be reached carries.
pub(crate) const UNAVAILABLE: StoreUnavailable = StoreUnavailable("database");

/// How long a failed connection has to answer `SELECT 1` to count as alive.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// An async closure over a connection whose future is `Send`, as `async_trait` needs.
/// `AsyncFnOnce` alone cannot say that yet; this is the workaround diesel-async uses for
/// its own `transaction`.
pub(crate) trait Step<'c, T>: FnOnce(&'c mut AsyncPgConnection) -> Self::Fut {
    /// The future the closure returns.
    type Fut: Future<Output = anyhow::Result<T>> + Send;
}

impl<'c, T, F, Fut> Step<'c, T> for F
where
    F: FnOnce(&'c mut AsyncPgConnection) -> Fut,
    Fut: Future<Output = anyhow::Result<T>> + Send,
{
    type Fut = Fut;
}

impl PgStore {
    /// A connection from the pool. Getting none (Postgres unreachable, or every
    /// connection busy for the whole pool wait) is [`StoreUnavailable`].
    async fn conn(&self) -> anyhow::Result<Object<AsyncPgConnection>> {
        self.pool
            .get()
            .await
            .context("no Postgres connection available")
            .context(UNAVAILABLE)
    }

    /// Runs `step` on a pooled connection, outside a transaction (`step` may open one).
    ///
    /// # Errors
    /// What `step` returns; with [`StoreUnavailable`] when the connection was lost.
    pub(crate) async fn run<T, F>(&self, step: F) -> anyhow::Result<T>
    where
        F: for<'c> AsyncFnOnce(&'c mut AsyncPgConnection) -> anyhow::Result<T>
            + for<'c> Step<'c, T>
            + Send,
    {
        let mut conn = self.conn().await?;
        let outcome = step(&mut conn).await;
        settle(&mut conn, outcome).await
    }

    /// Runs `step` in a transaction of its own on a pooled connection; it commits when
    /// `step` returns `Ok` (domain refusals included) and rolls back on `Err`.
    ///
    /// # Errors
    /// What `step` returns, or a failed `BEGIN`/`COMMIT`; with [`StoreUnavailable`]
    /// when the connection was lost.
    pub(crate) async fn transaction<T, F>(&self, step: F) -> anyhow::Result<T>
    where
        F: for<'c> AsyncFnOnce(&'c mut AsyncPgConnection) -> anyhow::Result<T>
            + for<'c> Step<'c, T>
            + Send,
        T: Send,
    {
        let mut conn = self.conn().await?;
        let outcome = (*conn).transaction::<T, anyhow::Error, F>(step).await;
        settle(&mut conn, outcome).await
    }

    /// Runs the reads of `step` in one read-only snapshot (a repeatable-read
    /// transaction), so rows read by separate statements agree with each other.
    ///
    /// # Errors
    /// As [`PgStore::transaction`].
    pub(crate) async fn snapshot<T, F>(&self, step: F) -> anyhow::Result<T>
    where
        F: for<'c> AsyncFnOnce(&'c mut AsyncPgConnection) -> anyhow::Result<T>
            + for<'c> Step<'c, T>
            + Send,
        T: Send,
    {
        let mut conn = self.conn().await?;
        let outcome = conn
            .build_transaction()
            .read_only()
            .repeatable_read()
            .run::<T, anyhow::Error, F>(step)
            .await;
        settle(&mut conn, outcome).await
    }
}

/// `outcome`, its error marked [`StoreUnavailable`] when the connection was lost.
async fn settle<T>(conn: &mut AsyncPgConnection, outcome: anyhow::Result<T>) -> anyhow::Result<T> {
    match outcome {
        Err(error) if connection_lost(conn, &error).await => Err(error.context(UNAVAILABLE)),
        outcome => outcome,
    }
}

/// Whether `error`, which `conn` just returned, means the connection to Postgres is gone.
async fn connection_lost(conn: &mut AsyncPgConnection, error: &anyhow::Error) -> bool {
    let mut database_error = false;
    for cause in error.chain() {
        match cause.downcast_ref::<DieselError>() {
            Some(
                DieselError::DatabaseError(
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                    _,
                )
                | DieselError::BrokenTransactionManager,
            ) => return true,
            Some(DieselError::DatabaseError(..)) => database_error = true,
            _ => {}
        }
    }
    if conn.is_broken() {
        return true;
    }
    // A session Postgres ended (SQLSTATE 57P0x, 08xxx) reports an `Unknown` error whose
    // SQLSTATE diesel does not expose; such a connection no longer answers.
    database_error && !answers(conn).await
}

/// Whether `conn` answers `SELECT 1` within [`PROBE_TIMEOUT`].
async fn answers(conn: &mut AsyncPgConnection) -> bool {
    let probe = diesel::sql_query("SELECT 1").execute(conn);
    matches!(tokio::time::timeout(PROBE_TIMEOUT, probe).await, Ok(Ok(_)))
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
