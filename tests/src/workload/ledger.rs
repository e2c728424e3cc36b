//! What one client of the workload saw: the bookings and waitlist entries the server
//! told it about, the states each booking may be in now, and how many requests had an
//! unknown outcome (their server was killed while they were in flight).

use crate::cluster::User;
use crate::seats::{number, text};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A booking a client saw.
#[derive(Debug, Clone)]
pub struct SeenBooking {
    /// Its event.
    pub event_id: String,
    /// Its ticket type.
    pub ticket_type_id: String,
    /// The seats it may hold now: one value, or several after a cancellation with an
    /// unknown outcome; 0 is cancelled.
    pub states: BTreeSet<u64>,
    /// Whether an answer to one of the client's own requests (booking, confirmation)
    /// made it, rather than a listing.
    pub via_reply: bool,
}

/// A waitlist entry a client saw.
#[derive(Debug, Clone)]
pub struct SeenEntry {
    /// Its event.
    pub event_id: String,
    /// Its ticket type.
    pub ticket_type_id: String,
    /// Seats it waits for.
    pub quantity: u64,
    /// Whether the client left the queue with it.
    pub left: Left,
    /// Whether an answer to one of the client's own requests made it.
    pub via_reply: bool,
}

/// Whether a client left the queue with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    /// It did not (or was told `not_waiting`).
    No,
    /// It was told 204.
    Yes,
    /// Its request was lost.
    Maybe,
}

/// The seats a Booking document holds: its quantity, 0 once cancelled.
#[track_caller]
#[must_use]
pub fn seats_of(booking: &Value) -> u64 {
    match booking["status"].as_str() {
        Some("confirmed") => number(booking, "quantity"),
        Some("cancelled") => 0,
        _ => panic!("a booking is confirmed or cancelled: {booking}"),
    }
}

/// One client's record.
#[derive(Debug)]
pub struct Ledger {
    /// The client's number.
    pub client: usize,
    /// The client's account.
    pub user: User,
    /// Bookings by id.
    pub bookings: BTreeMap<String, SeenBooking>,
    /// Waitlist entries by id.
    pub entries: BTreeMap<String, SeenEntry>,
    /// Requests that may have booked (book, confirm) whose outcome is unknown.
    pub unknown_bookings: usize,
    /// Requests that may have queued (book, join) whose outcome is unknown.
    pub unknown_entries: usize,
}

impl Ledger {
    /// An empty record for client `client`.
    #[must_use]
    pub fn new(client: usize, user: User) -> Self {
        Self {
            client,
            user,
            bookings: BTreeMap::new(),
            entries: BTreeMap::new(),
            unknown_bookings: 0,
            unknown_entries: 0,
        }
    }

    /// Records a Booking document the server sent. A booking seen before must be in one
    /// of the states the client expects (an idempotent repeat loads it as it is now).
    #[track_caller]
    pub fn saw_booking(&mut self, booking: &Value, via_reply: bool, context: &str) {
        let id = text(booking, "id");
        assert_eq!(
            booking["user_id"], self.user.id,
            "{context}: someone else's booking: {booking}"
        );
        let now = seats_of(booking);
        match self.bookings.get_mut(&id) {
            Some(seen) => {
                assert!(
                    seen.states.contains(&now),
                    "{context}: booking {id} holds {now} seats (0 = cancelled), the client expects one of {:?}: {booking}",
                    seen.states
                );
                assert_eq!(
                    (&seen.event_id, &seen.ticket_type_id),
                    (&text(booking, "event_id"), &text(booking, "ticket_type_id")),
                    "{context}: {booking}"
                );
                seen.via_reply |= via_reply;
            }
            None => {
                assert!(
                    now > 0 || !via_reply,
                    "{context}: a new booking must be confirmed: {booking}"
                );
                self.bookings.insert(
                    id,
                    SeenBooking {
                        event_id: text(booking, "event_id"),
                        ticket_type_id: text(booking, "ticket_type_id"),
                        states: BTreeSet::from([now]),
                        via_reply,
                    },
                );
            }
        }
    }

    /// Records the answer to a cancellation of `id`: the booking now holds what the
    /// answer says, which must follow from a state the client expected.
    #[track_caller]
    pub fn cancelled(&mut self, id: &str, asked: Option<u64>, answer: &Value, context: &str) {
        let seen = self
            .bookings
            .get_mut(id)
            .unwrap_or_else(|| panic!("{context}: cancelled an unknown booking {id}"));
        let now = seats_of(answer);
        let follows = seen
            .states
            .iter()
            .any(|before| after_cancel(*before, asked) == Some(now));
        assert!(
            follows,
            "{context}: cancelling {asked:?} of a booking expected at {:?} seats left {now}: {answer}",
            seen.states
        );
        seen.states = BTreeSet::from([now]);
    }

    /// Records a cancellation of `id` whose outcome is unknown.
    pub fn maybe_cancelled(&mut self, id: &str, asked: Option<u64>) {
        if let Some(seen) = self.bookings.get_mut(id) {
            let after: Vec<u64> = seen
                .states
                .iter()
                .filter_map(|before| after_cancel(*before, asked))
                .collect();
            seen.states.extend(after);
        }
    }

    /// Records a WaitlistEntry document the server sent.
    #[track_caller]
    pub fn saw_entry(&mut self, entry: &Value, via_reply: bool, context: &str) {
        assert_eq!(
            entry["user_id"], self.user.id,
            "{context}: someone else's entry: {entry}"
        );
        let id = text(entry, "id");
        if let Some(seen) = self.entries.get_mut(&id) {
            assert_eq!(
                seen.quantity,
                number(entry, "quantity"),
                "{context}: an entry's quantity never changes: {entry}"
            );
            seen.via_reply |= via_reply;
            return;
        }
        assert!(
            !via_reply || entry["status"] == "waiting",
            "{context}: a new entry is waiting: {entry}"
        );
        self.entries.insert(
            id,
            SeenEntry {
                event_id: text(entry, "event_id"),
                ticket_type_id: text(entry, "ticket_type_id"),
                quantity: number(entry, "quantity"),
                left: Left::No,
                via_reply,
            },
        );
    }

    /// Records leaving the queue with entry `id`.
    pub fn left(&mut self, id: &str, left: Left) {
        if let Some(seen) = self.entries.get_mut(id) {
            seen.left = left;
        }
    }
}

/// The seats left after cancelling `asked` (all when `None`) of a booking holding
/// `before`; `None` when that cancellation would be refused.
fn after_cancel(before: u64, asked: Option<u64>) -> Option<u64> {
    match asked {
        _ if before == 0 => None,
        None => Some(0),
        Some(n) if n <= before => Some(before - n),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::after_cancel;

    #[test]
    fn cancellations_leave_what_is_left() {
        assert_eq!(after_cancel(3, None), Some(0));
        assert_eq!(after_cancel(3, Some(1)), Some(2));
        assert_eq!(after_cancel(3, Some(3)), Some(0));
        assert_eq!(after_cancel(3, Some(4)), None);
        assert_eq!(after_cancel(0, None), None);
    }
}
