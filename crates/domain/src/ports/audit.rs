use crate::audit::{AuditEntry, AuditFilter};
use crate::page::{Page, PageRequest};
use async_trait::async_trait;

/// Where audit entries are kept.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync + 'static {
    /// Stores `entry`.
    /// # Errors
    /// Only when the store fails.
    async fn record(&self, entry: &AuditEntry) -> anyhow::Result<()>;

    /// The entries `filter` selects, newest first. Pages continue after an entry id.
    /// # Errors
    /// Only when the store fails.
    async fn entries(
        &self,
        filter: &AuditFilter,
        page: &PageRequest<uuid::Uuid>,
    ) -> anyhow::Result<Page<AuditEntry, uuid::Uuid>>;
}
