//! The embedded default store: SQLite through diesel, bundled into the binary.
//!
//! SQLite runs one writer at a time. Writes go through a single connection behind an
//! async mutex and open `BEGIN IMMEDIATE` transactions, so concurrent requests queue in
//! order instead of failing with "database is locked"; reads use a small pool of their
//! own connections (WAL mode lets them run beside the writer). Every call runs on
//! tokio's blocking pool, never on the async executor.

mod analytics;
mod api_tokens;
mod audit;
mod batch;
mod bookings;
mod check_ins;
mod convert;
mod email_keys;
mod events;
mod holds;
mod idempotency;
mod outbox;
mod rows;
mod schema;
mod ticket_types;
mod tokens;
mod users;
mod versions;
mod waitlist;

use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::group_commit::SEAT_BATCHES;
use boxoffice_domain::ports::{HealthCheck, LocalVersionBoard, PoolStats};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::{Connection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT_MS: u32 = 10_000;
/// Connections for reads, beside the one writer.
const READERS: u32 = 4;

/// Every port of the domain, over one SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    readers: Pool<ConnectionManager<SqliteConnection>>,
    writer: Arc<Mutex<SqliteConnection>>,
    versions: Arc<LocalVersionBoard>,
    batches: batch::SeatBatches,
}

#[derive(Debug)]
struct Pragmas;

impl Pragmas {
    fn apply(conn: &mut SqliteConnection) -> Result<(), diesel::result::Error> {
        conn.batch_execute(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA synchronous = FULL;"
        ))
    }
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        Self::apply(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, in WAL mode with foreign keys on.
    ///
    /// # Errors
    /// When the file cannot be opened or configured.
    pub async fn open(path: &str) -> anyhow::Result<Self> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(&path)).await?
    }

    fn open_blocking(path: &str) -> anyhow::Result<Self> {
        let mut writer = SqliteConnection::establish(path)
            .with_context(|| format!("cannot open SQLite database {path:?}"))?;
        writer
            .batch_execute("PRAGMA journal_mode = WAL;")
            .context("cannot switch SQLite to WAL mode")?;
        Pragmas::apply(&mut writer).context("cannot configure SQLite")?;
        let readers = Pool::builder()
            .max_size(READERS)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .connection_customizer(Box::new(Pragmas))
            .build(ConnectionManager::new(path))
            .with_context(|| format!("cannot open SQLite database {path:?}"))?;
        Ok(Self {
            readers,
            writer: Arc::new(Mutex::new(writer)),
            versions: Arc::default(),
            batches: batch::SeatBatches::new(batch::BATCH_LIMIT, SEAT_BATCHES),
        })
    }

    /// Where this store raises event versions: event reads in this process may be served
    /// from memory against it (one process owns the file; see `docs/performance.md`).
    #[must_use]
    pub fn versions(&self) -> Arc<LocalVersionBoard> {
        self.versions.clone()
    }

    /// Applies the embedded migrations that have not run yet; returns their names. After
    /// applying any, folds the email keys SQL could not (see `email_keys`).
    ///
    /// # Errors
    /// When a migration fails.
    pub async fn migrate(&self) -> anyhow::Result<Vec<String>> {
        let mut writer = self.writer.clone().lock_owned().await;
        tokio::task::spawn_blocking(move || {
            let applied = writer
                .run_pending_migrations(MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("SQLite migration failed: {e}"))?
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>();
            if !applied.is_empty() {
                email_keys::fold(&mut writer)?;
            }
            Ok(applied)
        })
        .await?
    }

    /// Runs `f` on a reader connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> anyhow::Result<T> + Send + 'static,
    {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().context("no SQLite connection available")?;
            conn.transaction(|c| f(c))
        })
        .await?
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction on the writer, on the blocking pool.
    /// `f` returns the operation's own outcome inside `Ok`, which is committed either way;
    /// an `Err` rolls back.
    async fn write<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> anyhow::Result<T> + Send + 'static,
    {
        let mut writer = self.writer.clone().lock_owned().await;
        tokio::task::spawn_blocking(move || writer.immediate_transaction(|c| f(c))).await?
    }
}

#[async_trait]
impl HealthCheck for SqliteStore {
    fn name(&self) -> &'static str {
        "database"
    }

    /// The readers' pool (the one writer connection is not pooled).
    fn pool(&self) -> Option<PoolStats> {
        let state = self.readers.state();
        let (open, idle) = (state.connections as usize, state.idle_connections as usize);
        Some(PoolStats {
            max: self.readers.max_size() as usize,
            in_use: open.saturating_sub(idle),
            idle,
            waiting: 0,
        })
    }

    async fn ping(&self) -> anyhow::Result<()> {
        use diesel::RunQueryDsl;
        self.read(|c| {
            diesel::sql_query("SELECT 1").execute(c)?;
            Ok(())
        })
        .await
    }
}
