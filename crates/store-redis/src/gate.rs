//! The seat admission gate: holds and bookings take their seats from a per-event
//! counter in Redis, atomically (a Lua step), before the store records them. A sold-out
//! event thus answers from Redis without queueing on the store's event lock, and the
//! store only sees requests that Redis admitted. The store stays the source of truth:
//! it checks every request again under its own lock and constraints, so a stale or lost
//! Redis can cost a retry, never an oversold seat. See `docs/scaling.md`.
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

use crate::Redis;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::booking::{Booking, BookingOutcome, Hold, OnSoldOut};
use boxoffice_domain::event::{
    CatalogSnapshot, Event, EventCursor, EventDetails, EventQuery, EventSnapshot, NewEvent,
};
use boxoffice_domain::page::{Page, PageRequest};
use boxoffice_domain::ports::{
    BookError, BookRequest, Bookings, CancelBookingError, CancelEventError, ConfirmHoldError,
    EventRepository, HoldError, Reservations, SeatLedger, SeatRequest, UpdateEventError,
};
use boxoffice_domain::seats::SaleRefusal;
use boxoffice_domain::{BookingId, EventId, HoldId, Timestamp, UserId};
use deadpool_redis::redis::Script;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use uuid::Uuid;

static TAKE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/take.lua")));
static SETTLE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/settle.lua")));
static REBUILD: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/rebuild.lua")));
static CLAIM_DUE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/claim_due.lua")));

/// How long a request may take between Redis admitting it and the store answering
/// before a rebuild treats its lease as abandoned (its process died): a crashed
/// process's seats come back this long after it took them. A request still queueing for
/// the store past it (a pool wait under extreme load) is only counted free in Redis too
/// early, which Postgres's own check catches.
const LEASE_TTL_MS: i64 = 15_000;

/// Due events one sweep rebuilds at most.
const DUE_BATCH: u32 = 200;

/// When a claimed due event is retried if its claimer dies before rebuilding it.
const CLAIM_RETRY_MS: i64 = 10_000;

/// When an event whose seats are about to come back is rebuilt by the sweeper, should
/// the rebuild right after the operation not happen.
const MARK_DUE_MS: i64 = 2_000;

