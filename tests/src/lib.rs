//! Harness for the end-to-end tests: starts the real `boxoffice` binary on a free port
//! against a fresh SQLite file or a fresh Postgres database, and talks to it over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failing loudly is the point

pub mod cluster;
mod postgres;
mod process;
pub mod redis;
pub mod seats;
pub mod smtp;
pub mod sse;
pub mod workload;

pub use postgres::PrivatePostgres;

use boxoffice_store_postgres::testing::TestDatabase;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The signing secret the test servers use, so tests can forge tokens with it.
pub const JWT_SECRET: &str = "e2e-test-secret-e2e-test-secret-0123456789";
/// The ticket signing key every test server gets (a base64url Ed25519 seed).
pub const TICKET_SIGNING_KEY: &str = "ZTJlLXRpY2tldC1zaWduaW5nLWtleS0wMTIzNDU2Nzg";

/// Which store a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file in a temporary folder.
    Sqlite,
    /// A fresh Postgres database, dropped afterwards.
    Postgres,
}

/// A running `boxoffice serve` and what it printed.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// An HTTP client.
    pub client: reqwest::Client,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    database_url: String,
    env: Vec<(String, String)>,
    _dir: TempDir,
    _database: Option<TestDatabase>,
}

/// The Redis servers on Postgres use: `TEST_REDIS_URL`, or the local default.
#[must_use]
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The `boxoffice` binary cargo built for this test run.
#[must_use]
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("BOXOFFICE_BIN") {
        return path.into();
    }
    // target/debug/deps/e2e-HASH -> target/debug/boxoffice
    let exe = std::env::current_exe().expect("test executable path");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("boxoffice"))
        .expect("target directory");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (it builds the binary) or set BOXOFFICE_BIN",
        path.display()
    );
    path
}

