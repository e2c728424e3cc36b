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

    /// Asks the sweeper to stop and waits for its current round to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::warn!(error = %error, "the sweeper ended abnormally");
        }
    }
}
