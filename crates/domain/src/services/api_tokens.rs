//! API tokens: scoped credentials for door devices and integrations, made, listed and
//! revoked by organizers, and the door a presented token opens.

use super::{Door, TicketService};
use crate::api_token::{ApiToken, Scope, is_api_token};
use crate::secret::SecretToken;
use crate::user::{Role, User};
use crate::{EventId, Timestamp};
use uuid::Uuid;

/// Why an API token was not created.
#[derive(Debug, thiserror::Error)]
pub enum ApiTokenError {
    /// The caller may not create tokens for these events.
    #[error("not allowed")]
    Forbidden,
    /// A named event does not exist.
    #[error("event {0} not found")]
    UnknownEvent(EventId),
    /// A port failed.
    #[error(transparent)]
    Backend(#[from] anyhow::Error),
}

/// What a new API token asks for, as the edge parsed it.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// A label.
    pub name: String,
    /// What it may do (at least one).
    pub scopes: Vec<Scope>,
    /// The events it may act on (at least one).
    pub event_ids: Vec<EventId>,
    /// When it stops working by itself.
    pub expires_at: Option<Timestamp>,
}

impl TicketService {
    /// The id of the usable API token `bearer`, if it is one: what rate limits count
    /// per token, without loading its owner.
    /// # Errors
    /// Only when the store fails.
    pub async fn known_api_token(&self, bearer: &str) -> anyhow::Result<Option<Uuid>> {
        if !is_api_token(bearer) {
            return Ok(None);
        }
        let hash = SecretToken::presented(bearer).hash();
        let token = self.ports.api_tokens.find_by_hash(&hash).await?;
        Ok(token.filter(|t| t.usable(self.now())).map(|t| t.id))
    }

    /// The door an API token opens: `None` unless `bearer` is an API token that is
    /// neither revoked nor expired and whose owner is active and may still organize.
    /// Access tokens are checked by the accounts service.
    /// # Errors
    /// Only when a port fails.
    pub async fn api_token_door(&self, bearer: &str) -> anyhow::Result<Option<Door>> {
        if !is_api_token(bearer) {
            return Ok(None);
        }
        let hash = SecretToken::presented(bearer).hash();
        let Some(token) = self.ports.api_tokens.find_by_hash(&hash).await? else {
            return Ok(None);
        };
        if !token.usable(self.now()) {
            return Ok(None);
        }
        match self.ports.users.find(token.owner_id).await? {
            Some(owner) if owner.active && owner.role.can_organize() => {
                Ok(Some(Door::Token { token, owner }))
            }
            _ => Ok(None),
        }
    }

    /// Creates an API token for events the caller organizes (any event for admins). The
    /// secret is returned once and stored only as a hash.
    /// # Errors
    /// `Forbidden` for attendees and for others' events; `UnknownEvent`.
    pub async fn create_api_token(
        &self,
        actor: &User,
        request: NewApiToken,
    ) -> Result<(ApiToken, SecretToken), ApiTokenError> {
        if !actor.role.can_organize() {
            return Err(ApiTokenError::Forbidden);
        }
        let now = self.now();
        for &event in &request.event_ids {
            let found = self
                .ports
                .events
                .find(event, now)
                .await?
                .ok_or(ApiTokenError::UnknownEvent(event))?;
            if actor.role != Role::Admin && found.organizer_id != actor.id {
                return Err(ApiTokenError::Forbidden);
            }
        }
        let token = ApiToken {
            id: Uuid::now_v7(),
            owner_id: actor.id,
            name: request.name,
            scopes: request.scopes,
            event_ids: request.event_ids,
            created_at: now,
            expires_at: request.expires_at,
            revoked_at: None,
        };
        let secret = crate::api_token::generate_token();
        self.ports.api_tokens.create(&token, &secret.hash()).await?;
        Ok((token, secret))
    }

    /// The caller's API tokens (every token for admins), newest first.
    /// # Errors
    /// `Forbidden` for attendees, who make none.
    pub async fn api_tokens(&self, actor: &User) -> Result<Vec<ApiToken>, ApiTokenError> {
        if !actor.role.can_organize() {
            return Err(ApiTokenError::Forbidden);
        }
        let owner = (actor.role != Role::Admin).then_some(actor.id);
        Ok(self.ports.api_tokens.list(owner).await?)
    }

    /// Revokes token `id` (its owner or an admin). Revoking twice is not an error.
    /// # Errors
    /// `NotFound` when there is no such token or it is someone else's.
    pub async fn revoke_api_token(&self, actor: &User, id: Uuid) -> Result<(), super::AccessError> {
        match self.ports.api_tokens.find(id).await? {
            Some(token) if token.owner_id == actor.id || actor.role == Role::Admin => {
                self.ports.api_tokens.revoke(id, self.now()).await?;
                Ok(())
            }
            _ => Err(super::AccessError::NotFound),
        }
    }
}
