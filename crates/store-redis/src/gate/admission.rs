//! Admission: the Lua steps that take seats under a lease before the store records a
//! request, and settle the lease once the store has answered.

use super::{Admission, SeatGate, millis};
use anyhow::Context as _;
use boxoffice_domain::ports::{Bookings, EventRepository, Reservations, SeatLedger, SeatRequest};
use boxoffice_domain::seats::SaleRefusal;
use boxoffice_domain::{EventId, Timestamp};
use deadpool_redis::redis::Script;
use std::sync::LazyLock;
use uuid::Uuid;

static TAKE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("../lua/take.lua")));
static SETTLE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("../lua/settle.lua")));

/// How long a request may take between Redis admitting it and the store answering
/// before a rebuild treats its lease as abandoned (its process died): a crashed
/// process's seats come back this long after it took them. A request still queueing for
/// the store past it (a pool wait under extreme load) is only counted free in Redis too
/// early, which Postgres's own check catches.
const LEASE_TTL_MS: i64 = 15_000;

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

    pub(super) async fn take(
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
    pub(super) async fn settle(
        &self,
        event: EventId,
        token: Uuid,
        keep: u32,
        due: Option<Timestamp>,
    ) {
        let due = due.map(|at| millis(at).to_string()).unwrap_or_default();
        self.end_lease(event, token, &keep.to_string(), &due).await;
    }

    /// Ends lease `token` after the store failed: whether it recorded the seats is
    /// unknown, but its transaction is over, so the lease is no longer in flight. The
    /// event is due at once: the next rebuild asks the store what it recorded.
    pub(super) async fn abandon(&self, event: EventId, token: Uuid, now: Timestamp) {
        self.end_lease(event, token, "unknown", &millis(now).to_string())
            .await;
    }

    pub(super) async fn end_lease(&self, event: EventId, token: Uuid, keep: &str, due: &str) {
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
