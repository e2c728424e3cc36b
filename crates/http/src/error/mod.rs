//! Every error leaves as `application/problem+json` (RFC 9457) with a stable `code`.

mod tickets;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use boxoffice_domain::ports::{
    BookError, CancelBookingError, ConfirmHoldError, CreateUserError, HoldError, JoinWaitlistError,
    LeaveWaitlistError, StoreUnavailable, UpdateUserError,
};
use boxoffice_domain::seats::SaleRefusal;
use boxoffice_domain::services::{
    AccessError, AdminError, AuthError, ChangePasswordError, EraseError, EventError, LoginError,
    TokenError,
};
use boxoffice_domain::validation::FieldError;
use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field, as the client named it.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// Stable snake_case code clients branch on.
    pub code: String,
    /// Invalid fields, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// For `already_checked_in`: the check-in that let the ticket in, with when and by
    /// which scanner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_in: Option<crate::dto::CheckInDto>,
}

/// How many seconds a client should wait before retrying a 503 `service_unavailable`.
const RETRY_AFTER_SECS: u64 = 1;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<FieldProblem>,
    /// Seconds for a `Retry-After` header.
    retry_after: Option<u64>,
    /// See [`Problem::check_in`] (boxed: most errors have none).
    check_in: Option<Box<crate::dto::CheckInDto>>,
}

