//! Request extraction: actix's extractor errors mapped to problems, and the caller's identity.

use crate::AppState;
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use boxoffice_domain::user::User;
use std::future::Future;
use std::pin::Pin;

/// The largest JSON body accepted.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// JSON bodies: size limit, and problems for bad content type, syntax and shape.
#[must_use]
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_JSON_BODY)
        .error_handler(|error, _req| json_problem(&error).into())
}

fn json_problem(error: &JsonPayloadError) -> ApiError {
    match error {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The body is larger than {MAX_JSON_BODY} bytes."),
            )
        }
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as application/json.",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::invalid_field(field_of(&e.to_string()), serde_message(&e.to_string()))
        }
        other => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("The body is not valid JSON: {other}"),
        ),
    }
}

/// Bodies read as raw bytes (an optional JSON body) share the JSON size limit.
#[must_use]
pub fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(MAX_JSON_BODY)
}

/// Parses an optional JSON body: empty means `T::default()`.
///
/// # Errors
/// 400 `malformed_json` or 422 `validation_failed`, as for required JSON bodies.
pub fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| json_problem(&JsonPayloadError::Deserialize(e)))
}

/// The field serde names in "missing field `x`" / "unknown field `x`", else `body`.
fn field_of(message: &str) -> &str {
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    named.unwrap_or("body")
}

/// serde's message without its " at line 1 column 7" suffix.
fn serde_message(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

/// Path segments that do not parse (a malformed id) name no resource: 404.
#[must_use]
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_: PathError, _req| ApiError::not_found().into())
}

/// Query strings that do not parse: 422 naming the query.
#[must_use]
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error: QueryPayloadError, _req| {
        ApiError::invalid_field("query", serde_message(&error.to_string())).into()
    })
}

/// The authenticated, active user making the request.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_owned());
        Box::pin(async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Err(ApiError::unauthorized());
            };
            let user = state.accounts.authenticate(&token).await?;
            tracing::Span::current().record("user_id", tracing::field::display(user.id));
            Ok(Self(user))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_field_names_are_found() {
        assert_eq!(
            field_of("missing field `capacity` at line 1 column 2"),
            "capacity"
        );
        assert_eq!(
            field_of("invalid type: string \"x\", expected u32 at line 1 column 9"),
            "body"
        );
        assert_eq!(
            serde_message("invalid type: string \"x\", expected u32 at line 1 column 9"),
            "invalid type: string \"x\", expected u32"
        );
    }
}
