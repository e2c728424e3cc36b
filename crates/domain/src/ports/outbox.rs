//! Reading the transactional outbox.

use crate::EventId;
use crate::outbox::Message;
use async_trait::async_trait;

/// Where the outbox messages are kept: written by the stores in the transactions that
/// make the changes, read here.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// The messages of `event` numbered above `after`, in their order, at most `limit`.
    /// # Errors
    /// Only when the store fails.
    async fn messages_after(
        &self,
        event: EventId,
        after: u64,
        limit: u32,
    ) -> anyhow::Result<Vec<Message>>;
}
