//! The mixed workload over three processes, without faults.

use boxoffice_e2e::cluster::Cluster;
use boxoffice_e2e::workload::{Workload, WorkloadConfig, seed};

/// 24 clients x 30 random operations over 3 events, spread round-robin over 3
/// processes; no 503 is acceptable. Invariants during the run and at its end (see
/// `Workload::check_end`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_workload_keeps_the_invariants() {
    let Some(cluster) = Cluster::start(3, &[("HOLD_TTL_SECS", "2")]).await else {
        return;
    };
    let config = WorkloadConfig::new(seed("mixed_workload_keeps_the_invariants"));
    let workload = Workload::prepare(&cluster, config).await;
    let run = workload.clone().run().await;
    let stats = workload.stats();
    for (what, count) in [
        ("holds", &stats.holds),
        ("confirmations", &stats.confirms),
        ("bookings", &stats.booked),
        ("cancellations", &stats.cancels),
        ("joins or queued bookings", &stats.queued),
    ] {
        assert!(
            count.load(std::sync::atomic::Ordering::Relaxed) > 0,
            "the workload made no {what}: {}",
            workload.summary()
        );
    }
    workload.check_end(run).await;
}
