//! A seeded random mixed workload over HTTP, the counterpart of the store contract's
//! `mixed_workload_keeps_invariants`: many concurrent clients hold, confirm, release,
//! book (failing or queueing when sold out, partially or not, some with an
//! `Idempotency-Key`), cancel all or part of their bookings, join and leave waitlists,
//! and the organizer changes capacities and ticket types' caps (lifting them too) and
//! prices, on a few events, two of them with capped ticket types. Every answer is checked as it comes, the seat figures after every
//! operation and by a monitor that also snapshots the queues; once every hold has ended,
//! [`Workload::check_end`] checks that no seat is lost, that the bookings add up, that
//! promotion was strict FIFO and that everything a client was told still holds.
//!
//! Faults are the caller's: run [`Workload::run`] in a task and inject them meanwhile
//! (see [`Workload::wait_for_progress`]).

mod client;
mod end;
mod ledger;
mod monitor;

pub use ledger::{Ledger, Left, SeenBooking, SeenEntry, seats_of};
pub use monitor::QueueSnapshots;

use crate::cluster::{Cluster, ClusterClient, Request, User};
use crate::seats::text;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How the workload runs.
#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    /// Concurrent clients, each its own user.
    pub clients: usize,
    /// Operations each client performs.
    pub ops_per_client: usize,
    /// Seeds each client's random choices (client `i` uses `seed + i`).
    pub seed: u64,
    /// Whether 503 `service_unavailable` is an acceptable answer (the test injects
    /// Redis faults). Otherwise it fails the test.
    pub unavailable_allowed: bool,
    /// The servers' `HOLD_TTL_SECS`.
    pub hold_ttl: Duration,
    /// How long, at the end, the servers may refuse (`sold_out`, 503) seats their
    /// figures show free: the time an admission gate in front of the store may take to
    /// learn of seats a fault left it unsure about.
    pub gate_catch_up: Duration,
}

impl WorkloadConfig {
    /// 24 clients x 30 operations, the servers started with `HOLD_TTL_SECS=2`, no 503,
    /// free seats bookable within 20 s at the end.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self {
            clients: 24,
            ops_per_client: 30,
            seed,
            unavailable_allowed: false,
            hold_ttl: Duration::from_secs(2),
            gate_catch_up: Duration::from_secs(20),
        }
    }
}

/// The seed of this run: `BOXOFFICE_SEED` when set (to replay a failure), else a fresh
/// one. Printed either way.
#[must_use]
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("BOXOFFICE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("{test}: seed {seed} (replay with BOXOFFICE_SEED={seed})");
    seed
}

/// One event of the workload.
#[derive(Debug, Clone)]
pub struct EventPlan {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its ticket types' ids, in position order.
    pub types: Vec<String>,
    /// Capacities the organizer picks from.
    pub capacities: (u64, u64),
    /// `max_tickets_per_user`, if any.
    pub per_user_limit: Option<u64>,
}

/// Counts of what the clients did, for the report and to see the workload did work.
#[derive(Debug, Default)]
pub struct Stats {
    /// Holds made (201).
    pub holds: AtomicU64,
    /// Holds confirmed (201).
    pub confirms: AtomicU64,
    /// Confirmations too late (410).
    pub expired: AtomicU64,
    /// Holds released (204).
    pub releases: AtomicU64,
    /// Bookings answered 201.
    pub booked: AtomicU64,
    /// Bookings answered 201 for part and a waitlist entry for the rest.
    pub partial: AtomicU64,
    /// Bookings answered 202 (queued).
    pub queued: AtomicU64,
    /// Idempotent repeats answered with an earlier outcome.
    pub repeats: AtomicU64,
    /// Cancellations of a whole booking (200).
    pub cancels: AtomicU64,
    /// Cancellations of part of a booking (200).
    pub partial_cancels: AtomicU64,
    /// Waitlist joins (201).
    pub joins: AtomicU64,
    /// Waitlist leaves (204).
    pub leaves: AtomicU64,
    /// Capacity changes (200).
    pub capacity_changes: AtomicU64,
    /// Ticket type quantity and price changes (200).
    pub type_changes: AtomicU64,
    /// Refusals the contract allows (409, 410, 422 idempotency_key_reused).
    pub refusals: AtomicU64,
    /// 503 `service_unavailable` answers.
    pub unavailable: AtomicU64,
    /// Requests lost with their server.
    pub lost: AtomicU64,
}

