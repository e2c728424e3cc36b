//! Contract of [`RateLimiter`]: fixed windows that open at a key's first hit, keys
//! that do not share counters, and limits that hold under concurrent hits.
//!
//! Every test uses keys of its own; the setup gives each test a fresh limiter (for a
//! shared Redis, one with a key prefix of its own).

use boxoffice_domain::ports::{RateDecision, RateLimit, RateLimiter};
use futures_util::future::join_all;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn limit(hits: u32, window: Duration) -> RateLimit {
    RateLimit {
        hits: NonZeroU32::new(hits).expect("a positive limit"),
        window,
    }
}

async fn hit(limiter: &dyn RateLimiter, key: &str, limit: RateLimit) -> RateDecision {
    limiter.hit(key, limit).await.expect("the limiter answers")
}

/// The time left in the window of a refused hit; panics when the hit was allowed.
#[track_caller]
fn refused(decision: RateDecision) -> Duration {
    match decision {
        RateDecision::Limited { retry_after } => retry_after,
        RateDecision::Allowed { .. } => panic!("a hit over the limit was allowed"),
    }
}

/// The hits left in the window of an allowed hit; panics when the hit was refused.
#[track_caller]
fn allowed(decision: RateDecision, what: &str) -> u32 {
    match decision {
        RateDecision::Allowed { remaining, .. } => remaining,
        RateDecision::Limited { .. } => panic!("{what} was refused"),
    }
}

/// The first `hits` hits of a window are allowed; the next are refused with the time
/// left in the window, which is positive, at most the window, and counts down.
pub async fn allows_the_limit_then_refuses(limiter: Arc<dyn RateLimiter>) {
    let minute = limit(3, Duration::from_secs(60));
    for n in 1..=3 {
        let left = allowed(
            hit(&*limiter, "ann", minute).await,
            &format!("hit {n} of 3"),
        );
        assert_eq!(left, 3 - n, "hits left after hit {n}");
    }
    let first = refused(hit(&*limiter, "ann", minute).await);
    assert!(
        first > Duration::from_secs(55) && first <= minute.window,
        "retry after {first:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = refused(hit(&*limiter, "ann", minute).await);
    assert!(
        later < first && later > Duration::ZERO,
        "retry after {later:?}, then {first:?}"
    );
}

/// A key over its limit leaves every other key alone.
pub async fn keys_are_independent(limiter: Arc<dyn RateLimiter>) {
    let minute = limit(2, Duration::from_secs(60));
    for _ in 0..2 {
        allowed(
            hit(&*limiter, "ann", minute).await,
            "a hit within the limit",
        );
    }
    refused(hit(&*limiter, "ann", minute).await);
    for key in ["bob", "Ann", "ann ", "ann:2"] {
        allowed(hit(&*limiter, key, minute).await, &format!("key {key:?}"));
    }
    refused(hit(&*limiter, "ann", minute).await);
}

/// When a window ends the key starts a new one with the whole limit.
pub async fn the_window_rolls_over(limiter: Arc<dyn RateLimiter>) {
    let second = limit(2, Duration::from_secs(1));
    for _ in 0..2 {
        allowed(
            hit(&*limiter, "ann", second).await,
            "a hit within the limit",
        );
    }
    let wait = refused(hit(&*limiter, "ann", second).await);
    assert!(wait <= second.window, "retry after {wait:?}");
    tokio::time::sleep(wait + Duration::from_millis(50)).await;
    for n in 1..=2 {
        allowed(
            hit(&*limiter, "ann", second).await,
            &format!("hit {n} of the new window"),
        );
    }
    refused(hit(&*limiter, "ann", second).await);
}

/// Hits refused while a window is open do not stretch it: a client that keeps
/// retrying gets through when the window that refused it ends.
pub async fn refused_hits_do_not_stretch_the_window(limiter: Arc<dyn RateLimiter>) {
    let second = limit(1, Duration::from_millis(1000));
    allowed(
        hit(&*limiter, "ann", second).await,
        "a hit within the limit",
    );
    // The window opened before this instant, so it ends before `opened + window`.
    let opened = Instant::now();
    let mut previous = second.window;
    while opened.elapsed() < Duration::from_millis(600) {
        let sent = opened.elapsed();
        let wait = refused(hit(&*limiter, "ann", second).await);
        assert!(
            wait <= previous,
            "retry after {wait:?} grew past {previous:?}"
        );
        assert!(
            wait <= second.window.saturating_sub(sent) + Duration::from_millis(5),
            "retry after {wait:?} ends after the window that opened over {sent:?} ago"
        );
        previous = wait;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(second.window.saturating_sub(opened.elapsed()) + Duration::from_millis(50))
        .await;
    allowed(
        hit(&*limiter, "ann", second).await,
        "a hit within the limit",
    );
}

/// Many hits at once on two keys: exactly the limit of each key is allowed.
pub async fn concurrent_hits_allow_exactly_the_limit(limiter: Arc<dyn RateLimiter>) {
    let minute = limit(40, Duration::from_secs(60));
    let hits = (0..300).map(|i| {
        let limiter = limiter.clone();
        let key = if i % 3 == 0 { "bob" } else { "ann" };
        tokio::spawn(async move { (key, hit(&*limiter, key, minute).await) })
    });
    let decisions: Vec<_> = join_all(hits)
        .await
        .into_iter()
        .map(|joined| joined.expect("task"))
        .collect();
    for key in ["ann", "bob"] {
        let allowed = decisions
            .iter()
            .filter(|(k, d)| *k == key && matches!(d, RateDecision::Allowed { .. }))
            .count();
        assert_eq!(allowed, 40, "hits allowed for {key}");
    }
}

/// Instantiates the rate-limiter contract as `#[tokio::test]`s.
///
/// `$setup` is an async fn returning `Option<(Arc<dyn RateLimiter>, G)>`: `None` skips
/// the test (the fixture decides; it must panic instead when `CI=true`), and `G` is a
/// guard kept until the test ends.
#[macro_export]
macro_rules! rate_limit_contract {
    ($setup:path) => {
        $crate::rate_limit_contract!(@tests $setup;
            allows_the_limit_then_refuses,
            keys_are_independent,
            the_window_rolls_over,
            refused_hits_do_not_stretch_the_window,
            concurrent_hits_allow_exactly_the_limit,
        );
    };
    (@tests $setup:path; $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                let Some((limiter, _guard)) = $setup().await else { return };
                $crate::rate_limit::$test(limiter).await;
            }
        )*
    };
}
