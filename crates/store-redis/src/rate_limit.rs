//! The shared rate limiter: fixed-window counters in Redis, so that every instance
//! counts against the same limit.

use crate::Redis;
use async_trait::async_trait;
use boxoffice_domain::ports::{RateDecision, RateLimit, RateLimiter};
use deadpool_redis::redis::Script;
use std::time::Duration;

/// Counts a hit and opens the window on the first one, in one atomic step. A key
/// without an expiry (only possible if it was written by hand) gets one too, so no
/// counter lives forever. Answers `{hits in this window, milliseconds left in it}`.
const HIT: &str = r"
local hits = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  left = tonumber(ARGV[1])
  redis.call('PEXPIRE', KEYS[1], left)
end
return {hits, left}
";

/// [`RateLimiter`] on Redis, with the semantics the port describes: a key's window
/// opens at its first hit (`INCR` creating the key, `PEXPIRE` giving it the window's
/// length) and ends when Redis expires the key.
///
/// The key of `name` is `<prefix>rl:{<name>}`: the braces are a Redis Cluster hash
/// tag, so everything counted for one client stays in one slot.
#[derive(Debug, Clone)]
pub struct RedisRateLimiter {
    redis: Redis,
    script: Script,
}

impl RedisRateLimiter {
    /// Counters in `redis`, under its key prefix.
    #[must_use]
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            script: Script::new(HIT),
        }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, key: &str, limit: RateLimit) -> anyhow::Result<RateDecision> {
        let key = self.redis.key(&format!("rl:{{{key}}}"));
        let window_ms = u64::try_from(limit.window.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let (hits, left_ms): (u64, u64) = self
            .redis
            .run("count a rate-limited hit", async |conn| {
                self.script
                    .key(&key)
                    .arg(window_ms)
                    .invoke_async(conn)
                    .await
            })
            .await?;
        Ok(if hits <= u64::from(limit.hits.get()) {
            RateDecision::Allowed {
                remaining: u32::try_from(u64::from(limit.hits.get()) - hits).unwrap_or(0),
                reset_after: Duration::from_millis(left_ms),
            }
        } else {
            RateDecision::Limited {
                // Under a millisecond left reads as 0: still a wait, not a free pass.
                retry_after: Duration::from_millis(left_ms.max(1)),
            }
        })
    }
}
