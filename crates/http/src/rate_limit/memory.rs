//! The rate limiter of a single process: counters in memory.

use boxoffice_domain::ports::{RateDecision, RateLimit, RateLimiter};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Below this many keys, ended windows are left in the map.
const MIN_PRUNE: usize = 1024;

/// [`RateLimiter`] in this process's memory, for a single instance (no `REDIS_URL`).
///
/// Hand-written rather than `governor`: the port asks for fixed windows that behave
/// exactly like the Redis adapter's `INCR` + `PEXPIRE`, and `governor` implements a
/// different algorithm (GCRA). Ended windows are dropped whenever the map has doubled
/// since the last sweep, so memory follows the number of recently active keys.
#[derive(Debug, Default)]
pub struct MemoryRateLimiter {
    windows: Mutex<Windows>,
}

#[derive(Debug, Default)]
struct Windows {
    open: HashMap<String, Window>,
    /// At this many keys, ended windows are dropped.
    prune_at: usize,
}

#[derive(Debug)]
struct Window {
    hits: u32,
    ends: Instant,
}

impl MemoryRateLimiter {
    /// An empty limiter.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn count(&self, key: &str, limit: RateLimit, now: Instant) -> RateDecision {
        // A panic while the lock was held cannot leave a counter half-written.
        let mut guard = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let windows = &mut *guard;
        if windows.open.len() >= windows.prune_at {
            windows.open.retain(|_, window| window.ends > now);
            windows.prune_at = (windows.open.len() * 2).max(MIN_PRUNE);
        }
        let fresh = || Window {
            hits: 0,
            ends: now + limit.window,
        };
        let window = windows.open.entry(key.to_owned()).or_insert_with(fresh);
        if window.ends <= now {
            *window = fresh();
        }
        window.hits = window.hits.saturating_add(1);
        if window.hits <= limit.hits.get() {
            RateDecision::Allowed {
                remaining: limit.hits.get() - window.hits,
                reset_after: window.ends - now,
            }
        } else {
            RateDecision::Limited {
                retry_after: window.ends - now,
            }
        }
    }
}

#[async_trait::async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(&self, key: &str, limit: RateLimit) -> anyhow::Result<RateDecision> {
        Ok(self.count(key, limit, Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ended_windows_are_forgotten_once_the_map_doubles() {
        let limiter = MemoryRateLimiter::new();
        let limit = RateLimit::per_minute(1).expect("a limit");
        let start = Instant::now();
        for i in 0..MIN_PRUNE {
            limiter.count(&format!("old-{i}"), limit, start);
        }
        let later = start + Duration::from_secs(61);
        assert_eq!(
            limiter.count("new", limit, later),
            RateDecision::Allowed {
                remaining: 0,
                reset_after: limit.window
            },
            "a new key"
        );
        let windows = limiter.windows.lock().expect("lock");
        assert_eq!(windows.open.len(), 1, "only the live window is kept");
        assert_eq!(windows.prune_at, MIN_PRUNE);
    }

    #[test]
    fn a_window_ends_exactly_after_its_length() {
        let limiter = MemoryRateLimiter::new();
        let limit = RateLimit::per_minute(1).expect("a limit");
        let start = Instant::now();
        let whole = RateDecision::Allowed {
            remaining: 0,
            reset_after: limit.window,
        };
        assert_eq!(limiter.count("k", limit, start), whole);
        let almost = start + Duration::from_millis(59_999);
        assert_eq!(
            limiter.count("k", limit, almost),
            RateDecision::Limited {
                retry_after: Duration::from_millis(1)
            }
        );
        assert_eq!(limiter.count("k", limit, start + limit.window), whole);
    }
}
