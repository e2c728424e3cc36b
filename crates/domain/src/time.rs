//! Time as a port, so expiry can be tested without sleeping.

use chrono::{DateTime, Datelike, SubsecRound, Utc};

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

/// The years an instant given to the API may fall in: RFC 3339's four-digit years, which
/// every store keeps (Postgres stops at 294276 AD, SQLite's microseconds at 294247 AD).
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// Whether `t` may be given to the API: every instant in bodies, queries or cursors obeys
/// this one rule, so every store gives the same answer.
///
/// # Errors
/// A message saying what is wrong.
pub fn check_instant(t: Timestamp) -> Result<(), String> {
    if YEARS.contains(&t.year()) {
        Ok(())
    } else {
        Err(format!(
            "must be between the years {} and {}",
            YEARS.start(),
            YEARS.end()
        ))
    }
}

/// Truncates an instant to the microsecond precision stores keep.
#[must_use]
pub fn to_store_precision(t: Timestamp) -> Timestamp {
    t.trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_span_years_one_to_9999() {
        let at = |s: &str| s.parse::<Timestamp>().expect("instant");
        assert!(check_instant(at("0001-01-01T00:00:00Z")).is_ok());
        assert!(check_instant(at("9999-12-31T23:59:59.999999Z")).is_ok());
        assert!(check_instant(at("2031-06-01T18:00:00Z")).is_ok());
        assert!(check_instant(DateTime::<Utc>::MIN_UTC).is_err());
        assert!(check_instant(DateTime::<Utc>::MAX_UTC).is_err());
        assert!(check_instant(at("0000-12-31T23:59:59Z")).is_err());
        assert!(check_instant(at("+10000-01-01T00:00:00Z")).is_err());
    }
}