/// How long a mark of an operation giving seats back keeps its event being rebuilt,
/// should the operation's own rebuild not clear it (its process died after the commit).
const MARK_TTL_MS: i64 = 25_000;

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
            redis,
            loading: Mutex::new(HashMap::new()),
        }
    }

    fn keys(&self, event: EventId) -> [String; 3] {
        [
            self.redis.key(&format!("seats:{{{event}}}")),
            self.redis.key(&format!("leases:{{{event}}}")),
            self.redis.key("due"),
        ]
    }

    /// Takes `qty` seats (or what is free, with `partial`) under lease `token`.
    async fn admit(
        &self,
        seats: &SeatRequest,
        partial: bool,
        token: Uuid,
        now: Timestamp,
    ) -> anyhow::Result<Admission> {
        for attempt in 0..2 {
            let (taken, free, limit) = self.take(seats, partial, token, now).await?;
            let admission = match taken {
                -1 if attempt == 0 => {
                    self.load(seats.event_id, now).await?;
                    continue;
                }
                n if n < 0 => Admission::AskStore,
                0 => Admission::Refused {
                    free: u32::try_from(free).unwrap_or(0),
                    limit: u32::try_from(limit).ok().filter(|&l| l > 0),
                },
                n => Admission::Taken(u32::try_from(n).context("lease out of range")?),
            };
            let result = match admission {
                Admission::Taken(_) => "taken",
                Admission::Refused { .. } => "refused",
                Admission::AskStore => "store",
            };
            metrics::counter!("admissions_total", "result" => result).increment(1);
            return Ok(admission);
        }
        Ok(Admission::AskStore)
    }

    async fn take(
        &self,
        seats: &SeatRequest,
        partial: bool,
        token: Uuid,
        now: Timestamp,
    ) -> anyhow::Result<(i64, i64, i64)> {
        let [state, leases, due] = self.keys(seats.event_id);
        let ty = seats
            .ticket_type_id
            .map(|t| t.to_string())
            .unwrap_or_default();
        self.redis
            .run("take seats", async |conn| {
                TAKE.key(&state)
                    .key(&leases)
                    .key(&due)
                    .arg(&ty)
                    .arg(seats.quantity.get())
                    .arg(if partial { "1" } else { "0" })
                    .arg(token.to_string())
                    .arg(millis(now) + LEASE_TTL_MS)
                    .arg(millis(now))
                    .arg(seats.event_id.to_string())
                    .invoke_async(conn)
                    .await
            })
            .await
    }

    /// Ends lease `token`: the store kept `keep` seats. `due` schedules a rebuild (when
    /// a recorded hold ends). A failure is only logged: the store has answered, and the
    /// next rebuild settles the lease.
    async fn settle(&self, event: EventId, token: Uuid, keep: u32, due: Option<Timestamp>) {
        let due = due.map(|at| millis(at).to_string()).unwrap_or_default();
        self.end_lease(event, token, &keep.to_string(), &due).await;
    }

    /// Ends lease `token` after the store failed: whether it recorded the seats is
    /// unknown, but its transaction is over, so the lease is no longer in flight. The
    /// event is due at once: the next rebuild asks the store what it recorded.
    async fn abandon(&self, event: EventId, token: Uuid, now: Timestamp) {
        self.end_lease(event, token, "unknown", &millis(now).to_string())
            .await;
    }

    async fn end_lease(&self, event: EventId, token: Uuid, keep: &str, due: &str) {
        let [state, leases, due_key] = self.keys(event);
        let settled = self
            .redis
            .run("settle a lease", async |conn| {
                SETTLE
                    .key(&state)
                    .key(&leases)
                    .key(&due_key)
                    .arg(token.to_string())
                    .arg(keep)
                    .arg(event.to_string())
                    .arg(due)
                    .invoke_async::<i64>(conn)
                    .await
            })
            .await;
        if let Err(e) = settled {
            tracing::warn!(event_id = %event, error = format!("{e:#}"), "lease left to the next rebuild");
        }
    }

    /// Rebuilds the state of an event that has none or a stale one, once per process at
    /// a time.
    async fn load(&self, event: EventId, now: Timestamp) -> anyhow::Result<()> {
        let lock = self
            .loading
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(event)
            .or_default()
            .clone();
        let guard = lock.lock().await;
        let [state, ..] = self.keys(event);
        let (free, next): (Option<i64>, Option<String>) = self
            .redis
            .run("check seats", async |conn| {
                deadpool_redis::redis::cmd("HMGET")
                    .arg(&state)
                    .arg("free")
                    .arg("next")
                    .query_async(conn)
                    .await
            })
            .await?;
        // Another request rebuilt it while this one waited for the lock.
        let fresh = free.is_some()
            && next.is_none_or(|n| n.parse::<i64>().map_or(true, |n| n > millis(now)));
        let rebuilt = if fresh {
            Ok(())
        } else {
            self.rebuild(&[event], now).await
        };
        drop(guard);
        let mut loading = self.loading.lock().unwrap_or_else(PoisonError::into_inner);
        if Arc::strong_count(&lock) == 2 {
            loading.remove(&event);
        }
        rebuilt
    }

    /// The purchase-limit refusal a sold-out request gets instead of "sold out" (the
    /// store's rules check the limit first), read without the event's lock.
    async fn over_limit(
        &self,
        seats: &SeatRequest,
        limit: Option<u32>,
    ) -> anyhow::Result<Option<SaleRefusal>> {
        let Some(limit) = limit else {
            return Ok(None);
        };
        let already = self.store.tickets_of(seats.event_id, seats.user_id).await?;
        Ok((already + seats.quantity.get() > limit)
            .then_some(SaleRefusal::PurchaseLimitExceeded { limit, already }))
    }

    /// Rebuilds the state of `events` from the store (see the module docs).
    async fn rebuild(&self, events: &[EventId], now: Timestamp) -> anyhow::Result<()> {
        self.rebuild_clearing(events, now, &[]).await
    }

    /// [`SeatGate::rebuild`], also clearing the marks in `clear` (their operations
    /// committed before the snapshot).
    async fn rebuild_clearing(
        &self,
        events: &[EventId],
        now: Timestamp,
        clear: &[&str],
    ) -> anyhow::Result<()> {
        let mut tokens = Vec::new();
        let mut asked = HashMap::new();
        for &event in events {
            let [_, leases, _] = self.keys(event);
            let keys: Vec<String> = self
                .redis
                .run("read leases", async |conn| {
                    deadpool_redis::redis::cmd("HKEYS")
                        .arg(&leases)
                        .query_async(conn)
                        .await
                })
                .await?;
            tokens.extend(keys.iter().filter_map(|k| Uuid::parse_str(k).ok()));
            asked.insert(event, keys);
        }
        let (snapshots, recorded) = self.store.seat_snapshots(events, &tokens, now).await?;
        let recorded: Vec<String> = recorded
            .iter()
            .map(Uuid::to_string)
            .chain(clear.iter().map(|m| (*m).to_owned()))
            .collect();
        for snapshot in &snapshots {
            let [state, leases, due] = self.keys(snapshot.event_id);
            let (sells, opens, closes) = match snapshot.sales {
                Some((opens, closes)) => (1, opens.map_or(0, millis), millis(closes)),
                None => (0, 0, 0),
            };
            let asked = asked.get(&snapshot.event_id).map_or(&[][..], Vec::as_slice);
            let next_expiry = snapshot
                .next_expiry
                .map(|at| millis(at).to_string())
                .unwrap_or_default();
            self.redis
                .run("rebuild seats", async |conn| {
                    let mut call = REBUILD.key(&state);
                    call.key(&leases)
                        .key(&due)
                        .arg(millis(now))
                        .arg(snapshot.event_id.to_string())
                        .arg(sells)
                        .arg(opens)
                        .arg(closes)
                        .arg(snapshot.free)
                        .arg(&next_expiry)
                        .arg(snapshot.max_tickets_per_user.unwrap_or(0))
                        .arg(snapshot.types.len());
                    for ty in &snapshot.types {
                        let cap = ty.quantity.map(|q| q.to_string()).unwrap_or_default();
                        call.arg(ty.id.to_string()).arg(ty.free).arg(cap);
                    }
                    call.arg(asked.len());
                    for token in asked.iter().chain(&recorded) {
                        call.arg(token);
                    }
                    call.invoke_async::<i64>(conn).await
                })
                .await?;
            tracing::debug!(event_id = %snapshot.event_id, free = snapshot.free, "admission state rebuilt");
        }
        // Events the store does not have (any more): nothing to admit, nothing due.
        for &event in events {
            if snapshots.iter().any(|s| s.event_id == event) {
                continue;
            }
            let [state, leases, due] = self.keys(event);
            self.redis
                .run("forget an unknown event", async |conn| {
                    deadpool_redis::redis::pipe()
                        .del(&state)
                        .del(&leases)
                        .zrem(&due, event.to_string())
                        .query_async::<()>(conn)
                        .await
                })
                .await?;
        }
        metrics::counter!("admission_rebuilds_total").increment(snapshots.len() as u64);
        Ok(())
    }

    /// Marks `event` before an operation that gives seats back, and schedules its
    /// rebuild shortly: until the rebuild after the operation's commit clears the mark,
    /// every rebuild of the event schedules another, so the change cannot be missed if
    /// that rebuild fails, this process dies, or a rebuild from an older snapshot
    /// overtakes it. Failing here fails the operation before it changes anything, so
    /// Redis cannot miss a change while it is unreachable. Returns the mark.
    async fn mark(&self, event: EventId, now: Timestamp) -> anyhow::Result<String> {
        let [_, leases, due] = self.keys(event);
        let mark = format!("mark:{}", Uuid::new_v4());
        let ends = millis(now) + MARK_TTL_MS;
        self.redis
            .run("mark an event", async |conn| {
                deadpool_redis::redis::pipe()
                    .atomic()
                    .hset(&leases, &mark, format!("mark {ends}"))
                    .cmd("PEXPIRE")
                    .arg(&leases)
                    .arg(2 * MARK_TTL_MS)
                    .arg("NX")
                    .cmd("PEXPIRE")
                    .arg(&leases)
                    .arg(2 * MARK_TTL_MS)
                    .arg("GT")
                    .cmd("ZADD")
                    .arg(&due)
                    .arg("LT")
                    .arg(millis(now) + MARK_DUE_MS)
                    .arg(event.to_string())
                    .query_async::<()>(conn)
                    .await
            })
            .await?;
        Ok(mark)
    }

    /// Rebuilds after the store gave seats back (or failed to), clearing `mark`; a
    /// failure is only logged (the store has answered, and the mark keeps the event
    /// due for the sweeper).
    async fn rebuild_after_mark(&self, event: EventId, now: Timestamp, mark: &str) {
        self.rebuild_logged(event, now, &[mark]).await;
    }

    /// Rebuilds after the store showed Redis was wrong; a failure is only logged.
    async fn rebuild_after(&self, event: EventId, now: Timestamp) {
        self.rebuild_logged(event, now, &[]).await;
    }

    async fn rebuild_logged(&self, event: EventId, now: Timestamp, clear: &[&str]) {
        if let Err(e) = self.rebuild_clearing(&[event], now, clear).await {
            tracing::warn!(event_id = %event, error = format!("{e:#}"), "admission rebuild deferred");
        }
    }

    /// Rebuilds the events whose rebuild is due by `now` (claimed, so that one process
    /// does each); returns how many.
    async fn rebuild_due(&self, now: Timestamp) -> anyhow::Result<usize> {
        let due_key = self.redis.key("due");
        let due: Vec<String> = self
            .redis
            .run("claim due events", async |conn| {
                CLAIM_DUE
                    .key(&due_key)
                    .arg(millis(now))
                    .arg(DUE_BATCH)
                    .arg(millis(now) + CLAIM_RETRY_MS)
                    .invoke_async(conn)
                    .await
            })
            .await?;
        let events: Vec<EventId> = due
            .iter()
            .filter_map(|e| Uuid::parse_str(e).ok().map(EventId::from_uuid))
            .collect();
        if !events.is_empty() {
            self.rebuild(&events, now).await?;
        }
        Ok(events.len())
    }
}

