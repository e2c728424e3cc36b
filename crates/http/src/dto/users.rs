use boxoffice_domain::services::IssuedTokens;
use boxoffice_domain::user::{Role, User};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleDto {
    /// Books tickets.
    Attendee,
    /// Also manages own events.
    Organizer,
    /// Everything.
    Admin,
}

impl From<Role> for RoleDto {
    fn from(role: Role) -> Self {
        match role {
            Role::Attendee => Self::Attendee,
            Role::Organizer => Self::Organizer,
            Role::Admin => Self::Admin,
        }
    }
}

impl From<RoleDto> for Role {
    fn from(role: RoleDto) -> Self {
        match role {
            RoleDto::Attendee => Self::Attendee,
            RoleDto::Organizer => Self::Organizer,
            RoleDto::Admin => Self::Admin,
        }
    }
}

/// A user account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    /// Account id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Role.
    pub role: RoleDto,
    /// Deactivated accounts cannot log in.
    pub active: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserDto {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_uuid(),
            name: user.name,
            email: user.email,
            role: user.role.into(),
            active: user.active,
            created_at: user.created_at,
        }
    }
}

/// An access token and its refresh token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokensDto {
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Single-use token for `/auth/refresh`.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl From<IssuedTokens> for TokensDto {
    fn from(t: IssuedTokens) -> Self {
        Self {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
        }
    }
}

/// `POST /auth/register`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Ann Example", "email": "ann@example.org", "password": "correct horse battery"}))]
pub struct RegisterRequest {
    /// Display name, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// Email, unique ignoring case.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 8 characters to 72 bytes.
    #[schema(min_length = 8, max_length = 72)]
    pub password: String,
}

/// `POST /auth/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ann@example.org", "password": "correct horse battery"}))]
pub struct LoginRequest {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"refresh_token": "q9Gv2-b8Qe1h7mXW0lq3Tq0ZyYk0p2m3X5r7c9vBn4A"}))]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

/// `POST /auth/password-reset`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ann@example.org"}))]
pub struct PasswordResetRequest {
    /// Email of the account.
    pub email: String,
}

/// `POST /auth/password-reset/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"token": "Zx8mQ2v0bW7nK4pR1tY6uI3oP5aS9dF2gH7jL0cV1bN", "new_password": "a new long passphrase"}))]
pub struct PasswordResetConfirm {
    /// The token from the reset mail.
    pub token: String,
    /// 8 characters to 72 bytes.
    #[schema(min_length = 8, max_length = 72)]
    pub new_password: String,
}

/// `PATCH /users/me`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Ann B. Example"}))]
pub struct UpdateMeRequest {
    /// New display name, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    /// New email, unique ignoring case.
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
}

/// `PUT /users/me/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"current_password": "the password now", "new_password": "a new long passphrase"}))]
pub struct ChangePasswordRequest {
    /// The password now.
    pub current_password: String,
    /// 8 characters to 72 bytes.
    #[schema(min_length = 8, max_length = 72)]
    pub new_password: String,
}

/// `POST /users/me/erase`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"password": "the password now"}))]
pub struct EraseMeRequest {
    /// The account's current password.
    pub password: String,
}

/// `PATCH /users/{id}` (admins).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"role": "organizer"}))]
pub struct UpdateUserRequest {
    /// New role.
    pub role: Option<RoleDto>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}
