//! A throwaway Postgres cluster that one test owns, so it can stop and restart the
//! database under a running server without disturbing other tests.
//!
//! The cluster is made with `initdb` in a temporary folder and listens on a free port of
//! 127.0.0.1 with trust authentication. Postgres refuses to run as root, so when the
//! tests run as root every Postgres command runs as the `postgres` OS user (`runuser`).

use anyhow::{Context as _, bail};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

/// How long `pg_ctl` may take to start or stop the cluster.
const PG_CTL_WAIT_SECS: &str = "60";

/// A private Postgres cluster, stopped and deleted on drop.
#[derive(Debug)]
pub struct PrivatePostgres {
    cluster: Cluster,
    _dir: TempDir,
}

/// What the `pg_ctl` calls need; cloned into blocking tasks.
#[derive(Debug, Clone)]
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    /// `Some("postgres")` when the tests run as root.
    run_as: Option<&'static str>,
}

impl PrivatePostgres {
    /// Creates and starts a cluster. `Err` says why this machine cannot run one (no
    /// Postgres binaries, no `postgres` user to run them as, `initdb` refused); the only
    /// acceptable reaction is to skip the test loudly.
    ///
    /// # Panics
    /// When the cluster was created but does not start: that is a failure, not a skip.
    pub async fn launch() -> Result<Self, String> {
        let (cluster, dir) = tokio::task::spawn_blocking(Cluster::create)
            .await
            .map_err(|e| format!("the setup task failed: {e}"))?
            .map_err(|e| format!("{e:#}"))?;
        let postgres = Self { cluster, _dir: dir };
        if let Err(error) = postgres.start().await {
            panic!("the private Postgres does not start: {error:#}");
        }
        Ok(postgres)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    #[must_use]
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            self.cluster.port
        )
    }

    /// Starts the (stopped) cluster on its port and waits until it accepts connections.
    ///
    /// # Errors
    /// When `pg_ctl start` fails; the error carries the server log.
    pub async fn start(&self) -> anyhow::Result<()> {
        self.pg_ctl(Cluster::start).await
    }

    /// Stops the cluster the way an operator's restart does (`pg_ctl stop -m fast`):
    /// sessions are ended at once and their transactions rolled back.
    ///
    /// # Errors
    /// When `pg_ctl stop` fails.
    pub async fn stop(&self) -> anyhow::Result<()> {
        self.pg_ctl(|c| c.stop("fast")).await
    }

    /// [`stop`](Self::stop), then [`start`](Self::start) on the same port.
    ///
    /// # Errors
    /// When either fails.
    pub async fn restart(&self) -> anyhow::Result<()> {
        self.stop().await?;
        self.start().await
    }

    /// Runs a blocking `pg_ctl` step off the async workers.
    async fn pg_ctl(
        &self,
        step: impl FnOnce(&Cluster) -> anyhow::Result<()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let cluster = self.cluster.clone();
        tokio::task::spawn_blocking(move || step(&cluster))
            .await
            .context("the pg_ctl task failed")?
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        // Immediate: nothing in a throwaway cluster needs a checkpoint. A cluster that
        // is already stopped makes pg_ctl fail, which is fine.
        let _ = self.cluster.stop("immediate");
    }
}

impl Cluster {
    /// Finds the binaries, makes the folder and runs `initdb`.
    fn create() -> anyhow::Result<(Self, TempDir)> {
        let bin = postgres_bin_dir()?;
        let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
        let run_as = if std::fs::metadata(dir.path())?.uid() == 0 {
            // Postgres refuses to run as root: hand the folder to the postgres user.
            let chown = Command::new("chown")
                .arg("postgres:")
                .arg(dir.path())
                .output()
                .context("cannot run chown")?;
            check(&chown, "chown postgres: (is there a `postgres` OS user?)")?;
            Some("postgres")
        } else {
            None
        };
        let free_port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .context("cannot find a free port")?
            .port();
        let cluster = Self {
            data: dir.path().join("data"),
            log: dir.path().join("postgres.log"),
            socket_dir: dir.path().to_owned(),
            bin,
            port: free_port,
            run_as,
        };
        let initdb = cluster
            .command("initdb")
            .arg("-D")
            .arg(&cluster.data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .context("cannot run initdb")?;
        check(&initdb, "initdb")?;
        Ok((cluster, dir))
    }

    /// A Postgres binary, run as the postgres user when we are root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    fn start(&self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
            self.port,
            self.socket_dir.display()
        );
        let output = self
            .command("pg_ctl")
            .arg("start")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(["-w", "-t", PG_CTL_WAIT_SECS, "-o", &options])
            .output()
            .context("cannot run pg_ctl start")?;
        check(&output, "pg_ctl start").with_context(|| {
            format!(
                "server log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            )
        })
    }

    fn stop(&self, mode: &str) -> anyhow::Result<()> {
        let output = self
            .command("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", mode, "-w", "-t", PG_CTL_WAIT_SECS])
            .output()
            .context("cannot run pg_ctl stop")?;
        check(&output, "pg_ctl stop")
    }
}

/// `PG_BIN_DIR`, or the newest `/usr/lib/postgresql/<version>/bin` that has `initdb`.
fn postgres_bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN_DIR") {
        let dir = PathBuf::from(dir);
        if !dir.join("initdb").exists() {
            bail!("PG_BIN_DIR={} has no initdb", dir.display());
        }
        return Ok(dir);
    }
    let root = Path::new("/usr/lib/postgresql");
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .with_context(|| format!("no Postgres binaries: cannot read {}", root.display()))?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .with_context(|| format!("no initdb under {}/*/bin", root.display()))
}

/// `Ok` when the command succeeded, else an error with what it printed.
fn check(output: &Output, what: &str) -> anyhow::Result<()> {
    if output.status.success() {
        return Ok(());
    }
    bail!(
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim(),
        String::from_utf8_lossy(&output.stdout).trim()
    )
}
