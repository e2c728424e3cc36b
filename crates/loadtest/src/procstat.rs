//! What each process of a run cost: CPU time and resident memory, read from `/proc`
//! (Linux only; elsewhere the figures are missing, never wrong).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/*/stat` (`USER_HZ`, 100 on every Linux the tool
/// runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// The fields of `/proc/PID/stat` after the command name, which may hold spaces.
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    // Fields from the state (3rd) on; non-numbers (the state letter) become 0.
    Some(
        rest.split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

/// CPU seconds `pid` used so far (user + system); with `children`, also what its
/// reaped children used.
fn cpu_seconds(pid: u32, children: bool) -> f64 {
    // utime, stime, cutime, cstime are fields 14 to 17, here 11 to 14 from 0.
    let Some(f) = stat_fields(pid) else {
        return 0.0;
    };
    let own = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    let reaped = if children {
        f.get(13).copied().unwrap_or(0) + f.get(14).copied().unwrap_or(0)
    } else {
        0
    };
    #[allow(clippy::cast_precision_loss)] // ticks of one run fit f64 exactly
    let ticks = (own + reaped) as f64;
    ticks / TICKS_PER_SECOND
}

/// Resident memory of `pid` now, in KiB.
#[must_use]
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Every running PostgreSQL process and its parent.
fn postgres_processes() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|pid| Some((pid, u32::try_from(*stat_fields(pid)?.get(1)?).ok()?)))
        .collect()
}

/// CPU seconds of all PostgreSQL processes: the postmaster with the backends it has
/// reaped, plus the live backends, so a connection closed mid-run loses nothing.
fn postgres_cpu_seconds() -> f64 {
    let all = postgres_processes();
    let pids: Vec<u32> = all.iter().map(|(pid, _)| *pid).collect();
    all.iter()
        .map(|&(pid, parent)| {
            let postmaster = !pids.contains(&parent);
            cpu_seconds(pid, postmaster)
        })
        .sum()
}

/// Which processes a run's CPU time is split between.
#[derive(Debug, Clone, Default)]
pub struct Processes {
    /// The boxoffice servers.
    pub servers: Vec<u32>,
    /// The private Redis, if any.
    pub redis: Option<u32>,
    /// Whether Postgres is part of the run.
    pub postgres: bool,
}

/// CPU seconds per kind of process at one instant.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    /// The boxoffice servers together.
    pub servers: f64,
    /// PostgreSQL.
    pub postgres: f64,
    /// Redis.
    pub redis: f64,
    /// This load tool.
    pub load: f64,
}

impl Cpu {
    /// The CPU time used so far.
    #[must_use]
    pub fn now(of: &Processes) -> Self {
        Self {
            servers: of.servers.iter().map(|&p| cpu_seconds(p, false)).sum(),
            postgres: if of.postgres {
                postgres_cpu_seconds()
            } else {
                0.0
            },
            redis: of.redis.map_or(0.0, |p| cpu_seconds(p, false)),
            load: cpu_seconds(std::process::id(), false),
        }
    }

    /// What was used between `earlier` and `self`, as cores busy over `elapsed`.
    #[must_use]
    pub fn cores_since(&self, earlier: &Self, elapsed: Duration) -> Self {
        let s = elapsed.as_secs_f64().max(1e-9);
        Self {
            servers: (self.servers - earlier.servers) / s,
            postgres: (self.postgres - earlier.postgres) / s,
            redis: (self.redis - earlier.redis) / s,
            load: (self.load - earlier.load) / s,
        }
    }
}

/// One sample: when, the CPU used so far, and each server's resident memory (KiB).
#[derive(Debug, Clone)]
struct Sample {
    at: Instant,
    cpu: Cpu,
    rss: Vec<u64>,
}

/// Samples CPU time and resident memory every 100 ms until stopped, so that a
/// scenario's figures can be cut to exactly its measured run afterwards.
pub struct Sampler {
    samples: Arc<Mutex<Vec<Sample>>>,
    task: tokio::task::JoinHandle<()>,
    of: Processes,
}

fn sample(of: &Processes) -> Sample {
    Sample {
        at: Instant::now(),
        cpu: Cpu::now(of),
        rss: of
            .servers
            .iter()
            .map(|&p| rss_kib(p).unwrap_or(0))
            .collect(),
    }
}

impl Sampler {
    /// Starts sampling `of`.
    #[must_use]
    pub fn start(of: &Processes) -> Self {
        let samples = Arc::new(Mutex::new(vec![sample(of)]));
        let (shared, watched) = (samples.clone(), of.clone());
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let next = sample(&watched);
                shared
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(next);
            }
        });
        Self {
            samples,
            task,
            of: of.clone(),
        }
    }

    /// Stops sampling.
    #[must_use]
    pub fn stop(self) -> Samples {
        self.task.abort();
        let mut samples =
            std::mem::take(&mut *self.samples.lock().unwrap_or_else(PoisonError::into_inner));
        samples.push(sample(&self.of));
        Samples(samples)
    }
}

/// What a [`Sampler`] saw.
#[derive(Debug, Clone)]
pub struct Samples(Vec<Sample>);

impl Samples {
    /// Cores busy per kind of process between `from` and `to` (the samples nearest
    /// to them: within 100 ms).
    #[must_use]
    pub fn cores(&self, from: Instant, to: Instant) -> Cpu {
        let nearest = |t: Instant| {
            self.0
                .iter()
                .min_by_key(|s| if s.at > t { s.at - t } else { t - s.at })
        };
        match (nearest(from), nearest(to)) {
            (Some(a), Some(b)) if b.at > a.at => b.cpu.cores_since(&a.cpu, b.at - a.at),
            _ => Cpu::default(),
        }
    }

    /// Each server's peak resident memory, in KiB.
    #[must_use]
    pub fn peak_rss(&self) -> Vec<u64> {
        let servers = self.0.first().map_or(0, |s| s.rss.len());
        (0..servers)
            .map(|i| self.0.iter().map(|s| s.rss[i]).max().unwrap_or(0))
            .collect()
    }
}
