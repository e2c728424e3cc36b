//! `hot-row`: what one hot Postgres row allows, measured by pgbench in the same run:
//! `sql/hot-row.sql`, one durable decrement of one row per transaction, from many
//! clients at once. Every booking figure is shown as a ratio to it.

use boxoffice_store_postgres::testing::TestDatabase;
use std::process::Command;
use std::time::Duration;

const SETUP: &str = include_str!("../../sql/hot-row-setup.sql");
const SCRIPT: &str = include_str!("../../sql/hot-row.sql");

/// What pgbench measured.
#[derive(Debug, Clone, Copy)]
pub struct HotRow {
    /// Transactions (decrements) per second.
    pub tps: f64,
    /// pgbench clients.
    pub clients: usize,
}

/// Runs the script for `duration` with `clients` clients on a fresh database; `None`
/// when Postgres is unreachable (outside CI).
///
/// # Errors
/// When psql or pgbench fail.
pub async fn run(clients: usize, duration: Duration) -> anyhow::Result<Option<HotRow>> {
    let Some(database) = TestDatabase::create().await else {
        return Ok(None);
    };
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("hot-row.sql");
    std::fs::write(&script, SCRIPT)?;
    let setup = Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-c", SETUP, database.url()])
        .output()?;
    anyhow::ensure!(
        setup.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let bench = Command::new("pgbench")
        .args(["-n", "-f"])
        .arg(&script)
        .args(["-c", &clients.to_string(), "-j", "2"])
        .args(["-T", &duration.as_secs().max(1).to_string()])
        .arg(database.url())
        .output()?;
    let out = String::from_utf8_lossy(&bench.stdout);
    anyhow::ensure!(
        bench.status.success(),
        "pgbench: {}{}",
        out,
        String::from_utf8_lossy(&bench.stderr)
    );
    let tps = out
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l["tps = ".len()..].split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no tps in pgbench's output: {out}"))?;
    Ok(Some(HotRow { tps, clients }))
}
