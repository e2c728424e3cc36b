//! The background sweeper: returns expired holds' seats (promoting waitlists) within a
//! second, with no request needed, and forgets old idempotency keys.

use boxoffice_domain::services::BookingService;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often expired holds are looked for.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(1);
/// How often old idempotency keys are deleted.
const KEY_CLEANUP_INTERVAL: Duration = Duration::from_secs(3600);
/// How long [`Sweeper::stop`] waits for the round in progress before abandoning it.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running sweeper; [`Sweeper::stop`] ends it between two rounds.
pub struct Sweeper {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Sweeper {
    /// Starts sweeping with `bookings`.
    pub fn start(bookings: Arc<BookingService>) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut expiry = tokio::time::interval(EXPIRY_INTERVAL);
            let mut cleanup = tokio::time::interval(KEY_CLEANUP_INTERVAL);
            expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    _ = expiry.tick() => match bookings.expire_due_holds().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(holds = n, "expired holds returned their seats"),
                        Err(error) => tracing::warn!(error = format!("{error:#}"), "hold expiry failed; retrying"),
                    },
                    _ = cleanup.tick() => match bookings.forget_old_idempotency_keys().await {
                        Ok(n) => tracing::debug!(keys = n, "old idempotency keys deleted"),
                        Err(error) => tracing::warn!(error = format!("{error:#}"), "idempotency key cleanup failed"),
                    },
                }
            }
        });
        Self { stop, task }
    }

    /// Asks the sweeper to stop and waits for its current round to finish, at most
    /// [`STOP_GRACE`]: a round stuck on an unreachable database is then abandoned (its
    /// transaction never commits, so nothing is half done).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        match tokio::time::timeout(STOP_GRACE, &mut self.task).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(error = %error, "the sweeper ended abnormally"),
            Err(_) => {
                self.task.abort();
                tracing::warn!(
                    grace_secs = STOP_GRACE.as_secs(),
                    "the sweeper did not finish its round in time; abandoned it"
                );
            }
        }
    }
}
