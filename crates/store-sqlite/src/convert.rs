//! Conversions between SQLite's column types and domain values.

use anyhow::Context;
use boxoffice_domain::Timestamp;
use chrono::DateTime;
use uuid::Uuid;

/// An instant as stored: microseconds since the Unix epoch.
pub fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

/// An optional instant as stored.
pub fn micros_opt(t: Option<Timestamp>) -> Option<i64> {
    t.map(micros)
}

/// A stored instant.
pub fn instant(micros: i64) -> anyhow::Result<Timestamp> {
    DateTime::from_timestamp_micros(micros)
        .with_context(|| format!("instant {micros} out of range"))
}

/// A stored optional instant.
pub fn instant_opt(micros: Option<i64>) -> anyhow::Result<Option<Timestamp>> {
    micros.map(instant).transpose()
}

/// A stored UUID.
pub fn uuid(text: &str) -> anyhow::Result<Uuid> {
    Uuid::parse_str(text).with_context(|| format!("stored id {text:?} is not a UUID"))
}

/// A stored count (never negative: the schema checks it).
pub fn count(n: i32) -> anyhow::Result<u32> {
    u32::try_from(n).with_context(|| format!("stored count {n} is negative"))
}

/// A count as stored.
pub fn stored_count(n: u32) -> anyhow::Result<i32> {
    i32::try_from(n).with_context(|| format!("count {n} does not fit the column"))
}
