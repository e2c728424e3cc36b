//! Faults injected during the mixed workload: Redis flushed, Redis restarted, a server
//! killed. Requests may be refused with 503 `service_unavailable` while Redis is
//! unreachable (the workload counts them as not done), never 500, and every request
//! answers within its bound. After each fault the end-of-run checks hold: no seat
//! lost or oversold, and everything a client was told still true.

use boxoffice_e2e::cluster::{Cluster, Request};
use boxoffice_e2e::workload::{Run, Workload, WorkloadConfig, seed};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How long Redis stays down in the restart test.
const REDIS_DOWN: Duration = Duration::from_millis(1500);
/// How long the servers may take to be ready again after a fault.
const RECOVERY: Duration = Duration::from_secs(20);

/// A cluster of three with a 2 s hold TTL, and a workload that accepts 503.
async fn start(test: &str) -> Option<(Cluster, Arc<Workload>)> {
    let cluster = Cluster::start(3, &[("HOLD_TTL_SECS", "2")]).await?;
    let config = WorkloadConfig {
        unavailable_allowed: true,
        ..WorkloadConfig::new(seed(test))
    };
    let workload = Workload::prepare(&cluster, config).await;
    Some((cluster, workload))
}

/// Waits for the run, failing with its panic if it failed.
async fn finish(run: JoinHandle<Run>) -> Run {
    match run.await {
        Ok(run) => run,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

/// Asserts the fault came while operations were still to come.
fn assert_mid_run(workload: &Workload, at: usize, fault: &str) {
    eprintln!("{fault} after {at} of {} operations", workload.total_ops());
    assert!(
        at < workload.total_ops(),
        "{fault} came after the workload ended"
    );
}

/// `FLUSHALL` at 30% of the run: whatever the servers keep in Redis is gone at once;
/// they must rebuild it from Postgres, neither overselling nor losing seats.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_flushall_mid_run() {
    let Some((cluster, workload)) = start("redis_flushall_mid_run").await else {
        return;
    };
    let uses_redis = cluster.uses_redis().await;
    let run = tokio::spawn(workload.clone().run());
    workload.wait_for_progress(0.3).await;
    let keys = cluster.redis().command(&["DBSIZE"]).await.expect("DBSIZE");
    cluster.redis().flushall().await;
    assert_mid_run(&workload, workload.progress(), "FLUSHALL");
    eprintln!("Redis held {keys} keys before FLUSHALL (servers use Redis: {uses_redis})");
    if uses_redis {
        assert_ne!(keys, ":0", "the servers use Redis but keep nothing in it");
    }
    let run = finish(run).await;
    cluster.await_ready(RECOVERY).await;
    workload.check_end(run).await;
}

/// Redis killed at 30% of the run and started again, empty, 1.5 s later. While it is
/// down, servers that use it answer bookings with a quick 503 and `/health/ready` with
/// 503; afterwards they are ready again and the invariants hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_restart_mid_run() {
    let Some((mut cluster, workload)) = start("redis_restart_mid_run").await else {
        return;
    };
    let uses_redis = cluster.uses_redis().await;
    let probe_user = cluster.client().attendee("probe.restart@example.org").await;
    let probe_event = workload.events()[1].id.clone();
    let run = tokio::spawn(workload.clone().run());
    workload.wait_for_progress(0.3).await;
    let down = Instant::now();
    cluster.redis_mut().stop();
    assert_mid_run(&workload, workload.progress(), "Redis stopped");
    if uses_redis {
        let client = cluster.client();
        for i in cluster.running() {
            let ready = client
                .send(Request::ops_get("/health/ready").on(i))
                .await
                .reply();
            assert_eq!(ready.status, 503, "ready while Redis is down: {ready}");
            let asked = Instant::now();
            let reply = client
                .send(
                    Request::post(
                        &format!("/events/{probe_event}/bookings"),
                        json!({"quantity": 1, "on_sold_out": "fail"}),
                    )
                    .token(&probe_user.token)
                    .on(i),
                )
                .await
                .reply();
            assert!(
                reply.is_unavailable(),
                "a booking while Redis is down: {reply}"
            );
            assert!(
                asked.elapsed() < Duration::from_secs(5),
                "503 took {:?}",
                asked.elapsed()
            );
        }
    }
    tokio::time::sleep(REDIS_DOWN.saturating_sub(down.elapsed())).await;
    cluster.redis_mut().start_again().await;
    eprintln!(
        "Redis was down for {:.1?} (servers use Redis: {uses_redis})",
        down.elapsed()
    );
    let run = finish(run).await;
    cluster.await_ready(RECOVERY).await;
    workload.check_end(run).await;
}

/// Server 1 SIGKILLed at 30% of the run: its requests in flight are lost (unknown
/// outcome), its clients move to the others; it starts again at 55% and takes its
/// share again. Everything a client saw confirmed must still exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_killed_mid_run() {
    let Some((mut cluster, workload)) = start("server_killed_mid_run").await else {
        return;
    };
    let run = tokio::spawn(workload.clone().run());
    workload.wait_for_progress(0.3).await;
    cluster.kill(1);
    assert_mid_run(&workload, workload.progress(), "server 1 killed");
    workload.wait_for_progress(0.55).await;
    cluster.restart(1).await;
    assert_mid_run(&workload, workload.progress(), "server 1 restarted");
    let run = finish(run).await;
    eprintln!(
        "{} requests were lost with server 1",
        workload
            .stats()
            .lost
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    cluster.await_ready(RECOVERY).await;
    workload.check_end(run).await;
}
