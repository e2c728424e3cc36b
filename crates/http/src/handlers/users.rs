//! `/api/v1/users*`: the caller's account and account administration.

use crate::AppState;
use crate::dto::{
    ChangePasswordRequest, EraseMeRequest, PageDto, PageParams, UpdateMeRequest, UpdateUserRequest,
    UserDto,
};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json, Query};
use crate::validate::fields2;
use actix_web::{HttpResponse, web};
use boxoffice_domain::UserId;
use boxoffice_domain::services::Erasure;
use boxoffice_domain::user::{AccountChanges, Email, Password, PersonName, ProfileChanges};
use uuid::Uuid;

/// The caller's account.
#[utoipa::path(get, operation_id = "getCurrentUser", path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserDto), (status = 401, body = Problem)))]
pub async fn me(AuthUser(user): AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(UserDto::from(user))
}

/// Changes the caller's name and/or email.
#[utoipa::path(patch, operation_id = "updateCurrentUser", path = "/api/v1/users/me", tag = "users", security(("bearer" = [])), request_body = UpdateMeRequest,
    responses((status = 200, body = UserDto), (status = 409, description = "`email_taken`", body = Problem),
        (status = 422, body = Problem)))]
pub async fn update_me(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    body: Json<UpdateMeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (name, email) = fields2(
        (
            "name",
            body.name.as_deref().map(PersonName::parse).transpose(),
        ),
        ("email", body.email.as_deref().map(Email::parse).transpose()),
    )?;
    let updated = state
        .accounts
        .update_profile(user.id, &ProfileChanges { name, email })
        .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(updated)))
}

/// Changes the caller's password and ends all their sessions.
#[utoipa::path(put, operation_id = "changePassword", path = "/api/v1/users/me/password", tag = "users", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses((status = 204, description = "Changed; refresh tokens revoked"),
        (status = 401, description = "`invalid_credentials`", body = Problem), (status = 422, body = Problem)))]
pub async fn change_password(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    body: Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let new = Password::parse(&body.new_password)
        .map_err(|m| ApiError::invalid_field("new_password", m))?;
    state
        .accounts
        .change_password(user.id, &body.current_password, new)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deactivates the caller's account: login fails and tokens are refused from now on.
#[utoipa::path(delete, operation_id = "deactivateCurrentUser", path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 204, description = "Deactivated"), (status = 401, body = Problem),
        (status = 409, description = "`last_admin`: the caller is the only active admin", body = Problem)))]
pub async fn deactivate_me(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
) -> Result<HttpResponse, ApiError> {
    state.accounts.deactivate(user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Erases the caller's account for good (GDPR art. 17): name and email are replaced,
/// the password and every session are deleted, and the email is free for a new account.
/// Bookings of events still to come are cancelled (their seats go back to sale and to
/// the waitlist), waiting entries are taken out of their queues; past bookings stay,
/// without personal data.
#[utoipa::path(post, operation_id = "eraseCurrentUser", path = "/api/v1/users/me/erase", tag = "users", security(("bearer" = [])),
    request_body = EraseMeRequest,
    responses((status = 204, description = "Erased"),
        (status = 401, description = "`invalid_credentials`: the password is wrong", body = Problem),
        (status = 409, description = "`last_admin`: the caller is the only active admin", body = Problem),
        (status = 422, body = Problem)))]
pub async fn erase_me(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    body: Json<EraseMeRequest>,
) -> Result<HttpResponse, ApiError> {
    erasure(&state).erase_self(user.id, &body.password).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Erases an account for good (admins), as `POST /users/me/erase` does. Erasing an
/// erased account answers 204 and changes nothing.
#[utoipa::path(delete, operation_id = "eraseUser", path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses((status = 204, description = "Erased"), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`last_admin`: the account is the only active admin", body = Problem)))]
pub async fn erase_user(
    state: web::Data<AppState>,
    AuthUser(admin): AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    erasure(&state)
        .erase_user(&admin, UserId::from_uuid(*id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The erasure use cases over this process's services.
fn erasure(state: &AppState) -> Erasure<'_> {
    Erasure {
        accounts: &state.accounts,
        bookings: &state.bookings,
        tickets: &state.tickets,
    }
}

/// Every account, oldest first (admins).
#[utoipa::path(get, operation_id = "listUsers", path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = PageDto<UserDto>), (status = 403, body = Problem)))]
pub async fn list_users(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    params: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .accounts
        .list_users(&user, &params.to_request()?)
        .await?;
    Ok(HttpResponse::Ok().json(PageDto::from_page(page, UserDto::from)))
}

/// Changes an account's role or active flag (admins); deactivation ends its sessions.
#[utoipa::path(patch, operation_id = "updateUser", path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "User id")), request_body = UpdateUserRequest,
    responses((status = 200, body = UserDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`last_admin`: the change would leave no active admin", body = Problem)))]
pub async fn update_user(
    state: web::Data<AppState>,
    AuthUser(admin): AuthUser,
    id: web::Path<Uuid>,
    body: Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let changes = AccountChanges {
        role: body.role.map(Into::into),
        active: body.active,
    };
    let updated = state
        .accounts
        .update_user(&admin, UserId::from_uuid(*id), changes)
        .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(updated)))
}