impl TestServer {
    /// Starts a server on `backend`, or `None` when Postgres is unreachable outside CI.
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, &[]).await
    }

    /// Starts a server with extra environment variables.
    pub async fn start_with(backend: Backend, env: &[(&str, &str)]) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, database) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("e2e.db").display()),
                None,
            ),
            Backend::Postgres => {
                let db = TestDatabase::create().await?;
                (db.url().to_owned(), Some(db))
            }
        };
        // Postgres runs as in production: behind the Redis seat gate, under a key prefix
        // of its own on the shared test Redis (unless the test brings its own Redis).
        let prefix = format!("e2e:{}:", uuid::Uuid::new_v4());
        let redis_url = redis_url();
        let mut env = env.to_vec();
        if backend == Backend::Postgres && !env.iter().any(|(k, _)| *k == "REDIS_URL") {
            env.push(("REDIS_URL", &redis_url));
            env.push(("REDIS_KEY_PREFIX", &prefix));
        }
        let env = env.as_slice();
        Some(Self::spawn(&database_url, env, dir, database).await)
    }

    /// Starts a server on a database someone else owns (several servers may share it:
    /// see the cluster tests), with extra environment variables.
    pub async fn start_on(database_url: &str, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn(database_url, env, dir, None).await
    }

    async fn spawn(
        database_url: &str,
        env: &[(&str, &str)],
        dir: TempDir,
        database: Option<TestDatabase>,
    ) -> Self {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let (child, logs) = spawn_server(database_url, &env);
        let mut server = Self {
            base: String::new(),
            client: reqwest::Client::new(),
            child,
            logs,
            database_url: database_url.to_owned(),
            env,
            _dir: dir,
            _database: database,
        };
        server.await_listening().await;
        server
    }

    /// Stops the server (SIGKILL, no graceful shutdown) and starts a new one with the same
    /// environment on the same database; `base` then points at the new one. Its logs
    /// replace the old ones.
    pub async fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, logs) = spawn_server(&self.database_url, &self.env);
        self.child = child;
        self.logs = logs;
        self.base = String::new();
        self.await_listening().await;
    }

    /// Waits for the "listening" log line and points `base` at its address.
    async fn await_listening(&mut self) {
        let addr = self
            .wait_for_log(Duration::from_secs(60), |line| {
                (line["message"] == "listening")
                    .then(|| line["addr"].as_str().map(ToOwned::to_owned))?
            })
            .await;
        self.base = format!("http://{addr}");
    }

    /// The first value `pick` finds in a JSON log line, waiting up to `timeout` for it.
    pub async fn wait_for_log<T>(
        &mut self,
        timeout: Duration,
        pick: impl Fn(&Value) -> Option<T>,
    ) -> T {
        let started = Instant::now();
        loop {
            let found = self
                .logs
                .lock()
                .expect("log lock")
                .iter()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find_map(|line| pick(&line));
            if let Some(found) = found {
                return found;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "boxoffice exited with {status}; it printed:\n{}",
                    self.logs()
                );
            }
            assert!(
                started.elapsed() < timeout,
                "log line not seen in {timeout:?}; logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything the server printed so far.
    #[must_use]
    pub fn logs(&self) -> String {
        self.logs.lock().expect("log lock").join("\n")
    }

    /// `base` + `path`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request with an optional bearer token and JSON body; returns status and JSON
    /// body (`Value::Null` when empty).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body read");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    /// Registers an attendee and logs in; returns the access token and the user.
    pub async fn attendee(&self, email: &str) -> (String, Value) {
        let (status, user) = self
            .call(
                "POST",
                "/api/v1/auth/register",
                None,
                Some(json!({"name": "Test User", "email": email, "password": "password123"})),
            )
            .await;
        assert_eq!(status, 201, "register {email}: {user}");
        (self.login(email, "password123").await, user)
    }

    /// Logs in and returns the access token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let (status, tokens) = self
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(status, 200, "login {email}: {tokens}");
        tokens["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    /// Creates an account with any role through `boxoffice user create` (same database),
    /// then logs in; returns the access token.
    pub async fn user_with_role(&self, email: &str, role: &str) -> String {
        let args = [
            "user",
            "create",
            "--email",
            email,
            "--password",
            "password123",
            "--name",
            "Staff",
            "--role",
            role,
        ];
        let output = self.run_cli(&args, None);
        assert!(
            output.status.success(),
            "user create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.login(email, "password123").await
    }

    /// Runs `boxoffice ARGS` on this server's database, with `stdin` piped in (or none).
    ///
    /// # Panics
    /// When the binary cannot be run.
    #[must_use]
    pub fn run_cli(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        use std::io::Write as _;
        let mut child = Command::new(binary())
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("BCRYPT_COST", "4")
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run boxoffice");
        let mut input = child.stdin.take().expect("stdin");
        // A command that fails before reading (a usage error) closes its end first.
        let _ = input.write_all(stdin.unwrap_or_default().as_bytes());
        drop(input);
        child.wait_with_output().expect("wait for boxoffice")
    }
}

/// Starts `boxoffice serve` on `database_url` with `env`, collecting its stdout lines.
fn spawn_server(database_url: &str, env: &[(String, String)]) -> (Child, Arc<Mutex<Vec<String>>>) {
    let mut command = Command::new(binary());
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("BOXOFFICE_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", database_url)
        .env("JWT_SECRET", JWT_SECRET)
        .env("TICKET_SIGNING_KEYS", TICKET_SIGNING_KEY)
        .env("BCRYPT_COST", "4")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        // Tests register and log in many users from 127.0.0.1; rate-limit tests set
        // low limits of their own.
        .env("RATE_LIMIT_AUTH_PER_MINUTE", "100000")
        .env("RATE_LIMIT_LOGIN_PER_EMAIL_PER_HOUR", "100000")
        .env("RATE_LIMIT_WRITES_PER_MINUTE", "100000")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("start boxoffice");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let stdout = child.stdout.take().expect("stdout");
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().expect("log lock").push(line);
        }
    });
    (child, logs)
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