impl Stats {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// The workload's shared state: the cluster's client, the accounts and the events.
pub struct Workload {
    client: ClusterClient,
    config: WorkloadConfig,
    organizer: User,
    users: Vec<User>,
    events: Vec<EventPlan>,
    progress: AtomicUsize,
    /// Clients not yet ended (normally or by a failure).
    running: AtomicUsize,
    stats: Stats,
    started: Instant,
}

/// A run in the background. Dropping it (a failed test) aborts the run, so that no
/// client keeps sending requests to servers that are going away.
pub struct RunHandle(Option<tokio::task::JoinHandle<Run>>);

impl RunHandle {
    /// Waits for the run to end.
    ///
    /// # Panics
    /// With the run's failure.
    pub async fn finish(mut self) -> Run {
        let handle = self.0.take().expect("a run is finished once");
        match handle.await {
            Ok(run) => run,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => panic!("the workload was cancelled: {error}"),
        }
    }
}

impl Drop for RunHandle {
    fn drop(&mut self) {
        if let Some(handle) = &self.0 {
            handle.abort();
        }
    }
}

/// What a finished run hands to [`Workload::check_end`].
pub struct Run {
    /// Each client's record.
    pub ledgers: Vec<Ledger>,
    /// The monitor's snapshots of the queues.
    pub queues: QueueSnapshots,
}

impl Workload {
    /// Creates the organizer, the clients' accounts and three events: "Arena" (a
    /// per-user limit of 8, a VIP type capped at 10 and an uncapped General type),
    /// "Club" (one uncapped type) and "Theatre" (two capped types, Front 6 and Back 20,
    /// that together exceed its capacity).
    pub async fn prepare(cluster: &Cluster, config: WorkloadConfig) -> Arc<Self> {
        let organizer = cluster.organizer("workload.organizer@example.org").await;
        Self::prepare_with(cluster.client(), organizer, config).await
    }

    /// [`Workload::prepare`] on servers reached through `client`, with `organizer`'s
    /// account for the events.
    pub async fn prepare_with(
        client: ClusterClient,
        organizer: User,
        config: WorkloadConfig,
    ) -> Arc<Self> {
        let users = client.attendees("workload.client.", config.clients).await;
        let specs = [
            (
                json!({"name": "Arena", "capacity": 40, "max_tickets_per_user": 8, "ticket_types": [
                    {"name": "VIP", "price_cents": 9000, "quantity": 10},
                    {"name": "General", "price_cents": 2000}]}),
                (25, 60),
            ),
            (json!({"name": "Club", "capacity": 16}), (8, 30)),
            (
                json!({"name": "Theatre", "capacity": 24, "ticket_types": [
                    {"name": "Front", "price_cents": 5000, "quantity": 6},
                    {"name": "Back", "price_cents": 3000, "quantity": 20}]}),
                (12, 36),
            ),
        ];
        let mut events = Vec::new();
        for (spec, capacities) in specs {
            let mut body = spec.clone();
            let fields = body.as_object_mut().expect("object");
            fields.insert("venue".into(), json!("Hall W"));
            fields.insert("starts_at".into(), json!("2031-09-01T18:00:00Z"));
            let reply = client
                .send(Request::post("/events", body).token(&organizer.token))
                .await
                .reply();
            let event = reply.ok(201);
            events.push(EventPlan {
                id: text(event, "id"),
                name: text(event, "name"),
                types: event["ticket_types"]
                    .as_array()
                    .expect("ticket types")
                    .iter()
                    .map(|t| text(t, "id"))
                    .collect(),
                capacities,
                per_user_limit: event["max_tickets_per_user"].as_u64(),
            });
        }
        Arc::new(Self {
            client,
            running: AtomicUsize::new(config.clients),
            config,
            organizer,
            users,
            events,
            progress: AtomicUsize::new(0),
            stats: Stats::default(),
            started: Instant::now(),
        })
    }

    /// The events.
    #[must_use]
    pub fn events(&self) -> &[EventPlan] {
        &self.events
    }

    /// The organizer of the events.
    #[must_use]
    pub fn organizer(&self) -> &User {
        &self.organizer
    }

    /// The counts so far.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Operations done so far, by all clients.
    #[must_use]
    pub fn progress(&self) -> usize {
        self.progress.load(Ordering::Relaxed)
    }

