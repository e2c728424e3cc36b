//! Redis for tests (feature `testing`): the shared server, with a key prefix that no
//! other test uses, so tests run in parallel beside anyone else's keys.

use crate::Redis;
use boxoffice_domain::ports::HealthCheck as _;

/// The server tests use unless `TEST_REDIS_URL` names another.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// A reachable Redis and a key prefix of this test's own (`bo-test:<uuid>:`).
///
/// Nothing is deleted afterwards: tests write only counters that expire by themselves.
#[derive(Debug, Clone)]
pub struct TestRedis {
    url: String,
    prefix: String,
    redis: Redis,
}

impl TestRedis {
    /// Connects to `TEST_REDIS_URL` (default [`DEFAULT_URL`]).
    ///
    /// Returns `None` after printing a loud `SKIPPED` line when Redis is unreachable,
    /// unless `CI=true`: then an unreachable Redis is a failure.
    ///
    /// # Panics
    /// When Redis is unreachable and `CI=true`, or the URL is not a Redis URL.
    pub async fn connect() -> Option<Self> {
        let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
        let prefix = format!("bo-test:{}:", uuid::Uuid::new_v4().simple());
        let redis = match Redis::new(&url, 16, &prefix) {
            Ok(redis) => redis,
            Err(error) => panic!("TEST_REDIS_URL {url:?} is not usable: {error:#}"),
        };
        if let Err(error) = redis.ping().await {
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("Redis unreachable at {url} and CI=true: {error:#}");
            }
            eprintln!("SKIPPED: Redis unreachable at {url} ({error:#}); set TEST_REDIS_URL");
            return None;
        }
        Some(Self { url, prefix, redis })
    }

    /// The server's URL.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// This test's key prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A pool whose keys carry this test's prefix.
    #[must_use]
    pub fn redis(&self) -> &Redis {
        &self.redis
    }
}
