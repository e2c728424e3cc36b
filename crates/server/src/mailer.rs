//! The default mail adapter: writes each message to the log instead of sending it.

use async_trait::async_trait;
use boxoffice_domain::ports::{Mailer, OutgoingMail};

/// Logs outgoing mail at info level; for development and for deployments that relay
/// password-reset messages from their log pipeline.
#[derive(Debug, Default)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, mail: &OutgoingMail) -> anyhow::Result<()> {
        tracing::info!(to = %mail.to, subject = %mail.subject, body = %mail.body, "outgoing mail");
        Ok(())
    }
}
