//! The metrics recorder: Prometheus text at `/metrics`, a `# HELP` line for each of our
//! metrics (all named `boxoffice_*`), a build-info gauge, and, collected at each
//! scrape, the process's own figures (CPU, memory, open files) and the connection
//! pools' (Postgres or SQLite readers, Redis).

use anyhow::Context;
use boxoffice_domain::ports::HealthCheck;
use metrics::{describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use metrics_process::Collector;
use std::sync::Arc;

/// What each of our metrics means (`# HELP`), by kind.
const COUNTERS: &[(&str, &str)] = &[
    (
        "boxoffice_http_requests_total",
        "Requests answered, by method, route pattern and status.",
    ),
    (
        "boxoffice_http_panics_total",
        "Handler panics turned into 500 problems.",
    ),
    (
        "boxoffice_rate_limited_total",
        "Requests refused with 429 rate_limited, by rule.",
    ),
    (
        "boxoffice_holds_created_total",
        "Holds created (POST /events/{id}/holds answered 201).",
    ),
    (
        "boxoffice_bookings_total",
        "Booking requests answered with a booking, by source (direct or hold).",
    ),
    (
        "boxoffice_waitlist_joins_total",
        "Requests whose answer holds a new waitlist entry.",
    ),
    (
        "boxoffice_cancellations_total",
        "Cancellations answered 200, in part or in whole.",
    ),
    (
        "boxoffice_check_in_scans_total",
        "Ticket scans at the door, online and uploaded, by outcome.",
    ),
    (
        "boxoffice_waitlist_promotions_total",
        "Waitlist entries promoted into bookings.",
    ),
    ("boxoffice_holds_expired_total", "Holds ended by expiry."),
    (
        "boxoffice_admissions_total",
        "Seat gate decisions with REDIS_URL, by result (taken, refused, store).",
    ),
    (
        "boxoffice_admission_rebuilds_total",
        "Events whose Redis admission state was rebuilt from Postgres.",
    ),
    (
        "boxoffice_event_reads_total",
        "GET /events/{id} answers, by source (memory or store).",
    ),
    (
        "boxoffice_event_listings_total",
        "GET /events answers, by source (memory or store).",
    ),
];

/// Histograms and summaries.
const HISTOGRAMS: &[(&str, &str)] = &[
    (
        "boxoffice_http_request_duration_seconds",
        "Seconds from receiving a request to answering it.",
    ),
    (
        "boxoffice_seat_batch_requests",
        "Requests per seat batch (one transaction of one event).",
    ),
    (
        "boxoffice_seat_batch_seconds",
        "Seconds each seat batch took, from taking the connection to the commit.",
    ),
    (
        "boxoffice_admission_batch_requests",
        "Requests per call of the seat gate's Lua steps (taking or settling seats of one event).",
    ),
    (
        "boxoffice_admission_batch_seconds",
        "Seconds each call of the seat gate's Lua steps took.",
    ),
];

/// Installs the recorder; returns what renders `/metrics`, with the pools of
/// `dependencies`.
///
/// # Errors
/// When a recorder is installed already.
pub fn install(
    dependencies: Vec<Arc<dyn HealthCheck>>,
) -> anyhow::Result<impl Fn() -> String + Send + Sync + 'static> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("boxoffice_http_request_duration_seconds".to_owned()),
            &[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ],
        )
        .context("cannot configure the metrics buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    for (name, help) in COUNTERS {
        describe_counter!(*name, *help);
    }
    for (name, help) in HISTOGRAMS {
        describe_histogram!(*name, *help);
    }
    describe_gauge!(
        "boxoffice_build_info",
        "Always 1; its version label says which build is running."
    );
    metrics::gauge!("boxoffice_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    describe_gauge!(
        "boxoffice_pool_connections",
        "Connections of each pool (`pool`: database or redis), by state (in_use, idle)."
    );
    describe_gauge!(
        "boxoffice_pool_max_connections",
        "Connections each pool may open."
    );
    describe_gauge!(
        "boxoffice_pool_waiting",
        "Requests waiting for a connection of each pool."
    );
    describe_gauge!(
        "boxoffice_sse_streams",
        "Live availability streams this process keeps open (at most SSE_MAX_STREAMS)."
    );
    let process = Collector::new("boxoffice_");
    process.describe();
    Ok(move || {
        process.collect();
        for dependency in &dependencies {
            let Some(pool) = dependency.pool() else {
                continue;
            };
            let name = dependency.name();
            let count = |n: usize| n as f64;
            metrics::gauge!("boxoffice_pool_connections", "pool" => name, "state" => "in_use")
                .set(count(pool.in_use));
            metrics::gauge!("boxoffice_pool_connections", "pool" => name, "state" => "idle")
                .set(count(pool.idle));
            metrics::gauge!("boxoffice_pool_max_connections", "pool" => name).set(count(pool.max));
            metrics::gauge!("boxoffice_pool_waiting", "pool" => name).set(count(pool.waiting));
        }
        handle.render()
    })
}
