//! The audit log: security-relevant actions, who did them to whom, and the request
//! they came with. Each is a structured log line (target `audit`) and a stored entry
//! that admins read.

use crate::ports::AuditLog;
use crate::{Clock, EventId, Timestamp, UserId};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

tokio::task_local! {
    /// The id of the HTTP request being handled: the edge sets it around each request,
    /// so entries name their request without every use case taking it as an argument.
    pub static REQUEST_ID: String;
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A login with the right password.
    LoginSucceeded,
    /// A login refused (unknown email, wrong password or deactivated account).
    LoginFailed,
    /// A user changed their own password.
    PasswordChanged,
    /// A password was set with a mailed reset token.
    PasswordReset,
    /// An account's role changed.
    RoleChanged,
    /// An account was deactivated (by its user or an admin).
    AccountDeactivated,
    /// An account was activated again by an admin.
    AccountActivated,
    /// An account was erased (by its user or an admin): only its id stays.
    AccountErased,
    /// A reused refresh token revoked its whole session.
    TokenFamilyRevoked,
    /// An event was cancelled.
    EventCancelled,
}

const ACTIONS: [(AuditAction, &str); 10] = [
    (AuditAction::LoginSucceeded, "login_succeeded"),
    (AuditAction::LoginFailed, "login_failed"),
    (AuditAction::PasswordChanged, "password_changed"),
    (AuditAction::PasswordReset, "password_reset"),
    (AuditAction::RoleChanged, "role_changed"),
    (AuditAction::AccountDeactivated, "account_deactivated"),
    (AuditAction::AccountActivated, "account_activated"),
    (AuditAction::AccountErased, "account_erased"),
    (AuditAction::TokenFamilyRevoked, "token_family_revoked"),
    (AuditAction::EventCancelled, "event_cancelled"),
];

impl AuditAction {
    /// The stable snake_case name used in logs, stores and the API.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        ACTIONS
            .iter()
            .find(|(action, _)| *action == self)
            .map_or("unknown", |(_, name)| name)
    }
}

impl FromStr for AuditAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ACTIONS
            .iter()
            .find(|(_, name)| *name == s)
            .map(|(action, _)| *action)
            .ok_or_else(|| {
                let names: Vec<_> = ACTIONS.iter().map(|(_, name)| *name).collect();
                format!("must be one of {}", names.join(", "))
            })
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One recorded action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its id (UUIDv7: newer entries have greater ids).
    pub id: uuid::Uuid,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub action: AuditAction,
    /// Who did it, when known.
    pub actor_id: Option<UserId>,
    /// The account it was done to.
    pub user_id: Option<UserId>,
    /// The event it was done to.
    pub event_id: Option<EventId>,
    /// The HTTP request it came with.
    pub request_id: Option<String>,
}

/// Which entries to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Entries where this user is the actor or the subject.
    pub user: Option<UserId>,
    /// Entries of this action.
    pub action: Option<AuditAction>,
    /// Entries at or after this instant.
    pub from: Option<Timestamp>,
    /// Entries before this instant.
    pub to: Option<Timestamp>,
}

/// Records actions: a log line always, and a stored entry (a store failure is logged,
/// never the caller's problem: the action itself has happened).
#[derive(Clone)]
pub struct Auditor {
    log: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
}

impl Auditor {
    /// Records into `log`.
    #[must_use]
    pub fn new(log: Arc<dyn AuditLog>, clock: Arc<dyn Clock>) -> Self {
        Self { log, clock }
    }

    /// Records `action` by `actor` to `user` and/or `event`.
    pub async fn record(
        &self,
        action: AuditAction,
        actor_id: Option<UserId>,
        user_id: Option<UserId>,
        event_id: Option<EventId>,
    ) {
        let request_id = REQUEST_ID.try_with(Clone::clone).ok();
        let entry = AuditEntry {
            id: uuid::Uuid::now_v7(),
            at: self.clock.now(),
            action,
            actor_id,
            user_id,
            event_id,
            request_id,
        };
        tracing::info!(
            target: "audit",
            action = entry.action.as_str(),
            actor_id = entry.actor_id.map(|id| id.to_string()),
            user_id = entry.user_id.map(|id| id.to_string()),
            event_id = entry.event_id.map(|id| id.to_string()),
            request_id = entry.request_id.as_deref(),
            "audit"
        );
        if let Err(error) = self.log.record(&entry).await {
            tracing::error!(
                action = entry.action.as_str(),
                error = format!("{error:#}"),
                "an audit entry was not stored"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_and_unknown_ones_are_named() {
        for (action, name) in ACTIONS {
            assert_eq!(action.as_str(), name);
            assert_eq!(name.parse::<AuditAction>(), Ok(action));
        }
        let error = "logged_in".parse::<AuditAction>().expect_err("unknown");
        assert!(error.contains("login_succeeded"), "{error}");
    }
}
