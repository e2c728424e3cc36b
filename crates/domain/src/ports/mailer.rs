use async_trait::async_trait;

/// A message to send to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Sends mail to users.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends `mail`.
    /// # Errors
    /// When the message could not be handed over.
    async fn send(&self, mail: &OutgoingMail) -> anyhow::Result<()>;
}
