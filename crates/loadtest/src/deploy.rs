//! The servers a scenario runs against: `boxoffice serve` processes on a fresh SQLite
//! file, or on a fresh Postgres database with a private Redis, configured as production
//! runs them (JSON logs at `info`, written to a file), except for a low bcrypt cost and
//! the rate limits, which are off.

use crate::drive::{Call, Conn};
use crate::procstat::Processes;
use anyhow::Context as _;
use boxoffice_e2e::redis::TestRedis;
use boxoffice_store_postgres::testing::TestDatabase;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a server may take to answer `/health/ready` after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The password of every account the tool makes.
pub const PASSWORD: &str = "bench-password";

/// Which store the servers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// One process on the embedded SQLite file.
    Sqlite,
    /// `processes` processes on one Postgres database and one Redis.
    Postgres {
        /// How many `serve` processes share them.
        processes: usize,
    },
}

impl Store {
    /// How the report names it.
    #[must_use]
    pub fn label(self) -> String {
        match self {
            Self::Sqlite => "sqlite".to_owned(),
            Self::Postgres { processes } => format!("pg+redis x{processes}"),
        }
    }
}

/// Running servers and what they run on; dropping it stops them and removes the data.
pub struct Deployment {
    /// The store, as the report names it.
    pub label: String,
    store: Store,
    servers: Vec<Child>,
    addrs: Vec<SocketAddr>,
    database_url: String,
    bin: PathBuf,
    dir: TempDir,
    // Dropped after the servers (fields drop in order): they use these.
    redis: Option<TestRedis>,
    _database: Option<TestDatabase>,
}

/// A port that was free a moment ago.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Deployment {
    /// Starts the servers of `store` (binary `bin`) with extra environment `env`.
    /// `None` when Postgres or `redis-server` is missing (the fixtures print why; with
    /// `CI=true` they fail instead).
    ///
    /// # Errors
    /// When a server does not start.
    pub async fn start(
        bin: &Path,
        store: Store,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Option<Self>> {
        let dir = tempfile::tempdir()?;
        let (database_url, database, redis, processes) = match store {
            Store::Sqlite => (
                format!("sqlite://{}", dir.path().join("bench.db").display()),
                None,
                None,
                1,
            ),
            Store::Postgres { processes } => {
                let Some(database) = TestDatabase::create().await else {
                    return Ok(None);
                };
                let Some(redis) = TestRedis::start().await else {
                    return Ok(None);
                };
                (
                    database.url().to_owned(),
                    Some(database),
                    Some(redis),
                    processes,
                )
            }
        };
        let mut deployment = Self {
            label: store.label(),
            store,
            servers: Vec::new(),
            addrs: Vec::new(),
            database_url,
            bin: bin.to_owned(),
            dir,
            redis,
            _database: database,
        };
        for i in 0..processes {
            deployment.spawn(i, env)?;
        }
        for i in 0..processes {
            deployment.await_ready(i).await?;
        }
        Ok(Some(deployment))
    }

    fn spawn(&mut self, i: usize, env: &[(&str, &str)]) -> anyhow::Result<()> {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let log = std::fs::File::create(self.log_path(i))?;
        let mut command = Command::new(&self.bin);
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("BOXOFFICE_ADDR", addr.to_string())
            .env("DATABASE_URL", &self.database_url)
            .env("JWT_SECRET", "bench-secret-bench-secret-bench-secret-0123")
            .env(
                "TICKET_SIGNING_KEYS",
                "YmVuY2gtdGlja2V0LXNpZ25pbmcta2V5LTAxMjM0NTY",
            )
            .env("BCRYPT_COST", "4")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env("ACCESS_TOKEN_TTL_SECS", "7200")
            .env("RATE_LIMIT_AUTH_PER_MINUTE", "0")
            .env("RATE_LIMIT_LOGIN_PER_EMAIL_PER_HOUR", "0")
            .env("RATE_LIMIT_WRITES_PER_MINUTE", "0")
            .env("RATE_LIMIT_API_TOKEN_PER_MINUTE", "0")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if let Some(redis) = &self.redis {
            command.env("REDIS_URL", redis.url());
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", self.bin.display()))?;
        self.servers.push(child);
        self.addrs.push(addr);
        Ok(())
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("server-{i}.log"))
    }

    async fn await_ready(&mut self, i: usize) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let mut conn = Conn::to(self.addrs[i]);
            if conn.send(&Call::get("/health/ready")).await.status == 200 {
                return Ok(());
            }
            if let Some(status) = self.servers[i].try_wait()? {
                anyhow::bail!("server {i} exited with {status}:\n{}", self.log_tail(i));
            }
            if started.elapsed() > START_TIMEOUT {
                anyhow::bail!(
                    "server {i} not ready within {START_TIMEOUT:?}:\n{}",
                    self.log_tail(i)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines server `i` logged.
    #[must_use]
    pub fn log_tail(&self, i: usize) -> String {
        let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Warnings and errors the servers logged (first few of each).
    #[must_use]
    pub fn complaints(&self) -> Vec<String> {
        (0..self.servers.len())
            .flat_map(|i| {
                let log = std::fs::read_to_string(self.log_path(i)).unwrap_or_default();
                log.lines()
                    .filter(|l| l.contains("\"level\":\"ERROR\""))
                    .take(5)
                    .map(|l| format!("server {i}: {l}"))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Where the servers listen.
    #[must_use]
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// `http://ADDR` of each server.
    #[must_use]
    pub fn bases(&self) -> Vec<String> {
        self.addrs.iter().map(|a| format!("http://{a}")).collect()
    }

    /// The processes whose CPU and memory the report shows.
    #[must_use]
    pub fn processes(&self) -> Processes {
        Processes {
            servers: self.servers.iter().map(Child::id).collect(),
            redis: self.redis.as_ref().and_then(TestRedis::pid),
            postgres: matches!(self.store, Store::Postgres { .. }),
        }
    }

    /// Makes an account with `role` through `boxoffice user create` on the servers'
    /// database (registration makes attendees only).
    ///
    /// # Errors
    /// When the command fails.
    pub fn create_user(&self, email: &str, role: &str) -> anyhow::Result<()> {
        let output = Command::new(&self.bin)
            .args(["user", "create", "--email", email, "--password", PASSWORD])
            .args(["--name", "Bench Staff", "--role", role])
            .env("DATABASE_URL", &self.database_url)
            .env("BCRYPT_COST", "4")
            .env("RUST_LOG", "warn")
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "user create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        for child in &mut self.servers {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
