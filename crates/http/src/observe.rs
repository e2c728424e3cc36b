//! The middleware every request passes: request id, tracing span, metrics, panics
//! turned into 500 problems, and any non-problem error body replaced by a problem.

use crate::error::{ApiError, PROBLEM_JSON};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};
use boxoffice_domain::audit;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::time::Instant;
use tracing::Instrument;

/// The header carrying the request id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request id from the client is kept when it is short, printable ASCII.
fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    let ok = !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| value.to_owned())
}

/// The `method` label of a request: the methods HTTP defines, or `other`, so that
/// made-up method names cannot multiply the metric series.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("other", |(_, label)| label)
}

/// Wraps every request; see the module docs.
///
/// # Errors
/// Never: errors and panics of inner services become problem responses.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let request_id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.path(),
        user_id = tracing::field::Empty,
    );
    let method = method_label(req.method());
    let started = Instant::now();

    // The request id travels with the request's task, for the audit log.
    let call = audit::REQUEST_ID.scope(request_id.clone(), next.call(req));
    let outcome = AssertUnwindSafe(call)
        .catch_unwind()
        .instrument(span.clone())
        .await;
    // Without the request (routing owns it) no response can be built here: an error
    // returned from this middleware is rendered by actix through `ApiError`'s own
    // `error_response`, so it still leaves as problem+json.
    let mut response = match outcome {
        Ok(Ok(response)) => response.map_into_boxed_body(),
        Ok(Err(error)) if error.as_error::<ApiError>().is_some() => return Err(error),
        Ok(Err(error)) => {
            let status = error.as_response_error().status_code();
            return Err(ApiError::from_status(status).into());
        }
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let error = span
                .in_scope(|| ApiError::internal(&anyhow::anyhow!("handler panicked: {message}")));
            metrics::counter!("boxoffice_http_panics_total").increment(1);
            return Err(error.into());
        }
    };

    let status = response.status();
    if is_error(status) && !is_problem(&response) {
        let problem = ApiError::from_status(status).error_response();
        response = response.into_response(problem);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }

    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let elapsed = started.elapsed();
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!("boxoffice_http_requests_total", &labels).increment(1);
    metrics::histogram!("boxoffice_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    Ok(response)
}

fn is_error(status: StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}

fn is_problem(response: &ServiceResponse<BoxBody>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, test, web};

    async fn panics() -> HttpResponse {
        panic!("boom")
    }

    #[actix_web::test]
    async fn panics_become_problems_with_a_request_id() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(observe))
                .route("/panic", web::get().to(panics))
                .route(
                    "/plain",
                    web::get().to(|| async { HttpResponse::BadRequest().body("nope") }),
                ),
        )
        .await;
        let error =
            test::try_call_service(&app, test::TestRequest::get().uri("/panic").to_request())
                .await
                .expect_err("a panic becomes an error response");
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(PROBLEM_JSON.as_bytes())
        );
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["code"], "internal_error");
        assert!(!body.to_string().contains("boom"));

        let request = test::TestRequest::get()
            .uri("/plain")
            .insert_header((REQUEST_ID, "client-chosen-id"))
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(
            response.headers().get(REQUEST_ID).map(|v| v.as_bytes()),
            Some(&b"client-chosen-id"[..])
        );
        assert_eq!(
            response.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(PROBLEM_JSON.as_bytes())
        );
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["code"], "bad_request");
    }
}
