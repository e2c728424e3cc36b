//! Stopping a test server the way an orchestrator does: SIGTERM, then wait.

use crate::TestServer;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

impl TestServer {
    /// Sends SIGTERM to the server (`kill -TERM`, as `docker stop` or Kubernetes do) and
    /// waits up to `timeout` for it to exit. Returns its exit status, or `None` when it
    /// is still running after `timeout` (it is then killed).
    ///
    /// # Panics
    /// When `kill` cannot be run or fails.
    pub async fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.send_sigterm();
        self.wait_for_exit(timeout).await
    }

    /// The server's resident memory in KiB, from `/proc` (`None` once it exited).
    #[must_use]
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Sends SIGTERM to the server and returns at once.
    ///
    /// # Panics
    /// When `kill` cannot be run or fails.
    pub fn send_sigterm(&self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed: {sent}");
    }

    /// Waits up to `timeout` for the server to exit; its exit status, or `None` when it
    /// is still running after `timeout` (it is then killed).
    ///
    /// # Panics
    /// When the child cannot be waited for.
    pub async fn wait_for_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for boxoffice") {
                return Some(status);
            }
            if started.elapsed() >= timeout {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
