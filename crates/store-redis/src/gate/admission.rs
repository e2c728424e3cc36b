//! Admission: the Lua steps that take seats under a lease before the store records a
//! request, and settle the lease once the store has answered. Concurrent requests of
//! one event share each step: what queues while one script runs goes in the next, as
//! one script call (`take_many.lua`, `settle_many.lua`) in arrival order.

use super::{Admission, SeatGate, event_keys, millis};
use crate::Redis;
use anyhow::Context as _;
use async_trait::async_trait;
use boxoffice_domain::group_commit::{BatchMetrics, BatchRunner, GroupCommit};
use boxoffice_domain::ports::{Bookings, EventRepository, Reservations, SeatLedger, SeatRequest};
use boxoffice_domain::seats::SaleRefusal;
use boxoffice_domain::{EventId, Timestamp};
use deadpool_redis::redis::Script;
use std::sync::LazyLock;
use uuid::Uuid;

static TAKE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("../lua/take_many.lua")));
static SETTLE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../lua/settle_many.lua")));

/// How long a request may take between Redis admitting it and the store answering
/// before a rebuild treats its lease as abandoned (its process died): a crashed
/// process's seats come back this long after it took them. A request still queueing for
/// the store past it (a pool wait under extreme load) is only counted free in Redis too
/// early, which Postgres's own check catches.
const LEASE_TTL_MS: i64 = 15_000;

/// Requests of one event one script call takes or settles at most.
const STEP_LIMIT: usize = 256;

/// The admission steps' batches, as `/metrics` shows them.
const ADMISSION_BATCHES: BatchMetrics = BatchMetrics {
    requests: "boxoffice_admission_batch_requests",
    seconds: "boxoffice_admission_batch_seconds",
};

/// One request's ask for seats.
#[derive(Debug)]
struct Ask {
    /// The ticket type (`""`: the event's first).
    ty: String,
    quantity: u32,
    partial: bool,
    token: Uuid,
    now: i64,
}

/// What Redis answered one ask: seats taken (-1: no state or a stale one, -2: the store
/// answers), seats free, the per-user limit (0: none).
type Taken = (i64, i64, i64);

/// One lease to end: the seats the store kept (or `unknown`), and when the event is due
/// for a rebuild (`""`: not for this lease).
#[derive(Debug)]
struct Settlement {
    token: Uuid,
    keep: String,
    due: String,
}

/// The queues of the two steps, per event.
#[derive(Debug, Clone)]
pub(super) struct Steps {
    takes: GroupCommit<Ask, Taken>,
    settlements: GroupCommit<Settlement, ()>,
    redis: ScriptRunner,
}

impl Steps {
    pub(super) fn new(redis: Redis) -> Self {
        Self {
            takes: GroupCommit::new(STEP_LIMIT, ADMISSION_BATCHES),
            settlements: GroupCommit::new(STEP_LIMIT, ADMISSION_BATCHES),
            redis: ScriptRunner(redis),
        }
    }
}

/// Runs the batches of both steps.
#[derive(Debug, Clone)]
struct ScriptRunner(Redis);

#[async_trait]
impl BatchRunner<Ask, Taken> for ScriptRunner {
    async fn run(&self, event: EventId, batch: Vec<Ask>) -> anyhow::Result<Vec<Taken>> {
        let [state, leases, due] = event_keys(&self.0, event);
        let flat: Vec<i64> = self
            .0
            .run("take seats", async |conn| {
                let mut call = TAKE.key(&state);
                call.key(&leases)
                    .key(&due)
                    .arg(event.to_string())
                    .arg(LEASE_TTL_MS);
                for ask in &batch {
                    call.arg(&ask.ty)
                        .arg(ask.quantity)
                        .arg(if ask.partial { "1" } else { "0" })
                        .arg(ask.token.to_string())
                        .arg(ask.now);
                }
                call.invoke_async(conn).await
            })
            .await?;
        Ok(flat.chunks_exact(3).map(|t| (t[0], t[1], t[2])).collect())
    }
}

#[async_trait]
impl BatchRunner<Settlement, ()> for ScriptRunner {
    async fn run(&self, event: EventId, batch: Vec<Settlement>) -> anyhow::Result<Vec<()>> {
        let [state, leases, due] = event_keys(&self.0, event);
        self.0
            .run("settle leases", async |conn| {
                let mut call = SETTLE.key(&state);
                call.key(&leases).key(&due).arg(event.to_string());
                for lease in &batch {
                    call.arg(lease.token.to_string())
                        .arg(&lease.keep)
                        .arg(&lease.due);
                }
                call.invoke_async::<i64>(conn).await
            })
            .await?;
        Ok(vec![(); batch.len()])
    }
}

impl<S> SeatGate<S>
where
    S: Reservations + Bookings + EventRepository + SeatLedger,
{
    /// Takes `qty` seats (or what is free, with `partial`) under lease `token`.
    pub(super) async fn admit(
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
            metrics::counter!("boxoffice_admissions_total", "result" => result).increment(1);
            return Ok(admission);
        }
        Ok(Admission::AskStore)
    }

    /// Redis's answer to one ask, taken in the event's next `take_many.lua` call.
    async fn take(
        &self,
        seats: &SeatRequest,
        partial: bool,
        token: Uuid,
        now: Timestamp,
    ) -> anyhow::Result<Taken> {
        let ask = Ask {
            ty: seats
                .ticket_type_id
                .map(|t| t.to_string())
                .unwrap_or_default(),
            quantity: seats.quantity.get(),
            partial,
            token,
            now: millis(now),
        };
        let steps = &self.steps;
        steps.takes.submit(&steps.redis, seats.event_id, ask).await
    }

    /// Ends lease `token`: the store kept `keep` seats. `due` schedules a rebuild (when
    /// a recorded hold ends). A failure is only logged: the store has answered, and the
    /// next rebuild settles the lease.
    pub(super) async fn settle(
        &self,
        event: EventId,
        token: Uuid,
        keep: u32,
        due: Option<Timestamp>,
    ) {
        let due = due.map(|at| millis(at).to_string()).unwrap_or_default();
        self.end_lease(event, token, keep.to_string(), due).await;
    }

    /// Ends lease `token` after the store failed: whether it recorded the seats is
    /// unknown, but its transaction is over, so the lease is no longer in flight. The
    /// event is due at once: the next rebuild asks the store what it recorded.
    pub(super) async fn abandon(&self, event: EventId, token: Uuid, now: Timestamp) {
        self.end_lease(event, token, "unknown".to_owned(), millis(now).to_string())
            .await;
    }

    async fn end_lease(&self, event: EventId, token: Uuid, keep: String, due: String) {
        let lease = Settlement { token, keep, due };
        let steps = &self.steps;
        if let Err(e) = steps.settlements.submit(&steps.redis, event, lease).await {
            tracing::warn!(event_id = %event, error = format!("{e:#}"), "lease left to the next rebuild");
        }
    }

    /// The purchase-limit refusal a sold-out request gets instead of "sold out" (the
    /// store's rules check the limit first), read without the event's lock.
    pub(super) async fn over_limit(
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
}
