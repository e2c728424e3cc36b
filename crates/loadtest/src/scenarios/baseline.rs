//! `baseline`: `GET /health/live`, the cheapest request the servers answer; every other
//! figure is shown as a ratio to it.

use super::{Checks, Outcome};
use crate::drive::{Call, Until, drive};
use std::net::SocketAddr;
use std::time::Duration;

/// Drives `/health/live` for `duration` with `inflight` requests in flight.
pub async fn run(addrs: &[SocketAddr], inflight: usize, duration: Duration) -> Outcome {
    let run = drive(
        addrs,
        inflight,
        Until::For(duration),
        |mut conn, _| async move {
            conn.send(&Call::get("/health/live")).await;
            conn
        },
    )
    .await;
    let mut checks = Checks::default();
    checks.equal(
        "answers other than 200",
        run.tally.requests() - run.tally.count("200"),
        0,
    );
    Outcome {
        run,
        bookings: None,
        sold_out_after: None,
        failures: checks.into_failures(),
        note: String::new(),
    }
}