impl ApiError {
    /// An error with a status, a code and a message for the client.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            check_in: None,
        }
    }

    /// 422 `validation_failed` listing the invalid fields.
    #[must_use]
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut error = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "The request has invalid fields.",
        );
        error.errors = errors
            .into_iter()
            .map(|e| FieldProblem {
                field: e.field,
                message: e.message,
            })
            .collect();
        error
    }

    /// 422 `validation_failed` for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    /// 404 `not_found`.
    #[must_use]
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "No such resource.")
    }

    /// 401 `unauthorized`.
    #[must_use]
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A valid bearer access token is required.",
        )
    }

    /// 403 `insufficient_scope`: an API token on a route its scopes do not cover.
    #[must_use]
    pub fn insufficient_scope() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "An API token works only on the routes of its scopes; use an access token here.",
        )
    }

    /// 403 `forbidden`.
    #[must_use]
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "You are not allowed to do this.",
        )
    }

    /// 429 `rate_limited`, with `Retry-After` in whole seconds (at least 1).
    #[must_use]
    pub fn rate_limited(retry_after: std::time::Duration) -> Self {
        let seconds = retry_after
            .as_secs()
            .saturating_add(u64::from(retry_after.subsec_nanos() > 0))
            .max(1);
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many requests; retry in {seconds} s."),
        );
        error.retry_after = Some(seconds);
        error
    }

    /// The answer to a store or infrastructure failure: 503 `service_unavailable` with
    /// `Retry-After` when a store could not be reached ([`StoreUnavailable`] anywhere in
    /// the chain, as context or as source), else 500 `internal_error`. Either way the
    /// cause is logged with the request id, never sent.
    #[must_use]
    pub fn backend(cause: &anyhow::Error) -> Self {
        let unavailable = cause.downcast_ref::<StoreUnavailable>().or_else(|| {
            cause
                .chain()
                .find_map(|e| e.downcast_ref::<StoreUnavailable>())
        });
        let Some(StoreUnavailable(store)) = unavailable else {
            return Self::internal(cause);
        };
        tracing::warn!(
            store,
            error = format!("{cause:#}"),
            "request failed: a store is unavailable"
        );
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The service is temporarily unavailable. Retry shortly.",
        );
        error.retry_after = Some(RETRY_AFTER_SECS);
        error
    }

    /// 503 `service_unavailable` with `Retry-After`, saying why in `detail`.
    #[must_use]
    pub fn unavailable(detail: &str) -> Self {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            detail,
        );
        error.retry_after = Some(RETRY_AFTER_SECS);
        error
    }

    /// 500 `internal_error`; the cause is logged with the request id, never sent.
    #[must_use]
    pub fn internal(cause: &anyhow::Error) -> Self {
        tracing::error!(error = format!("{cause:#}"), "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side. The request id identifies it in our logs.",
        )
    }

    /// A generic problem for a status produced outside our handlers (actix's own 404/405...).
    #[must_use]
    pub fn from_status(status: StatusCode) -> Self {
        let (code, detail) = match status.as_u16() {
            400 => ("bad_request", "The request could not be understood."),
            401 => ("unauthorized", "A valid bearer access token is required."),
            403 => ("forbidden", "You are not allowed to do this."),
            404 => ("not_found", "No such resource."),
            405 => (
                "method_not_allowed",
                "This resource does not support this method.",
            ),
            413 => ("payload_too_large", "The request body is too large."),
            415 => (
                "unsupported_media_type",
                "Send the body as application/json.",
            ),
            429 => ("rate_limited", "Too many requests; retry later."),
            503 => (
                "service_unavailable",
                "The service is temporarily unavailable.",
            ),
            500..=599 => ("internal_error", "Something went wrong on our side."),
            _ => ("error", "The request failed."),
        };
        Self::new(status, code, detail)
    }

    /// The stable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// What went wrong, as the client reads it.
    #[must_use]
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The first invalid field named, for `validation_failed`.
    #[must_use]
    pub fn first_field(&self) -> Option<&str> {
        self.errors.first().map(|e| e.field.as_str())
    }

    fn problem(&self) -> Problem {
        Problem {
            kind: format!("https://boxoffice.dev/problems/{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.errors.clone(),
            check_in: self.check_in.as_deref().cloned(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        // Errors that leave through middleware never pass `security_headers`.
        for (name, value) in crate::security::API_HEADERS {
            response.insert_header((name, HeaderValue::from_static(value)));
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::backend(&e)
    }
}

impl From<CreateUserError> for ApiError {
    fn from(e: CreateUserError) -> Self {
        match e {
            CreateUserError::EmailTaken => email_taken(),
            CreateUserError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<UpdateUserError> for ApiError {
    fn from(e: UpdateUserError) -> Self {
        match e {
            UpdateUserError::NotFound => Self::not_found(),
            UpdateUserError::EmailTaken => email_taken(),
            UpdateUserError::LastAdmin => last_admin(),
            UpdateUserError::Backend(e) => Self::backend(&e),
        }
    }
}

fn email_taken() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "email_taken",
        "An account with this email already exists.",
    )
}

fn last_admin() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "last_admin",
        "This is the only active admin: make another admin first.",
    )
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "The email or password is wrong.",
    )
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::InvalidCredentials => invalid_credentials(),
            LoginError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<ChangePasswordError> for ApiError {
    fn from(e: ChangePasswordError) -> Self {
        match e {
            ChangePasswordError::InvalidCredentials => invalid_credentials(),
            ChangePasswordError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::InvalidToken => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The token is invalid, expired or already used.",
            ),
            TokenError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthorized => Self::unauthorized(),
            AuthError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Forbidden => Self::forbidden(),
            AdminError::NotFound => Self::not_found(),
            AdminError::LastAdmin => last_admin(),
            AdminError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<EraseError> for ApiError {
    fn from(e: EraseError) -> Self {
        match e {
            EraseError::InvalidCredentials => invalid_credentials(),
            EraseError::Forbidden => Self::forbidden(),
            EraseError::NotFound => Self::not_found(),
            EraseError::LastAdmin => last_admin(),
            EraseError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<EventError> for ApiError {
    fn from(e: EventError) -> Self {
        match e {
            EventError::NotFound => Self::not_found(),
            EventError::Forbidden => Self::forbidden(),
            EventError::Invalid(errors) => Self::validation(errors),
            EventError::Cancelled => Self::new(
                StatusCode::CONFLICT,
                "event_cancelled",
                "The event is cancelled.",
            ),
            EventError::CapacityBelowSold { taken } => Self::new(
                StatusCode::CONFLICT,
                "capacity_below_sold",
                format!("Capacity cannot go below the {taken} seats already sold or held."),
            ),
            EventError::TicketTypeRetired => SaleRefusal::TicketTypeRetired.into(),
            EventError::QuantityBelowSold { taken } => Self::new(
                StatusCode::CONFLICT,
                "quantity_below_sold",
                format!(
                    "The ticket type's quantity cannot go below its {taken} seats already sold or held."
                ),
            ),
            EventError::Backend(e) => Self::backend(&e),
        }
    }
}

fn conflict(code: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, detail)
}

impl From<SaleRefusal> for ApiError {
    fn from(refusal: SaleRefusal) -> Self {
        match refusal {
            SaleRefusal::EventCancelled => conflict("event_cancelled", "The event is cancelled."),
            SaleRefusal::SalesClosed => conflict(
                "sales_closed",
                "Tickets for this event are not on sale now.",
            ),
            SaleRefusal::PurchaseLimitExceeded { limit, already } => conflict(
                "purchase_limit_exceeded",
                format!("At most {limit} tickets per person; you already have {already}."),
            ),
            SaleRefusal::TicketTypeRetired => conflict(
                "ticket_type_retired",
                "This ticket type was retired and is no longer sold.",
            ),
            SaleRefusal::NeverServable { most } => conflict(
                "sold_out",
                format!(
                    "At most {most} tickets of this type can ever be sold; a request for more can never be served."
                ),
            ),
        }
    }
}

fn key_reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "This Idempotency-Key was used with a different request.",
    )
}

fn sold_out(available: u32) -> ApiError {
    conflict(
        "sold_out",
        format!("Not enough tickets left: {available} available."),
    )
}

fn already_waitlisted() -> ApiError {
    conflict(
        "already_waitlisted",
        "You are already on the waitlist for this event and ticket type.",
    )
}

impl From<HoldError> for ApiError {
    fn from(e: HoldError) -> Self {
        match e {
            HoldError::NotFound => Self::not_found(),
            HoldError::Refused(refusal) => refusal.into(),
            HoldError::SoldOut { available } => sold_out(available),
            HoldError::IdempotencyKeyReused => key_reused(),
            HoldError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<ConfirmHoldError> for ApiError {
    fn from(e: ConfirmHoldError) -> Self {
        match e {
            ConfirmHoldError::NotFound => Self::not_found(),
            ConfirmHoldError::Expired => Self::new(
                StatusCode::GONE,
                "hold_expired",
                "The hold expired before it was confirmed; its seats were released.",
            ),
            ConfirmHoldError::IdempotencyKeyReused => key_reused(),
            ConfirmHoldError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<BookError> for ApiError {
    fn from(e: BookError) -> Self {
        match e {
            BookError::NotFound => Self::not_found(),
            BookError::Refused(refusal) => refusal.into(),
            BookError::SoldOut { available } => sold_out(available),
            BookError::AlreadyWaitlisted => already_waitlisted(),
            BookError::IdempotencyKeyReused => key_reused(),
            BookError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<CancelBookingError> for ApiError {
    fn from(e: CancelBookingError) -> Self {
        match e {
            CancelBookingError::NotFound => Self::not_found(),
            CancelBookingError::AlreadyCancelled => {
                conflict("already_cancelled", "The booking is already cancelled.")
            }
            CancelBookingError::TooMany { booked } => Self::invalid_field(
                "quantity",
                format!("must be at most the {booked} tickets booked"),
            ),
            CancelBookingError::IdempotencyKeyReused => key_reused(),
            CancelBookingError::TicketsUsed { unused } => conflict(
                "already_checked_in",
                format!(
                    "Only {unused} of the booking's tickets are unused: checked-in tickets cannot be cancelled."
                ),
            ),
            CancelBookingError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<JoinWaitlistError> for ApiError {
    fn from(e: JoinWaitlistError) -> Self {
        match e {
            JoinWaitlistError::NotFound => Self::not_found(),
            JoinWaitlistError::Refused(refusal) => refusal.into(),
            JoinWaitlistError::AlreadyWaitlisted => already_waitlisted(),
            JoinWaitlistError::TicketsAvailable => conflict(
                "tickets_available",
                "Enough tickets are available: book them instead of waiting.",
            ),
            JoinWaitlistError::IdempotencyKeyReused => key_reused(),
            JoinWaitlistError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<LeaveWaitlistError> for ApiError {
    fn from(e: LeaveWaitlistError) -> Self {
        match e {
            LeaveWaitlistError::NotFound => Self::not_found(),
            LeaveWaitlistError::NotWaiting(status) => conflict(
                "not_waiting",
                format!(
                    "The entry is {} and no longer in the queue.",
                    status.as_str()
                ),
            ),
            LeaveWaitlistError::Backend(e) => Self::backend(&e),
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::NotFound => Self::not_found(),
            AccessError::Forbidden => Self::forbidden(),
            AccessError::Backend(e) => Self::backend(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn problems_carry_code_status_and_fields() {
        let error = ApiError::validation(vec![FieldError::new("capacity", "must be positive")]);
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            response
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
            Some(PROBLEM_JSON.as_bytes())
        );
        let body = to_bytes(response.into_body()).await.expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["status"], 422);
        assert_eq!(json["code"], "validation_failed");
        assert_eq!(json["errors"][0]["field"], "capacity");
    }

    /// An error whose source, not its context, is the store being unavailable.
    #[derive(Debug)]
    struct Wrapped(StoreUnavailable);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("cannot book: password=hunter2")
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[actix_web::test]
    async fn an_unavailable_store_is_503_with_retry_after() {
        let as_context = anyhow::anyhow!("connection refused: password=hunter2")
            .context(StoreUnavailable("database"))
            .context("cannot hold seats");
        let as_source = anyhow::Error::new(Wrapped(StoreUnavailable("redis"))).context("outer");
        for cause in [as_context, as_source] {
            let response = ApiError::from(BookError::Backend(cause)).error_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            let header = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(ToOwned::to_owned)
            };
            assert_eq!(header(header::RETRY_AFTER).as_deref(), Some("1"));
            assert_eq!(header(header::CONTENT_TYPE).as_deref(), Some(PROBLEM_JSON));
            let body = to_bytes(response.into_body()).await.expect("body");
            let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(json["status"], 503);
            assert_eq!(json["code"], "service_unavailable");
            assert!(!String::from_utf8_lossy(&body).contains("hunter2"));
        }
    }

    #[actix_web::test]
    async fn other_backend_failures_stay_500_without_retry_after() {
        let response = ApiError::from(BookError::Backend(anyhow::anyhow!("constraint violated")))
            .error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
    }

    #[actix_web::test]
    async fn rate_limited_says_when_to_retry_in_whole_seconds() {
        use std::time::Duration;
        for (wait, seconds) in [
            (Duration::from_millis(1), "1"),
            (Duration::from_secs(59), "59"),
            (Duration::from_millis(59_001), "60"),
        ] {
            let response = ApiError::rate_limited(wait).error_response();
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(
                response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .map(|v| v.as_bytes()),
                Some(seconds.as_bytes()),
                "{wait:?}"
            );
            let body = to_bytes(response.into_body()).await.expect("body");
            let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(json["code"], "rate_limited");
        }
    }

    #[actix_web::test]
    async fn internal_errors_do_not_leak_their_cause() {
        let response =
            ApiError::from(anyhow::anyhow!("password=hunter2 connection refused")).error_response();
        let body = to_bytes(response.into_body()).await.expect("body");
        assert!(!String::from_utf8_lossy(&body).contains("hunter2"));
    }
}
