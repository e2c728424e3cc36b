//! Time as a port, so expiry can be tested without sleeping.

use chrono::{DateTime, SubsecRound, Utc};

/// An instant in UTC, with microsecond precision (what every store keeps).
pub type Timestamp = DateTime<Utc>;

/// Where the current time comes from.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync + 'static {
    /// The current instant, truncated to microseconds.
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Utc::now().trunc_subsecs(6)
    }
}

/// Truncates an instant to the microsecond precision stores keep.
#[must_use]
pub fn to_store_precision(t: Timestamp) -> Timestamp {
    t.trunc_subsecs(6)
}
