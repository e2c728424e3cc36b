//! Which access tokens an account still honours after its password changed.
//!
//! Tokens carry their issue time in whole seconds (`iat`). A password change at `t`
//! makes the account refuse every token with `iat` before `t` rounded up to the next
//! second, and tokens issued afterwards carry at least that second, so a login right
//! after the change (in the same second) still works.

use super::User;
use crate::Timestamp;
use chrono::{DurationRound, TimeDelta};

/// The `tokens_valid_from` of an account whose password changes at `now`: `now`
/// rounded up to a whole second.
#[must_use]
pub fn tokens_valid_from(now: Timestamp) -> Timestamp {
    let second = TimeDelta::seconds(1);
    let floor = now.duration_trunc(second).unwrap_or(now);
    if floor == now { now } else { floor + second }
}

impl User {
    /// The issue time to write into a token made at `now`: never before
    /// `tokens_valid_from`, which may lie up to a second ahead.
    #[must_use]
    pub fn token_issue_time(&self, now: Timestamp) -> Timestamp {
        self.tokens_valid_from.map_or(now, |from| now.max(from))
    }

    /// Whether a token issued at `issued_at` (whole seconds) is still honoured.
    #[must_use]
    pub fn honours_token_issued_at(&self, issued_at: Timestamp) -> bool {
        self.tokens_valid_from.is_none_or(|from| issued_at >= from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserId;
    use crate::user::Role;
    use chrono::{DateTime, Duration, SubsecRound};

    fn at(micros: i64) -> Timestamp {
        DateTime::from_timestamp_micros(micros).expect("in range")
    }

    fn user(tokens_valid_from: Option<Timestamp>) -> User {
        User {
            id: UserId::generate(),
            name: "Ann".into(),
            email: "ann@example.org".into(),
            role: Role::Attendee,
            active: true,
            created_at: at(0),
            tokens_valid_from,
        }
    }

    /// What a token carries: its issue time in whole seconds.
    fn iat(t: Timestamp) -> Timestamp {
        t.trunc_subsecs(0)
    }

    #[test]
    fn valid_from_rounds_up_to_a_second() {
        assert_eq!(tokens_valid_from(at(5_000_000)), at(5_000_000));
        assert_eq!(tokens_valid_from(at(5_000_001)), at(6_000_000));
        assert_eq!(tokens_valid_from(at(5_999_999)), at(6_000_000));
    }

    #[test]
    fn tokens_from_before_a_change_are_refused_and_later_ones_honoured() {
        let changed = at(10_400_000);
        let account = user(Some(tokens_valid_from(changed)));
        for before in [at(9_000_000), at(10_000_000), at(10_399_999)] {
            let issued = iat(user(None).token_issue_time(before));
            assert!(!account.honours_token_issued_at(issued), "{before}");
        }
        for after in [changed, at(10_400_001), at(10_999_999), at(11_000_000)] {
            let issued = iat(account.token_issue_time(after));
            assert!(account.honours_token_issued_at(issued), "{after}");
            assert!(account.token_issue_time(after) - after < Duration::seconds(1));
        }
        assert!(user(None).honours_token_issued_at(at(0)));
    }
}
