//! `boxoffice-loadtest`, run by `make bench`: starts release `boxoffice serve`
//! processes itself (embedded SQLite; Postgres + Redis with 1 and 3 processes when they
//! are reachable), registers users through the API, runs each scenario with a fixed
//! number of requests in flight, checks the invariants after each, and prints one
//! table. `BENCH_QUICK=1` runs a small set that CI can afford; it exits non-zero when
//! an invariant fails or a request fails, never because of a speed figure.
//!
//! Settings (environment): `BENCH_QUICK`, `BENCH_INFLIGHT` (256), `BENCH_THREADS`
//! (the tool's worker threads, 1), `BENCH_STORES` (`sqlite,pg1,pg3`), `BENCH_SCENARIOS`
//! (all by default), `BOXOFFICE_BIN` (the server binary; default: `boxoffice` beside
//! this one), `BOXOFFICE_SEED`.
#![allow(clippy::expect_used)] // a tool: a broken constant should fail loudly

mod batches;
mod deploy;
mod drive;
mod procstat;
mod report;
mod scenarios;

use batches::BatchTotals;
use deploy::{Deployment, Store};
use procstat::Sampler;
use report::{Report, Row};
use scenarios::{Account, Outcome, baseline, door, flash, holds, hot_row, mixed, read};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// How big each scenario is.
#[derive(Debug, Clone)]
struct Plan {
    quick: bool,
    inflight: usize,
    threads: usize,
    stores: Vec<Store>,
    timed: Duration,
    flash: (usize, u32),
    flash_big: Option<(usize, u32)>,
    holds_users: usize,
    door_users: usize,
    mixed: (usize, usize),
    hot_row: (usize, Duration),
    /// The scenarios to run (`BENCH_SCENARIOS`); `None`: all of them.
    only: Option<Vec<String>>,
}

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Plan {
    fn from_env() -> anyhow::Result<Self> {
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let stores = std::env::var("BENCH_STORES")
            .unwrap_or_else(|_| "sqlite,pg1,pg3".to_owned())
            .split(',')
            .map(|s| match s.trim() {
                "sqlite" => Ok(Store::Sqlite),
                "pg1" => Ok(Store::Postgres { processes: 1 }),
                "pg3" => Ok(Store::Postgres { processes: 3 }),
                other => Err(anyhow::anyhow!(
                    "BENCH_STORES: unknown store {other:?} (sqlite, pg1, pg3)"
                )),
            })
            .collect::<anyhow::Result<_>>()?;
        const SCENARIOS: [&str; 9] = [
            "baseline",
            "hot-row",
            "read",
            "read-list",
            "flash",
            "flash-big",
            "holds",
            "door",
            "mixed",
        ];
        let only = match std::env::var("BENCH_SCENARIOS") {
            Ok(list) => {
                let only: Vec<String> = list.split(',').map(|s| s.trim().to_owned()).collect();
                if let Some(unknown) = only.iter().find(|s| !SCENARIOS.contains(&s.as_str())) {
                    anyhow::bail!(
                        "BENCH_SCENARIOS: unknown scenario {unknown:?} ({})",
                        SCENARIOS.join(", ")
                    );
                }
                Some(only)
            }
            Err(_) => None,
        };
        let plan = if quick {
            Self {
                quick,
                inflight: setting("BENCH_INFLIGHT", 32),
                threads: setting("BENCH_THREADS", 1),
                stores,
                timed: Duration::from_secs(1),
                flash: (120, 40),
                flash_big: None,
                holds_users: 60,
                door_users: 40,
                mixed: (12, 12),
                hot_row: (4, Duration::from_secs(1)),
                only,
            }
        } else {
            Self {
                quick,
                inflight: setting("BENCH_INFLIGHT", 256),
                threads: setting("BENCH_THREADS", 1),
                stores,
                timed: Duration::from_secs(5),
                flash: (2_000, 500),
                flash_big: Some((20_000, 5_000)),
                holds_users: 4_000,
                door_users: 2_000,
                mixed: (64, 40),
                hot_row: (8, Duration::from_secs(5)),
                only,
            }
        };
        Ok(plan)
    }

    /// Whether `scenario` runs.
    fn runs(&self, scenario: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|s| s == scenario))
    }

    /// Accounts the booking scenarios need.
    fn users(&self) -> usize {
        let big = self
            .flash_big
            .filter(|_| self.runs("flash-big"))
            .map_or(0, |(n, _)| n);
        let holds = if self.runs("holds") {
            self.holds_users
        } else {
            0
        };
        let door = if self.runs("door") {
            self.door_users
        } else {
            0
        };
        self.flash.0.max(big).max(holds).max(door)
    }
}

/// The server binary: `BOXOFFICE_BIN`, or `boxoffice` beside this program.
fn server_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("BOXOFFICE_BIN") {
        return Ok(path.into());
    }
    let me = std::env::current_exe()?;
    let bin = me.with_file_name("boxoffice");
    anyhow::ensure!(
        bin.exists(),
        "{} is missing: build it (make bench does) or set BOXOFFICE_BIN",
        bin.display()
    );
    Ok(bin)
}

