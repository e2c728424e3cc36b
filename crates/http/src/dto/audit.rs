use super::Instant;
use boxoffice_domain::UserId;
use boxoffice_domain::audit::{AuditEntry, AuditFilter};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// One security-relevant action.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryDto {
    /// Entry id (newer entries have greater ids).
    pub id: Uuid,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// `login_succeeded`, `login_failed`, `password_changed`, `password_reset`,
    /// `role_changed`, `account_deactivated`, `account_activated`, `account_erased`,
    /// `token_family_revoked` or `event_cancelled`.
    pub action: String,
    /// Who did it, when known.
    pub actor_id: Option<Uuid>,
    /// The account it was done to.
    pub user_id: Option<Uuid>,
    /// The event it was done to.
    pub event_id: Option<Uuid>,
    /// The `X-Request-Id` of the request it came with.
    pub request_id: Option<String>,
}

impl From<AuditEntry> for AuditEntryDto {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id,
            at: entry.at,
            action: entry.action.as_str().to_owned(),
            actor_id: entry.actor_id.map(|id| id.as_uuid()),
            user_id: entry.user_id.map(|id| id.as_uuid()),
            event_id: entry.event_id.map(|id| id.as_uuid()),
            request_id: entry.request_id,
        }
    }
}

/// `?user_id=&action=&from=&to=` of `GET /audit`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditFilterParams {
    /// Entries where this user is the actor or the account acted on.
    pub user_id: Option<Uuid>,
    /// Entries of this action.
    pub action: Option<String>,
    /// Entries at or after this instant.
    #[param(value_type = Option<DateTime<Utc>>)]
    pub from: Option<Instant>,
    /// Entries before this instant.
    #[param(value_type = Option<DateTime<Utc>>)]
    pub to: Option<Instant>,
}

impl AuditFilterParams {
    /// The filter, or what is wrong with the action.
    ///
    /// # Errors
    /// A message when `action` names no action.
    pub fn to_filter(&self) -> Result<AuditFilter, String> {
        Ok(AuditFilter {
            user: self.user_id.map(UserId::from_uuid),
            action: self.action.as_deref().map(str::parse).transpose()?,
            from: self.from.map(Into::into),
            to: self.to.map(Into::into),
        })
    }
}
