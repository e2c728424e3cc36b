//! The production store of boxoffice: every port in `boxoffice_domain::ports` that lives
//! in a database, over Postgres with diesel-async and a deadpool pool.
//!
//! Each port operation runs in one transaction of its own; rows that are read and then
//! written are locked with `SELECT ... FOR UPDATE`. Operations on seats (holds,
//! bookings, waitlists, event changes) are decided by the domain's seat planner under
//! their event's row lock, several requests of one event per transaction (see `batch`
//! and `docs/seat-accounting.md`). No libpq: diesel-async speaks to Postgres through
//! tokio-postgres.

mod analytics;
mod api_tokens;
mod audit;
mod batch;
mod bookings;
mod check_ins;
mod email_keys;
mod events;
mod holds;
mod keyed;
mod ledger;
mod models;
mod outbox;
mod pool;
mod schema;
mod ticket_types;
mod tokens;
mod users;
mod versions;
mod waitlist;

#[cfg(feature = "testing")]
pub mod testing;

use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::group_commit::SEAT_BATCHES;
use boxoffice_domain::ports::{HealthCheck, PoolStats, VersionBoard};
use diesel::connection::SimpleConnection as _;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness as _, embed_migrations};
use std::sync::Arc;
use std::time::Duration;

/// The Postgres schema, applied by [`run_migrations`].
const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// How long to wait for a new connection or a recycle check.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request waits for a pooled connection. Seat transactions of one event are
/// serialised on its row lock, so a flash sale queues requests here: they must wait
/// their turn, not fail after a few seconds.
const POOL_WAIT: Duration = Duration::from_secs(30);

/// How long the health check may take, waiting for a pooled connection included: a
/// readiness probe must answer quickly even while a rush on one event holds every
/// connection for up to [`POOL_WAIT`].
const PING_TIMEOUT: Duration = Duration::from_millis(1500);

/// Taken for the duration of a migration run, so two instances starting together do not
/// apply the same migration twice. Any constant works; this is "boxoffi" in ASCII.
const MIGRATION_LOCK_KEY: i64 = 0x0062_6f78_6f66_6669;

/// Every database port over one connection pool. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool<AsyncPgConnection>,
    versions: versions::Publisher,
    batches: batch::SeatBatches,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool.status())
            .finish()
    }
}

/// Builds a pool of at most `max_connections` connections to `url` and checks that one
/// connection works. Does not apply migrations: see [`run_migrations`].
///
/// # Errors
/// When the pool cannot be built or Postgres does not answer.
pub async fn connect(url: &str, max_connections: usize) -> anyhow::Result<PgStore> {
    // No `SELECT 1` before each checkout (a round trip per batch): a connection that
    // broke is found broken when it is used, and `pool` drops it then (see there).
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    let pool = Pool::builder(manager)
        .max_size(max_connections.max(1))
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(POOL_TIMEOUT))
        .recycle_timeout(Some(POOL_TIMEOUT))
        .build()
        .context("cannot build the Postgres connection pool")?;
    let store = PgStore {
        pool,
        versions: versions::Publisher::default(),
        batches: batch::SeatBatches::new(batch::BATCH_LIMIT, SEAT_BATCHES),
    };
    store.ping().await.context("cannot reach Postgres")?;
    Ok(store)
}

impl PgStore {
    /// The same store, publishing every event version to `board` before the change
    /// commits (a failure to publish rolls the change back), so that every instance may
    /// serve event reads from memory against `board`.
    #[must_use]
    pub fn publishing_to(mut self, board: Arc<dyn VersionBoard>) -> Self {
        self.versions = versions::Publisher::to(board);
        self
    }
}

/// Applies the migrations `url` has not seen yet and returns their names (none when it
/// is up to date). After applying any, folds the email keys SQL could not (see
/// `email_keys`).
///
/// Runs on a blocking thread through diesel's sync migration harness: diesel-async's own
/// harness calls `block_in_place`, which panics on a current-thread runtime.
///
/// # Errors
/// When Postgres cannot be reached or a migration fails.
pub async fn run_migrations(url: &str) -> anyhow::Result<Vec<String>> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        use diesel::Connection as _;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .context("cannot connect to Postgres to migrate")?;
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
            .context("cannot take the migration lock")?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| anyhow::anyhow!(e))
            .context("Postgres migration failed")
            .and_then(|applied| {
                if !applied.is_empty() {
                    email_keys::fold(&mut conn)?;
                }
                Ok(applied)
            });
        let unlocked = conn
            .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
            .context("cannot release the migration lock");
        let applied = applied?;
        unlocked?;
        Ok(applied)
    })
    .await
    .context("the migration task panicked")?
}

#[async_trait]
impl HealthCheck for PgStore {
    fn name(&self) -> &'static str {
        "database"
    }

    fn pool(&self) -> Option<PoolStats> {
        let status = self.pool.status();
        Some(PoolStats {
            max: status.max_size,
            in_use: status.size.saturating_sub(status.available),
            idle: status.available,
            waiting: status.waiting,
        })
    }

    async fn ping(&self) -> anyhow::Result<()> {
        let select_one = self.run(async |conn| {
            diesel::sql_query("SELECT 1")
                .execute(conn)
                .await
                .context("Postgres did not answer SELECT 1")
        });
        tokio::time::timeout(PING_TIMEOUT, select_one)
            .await
            .context("Postgres did not answer SELECT 1 in time")
            .context(pool::UNAVAILABLE)?
            .map(drop)
    }
}
