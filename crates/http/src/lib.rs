//! The HTTP edge of boxoffice: actix-web routes mapping requests to the domain's use
//! cases, problem+json errors, and the OpenAPI document.

pub mod bodies;
pub mod dto;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod idempotency;
pub mod observe;
mod openapi;
pub mod qr;
pub mod rate_limit;
pub mod security;
pub mod stream;
mod validate;

pub use openapi::document as openapi_document;

use actix_web::{HttpResponse, ResponseError, web};
use boxoffice_domain::event::{Event, EventCursor};
use boxoffice_domain::page::Page;
use boxoffice_domain::ports::HealthCheck;
use boxoffice_domain::services::{
    AccountService, BookingService, EventService, TicketService, Versioned,
};
use boxoffice_domain::{Clock, EventId};
use error::ApiError;
use handlers::{
    analytics, api_tokens, audit, auth, bookings, check_ins, events, holds, ops, redoc,
    ticket_types, tickets, users, waitlist,
};
use std::sync::Arc;
use utoipa_swagger_ui::SwaggerUi;

/// Everything handlers need, shared by all workers.
pub struct AppState {
    /// Accounts and sessions.
    pub accounts: Arc<AccountService>,
    /// Events.
    pub events: Arc<EventService>,
    /// Holds, bookings, waitlists and analytics.
    pub bookings: Arc<BookingService>,
    /// Tickets, check-in and API tokens.
    pub tickets: Arc<TicketService>,
    /// Dependencies `/health/ready` checks.
    pub health: Vec<Arc<dyn HealthCheck>>,
    /// The time, for defaults such as "events from now".
    pub clock: Arc<dyn Clock>,
    /// Renders `/metrics`.
    pub render_metrics: Arc<dyn Fn() -> String + Send + Sync>,
    /// Which requests are limited, and the counters.
    pub rate_limits: rate_limit::RateLimits,
    /// Bodies of `GET /events/{id}`, rendered once per copy of an event in memory.
    pub event_bodies: bodies::Bodies<EventId, Versioned<Event>>,
    /// Bodies of `GET /events`, rendered once per page kept in memory (keyed by the
    /// page's address, which the kept page reserves).
    pub listing_bodies: bodies::Bodies<usize, Page<Event, EventCursor>>,
    /// Set when the process was asked to stop: `/health/ready` answers 503 from then
    /// on, so a load balancer stops sending before the listener closes.
    pub stopping: Arc<std::sync::atomic::AtomicBool>,
    /// The live availability streams of this process.
    pub streams: Arc<stream::Streams>,
}

/// 405 `method_not_allowed`, with the `Allow` header RFC 9110 asks for.
fn method_not_allowed(allow: &str) -> HttpResponse {
    let mut response =
        ApiError::from_status(actix_web::http::StatusCode::METHOD_NOT_ALLOWED).error_response();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(allow) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    response
}

/// The routes of each method for `resource!`. A GET route answers HEAD as well: the
/// handler runs as for GET, and the server sends the headers without the body.
mod method {
    use actix_web::{Route, guard, web};

    pub use web::{delete, patch, post, put};

    /// GET and HEAD.
    pub fn get() -> Route {
        web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
    }
}

/// What a resource's `Allow` header lists for `methods`: HEAD beside GET.
fn allowed(methods: &[&str]) -> String {
    let mut allow: Vec<String> = methods.iter().map(|m| m.to_uppercase()).collect();
    if allow.iter().any(|m| m == "GET") {
        allow.push("HEAD".to_owned());
    }
    allow.join(", ")
}

/// A resource with its routes; other methods answer 405 naming the allowed ones.
macro_rules! resource {
    ($path:expr $(, $method:ident => $handler:expr)+ $(,)?) => {{
        let allow = allowed(&[$(stringify!($method)),+]);
        web::resource($path)
            $(.route(method::$method().to($handler)))+
            .default_service(web::to(move || {
                let response = method_not_allowed(&allow);
                async move { response }
            }))
    }};
}

