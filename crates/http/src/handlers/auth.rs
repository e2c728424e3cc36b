//! `/api/v1/auth/*`: registration, login, sessions and password reset.

use crate::AppState;
use crate::dto::{
    LoginRequest, PasswordResetConfirm, PasswordResetRequest, RefreshRequest, RegisterRequest,
    TokensDto, UserDto,
};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::validate::fields3;
use actix_web::{HttpResponse, web};
use boxoffice_domain::user::{Email, Password, PersonName};

/// Creates an attendee account.
#[utoipa::path(post, operation_id = "registerUser", path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = UserDto), (status = 409, description = "`email_taken`", body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem)))]
pub async fn register(
    state: web::Data<AppState>,
    body: Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let (name, email, password) = fields3(
        ("name", PersonName::parse(&body.name)),
        ("email", Email::parse(&body.email)),
        ("password", Password::parse(&body.password)),
    )?;
    let user = state.accounts.register(name, email, password).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", "/api/v1/users/me"))
        .json(UserDto::from(user)))
}

/// Exchanges email and password for tokens.
#[utoipa::path(post, operation_id = "logIn", path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokensDto), (status = 401, description = "`invalid_credentials`", body = Problem),
        (status = 429, description = "`rate_limited`: too many attempts from this address or for this email", body = Problem)))]
pub async fn login(
    state: web::Data<AppState>,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    state.rate_limits.login_attempt(&body.email).await?;
    let tokens = state.accounts.login(&body.email, &body.password).await?;
    Ok(HttpResponse::Ok().json(TokensDto::from(tokens)))
}

/// Rotates a refresh token: the presented one stops working. Reusing a rotated token
/// revokes its whole family.
#[utoipa::path(post, operation_id = "refreshTokens", path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokensDto), (status = 401, description = "`invalid_token`", body = Problem)))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let tokens = state.accounts.refresh(&body.refresh_token).await?;
    Ok(HttpResponse::Ok().json(TokensDto::from(tokens)))
}

/// Ends the session of a refresh token.
#[utoipa::path(post, operation_id = "logOut", path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Logged out")))]
pub async fn logout(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    state.accounts.logout(&body.refresh_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mails a reset token if the email has an active account; answers 202 either way, and
/// before doing any of it, so the answer takes as long whether or not the account exists.
#[utoipa::path(post, operation_id = "requestPasswordReset", path = "/api/v1/auth/password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses((status = 202, description = "Accepted, whether or not the account exists")))]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    body: Json<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let email = body.into_inner().email;
    actix_web::rt::spawn(async move {
        if let Err(error) = state.accounts.request_password_reset(&email).await {
            tracing::error!(
                error = format!("{error:#}"),
                "a password reset was not sent"
            );
        }
    });
    Ok(HttpResponse::Accepted().finish())
}

/// Sets a new password with a mailed, single-use token (valid 1 hour).
#[utoipa::path(post, operation_id = "confirmPasswordReset", path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = PasswordResetConfirm,
    responses((status = 204, description = "Password changed; all sessions ended"),
        (status = 401, description = "`invalid_token`", body = Problem), (status = 422, body = Problem)))]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    body: Json<PasswordResetConfirm>,
) -> Result<HttpResponse, ApiError> {
    let password = Password::parse(&body.new_password)
        .map_err(|m| ApiError::invalid_field("new_password", m))?;
    state
        .accounts
        .confirm_password_reset(&body.token, password)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
