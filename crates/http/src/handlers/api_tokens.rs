//! `/api/v1/api-tokens`: scoped tokens for door devices and integrations.

use crate::AppState;
use crate::dto::{ApiTokenDto, ApiTokenListDto, CreatedApiTokenDto, NewApiTokenRequest};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use actix_web::{HttpResponse, web};
use boxoffice_domain::EventId;
use boxoffice_domain::api_token::{MAX_TOKEN_EVENTS, Scope};
use boxoffice_domain::services::NewApiToken;
use boxoffice_domain::validation::FieldError;
use std::collections::BTreeSet;
use uuid::Uuid;

/// The most characters of a token's name.
const MAX_NAME_CHARS: usize = 100;

/// Creates an API token for some of the caller's events (organizers; admins for any
/// event). The secret is in this answer only.
#[utoipa::path(post, operation_id = "createApiToken", path = "/api/v1/api-tokens", tag = "api-tokens", security(("bearer" = [])),
    request_body = NewApiTokenRequest,
    responses((status = 201, body = CreatedApiTokenDto, headers(("Location" = String, description = "The path of the token"))),
        (status = 403, description = "`forbidden`: attendees, and events of other organizers", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem)))]
pub async fn create(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    body: Json<NewApiTokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = parse(body.into_inner(), state.clock.now())?;
    let (token, secret) = state.tickets.create_api_token(&user, request).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/api-tokens/{}", token.id)))
        .json(CreatedApiTokenDto {
            token: secret.expose().to_owned(),
            api_token: token.into(),
        }))
}

fn parse(
    body: NewApiTokenRequest,
    now: boxoffice_domain::Timestamp,
) -> Result<NewApiToken, ApiError> {
    let mut errors = Vec::new();
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        errors.push(FieldError::new(
            "name",
            format!("must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    let scopes: Result<BTreeSet<Scope>, String> = body.scopes.iter().map(|s| s.parse()).collect();
    match &scopes {
        Err(message) => errors.push(FieldError::new("scopes", message.clone())),
        Ok(set) if set.is_empty() => {
            errors.push(FieldError::new("scopes", "must name at least one scope"));
        }
        Ok(_) => {}
    }
    let events: BTreeSet<Uuid> = body.event_ids.iter().copied().collect();
    if events.is_empty() || events.len() > MAX_TOKEN_EVENTS {
        errors.push(FieldError::new(
            "event_ids",
            format!("must name 1 to {MAX_TOKEN_EVENTS} events"),
        ));
    }
    if let Some(at) = body.expires_at.filter(|at| at.0 <= now) {
        errors.push(FieldError::new(
            "expires_at",
            format!("{} is not in the future", at.0.to_rfc3339()),
        ));
    }
    match scopes {
        Ok(scopes) if errors.is_empty() => Ok(NewApiToken {
            name,
            scopes: scopes.into_iter().collect(),
            event_ids: events.into_iter().map(EventId::from_uuid).collect(),
            expires_at: body.expires_at.map(|at| at.0),
        }),
        _ => Err(ApiError::validation(errors)),
    }
}

/// The caller's API tokens (every token for admins), newest first, revoked ones too.
#[utoipa::path(get, operation_id = "listApiTokens", path = "/api/v1/api-tokens", tag = "api-tokens", security(("bearer" = [])),
    responses((status = 200, body = ApiTokenListDto), (status = 403, description = "`forbidden`: attendees", body = Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
) -> Result<HttpResponse, ApiError> {
    let tokens = state.tickets.api_tokens(&user).await?;
    Ok(HttpResponse::Ok().json(ApiTokenListDto {
        items: tokens.into_iter().map(ApiTokenDto::from).collect(),
    }))
}

/// Revokes an API token at once, on every instance (its owner, admins). Revoking a
/// revoked token is not an error.
#[utoipa::path(delete, operation_id = "revokeApiToken", path = "/api/v1/api-tokens/{id}", tag = "api-tokens", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = Problem)))]
pub async fn revoke(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.tickets.revoke_api_token(&user, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}
