//! How many requests the servers' batches held during a scenario, from the summaries
//! each server's `/metrics` shows: the seat batches (`boxoffice_seat_batch_*`) and the
//! seat gate's shared Lua calls (`boxoffice_admission_batch_*`).

use crate::drive::{Call, Conn};
use std::net::SocketAddr;

/// Requests and batches counted so far, summed over the servers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BatchTotals {
    /// Requests run in batches.
    pub requests: f64,
    /// Batches run.
    pub batches: f64,
    /// Seconds the batches took.
    pub seconds: f64,
}

impl BatchTotals {
    /// The totals of the batches named `batch` (`seat` or `admission`) of every server
    /// at `addrs` now (a server that does not answer counts nothing).
    pub async fn read(addrs: &[SocketAddr], batch: &str) -> Self {
        let mut totals = Self::default();
        for &addr in addrs {
            let reply = Conn::to(addr).send(&Call::get("/metrics")).await;
            let text = String::from_utf8_lossy(&reply.body);
            totals.add(&text, batch);
        }
        totals
    }

    /// Adds the totals of the batches named `batch` in one server's metrics `page`.
    fn add(&mut self, page: &str, batch: &str) {
        let name = |series: &str| format!("boxoffice_{batch}_batch_{series}");
        self.requests += value(page, &name("requests_sum"));
        self.batches += value(page, &name("requests_count"));
        self.seconds += value(page, &name("seconds_sum"));
    }

    /// Requests per batch and milliseconds per batch between `before` and these
    /// totals, if any batch ran.
    pub fn mean_since(self, before: Self) -> Option<(f64, f64)> {
        let batches = self.batches - before.batches;
        (batches > 0.0).then(|| {
            let requests = (self.requests - before.requests) / batches;
            let millis = (self.seconds - before.seconds) * 1000.0 / batches;
            (requests, millis)
        })
    }
}

/// The value of the unlabelled series `name` in a Prometheus text page (0 when absent).
fn value(page: &str, name: &str) -> f64 {
    page.lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .filter_map(|v| v.trim().parse().ok())
        .next()
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sum_and_count_of_a_summary() {
        let page = "# TYPE boxoffice_seat_batch_requests summary\n\
                    boxoffice_seat_batch_requests{quantile=\"0.5\"} 3\n\
                    boxoffice_seat_batch_requests_sum 120\n\
                    boxoffice_seat_batch_requests_count 10\n";
        assert!((value(page, "boxoffice_seat_batch_requests_sum") - 120.0).abs() < f64::EPSILON);
        assert!((value(page, "boxoffice_seat_batch_requests_count") - 10.0).abs() < f64::EPSILON);
        assert!(value(page, "boxoffice_seat_batch_requests_max").abs() < f64::EPSILON);
        let mut seat = BatchTotals::default();
        seat.add(page, "seat");
        assert!((seat.requests - 120.0).abs() < f64::EPSILON);
        assert!((seat.batches - 10.0).abs() < f64::EPSILON);
        let mut admission = BatchTotals::default();
        admission.add(page, "admission");
        assert_eq!(admission, BatchTotals::default());
        let before = BatchTotals {
            requests: 20.0,
            batches: 5.0,
            seconds: 0.5,
        };
        let after = BatchTotals {
            requests: 120.0,
            batches: 10.0,
            seconds: 0.6,
        };
        let (requests, millis) = after.mean_since(before).expect("batches ran");
        assert!((requests - 20.0).abs() < 1e-9, "{requests}");
        assert!((millis - 20.0).abs() < 1e-9, "{millis}");
        assert_eq!(before.mean_since(before), None);
    }
}