/// Runs `scenario` on `deployment`, sampling its processes, and adds its row.
async fn measure<F>(
    report: &mut Report,
    plan: &Plan,
    deployment: &Deployment,
    name: &'static str,
    scenario: F,
) -> anyhow::Result<()>
where
    F: Future<Output = anyhow::Result<Outcome>>,
{
    if !plan.runs(name) {
        return Ok(());
    }
    eprintln!("{}: {name}", deployment.label);
    let batches = BatchTotals::read(deployment.addrs(), "seat").await;
    let calls = BatchTotals::read(deployment.addrs(), "admission").await;
    let sampler = Sampler::start(&deployment.processes());
    let outcome = scenario.await?;
    let samples = sampler.stop();
    let per_batch = BatchTotals::read(deployment.addrs(), "seat")
        .await
        .mean_since(batches);
    let per_gate_call = BatchTotals::read(deployment.addrs(), "admission")
        .await
        .mean_since(calls);
    let run = &outcome.run;
    report.rows.push(Row {
        store: deployment.label.clone(),
        scenario: name,
        cores: samples.cores(run.started, run.started + run.elapsed),
        peak_rss: samples.peak_rss(),
        per_batch,
        per_gate_call,
        outcome,
    });
    for complaint in deployment.complaints() {
        eprintln!("{complaint}");
    }
    Ok(())
}

/// Every scenario but `mixed` on one deployment of `store`.
async fn on_store(
    report: &mut Report,
    plan: &Plan,
    bin: &Path,
    store: Store,
) -> anyhow::Result<()> {
    let Some(deployment) = Deployment::start(bin, store, &[]).await? else {
        report.skipped.push(format!(
            "{}: Postgres or redis-server is missing",
            store.label()
        ));
        return Ok(());
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = deployment
        .processes()
        .servers
        .iter()
        .map(|&p| procstat::rss_kib(p).unwrap_or(0))
        .collect();
    report.idle_rss.push((deployment.label.clone(), idle));
    let addrs = deployment.addrs().to_vec();
    let organizer = scenarios::organizer(&deployment, "organizer@bench.example").await?;
    eprintln!("{}: registering {} users", deployment.label, plan.users());
    let users = scenarios::register(&addrs, "fan", plan.users()).await?;
    let (inflight, timed) = (plan.inflight, plan.timed);
    measure(report, plan, &deployment, "baseline", async {
        Ok(baseline::run(&addrs, inflight, timed).await)
    })
    .await?;
    let writers = &users[..plan.flash.0.min(users.len())];
    measure(
        report,
        plan,
        &deployment,
        "read",
        read::run(
            &addrs,
            &organizer,
            writers,
            read::Page::Event,
            inflight,
            timed,
        ),
    )
    .await?;
    measure(
        report,
        plan,
        &deployment,
        "read-list",
        read::run(
            &addrs,
            &organizer,
            writers,
            read::Page::List,
            inflight,
            timed,
        ),
    )
    .await?;
    let (n, seats) = plan.flash;
    measure(
        report,
        plan,
        &deployment,
        "flash",
        flash::run(&addrs, &organizer, &users[..n], seats, inflight),
    )
    .await?;
    if let Some((n, seats)) = plan.flash_big.filter(|_| plan.runs("flash-big")) {
        measure(
            report,
            plan,
            &deployment,
            "flash-big",
            flash::run(&addrs, &organizer, &users[..n], seats, inflight),
        )
        .await?;
    }
    let holders = &users[..plan.holds_users.min(users.len())];
    measure(
        report,
        plan,
        &deployment,
        "holds",
        holds::run(&addrs, &organizer, holders, inflight),
    )
    .await?;
    let fans = &users[..plan.door_users.min(users.len())];
    measure(
        report,
        plan,
        &deployment,
        "door",
        door::run(&addrs, &organizer, fans, inflight),
    )
    .await?;
    Ok(())
}

/// `mixed` on a deployment of its own (its servers end holds after two seconds).
async fn mixed_on(
    report: &mut Report,
    plan: &Plan,
    bin: &Path,
    store: Store,
    seed: u64,
) -> anyhow::Result<()> {
    let ttl = mixed::HOLD_TTL_SECS.to_string();
    let Some(deployment) = Deployment::start(bin, store, &[("HOLD_TTL_SECS", &ttl)]).await? else {
        return Ok(());
    };
    let organizer: Account =
        scenarios::organizer(&deployment, "mixed.organizer@bench.example").await?;
    let (clients, ops) = plan.mixed;
    let bases = deployment.bases();
    measure(report, plan, &deployment, "mixed", async {
        Ok(mixed::run(bases, &organizer, clients, ops, seed).await)
    })
    .await
}

async fn bench(plan: Plan) -> anyhow::Result<Report> {
    let bin = server_binary()?;
    let seed = setting("BOXOFFICE_SEED", rand::random::<u64>());
    let mut report = Report {
        setup: vec![
            format!(
                "mode: {}, {} requests in flight, load tool on {} thread(s), {} cores here",
                if plan.quick { "BENCH_QUICK" } else { "full" },
                plan.inflight,
                plan.threads,
                std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
            ),
            format!("server: {}", bin.display()),
            format!("mixed workload seed: {seed} (replay with BOXOFFICE_SEED={seed})"),
        ],
        ..Report::default()
    };
    let (clients, duration) = plan.hot_row;
    if plan.runs("hot-row") {
        report.hot_row = hot_row::run(clients, duration).await?;
    }
    for &store in &plan.stores {
        on_store(&mut report, &plan, &bin, store).await?;
        if plan.runs("mixed") {
            mixed_on(&mut report, &plan, &bin, store, seed).await?;
        }
    }
    Ok(report)
}

fn main() -> ExitCode {
    let plan = match Plan::from_env() {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(plan.threads.max(1))
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(bench(plan)) {
        Ok(report) => {
            println!("{}", report.render());
            if report.failures().is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
