//! The one table `make bench` prints (Markdown, to paste into docs/performance.md): each
//! scenario's figures, as ratios to `baseline` of the same servers and to `hot-row` of
//! the same run, then where the CPU went and what each server's memory was.

use crate::drive::per_second;
use crate::procstat::Cpu;
use crate::scenarios::Outcome;
use crate::scenarios::hot_row::HotRow;
use std::fmt::Write as _;

/// One scenario on one deployment.
#[derive(Debug, Clone)]
pub struct Row {
    /// The deployment, like `pg+redis x3`.
    pub store: String,
    /// The scenario, like `flash-big`.
    pub scenario: &'static str,
    /// What it measured and found.
    pub outcome: Outcome,
    /// Cores busy per kind of process during the measured run.
    pub cores: Cpu,
    /// Each server's peak resident memory during the scenario, in KiB.
    pub peak_rss: Vec<u64>,
    /// Requests per seat batch and milliseconds per batch during the scenario, when any
    /// batch ran.
    pub per_batch: Option<(f64, f64)>,
    /// Requests per call of the seat gate's Lua steps and milliseconds per call, when
    /// any ran (Postgres with Redis only).
    pub per_gate_call: Option<(f64, f64)>,
}

impl Row {
    /// Answers per second, when the scenario's requests went through the driver.
    fn rate(&self) -> Option<f64> {
        (self.outcome.run.tally.requests() > 0).then(|| self.outcome.run.rate())
    }

    /// Bookings per second over the whole run, and until the event sold out.
    fn booking_rates(&self) -> (Option<f64>, Option<f64>) {
        let Some(booked) = self.outcome.bookings else {
            return (None, None);
        };
        let over_run = per_second(booked, self.outcome.run.elapsed);
        let to_sold_out = self.outcome.sold_out_after.map(|t| per_second(booked, t));
        (Some(over_run), to_sold_out)
    }
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Report {
    /// How the run was set up, one line each.
    pub setup: Vec<String>,
    /// pgbench's figure, when Postgres was there.
    pub hot_row: Option<HotRow>,
    /// The scenarios, in the order they ran.
    pub rows: Vec<Row>,
    /// Each deployment's servers' resident memory once started, before any load (KiB).
    pub idle_rss: Vec<(String, Vec<u64>)>,
    /// Deployments that did not run, and why.
    pub skipped: Vec<String>,
}

fn mib(kib: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mib = kib as f64 / 1024.0;
    format!("{mib:.0}")
}

fn ms(us: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let ms = us as f64 / 1000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.0}")
    }
}

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_owned(), |r| format!("{r:.0}"))
}

fn ratio(r: Option<f64>, of: Option<f64>) -> String {
    match (r, of) {
        (Some(r), Some(of)) if of > 0.0 => format!("{:.2}", r / of),
        _ => "-".to_owned(),
    }
}

impl Report {
    /// `/health/live` answers per second on `store`'s servers.
    fn baseline(&self, store: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.store == store && r.scenario == "baseline")
            .and_then(Row::rate)
    }

    /// Every broken invariant and every failed request, one line each.
    #[must_use]
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for row in &self.rows {
            for failure in &row.outcome.failures {
                failures.push(format!("{} / {}: {failure}", row.store, row.scenario));
            }
            let failed = row.outcome.run.tally.failures();
            if failed > 0 {
                failures.push(format!(
                    "{} / {}: {failed} answers were 5xx, failed or timed out",
                    row.store, row.scenario
                ));
            }
        }
        failures
    }

    /// The report as Markdown.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        let hot = self.hot_row.map(|h| h.tps);
        let _ = writeln!(out, "## boxoffice-loadtest\n");
        for line in &self.setup {
            let _ = writeln!(out, "- {line}");
        }
        match self.hot_row {
            Some(h) => {
                let _ = writeln!(
                    out,
                    "- hot-row (pgbench, {} clients): {:.0} tps",
                    h.clients, h.tps
                );
            }
            None => {
                let _ = writeln!(out, "- hot-row: not measured (no Postgres)");
            }
        }
        for why in &self.skipped {
            let _ = writeln!(out, "- skipped: {why}");
        }
        let _ = writeln!(
            out,
            "\n| store | scenario | req/s | x baseline | bookings/s run | bookings/s to sold out | x hot-row | p50 ms | p95 ms | p99 ms | max ms | answers | checks |"
        );
        let _ = writeln!(
            out,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
        );
        for row in &self.rows {
            let tally = &row.outcome.run.tally;
            let h = &tally.latencies;
            let (run_rate, sold_out_rate) = row.booking_rates();
            let answers: Vec<String> = tally
                .statuses
                .iter()
                .map(|(s, n)| format!("{s}:{n}"))
                .collect();
            let checks = if row.outcome.failures.is_empty() {
                "ok"
            } else {
                "FAILED"
            };
            let latency = |q: f64| {
                if tally.requests() > 0 {
                    ms(h.value_at_quantile(q))
                } else {
                    "-".to_owned()
                }
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                row.store,
                row.scenario,
                rate(row.rate()),
                ratio(row.rate(), self.baseline(&row.store)),
                rate(run_rate),
                rate(sold_out_rate),
                ratio(sold_out_rate.or(run_rate), hot),
                latency(0.5),
                latency(0.95),
                latency(0.99),
                if tally.requests() > 0 {
                    ms(h.max())
                } else {
                    "-".to_owned()
                },
                answers.join(" "),
                checks,
            );
        }
        let _ = writeln!(
            out,
            "\n| store | scenario | cores: servers | postgres | redis | load tool | peak RSS MiB per server | seat batches: requests, ms each | gate calls: requests, ms each | notes |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---|---:|---:|---|");
        for row in &self.rows {
            let c = &row.cores;
            let rss: Vec<String> = row.peak_rss.iter().map(|&k| mib(k)).collect();
            let mean = |per: Option<(f64, f64)>| {
                per.map_or_else(|| "-".to_owned(), |(n, ms)| format!("{n:.1}, {ms:.2}"))
            };
            let _ = writeln!(
                out,
                "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} |",
                row.store,
                row.scenario,
                c.servers,
                c.postgres,
                c.redis,
                c.load,
                rss.join(" / "),
                mean(row.per_batch),
                mean(row.per_gate_call),
                row.outcome.note
            );
        }
        let _ = writeln!(out, "\n| store | idle RSS MiB per server |\n|---|---|");
        for (store, rss) in &self.idle_rss {
            let rss: Vec<String> = rss.iter().map(|&k| mib(k)).collect();
            let _ = writeln!(out, "| {store} | {} |", rss.join(" / "));
        }
        let failures = self.failures();
        if failures.is_empty() {
            let _ = writeln!(
                out,
                "\nEvery invariant held; no 5xx, failed request or timeout."
            );
        } else {
            let _ = writeln!(out, "\nFAILED:");
            for failure in failures {
                let _ = writeln!(out, "- {failure}");
            }
        }
        out
    }
}