/// Registers every route, the extractor configuration, the rate limits of `/api/v1`
/// and the fallback for unknown paths. Wrap the `App` with `from_fn(observe::observe)`
/// as well.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(extract::path_config())
        .app_data(extract::payload_config())
        .service(
            web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(rate_limit::limit_requests))
                .service(resource!("/auth/register", post => auth::register))
                .service(resource!("/auth/login", post => auth::login))
                .service(resource!("/auth/refresh", post => auth::refresh))
                .service(resource!("/auth/logout", post => auth::logout))
                .service(
                    resource!("/auth/password-reset", post => auth::request_password_reset),
                )
                .service(
                    resource!("/auth/password-reset/confirm", post => auth::confirm_password_reset),
                )
                .service(
                    resource!("/users/me", get => users::me, patch => users::update_me, delete => users::deactivate_me),
                )
                .service(
                    resource!("/users/me/password", put => users::change_password),
                )
                .service(resource!("/users/me/erase", post => users::erase_me))
                .service(resource!("/users/me/bookings", get => bookings::my_bookings))
                .service(resource!("/users/me/waitlist", get => waitlist::my_entries))
                .service(resource!("/users", get => users::list_users))
                .service(
                    resource!("/users/{id}", patch => users::update_user, delete => users::erase_user),
                )
                .service(
                    resource!("/events", post => events::create_event, get => events::list_events),
                )
                .service(
                    resource!("/events/{id}", get => events::get_event, patch => events::update_event, delete => events::cancel_event),
                )
                .service(resource!("/events/{id}/ticket-types", post => ticket_types::add))
                .service(
                    resource!("/events/{id}/availability/stream", get => events::stream_availability),
                )
                .service(
                    resource!("/events/{id}/ticket-types/{type_id}", get => ticket_types::get, patch => ticket_types::update, delete => ticket_types::retire),
                )
                .service(resource!("/events/{id}/holds", post => holds::create_hold))
                .service(
                    resource!("/holds/{id}", get => holds::get_hold, delete => holds::release_hold),
                )
                .service(resource!("/holds/{id}/confirm", post => holds::confirm_hold))
                .service(resource!("/events/{id}/bookings", post => bookings::book))
                .service(resource!("/bookings/{id}", get => bookings::get_booking))
                .service(resource!("/bookings/{id}/cancel", post => bookings::cancel_booking))
                .service(resource!("/bookings/{id}/tickets", get => tickets::booking_tickets))
                .service(
                    resource!("/bookings/{id}/tickets/{ticket_id}/qr.svg", get => tickets::qr_svg),
                )
                .service(
                    resource!("/bookings/{id}/tickets/{ticket_id}/qr.png", get => tickets::qr_png),
                )
                .service(resource!("/checkin/keys", get => tickets::keys))
                .service(
                    resource!("/events/{id}/check-ins", post => check_ins::check_in, get => check_ins::list),
                )
                .service(resource!("/events/{id}/check-ins.csv", get => check_ins::export_csv))
                .service(resource!("/events/{id}/check-ins/batch", post => check_ins::upload_offline))
                .service(resource!("/events/{id}/check-ins/progress", get => check_ins::progress))
                .service(resource!("/events/{id}/check-ins/{ticket_id}", delete => check_ins::undo))
                .service(
                    resource!("/api-tokens", post => api_tokens::create, get => api_tokens::list),
                )
                .service(resource!("/api-tokens/{id}", delete => api_tokens::revoke))
                .service(
                    resource!("/events/{id}/waitlist", post => waitlist::join, get => waitlist::event_queue),
                )
                .service(resource!("/waitlist/{id}", delete => waitlist::leave))
                .service(resource!("/analytics/events", get => analytics::events))
                .service(resource!("/audit", get => audit::entries)),
        )
        .service(resource!("/health/live", get => ops::live))
        .service(resource!("/health/ready", get => ops::ready))
        .service(resource!("/metrics", get => ops::metrics))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/api/openapi.json", openapi::document()))
        .service(resource!("/redoc", get => redoc::page))
        .service(resource!("/redoc/redoc.standalone.js", get => redoc::script))
        .service(web::resource("/docs").route(web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header(("Location", "/docs/"))
                .finish()
        })))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::not_found())
        }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;
    use actix_web::http::header::ALLOW;
    use actix_web::{App, test};

    #[actix_web::test]
    async fn unsupported_methods_name_the_allowed_ones() {
        let app = test::init_service(App::new().configure(routes)).await;
        let request = test::TestRequest::put().uri("/api/v1/events").to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            response.headers().get(ALLOW).map(|v| v.as_bytes()),
            Some(&b"POST, GET, HEAD"[..])
        );
        let body: serde_json::Value = test::read_body_json(response).await;
        assert_eq!(body["code"], "method_not_allowed");

        let request = test::TestRequest::get()
            .uri("/api/v1/nothing-here")
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
}