    /// Operations the whole run performs.
    #[must_use]
    pub fn total_ops(&self) -> usize {
        self.config.clients * self.config.ops_per_client
    }

    /// Waits until `fraction` of all operations are done (to inject a fault mid-run), or
    /// until every client has ended (one failed: the run's result tells why).
    ///
    /// # Panics
    /// When that takes more than two minutes.
    pub async fn wait_for_progress(&self, fraction: f64) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let goal = ((self.total_ops() as f64) * fraction).ceil() as usize;
        crate::cluster::eventually(
            Duration::from_secs(120),
            &format!("{goal} workload operations done"),
            || async {
                let ended = self.running.load(Ordering::SeqCst) == 0;
                (self.progress() >= goal || ended).then_some(())
            },
        )
        .await;
    }

    /// Runs every client to its end, with the monitor alongside; returns what they saw.
    ///
    /// # Panics
    /// With the first failure of a client or of the monitor; the other tasks are
    /// aborted then.
    pub async fn run(self: Arc<Self>) -> Run {
        enum Part {
            Client(usize, Ledger),
            Monitor(QueueSnapshots),
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        let w = self.clone();
        tasks.spawn(async move { Part::Monitor(monitor::watch(w, stopped).await) });
        for (i, user) in self.users.iter().cloned().enumerate() {
            let w = self.clone();
            tasks.spawn(async move { Part::Client(i, client::run(w, i, user).await) });
        }
        let mut ledgers: Vec<Option<Ledger>> = self.users.iter().map(|_| None).collect();
        let mut clients_left = ledgers.len();
        if clients_left == 0 {
            let _ = stop.send(true);
        }
        let mut queues = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Part::Client(i, ledger)) => {
                    ledgers[i] = Some(ledger);
                    clients_left -= 1;
                    if clients_left == 0 {
                        let _ = stop.send(true);
                    }
                }
                Ok(Part::Monitor(snapshots)) => queues = Some(snapshots),
                Err(error) => {
                    tasks.abort_all();
                    if error.is_panic() {
                        std::panic::resume_unwind(error.into_panic());
                    }
                    panic!("a workload task was cancelled: {error}");
                }
            }
        }
        eprintln!(
            "workload: {} clients x {} operations in {:.1?}: {}",
            self.config.clients,
            self.config.ops_per_client,
            self.started.elapsed(),
            self.summary()
        );
        Run {
            ledgers: ledgers
                .into_iter()
                .map(|l| l.expect("every client ended"))
                .collect(),
            queues: queues.expect("the monitor ended"),
        }
    }

    /// Starts [`Workload::run`] in a task, so that the caller can inject faults
    /// meanwhile.
    #[must_use]
    pub fn spawn(self: Arc<Self>) -> RunHandle {
        RunHandle(Some(tokio::spawn(self.run())))
    }

    /// The counts as one line.
    #[must_use]
    pub fn summary(&self) -> String {
        let s = &self.stats;
        let g = Stats::get;
        format!(
            "{} holds, {} confirmed, {} expired at confirmation, {} released, {} booked ({} partly), \
             {} queued, {} idempotent repeats, {} cancelled + {} partly cancelled, {} joins, {} leaves, \
             {} capacity changes, {} ticket type changes, {} refusals, {} x 503, {} lost",
            g(&s.holds),
            g(&s.confirms),
            g(&s.expired),
            g(&s.releases),
            g(&s.booked),
            g(&s.partial),
            g(&s.queued),
            g(&s.repeats),
            g(&s.cancels),
            g(&s.partial_cancels),
            g(&s.joins),
            g(&s.leaves),
            g(&s.capacity_changes),
            g(&s.type_changes),
            g(&s.refusals),
            g(&s.unavailable),
            g(&s.lost),
        )
    }

    /// `GET /events/{id}`, retried while it answers 503 (bounded).
    async fn read_event(&self, id: &str) -> Value {
        let path = format!("/events/{id}");
        crate::cluster::eventually(Duration::from_secs(20), &format!("GET {path}"), || async {
            let reply = self.client.send(Request::get(&path)).await.reply();
            if reply.is_unavailable() && self.config.unavailable_allowed {
                return None;
            }
            Some(reply.ok(200).clone())
        })
        .await
    }
}
