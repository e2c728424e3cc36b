//! Request extraction: actix's extractor errors mapped to problems, and the caller's identity.

use crate::AppState;
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::error::PathError;
use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use boxoffice_domain::api_token::is_api_token;
use boxoffice_domain::services::Door;
use boxoffice_domain::user::User;
use boxoffice_domain::validation::check_text;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// The largest JSON body accepted.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// How long a whole request body may take to arrive. A client that trickles one in
/// (a byte every few seconds) gets 408 `request_timeout` and loses the connection,
/// instead of holding it for minutes.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Bodies (JSON or optional JSON) are read up to this size; larger ones get 413.
#[must_use]
pub fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::new(MAX_JSON_BODY)
}

/// A JSON request body. Unlike actix's own, its errors name the offending field
/// (`ticket_types[1].price_cents`), and every failure is a problem: 415 for another
/// content type, 413 past [`MAX_JSON_BODY`], 400 `malformed_json`, 422 `validation_failed`.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The parsed body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.mime_type().ok().flatten().is_some_and(|mime| {
        mime.type_() == "application"
            && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
    })
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let body = read_body(req, payload);
        Box::pin(async move {
            if !json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "Send the body as application/json.",
                ));
            }
            parse_json(&body.await?).map(Json)
        })
    }
}

/// An optional JSON body of any content type: an empty one (or only whitespace) is
/// `T::default()`; otherwise it is parsed as [`Json`] bodies are.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: serde::de::DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move { optional_json(&body.await?).map(OptionalJson) })
    }
}

/// The whole body, within [`MAX_JSON_BODY`] and [`BODY_READ_TIMEOUT`].
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<web::Bytes, ApiError>> + use<> {
    let body = web::Bytes::from_request(req, payload);
    async move {
        match tokio::time::timeout(BODY_READ_TIMEOUT, body).await {
            Ok(read) => read.map_err(|e| payload_problem(&e)),
            Err(_) => Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!(
                    "The body did not arrive within {} s.",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            )),
        }
    }
}

fn payload_problem(error: &actix_web::Error) -> ApiError {
    if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The body is larger than {MAX_JSON_BODY} bytes."),
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("The body could not be read: {error}"),
        )
    }
}

/// Parses JSON, naming the field at fault; every string in it must pass the domain's
/// [`check_text`].
fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    refuse_nul_in_json(body)?;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        if inner.is_data() {
            let field = if path == "." {
                field_of(&message)
            } else {
                &path
            };
            ApiError::invalid_field(field, serde_message(&message))
        } else {
            malformed_json(&message)
        }
    })?;
    deserializer
        .end()
        .map_err(|e| malformed_json(&e.to_string()))?;
    Ok(value)
}

/// A NUL character can only reach a JSON string as the escape `\u0000`: bodies without
/// one pass at the cost of a substring search. Otherwise the body is read as a tree to
/// name the string that holds it (when the escape was itself escaped, none does).
fn refuse_nul_in_json(body: &[u8]) -> Result<(), ApiError> {
    const NUL: &[u8] = b"\\u0000";
    if !body.windows(NUL.len()).any(|w| w == NUL) {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Ok(()); // malformed: the typed parse says so
    };
    match text_failure(&value, String::new()) {
        Some((field, message)) => Err(ApiError::invalid_field(&field, message)),
        None => Ok(()),
    }
}

/// The path (`ticket_types[1].name`) of the first string or key in `value` that
/// [`check_text`] refuses, with its message.
fn text_failure(value: &serde_json::Value, path: String) -> Option<(String, String)> {
    use serde_json::Value;
    let named = |path: String| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path
        }
    };
    match value {
        Value::String(text) => check_text(text).err().map(|message| (named(path), message)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| text_failure(item, format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let field = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            match check_text(key) {
                Err(message) => Some((named(path.clone()), message)),
                Ok(()) => text_failure(item, field),
            }
        }),
        _ => None,
    }
}

fn malformed_json(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_json",
        format!("The body is not valid JSON: {}", serde_message(message)),
    )
}

/// Parses an optional JSON body: empty means `T::default()`.
fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_json(body)
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

/// A query string. Unlike actix's own, its errors name the parameter at fault
/// (`from`, `status`), and every value must pass the domain's [`check_text`]: 422
/// `validation_failed`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    /// The parsed query.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

/// Parses a query string, naming the parameter at fault.
fn parse_query<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs = form_urlencoded::parse(query.as_bytes());
    for (name, value) in pairs {
        check_text(&name)
            .and_then(|()| check_text(&value))
            .map_err(|message| ApiError::invalid_field(&name.replace('\0', ""), message))?;
    }
    let deserializer = serde_urlencoded::Deserializer::new(pairs);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let field = if path == "." {
            field_of(&message)
        } else {
            &path
        };
        let field = if field == "body" { "query" } else { field };
        ApiError::invalid_field(field, serde_message(&message))
    })
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim())
}

/// The authenticated, active user making the request.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req).map(ToOwned::to_owned);
        Box::pin(async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Err(ApiError::unauthorized());
            };
            if is_api_token(&token) {
                return Err(ApiError::insufficient_scope());
            }
            let user = state.accounts.authenticate(&token).await?;
            tracing::Span::current().record("user_id", tracing::field::display(user.id));
            Ok(Self(user))
        })
    }
}

/// Who is checking tickets in: a user with an access token, or an API token (whose
/// scope and events the ticket service checks per event).
#[derive(Debug, Clone)]
pub struct DoorAuth(pub Door);

impl FromRequest for DoorAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req).map(ToOwned::to_owned);
        Box::pin(async move {
            let (Some(state), Some(token)) = (state, token) else {
                return Err(ApiError::unauthorized());
            };
            if !is_api_token(&token) {
                let user = state.accounts.authenticate(&token).await?;
                tracing::Span::current().record("user_id", tracing::field::display(user.id));
                return Ok(Self(Door::User(user)));
            }
            match state.tickets.api_token_door(&token).await? {
                Some(door) => {
                    let span = tracing::Span::current();
                    span.record("user_id", tracing::field::display(door.scanner()));
                    Ok(Self(door))
                }
                None => Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "The API token is unknown, revoked or expired, or its owner may no longer organize.",
                )),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)] // only parsed
    struct Body {
        name: String,
        types: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)] // only parsed
    struct Item {
        price: u32,
    }

    fn failure(body: &str) -> (&'static str, String) {
        let error = parse_json::<Body>(body.as_bytes()).expect_err("should fail");
        let problem = format!("{error}");
        (error.code(), problem)
    }

    #[test]
    fn json_errors_name_the_field() {
        let (code, problem) = failure(r#"{"name": "a", "types": [{"price": 1}, {"price": "x"}]}"#);
        assert_eq!(code, "validation_failed");
        assert!(problem.contains("validation_failed"), "{problem}");
        let error = parse_json::<Body>(br#"{"name": "a", "types": [{"price": 1}, {"price": -1}]}"#)
            .expect_err("negative price");
        assert_eq!(error.first_field(), Some("types[1].price"));
        let error = parse_json::<Body>(br#"{"types": []}"#).expect_err("missing name");
        assert_eq!(error.first_field(), Some("name"));
        assert_eq!(failure(r#"{"name": "a""#).0, "malformed_json");
        assert_eq!(
            failure(r#"{"name": "a", "types": []} trailing"#).0,
            "malformed_json"
        );
        assert!(parse_json::<Body>(br#" {"name": "a", "types": []} "#).is_ok());
    }

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
