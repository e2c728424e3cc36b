//! Counting requests against a limit, so that one client cannot flood the service.

use async_trait::async_trait;
use std::num::NonZeroU32;
use std::time::Duration;

/// At most `hits` hits per `window` for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Hits allowed in one window.
    pub hits: NonZeroU32,
    /// How long a window lasts (at least a millisecond).
    pub window: Duration,
}

impl RateLimit {
    /// `hits` per minute, or `None` for 0 (no limit).
    #[must_use]
    pub fn per_minute(hits: u32) -> Option<Self> {
        Self::per(hits, Duration::from_secs(60))
    }

    /// `hits` per hour, or `None` for 0 (no limit).
    #[must_use]
    pub fn per_hour(hits: u32) -> Option<Self> {
        Self::per(hits, Duration::from_secs(3600))
    }

    fn per(hits: u32, window: Duration) -> Option<Self> {
        NonZeroU32::new(hits).map(|hits| Self { hits, window })
    }
}

/// The answer to one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// The hit is within the limit.
    Allowed {
        /// Hits still allowed in the key's current window.
        remaining: u32,
        /// Time left in the key's current window.
        reset_after: Duration,
    },
    /// The limit is reached: the key's window ends after `retry_after`.
    Limited {
        /// Time left in the key's current window.
        retry_after: Duration,
    },
}

/// Counts hits per key in **fixed windows**: a key's window opens at its first hit
/// and lasts `limit.window`; the first `limit.hits` hits in it are allowed and the rest
/// are refused until it ends. Refused hits count too, but never stretch the window.
/// (A client can therefore get up to twice the limit through around the end of a
/// window: the price of a counter that is one atomic step.)
///
/// Every adapter behaves the same, and `boxoffice-contract` checks it. Counters may
/// be shared by several processes (Redis), so a limit holds for a whole deployment.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one hit of `key` against `limit`. Callers use a given key with one limit.
    /// # Errors
    /// When the counter cannot be reached or updated; the caller decides whether to
    /// let the request through.
    async fn hit(&self, key: &str, limit: RateLimit) -> anyhow::Result<RateDecision>;
}
