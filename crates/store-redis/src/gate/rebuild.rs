//! The rebuild protocol: an event's Redis state is set from the store's snapshot when it
//! is missing, after operations that give seats back (marked before them), when the
//! store refused seats Redis admitted, and when the event is due.

use super::{SeatGate, millis};
use boxoffice_domain::ports::{Bookings, EventRepository, Reservations, SeatLedger};
use boxoffice_domain::{EventId, Timestamp};
use deadpool_redis::redis::Script;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, PoisonError};
use uuid::Uuid;

static REBUILD: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../lua/rebuild.lua")));
static CLAIM_DUE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../lua/claim_due.lua")));

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

impl<S> SeatGate<S>
where
    S: Reservations + Bookings + EventRepository + SeatLedger,
{
    /// Rebuilds the state of an event that has none or a stale one, once per process at
    /// a time.
    pub(super) async fn load(&self, event: EventId, now: Timestamp) -> anyhow::Result<()> {
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

    /// Rebuilds the state of `events` from the store (see the module docs).
    pub(super) async fn rebuild(&self, events: &[EventId], now: Timestamp) -> anyhow::Result<()> {
        self.rebuild_clearing(events, now, &[]).await
    }

    /// [`SeatGate::rebuild`], also clearing the marks in `clear` (their operations
    /// committed before the snapshot).
    pub(super) async fn rebuild_clearing(
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
        metrics::counter!("boxoffice_admission_rebuilds_total").increment(snapshots.len() as u64);
        Ok(())
    }

    /// Marks `event` before an operation that gives seats back, and schedules its
    /// rebuild shortly: until the rebuild after the operation's commit clears the mark,
    /// every rebuild of the event schedules another, so the change cannot be missed if
    /// that rebuild fails, this process dies, or a rebuild from an older snapshot
    /// overtakes it. Failing here fails the operation before it changes anything, so
    /// Redis cannot miss a change while it is unreachable. Returns the mark.
    pub(super) async fn mark(&self, event: EventId, now: Timestamp) -> anyhow::Result<String> {
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
    pub(super) async fn rebuild_after_mark(&self, event: EventId, now: Timestamp, mark: &str) {
        self.rebuild_logged(event, now, &[mark]).await;
    }

    /// Rebuilds after the store showed Redis was wrong; a failure is only logged.
    pub(super) async fn rebuild_after(&self, event: EventId, now: Timestamp) {
        self.rebuild_logged(event, now, &[]).await;
    }

    pub(super) async fn rebuild_logged(&self, event: EventId, now: Timestamp, clear: &[&str]) {
        if let Err(e) = self.rebuild_clearing(&[event], now, clear).await {
            tracing::warn!(event_id = %event, error = format!("{e:#}"), "admission rebuild deferred");
        }
    }

    /// Rebuilds the events whose rebuild is due by `now` (claimed, so that one process
    /// does each); returns how many.
    pub(super) async fn rebuild_due(&self, now: Timestamp) -> anyhow::Result<usize> {
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
