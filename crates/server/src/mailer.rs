//! The mail adapters: the log (the default) and SMTP (`SMTP_URL`).

use anyhow::Context;
use async_trait::async_trait;
use boxoffice_domain::ports::{Mailer, OutgoingMail};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

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

/// How long one message may take to hand over to the SMTP server.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends mail through an SMTP server (lettre). The body, which may hold a reset token,
/// never reaches the log.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `url` (`smtp://user:password@host:587?tls=required`, `smtps://...`
    /// for TLS from the start, or `smtp://host:25` in the clear), sending as `from`.
    ///
    /// # Errors
    /// When the URL or the sender address does not parse.
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("SMTP_URL is not an SMTP URL (smtp:// or smtps://)")?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from = from
            .parse()
            .with_context(|| format!("MAIL_FROM {from:?} is not a mail address"))?;
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(mail
                .to
                .parse()
                .context("the recipient is not a mail address")?)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .context("cannot build the message")?;
        self.transport
            .send(message)
            .await
            .context("the SMTP server did not take the message")?;
        tracing::info!(to = %mail.to, subject = %mail.subject, "mail sent");
        Ok(())
    }
}
