//! The rate-limiter contract against the in-memory limiter, a fresh one per test.

use boxoffice_domain::ports::RateLimiter;
use boxoffice_http::rate_limit::MemoryRateLimiter;
use std::sync::Arc;

async fn limiter() -> Option<(Arc<dyn RateLimiter>, ())> {
    Some((Arc::new(MemoryRateLimiter::new()), ()))
}

boxoffice_contract::rate_limit_contract!(limiter);
