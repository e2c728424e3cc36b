//! The seat admission gate: holds and bookings take their seats from a per-event
//! counter in Redis, atomically (a Lua step), before the store records them. A sold-out
//! event thus answers from Redis without queueing on the store's event lock, and the
//! store only sees requests that Redis admitted. The store stays the source of truth:
//! it checks every request again under its own lock and constraints, so a stale or lost
//! Redis can cost a retry, never an oversold seat. See `docs/scaling.md`.
//!
//! Concurrent requests of one event share the Lua steps: those that queue while one
//! step runs are taken, and later settled, in one script call, in arrival order (the
//! per-event group commit the stores' seat batches use).
//!
//! Per event, Redis keeps (under the event's hash tag, for Redis Cluster):
//! - `seats:{E}`: free seats event-wide and per ticket type, and the sales window;
//! - `leases:{E}`: seats taken by requests the store has not answered yet, each with a
//!   deadline; a lease ends when its request ends, or at a rebuild once the store has
//!   recorded it or its deadline passed (the process that took it died);
//! - an entry in `due`: when the event must be rebuilt (a lease deadline, a hold's
//!   expiry).
//!
//! A rebuild reads the store's snapshot and sets the counters to "free in the store
//! minus leases in flight". It runs when the state is missing (first use, `FLUSHALL`,
//! Redis restarted), after every operation that gives seats back (the store promotes
//! the waitlist in that transaction), when the store refused seats Redis admitted, and
//! when the event is due.

mod admission;
mod ports;
mod rebuild;

use crate::Redis;
use boxoffice_domain::ports::{Bookings, EventRepository, Reservations, SeatLedger};
use boxoffice_domain::{EventId, Timestamp};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What Redis said about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    /// Seats taken under a lease: the store may record up to this many.
    Taken(u32),
    /// Not enough free seats: the request is refused without asking the store.
    Refused {
        /// Seats free for the request's type.
        free: u32,
        /// The event's per-user limit, if any.
        limit: Option<u32>,
    },
    /// Redis does not decide this one (event unknown, not on sale, unknown type, more
    /// than the type has): the store answers with the right error.
    AskStore,
}

/// The store's ports with the admission gate in front of those that take seats.
pub struct SeatGate<S> {
    store: Arc<S>,
    redis: Redis,
    /// One rebuild at a time per event in this process, so a cold event's first burst
    /// of requests reads the store once, not once per request.
    loading: Mutex<HashMap<EventId, Arc<tokio::sync::Mutex<()>>>>,
    /// The per-event queues of the admission steps.
    steps: admission::Steps,
}

impl<S> std::fmt::Debug for SeatGate<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeatGate")
            .field("redis", &self.redis)
            .finish_non_exhaustive()
    }
}

/// Milliseconds since the epoch, as the Lua steps count time.
fn millis(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

impl<S> SeatGate<S>
where
    S: Reservations + Bookings + EventRepository + SeatLedger,
{
    /// The gate in front of `store`, keeping its state in `redis`.
    pub fn new(store: Arc<S>, redis: Redis) -> Self {
        Self {
            store,
            steps: admission::Steps::new(redis.clone()),
            redis,
            loading: Mutex::new(HashMap::new()),
        }
    }

    /// The keys of `event`'s state.
    fn keys(&self, event: EventId) -> [String; 3] {
        event_keys(&self.redis, event)
    }
}

/// The keys of `event`'s state: its seats, its leases, and the set of due events.
fn event_keys(redis: &Redis, event: EventId) -> [String; 3] {
    [
        redis.key(&format!("seats:{{{event}}}")),
        redis.key(&format!("leases:{{{event}}}")),
        redis.key("due"),
    ]
}
