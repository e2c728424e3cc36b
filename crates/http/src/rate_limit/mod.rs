//! The rate-limit policy: which requests count against which limit.
//!
//! - `POST /api/v1/auth/*` (register, login, refresh, logout, password reset): per
//!   client IP. Login also counts per email (see [`RateLimits::login_attempt`]), which
//!   slows password guessing spread over many addresses.
//! - Other writes under `/api/v1` (`POST`, `PUT`, `PATCH`, `DELETE`): per user, read
//!   from the access token, or per client IP when the token is missing or invalid.
//!   Writes made with an existing API token (a door scanner's check-ins) count per
//!   token instead, under their own limit; a made-up one counts per client IP.
//! - Reads, `/health`, `/metrics` and `/docs` are never limited.
//!
//! A refused request gets 429 `rate_limited` with `Retry-After` before any handler
//! runs, so it changes nothing. Every counted request's answer says where it stands,
//! in the `RateLimit-Policy` and `RateLimit` headers of the IETF draft
//! (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: "writes";q=60;w=60` and
//! `RateLimit: "writes";r=59;t=42` (hits left, seconds until the window resets). When the limiter itself fails (Redis down), the
//! request goes through and a warning is logged: limits protect the service, they are
//! not worth an outage of their own.

mod client;
mod memory;

pub use memory::MemoryRateLimiter;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::bearer_token;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, ResponseError, web};
use boxoffice_domain::api_token::is_api_token;
use boxoffice_domain::ports::{RateDecision, RateLimit, RateLimiter};
use boxoffice_domain::user::Email;
use std::sync::Arc;
use std::time::Duration;

/// The configured limits; `None` turns one off.
#[derive(Debug, Clone, Copy, Default)]
pub struct RateLimitSettings {
    /// `POST /api/v1/auth/*` per client IP.
    pub auth_per_ip: Option<RateLimit>,
    /// `POST /api/v1/auth/login` per email.
    pub login_per_email: Option<RateLimit>,
    /// Other writes under `/api/v1`, per user (per client IP when anonymous).
    pub writes: Option<RateLimit>,
    /// Writes under `/api/v1` made with an API token, per token.
    pub api_token: Option<RateLimit>,
    /// How many proxies in front of the service append the address they saw to
    /// `X-Forwarded-For`. 0: the client is the peer address and the header is ignored.
    pub trusted_proxy_hops: usize,
}

/// The policy and the counters it uses.
pub struct RateLimits {
    limiter: Arc<dyn RateLimiter>,
    settings: RateLimitSettings,
}

impl RateLimits {
    /// `settings` counted in `limiter`.
    #[must_use]
    pub fn new(limiter: Arc<dyn RateLimiter>, settings: RateLimitSettings) -> Self {
        Self { limiter, settings }
    }

    /// Counts a login attempt for `email` (as typed; case is ignored). Call it before
    /// checking the password. Text that is no email is not counted: such a login
    /// fails anyway, and counts per client IP like every auth request.
    ///
    /// # Errors
    /// 429 `rate_limited` when the email has had too many attempts.
    pub async fn login_attempt(&self, email: &str) -> Result<(), ApiError> {
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        let key = format!("login:email:{}", email.key().as_str());
        let quota = self
            .count("login_email", self.settings.login_per_email, &key)
            .await;
        match quota {
            Some(quota) if quota.limited => Err(ApiError::rate_limited(quota.reset_after)),
            _ => Ok(()),
        }
    }

    /// Counts `req` against the limit that applies to it, if any.
    async fn check(&self, req: &HttpRequest, state: &AppState) -> Option<Quota> {
        let client = || client::client_key(req, self.settings.trusted_proxy_hops);
        if req.method() == Method::POST && req.path().starts_with("/api/v1/auth/") {
            let key = format!("auth:ip:{}", client());
            return self.count("auth", self.settings.auth_per_ip, &key).await;
        }
        if !is_write(req.method()) {
            return None;
        }
        let bearer = bearer_token(req);
        if let Some(token) = bearer.filter(|t| is_api_token(t)) {
            // Only a token that exists gets a budget of its own: made-up ones count
            // against their client's address like any anonymous write.
            if let Ok(Some(id)) = state.tickets.known_api_token(token).await {
                let key = format!("api_token:{id}");
                return self.count("api_token", self.settings.api_token, &key).await;
            }
            let key = format!("writes:ip:{}", client());
            return self.count("writes", self.settings.writes, &key).await;
        }
        let key = match bearer.and_then(|token| state.accounts.token_user(token)) {
            Some(user) => format!("writes:user:{user}"),
            None => format!("writes:ip:{}", client()),
        };
        self.count("writes", self.settings.writes, &key).await
    }

