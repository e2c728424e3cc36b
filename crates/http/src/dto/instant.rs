//! Instants in requests, within the range the domain accepts.

use boxoffice_domain::Timestamp;
use boxoffice_domain::time::check_instant;
use serde::{Deserialize, Deserializer};

/// An RFC 3339 instant given in a request (body or query), refused with a message
/// naming its field when [`check_instant`] refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant(pub Timestamp);

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let instant = Timestamp::deserialize(deserializer)?;
        check_instant(instant).map_err(serde::de::Error::custom)?;
        Ok(Self(instant))
    }
}

impl From<Instant> for Timestamp {
    fn from(instant: Instant) -> Self {
        instant.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_out_of_range_are_refused() {
        let parse = |json: &str| serde_json::from_str::<Instant>(json);
        assert!(parse(r#""2031-06-01T18:00:00Z""#).is_ok());
        let far = parse(r#""+100000-01-01T00:00:00Z""#).expect_err("too far");
        assert!(far.to_string().contains("between the years"), "{far}");
        assert!(parse(r#""-5000-01-01T00:00:00Z""#).is_err());
    }
}
