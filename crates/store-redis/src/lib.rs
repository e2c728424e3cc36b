//! Redis adapters of boxoffice, used when `REDIS_URL` is set: the seat admission gate
//! in front of the Postgres store, the shared rate-limit counters and the version board
//! that keeps event reads from memory exact across instances. Redis keeps
//! nothing that cannot be rebuilt from Postgres; see `docs/scaling.md`.

mod gate;
mod rate_limit;
#[cfg(feature = "testing")]
pub mod testing;
mod versions;

pub use gate::SeatGate;
pub use rate_limit::RedisRateLimiter;
pub use versions::RedisVersionBoard;

use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::ports::{HealthCheck, PoolStats, StoreUnavailable};
use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::{Config, Pool, Runtime};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long a Redis step may take, waiting for a connection included, before the
/// request fails with 503 instead of hanging.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Redis connections with a key prefix. Cheap to clone.
///
/// Every step shares one multiplexed connection (commands of concurrent steps are
/// pipelined on it), taken from the pool and kept until it fails: the pool checks a
/// connection with a `PING` each time it hands one out, which doubled the round trips
/// of every step.
#[derive(Clone)]
pub struct Redis {
    pool: Pool,
    prefix: String,
    shared: Arc<Mutex<Option<MultiplexedConnection>>>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("pool", &self.pool.status())
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Redis {
    /// A pool of up to `max_connections` connections to `url`; every key starts with
    /// `prefix` (tests use one prefix each to share a server). Connects lazily.
    ///
    /// # Errors
    /// When the URL is not a Redis URL.
    pub fn new(url: &str, max_connections: usize, prefix: &str) -> anyhow::Result<Self> {
        let mut config = Config::from_url(url);
        config.pool = Some(deadpool_redis::PoolConfig {
            max_size: max_connections.max(1),
            timeouts: deadpool_redis::Timeouts {
                wait: Some(REDIS_TIMEOUT),
                create: Some(REDIS_TIMEOUT),
                recycle: Some(REDIS_TIMEOUT),
            },
            ..deadpool_redis::PoolConfig::default()
        });
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .context("cannot build the Redis connection pool")?;
        Ok(Self {
            pool,
            prefix: prefix.to_owned(),
            shared: Arc::default(),
        })
    }

    /// The key `name` under this pool's prefix.
    #[must_use]
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Runs `step` on a pooled connection within [`REDIS_TIMEOUT`]; failing to reach
    /// Redis in time is [`StoreUnavailable`].
    ///
    /// # Errors
    /// What `step` returns, or `StoreUnavailable("redis")` with the cause.
    pub async fn run<T, F>(&self, what: &str, step: F) -> anyhow::Result<T>
    where
        F: AsyncFnOnce(&mut MultiplexedConnection) -> deadpool_redis::redis::RedisResult<T>,
    {
        let attempt = async {
            let mut conn = self.connection().await.map_err(Failure::Pool)?;
            let done = step(&mut conn).await;
            if done.as_ref().is_err_and(is_unreachable) {
                self.forget(); // the next step takes a new one from the pool
            }
            done.map_err(Failure::Command)
        };
        let unavailable = |e: anyhow::Error| e.context(StoreUnavailable("redis"));
        match tokio::time::timeout(REDIS_TIMEOUT, attempt).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(Failure::Pool(e))) => Err(unavailable(e.into())),
            Ok(Err(Failure::Command(e))) if is_unreachable(&e) => Err(unavailable(e.into())),
            Ok(Err(Failure::Command(e))) => Err(e.into()),
            Err(elapsed) => Err(unavailable(elapsed.into())),
        }
        .with_context(|| format!("Redis failed to {what}"))
    }
}

impl Redis {
    /// The shared connection, taken from the pool when there is none.
    async fn connection(&self) -> Result<MultiplexedConnection, deadpool_redis::PoolError> {
        if let Some(conn) = self.lock_shared().clone() {
            return Ok(conn);
        }
        let pooled = self.pool.get().await?;
        let conn = MultiplexedConnection::clone(&pooled);
        *self.lock_shared() = Some(conn.clone());
        Ok(conn)
    }

    /// Drops the shared connection after it failed.
    fn forget(&self) {
        *self.lock_shared() = None;
    }

    fn lock_shared(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where a Redis step failed.
enum Failure {
    Pool(deadpool_redis::PoolError),
    Command(deadpool_redis::redis::RedisError),
}

/// Whether `e` means Redis could not be reached (rather than a refused command).
fn is_unreachable(e: &deadpool_redis::redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout()
}

#[async_trait]
impl HealthCheck for Redis {
    fn name(&self) -> &'static str {
        "redis"
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
        self.run("answer PING", async |conn| {
            deadpool_redis::redis::cmd("PING")
                .query_async::<String>(conn)
                .await
        })
        .await
        .map(drop)
    }
}