    /// One hit of `key` against `limit` (none: nothing to count; a failing limiter
    /// counts nothing and lets the request through).
    async fn count(
        &self,
        rule: &'static str,
        limit: Option<RateLimit>,
        key: &str,
    ) -> Option<Quota> {
        let limit = limit?;
        let quota = |limited, remaining, reset_after| Quota {
            rule,
            limit,
            limited,
            remaining,
            reset_after,
        };
        match self.limiter.hit(key, limit).await {
            Ok(RateDecision::Allowed {
                remaining,
                reset_after,
            }) => Some(quota(false, remaining, reset_after)),
            Ok(RateDecision::Limited { retry_after }) => {
                metrics::counter!("boxoffice_rate_limited_total", "rule" => rule).increment(1);
                tracing::info!(rule, "rate limited");
                Some(quota(true, 0, retry_after))
            }
            Err(error) => {
                tracing::warn!(
                    rule,
                    error = format!("{error:#}"),
                    "rate limiter failed; letting the request through"
                );
                None
            }
        }
    }
}

/// Where a counted request stands against its limit.
#[derive(Debug, Clone, Copy)]
struct Quota {
    rule: &'static str,
    limit: RateLimit,
    limited: bool,
    remaining: u32,
    reset_after: Duration,
}

impl Quota {
    /// Adds `RateLimit-Policy` and `RateLimit` to `headers`.
    fn describe(&self, headers: &mut HeaderMap) {
        let whole_seconds = |d: Duration| d.as_secs() + u64::from(d.subsec_nanos() > 0);
        let policy = format!(
            "\"{}\";q={};w={}",
            self.rule,
            self.limit.hits,
            whole_seconds(self.limit.window)
        );
        let state = format!(
            "\"{}\";r={};t={}",
            self.rule,
            self.remaining,
            whole_seconds(self.reset_after)
        );
        for (name, value) in [(RATELIMIT_POLICY, policy), (RATELIMIT, state)] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
}

/// The draft's header of the policy that applied.
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// The draft's header of what is left of it.
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

fn is_write(method: &Method) -> bool {
    [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method)
}

/// Middleware for the `/api/v1` scope: answers 429 instead of running the handler
/// when the request is over its limit (see the module docs).
///
/// # Errors
/// Those of the inner service.
pub async fn limit_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let quota = state.rate_limits.check(req.request(), &state).await;
    let mut response = match quota {
        Some(quota) if quota.limited => {
            let refusal = ApiError::rate_limited(quota.reset_after).error_response();
            req.into_response(refusal)
        }
        _ => next.call(req).await?.map_into_boxed_body(),
    };
    if let Some(quota) = quota {
        quota.describe(response.headers_mut());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice_domain::ports::MockRateLimiter;
    use std::time::Duration;

    fn limits(limiter: MockRateLimiter) -> RateLimits {
        RateLimits::new(
            Arc::new(limiter),
            RateLimitSettings {
                login_per_email: RateLimit::per_hour(5),
                ..RateLimitSettings::default()
            },
        )
    }

    #[tokio::test]
    async fn login_attempts_count_per_email_ignoring_case() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_hit()
            .withf(|key, limit| {
                key == "login:email:ann@example.org" && *limit == RateLimit::per_hour(5).expect("5")
            })
            .times(1)
            .returning(|_, _| {
                Ok(RateDecision::Limited {
                    retry_after: Duration::from_millis(1500),
                })
            });
        let error = limits(limiter)
            .login_attempt(" Ann@Example.org ")
            .await
            .expect_err("limited");
        assert_eq!(error.code(), "rate_limited");
        let response = error.error_response();
        assert_eq!(
            response
                .headers()
                .get(actix_web::http::header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"2"[..])
        );
    }

    #[tokio::test]
    async fn a_failing_limiter_lets_requests_through() {
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_hit()
            .times(1)
            .returning(|_, _| Err(anyhow::anyhow!("the redis is unavailable")));
        assert!(
            limits(limiter)
                .login_attempt("ann@example.org")
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn text_that_is_no_email_and_limits_turned_off_count_nothing() {
        let mut limiter = MockRateLimiter::new();
        limiter.expect_hit().never();
        let limiter = Arc::new(limiter);
        let on = RateLimits::new(
            limiter.clone(),
            RateLimitSettings {
                login_per_email: RateLimit::per_hour(5),
                ..RateLimitSettings::default()
            },
        );
        assert!(on.login_attempt("not an email").await.is_ok());
        let off = RateLimits::new(limiter, RateLimitSettings::default());
        assert!(off.login_attempt("ann@example.org").await.is_ok());
    }
}
