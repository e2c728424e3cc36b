//! Reading the audit log (admins only).

use super::AccountService;
use super::accounts::{AdminError, require_admin};
use crate::audit::{AuditEntry, AuditFilter};
use crate::page::{Page, PageRequest};
use crate::user::User;

impl AccountService {
    /// Audit entries `filter` selects, newest first.
    /// # Errors
    /// `Forbidden` unless `actor` is an admin.
    pub async fn audit_entries(
        &self,
        actor: &User,
        filter: &AuditFilter,
        page: &PageRequest<uuid::Uuid>,
    ) -> Result<Page<AuditEntry, uuid::Uuid>, AdminError> {
        require_admin(actor)?;
        Ok(self.ports.audit.entries(filter, page).await?)
    }
}
