//! A private `redis-server` per test, so a test can flush or restart its Redis without
//! disturbing other tests (or other people) that use a shared one.

use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// How long a started `redis-server` may take to answer PING.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one command to the test's Redis may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// A `redis-server` child process on a free port of 127.0.0.1, without persistence
/// (`--save "" --appendonly no`): a restart starts empty, as after a crash of a cache.
/// Killed when dropped.
pub struct TestRedis {
    port: u16,
    child: Option<Child>,
    dir: TempDir,
}

impl TestRedis {
    /// Starts `redis-server` from `PATH` and waits until it answers PING.
    ///
    /// Returns `None` after printing `SKIPPED` when there is no `redis-server` on `PATH`,
    /// unless `CI=true`: then a missing binary is a failure.
    ///
    /// # Panics
    /// When `redis-server` is missing and `CI=true`, or when it does not start.
    pub async fn start() -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir for redis-server");
        let mut redis = Self {
            port: free_port(),
            child: None,
            dir,
        };
        match redis.spawn() {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                    panic!("redis-server is not on PATH and CI=true");
                }
                eprintln!(
                    "SKIPPED: redis-server is not on PATH; install redis-server to run this test"
                );
                return None;
            }
            Err(error) => panic!("cannot start redis-server: {error}"),
        }
        redis.await_ping().await;
        Some(redis)
    }

    /// `redis://127.0.0.1:PORT`, for `REDIS_URL`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port it listens on (the same across restarts).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Deletes every key (`FLUSHALL`), as an operator's mistake or a failover to an empty
    /// replica would.
    ///
    /// # Panics
    /// When Redis does not answer `+OK`.
    pub async fn flushall(&self) {
        let answer = self.command(&["FLUSHALL"]).await;
        assert_eq!(answer.as_deref().ok(), Some("+OK"), "FLUSHALL: {answer:?}");
    }

    /// Kills the server (SIGKILL) and waits for it to exit: from now on connections are
    /// refused until [`TestRedis::start_again`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's process id, while it runs.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the server process is running (not stopped).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server again on the same port, empty, and waits until it answers PING.
    ///
    /// # Panics
    /// When it is still running, or does not start (for example because something else
    /// took the port meanwhile).
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "redis-server is still running");
        self.spawn().expect("restart redis-server");
        self.await_ping().await;
    }

    /// Kills the server and starts it again on the same port, empty.
    pub async fn restart(&mut self) {
        self.stop();
        self.start_again().await;
    }

    /// Sends one command and returns the first line of the answer (`+PONG`, `+OK`,
    /// `:3`, `-ERR ...`).
    ///
    /// # Errors
    /// When Redis cannot be reached or does not answer within a few seconds.
    pub async fn command(&self, args: &[&str]) -> io::Result<String> {
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        let exchange = async {
            let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
            stream.write_all(request.as_bytes()).await?;
            let mut line = String::new();
            BufReader::new(stream).read_line(&mut line).await?;
            Ok(line.trim_end().to_owned())
        };
        tokio::time::timeout(COMMAND_TIMEOUT, exchange)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "Redis did not answer"))?
    }

    /// What the server wrote to its log file.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    fn spawn(&mut self) -> io::Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(self.log_path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        self.child = Some(child);
        Ok(())
    }

    async fn await_ping(&mut self) {
        let started = Instant::now();
        loop {
            if self.command(&["PING"]).await.is_ok_and(|a| a == "+PONG") {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "redis-server on port {} exited with {status}; its log:\n{}",
                    self.port,
                    self.log()
                );
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "redis-server on port {} did not answer PING within {START_TIMEOUT:?}; its log:\n{}",
                self.port,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port that was free a moment ago (the OS picks it; it is released for the caller).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}
