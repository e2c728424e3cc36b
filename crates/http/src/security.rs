//! Headers that make responses safe to handle in a browser, and CORS.

use crate::error::ApiError;
use actix_cors::{Cors, CorsError};
use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderName, HeaderValue, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;

/// The API serves data, never pages: nothing may load from or frame it.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Swagger UI loads its own scripts, styles and `data:` icons, and fetches the document.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

/// ReDoc also searches in a worker it makes from a `blob:`, and its schema checker
/// compiles functions (`new Function`): a page of public documentation, with no token
/// or personal data on it.
const REDOC_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

/// The headers of every API response: nothing may sniff, frame or load from it, and
/// nothing keeps it in a cache. Problems carry them from `ApiError` itself.
pub const API_HEADERS: [(HeaderName, &str); 4] = [
    (X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (X_FRAME_OPTIONS, "DENY"),
    (CONTENT_SECURITY_POLICY, API_CSP),
    (CACHE_CONTROL, "no-store"),
];

/// Adds to every response `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`
/// and a `Content-Security-Policy`, and `Cache-Control: no-store` unless the handler
/// chose a policy (event reads revalidate with their `ETag`): tokens and personal data
/// never stay in a shared or browser cache. Wrap it around [`cors`]: a request CORS
/// refuses becomes a 400 problem saying why.
///
/// # Errors
/// Those of the inner service; a CORS refusal as a problem.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let under = |prefix: &str| {
        let path = req.path();
        path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    let csp = if under("/docs") {
        DOCS_CSP
    } else if under("/redoc") {
        REDOC_CSP
    } else {
        API_CSP
    };
    let mut response =
        next.call(req)
            .await
            .map_err(|error| match error.as_error::<CorsError>() {
                Some(refused) => ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!("CORS: {refused}."),
                )
                .into(),
                None => error,
            })?;
    let headers = response.headers_mut();
    for (name, value) in API_HEADERS {
        // The page's own policy, and a handler's own cache policy, win.
        let value = if name == CONTENT_SECURITY_POLICY {
            csp
        } else {
            value
        };
        if name != CACHE_CONTROL || !headers.contains_key(CACHE_CONTROL) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(response)
}

/// Cross-origin access for browsers on `origins` (exact origins such as
/// `https://shop.example.org`, or `*` for any): the methods and request headers the API
/// uses, and the response headers a client reads. With no origins, no cross-origin
/// request is allowed. Tokens travel in `Authorization`, never in cookies, so no
/// credentials mode is offered.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::LOCATION,
            header::ETAG,
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-request-id"),
        ])
        .max_age(3600);
    for origin in origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}
