//! The rate-limiter contract against a real Redis, each test under a key prefix of its
//! own. Skipped (loudly) when Redis is unreachable, unless `CI=true`.

use boxoffice_domain::ports::RateLimiter;
use boxoffice_store_redis::RedisRateLimiter;
use boxoffice_store_redis::testing::TestRedis;
use std::sync::Arc;

async fn limiter() -> Option<(Arc<dyn RateLimiter>, ())> {
    let redis = TestRedis::connect().await?;
    Some((Arc::new(RedisRateLimiter::new(redis.redis().clone())), ()))
}

boxoffice_contract::rate_limit_contract!(limiter);