#[async_trait]
impl<S> Reservations for SeatGate<S>
where
    S: Reservations + Bookings + EventRepository + SeatLedger,
{
    async fn hold(
        &self,
        id: HoldId,
        request: &SeatRequest,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<Hold, HoldError> {
        let event = request.event_id;
        let taken = match self.admit(request, false, id.as_uuid(), now).await? {
            Admission::Refused { free, limit } => {
                return Err(match self.over_limit(request, limit).await? {
                    Some(refusal) => HoldError::Refused(refusal),
                    None => HoldError::SoldOut { available: free },
                });
            }
            Admission::AskStore => {
                let held = self.store.hold(id, request, now, expires_at).await;
                if held.is_ok() {
                    self.rebuild_after(event, now).await;
                }
                return held;
            }
            Admission::Taken(n) => n,
        };
        let held = self.store.hold(id, request, now, expires_at).await;
        match &held {
            Ok(hold) => {
                self.settle(event, id.as_uuid(), hold.quantity, Some(hold.expires_at))
                    .await;
            }
            Err(HoldError::SoldOut { .. }) => {
                tracing::info!(event_id = %event, taken, "the store refused seats Redis admitted");
                self.settle(event, id.as_uuid(), 0, None).await;
                self.rebuild_after(event, now).await;
            }
            // The store may or may not have recorded it: a rebuild will tell.
            Err(HoldError::Backend(_)) => self.abandon(event, id.as_uuid(), now).await,
            Err(HoldError::NotFound | HoldError::Refused(_)) => {
                self.settle(event, id.as_uuid(), 0, None).await;
            }
        }
        held
    }

    async fn find_hold(&self, id: HoldId, now: Timestamp) -> anyhow::Result<Option<Hold>> {
        self.store.find_hold(id, now).await
    }

    async fn confirm_hold(
        &self,
        id: HoldId,
        user: UserId,
        now: Timestamp,
    ) -> Result<Booking, ConfirmHoldError> {
        // Held seats become sold: nothing changes in Redis. An expired hold's seats come
        // back in the store; the event was scheduled for a rebuild at its expiry.
        self.store.confirm_hold(id, user, now).await
    }

    async fn release_hold(
        &self,
        id: HoldId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), ConfirmHoldError> {
        let Some(event) = self.store.find_hold(id, now).await?.map(|h| h.event_id) else {
            return self.store.release_hold(id, user, now).await;
        };
        let mark = self.mark(event, now).await?;
        let released = self.store.release_hold(id, user, now).await;
        self.rebuild_after_mark(event, now, &mark).await;
        released
    }

    async fn expire_holds(&self, now: Timestamp, limit: u32) -> anyhow::Result<u32> {
        let expired = self.store.expire_holds(now, limit).await?;
        // The store's expiry stands on its own; due events wait for the next sweep.
        if let Err(e) = self.rebuild_due(now).await {
            tracing::warn!(error = format!("{e:#}"), "due admission rebuilds deferred");
        }
        Ok(expired)
    }
}

/// Seats a booking request's outcome recorded under the request's own id (a repeat of
/// an idempotent request returns an earlier booking and records nothing).
fn seats_recorded(request: &BookRequest, outcome: &BookingOutcome) -> u32 {
    outcome
        .booking
        .as_ref()
        .filter(|b| b.id == request.booking_id)
        .map_or(0, |b| b.quantity)
}

#[async_trait]
impl<S> Bookings for SeatGate<S>
where
    S: Reservations + Bookings + EventRepository + SeatLedger,
{
    async fn book(
        &self,
        request: &BookRequest,
        now: Timestamp,
    ) -> Result<BookingOutcome, BookError> {
        let seats = &request.seats;
        let event = seats.event_id;
        let token = request.booking_id.as_uuid();
        let admission = self.admit(seats, request.allow_partial, token, now).await?;
        let taken = match admission {
            Admission::Taken(n) => n,
            // A keyed request may repeat one that booked: only the store knows.
            Admission::Refused { free, limit }
                if request.on_sold_out == OnSoldOut::Fail && request.idempotency.is_none() =>
            {
                return Err(match self.over_limit(seats, limit).await? {
                    Some(refusal) => BookError::Refused(refusal),
                    None => BookError::SoldOut { available: free },
                });
            }
            Admission::Refused { .. } | Admission::AskStore => {
                let outcome = self.store.book(request, now).await;
                if outcome
                    .as_ref()
                    .is_ok_and(|o| seats_recorded(request, o) > 0)
                {
                    // Redis thought there were no seats: it is behind the store.
                    self.rebuild_after(event, now).await;
                }
                return outcome;
            }
        };
        let outcome = self.store.book(request, now).await;
        match &outcome {
            Ok(o) => {
                let kept = seats_recorded(request, o);
                self.settle(event, token, kept, None).await;
                let repeat = o
                    .booking
                    .as_ref()
                    .is_some_and(|b| b.id != request.booking_id);
                if kept < taken && !repeat {
                    // The store had fewer seats than Redis admitted: Redis is ahead.
                    self.rebuild_after(event, now).await;
                }
            }
            Err(BookError::SoldOut { .. }) => {
                tracing::info!(event_id = %event, taken, "the store refused seats Redis admitted");
                self.settle(event, token, 0, None).await;
                self.rebuild_after(event, now).await;
            }
            Err(BookError::Backend(_)) => self.abandon(event, token, now).await,
            Err(
                BookError::NotFound
                | BookError::Refused(_)
                | BookError::AlreadyWaitlisted
                | BookError::IdempotencyKeyReused,
            ) => self.settle(event, token, 0, None).await,
        }
        outcome
    }

    async fn find_booking(&self, id: BookingId) -> anyhow::Result<Option<Booking>> {
        self.store.find_booking(id).await
    }

    async fn cancel_booking(
        &self,
        id: BookingId,
        quantity: Option<boxoffice_domain::booking::Quantity>,
        now: Timestamp,
    ) -> Result<Booking, CancelBookingError> {
        let Some(event) = self.store.find_booking(id).await?.map(|b| b.event_id) else {
            return self.store.cancel_booking(id, quantity, now).await;
        };
        let mark = self.mark(event, now).await?;
        let cancelled = self.store.cancel_booking(id, quantity, now).await;
        self.rebuild_after_mark(event, now, &mark).await;
        cancelled
    }

    async fn forget_idempotency_keys(&self, before: Timestamp) -> anyhow::Result<u64> {
        self.store.forget_idempotency_keys(before).await
    }

    async fn user_bookings(
        &self,
        user: UserId,
        status: Option<boxoffice_domain::booking::BookingStatus>,
        page: &PageRequest<BookingId>,
    ) -> anyhow::Result<Page<Booking, BookingId>> {
        self.store.user_bookings(user, status, page).await
    }
}

#[async_trait]
impl<S> EventRepository for SeatGate<S>
where
    S: Reservations + Bookings + EventRepository + SeatLedger,
{
    async fn create(&self, event: &NewEvent) -> anyhow::Result<Event> {
        self.store.create(event).await
    }

    async fn find(&self, id: EventId, now: Timestamp) -> anyhow::Result<Option<Event>> {
        self.store.find(id, now).await
    }

    async fn snapshot(&self, id: EventId, now: Timestamp) -> anyhow::Result<Option<EventSnapshot>> {
        self.store.snapshot(id, now).await
    }

    async fn list_scheduled(&self, query: &EventQuery) -> anyhow::Result<Page<Event, EventCursor>> {
        self.store.list_scheduled(query).await
    }

    async fn list_snapshot(&self, query: &EventQuery) -> anyhow::Result<CatalogSnapshot> {
        self.store.list_snapshot(query).await
    }

    async fn update_details(
        &self,
        id: EventId,
        details: &EventDetails,
        now: Timestamp,
    ) -> Result<Event, UpdateEventError> {
        let mark = self.mark(id, now).await?;
        let updated = self.store.update_details(id, details, now).await;
        self.rebuild_after_mark(id, now, &mark).await;
        updated
    }

    async fn cancel(&self, id: EventId, now: Timestamp) -> Result<Event, CancelEventError> {
        let mark = self.mark(id, now).await?;
        let cancelled = self.store.cancel(id, now).await;
        self.rebuild_after_mark(id, now, &mark).await;
        cancelled
    }
}
