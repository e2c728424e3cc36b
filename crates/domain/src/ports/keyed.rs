//! Seat requests made safe to repeat: the first request with an `Idempotency-Key` runs,
//! and a repeat (same user, key and request) gets what the first made, as it is now,
//! with no second effect.

use super::Idempotency;
use crate::booking::{Booking, Hold, WaitlistEntry};
use crate::planner::{Outcome, Timed};
use crate::{BookingId, EventId, HoldId, UserId, WaitlistEntryId};
use async_trait::async_trait;

/// What the first request with a key made, by id: what its key row records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Made {
    /// The booking it made or changed.
    pub booking: Option<BookingId>,
    /// The waitlist entry it made.
    pub waitlist_entry: Option<WaitlistEntryId>,
    /// The hold it made.
    pub hold: Option<HoldId>,
}

impl Made {
    /// What `outcome` made; `None` for a refusal, whose key is not kept (a repeat runs
    /// again and may succeed).
    #[must_use]
    pub fn of(outcome: &Outcome) -> Option<Self> {
        let made = match outcome {
            Outcome::Held(hold) => Self {
                hold: Some(hold.id),
                ..Self::default()
            },
            Outcome::Booked(booked) => Self {
                booking: booked.booking.as_ref().map(|b| b.id),
                waitlist_entry: booked.waitlist_entry.as_ref().map(|e| e.id),
                hold: None,
            },
            Outcome::Joined(entry) => Self {
                waitlist_entry: Some(entry.id),
                ..Self::default()
            },
            Outcome::Confirmed(booking) | Outcome::Cancelled(booking) => Self {
                booking: Some(booking.id),
                ..Self::default()
            },
            _ => return None,
        };
        Some(made)
    }
}

/// What the first request made, read as it is now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    /// Its booking.
    pub booking: Option<Booking>,
    /// Its waitlist entry.
    pub waitlist_entry: Option<WaitlistEntry>,
    /// Its hold (whatever became of it since).
    pub hold: Option<Hold>,
}

/// How a keyed request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyed {
    /// The key was new: the request ran (a refusal keeps no key).
    Ran(Outcome),
    /// The key was used before with the same request: what that one made.
    Repeat(Replay),
    /// The key was used before with another request: nothing ran.
    KeyReused,
}

/// Runs seat requests that carry an idempotency key.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait KeyedSeats: Send + Sync + 'static {
    /// Runs `timed` on `event` once per `user` and key, in the same transaction that
    /// records the key: concurrent requests with one key run one at a time, and exactly
    /// one of them runs the request.
    /// # Errors
    /// Only when the store fails (nothing is then recorded).
    async fn run_keyed(
        &self,
        event: EventId,
        user: UserId,
        key: &Idempotency,
        timed: Timed,
    ) -> anyhow::Result<Keyed>;
}
