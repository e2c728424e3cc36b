//! `mixed`: the seeded random workload of the engine tests (`boxoffice_e2e::workload`),
//! at speed: many clients hold, confirm, release, book, cancel, join and leave, and an
//! organizer changes capacities and ticket types' caps and prices, over three small
//! events; every answer is checked as it
//! comes, and at the end no seat is lost, the bookings add up and promotion was FIFO.
//! The servers must run with `HOLD_TTL_SECS` = [`HOLD_TTL_SECS`].

use super::{Account, Outcome};
use crate::drive::{Run, Tally};
use boxoffice_e2e::cluster::{ClusterClient, User};
use boxoffice_e2e::workload::{Workload, WorkloadConfig};
use std::time::{Duration, Instant};

/// The hold lifetime the servers of this scenario run with.
pub const HOLD_TTL_SECS: u64 = 2;

/// Runs `clients` clients of `ops` operations each against the servers at `bases`.
pub async fn run(
    bases: Vec<String>,
    organizer: &Account,
    clients: usize,
    ops: usize,
    seed: u64,
) -> Outcome {
    let config = WorkloadConfig {
        clients,
        ops_per_client: ops,
        hold_ttl: Duration::from_secs(HOLD_TTL_SECS),
        ..WorkloadConfig::new(seed)
    };
    let organizer = User {
        token: organizer.token.to_string(),
        id: organizer.id.clone(),
    };
    // The workload panics at the first broken invariant: run it in a task to report it.
    let checked = tokio::spawn(async move {
        let workload = Workload::prepare_with(ClusterClient::over(bases), organizer, config).await;
        let started = Instant::now();
        let run = workload.clone().run().await;
        let elapsed = started.elapsed();
        let summary = workload.summary();
        workload.check_end(run).await;
        (started, elapsed, workload.total_ops(), summary)
    })
    .await;
    match checked {
        Ok((started, elapsed, ops, summary)) => Outcome {
            run: Run {
                tally: Tally::default(),
                started,
                elapsed,
            },
            bookings: None,
            sold_out_after: None,
            failures: Vec::new(),
            note: format!("{ops} operations ({summary}); seed {seed}"),
        },
        Err(error) => {
            let why = match error.try_into_panic() {
                Ok(panic) => panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default(),
                Err(error) => error.to_string(),
            };
            Outcome {
                run: Run {
                    tally: Tally::default(),
                    started: Instant::now(),
                    elapsed: Duration::ZERO,
                },
                bookings: None,
                sold_out_after: None,
                failures: vec![format!("the workload failed (seed {seed}): {why}")],
                note: String::new(),
            }
        }
    }
}
