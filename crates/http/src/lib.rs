//! The HTTP edge of boxoffice: actix-web routes mapping requests to the domain's use
//! cases, problem+json errors, and the OpenAPI document.

pub mod dto;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod observe;
mod openapi;
mod validate;

pub use openapi::ApiDoc;

use actix_web::{HttpResponse, Resource, web};
use boxoffice_domain::Clock;
use boxoffice_domain::ports::HealthCheck;
use boxoffice_domain::services::{AccountService, BookingService, EventService};
use error::ApiError;
use handlers::{analytics, auth, bookings, events, holds, ops, users, waitlist};
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Everything handlers need, shared by all workers.
pub struct AppState {
    /// Accounts and sessions.
    pub accounts: Arc<AccountService>,
    /// Events.
    pub events: Arc<EventService>,
    /// Holds, bookings, waitlists and analytics.
    pub bookings: Arc<BookingService>,
    /// Dependencies `/health/ready` checks.
    pub health: Vec<Arc<dyn HealthCheck>>,
    /// The time, for defaults such as "events from now".
    pub clock: Arc<dyn Clock>,
    /// Renders `/metrics`.
    pub render_metrics: Arc<dyn Fn() -> String + Send + Sync>,
}

/// A resource whose unsupported methods answer 405 `method_not_allowed`.
fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(|| async {
        Err::<HttpResponse, _>(ApiError::from_status(
            actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        ))
    }))
}

/// Registers every route, the extractor configuration and the fallback for unknown paths.
/// Wrap the `App` with `from_fn(observe::observe)` as well.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(extract::json_config())
        .app_data(extract::path_config())
        .app_data(extract::query_config())
        .app_data(extract::payload_config())
        .service(
            web::scope("/api/v1")
                .service(resource("/auth/register").route(web::post().to(auth::register)))
                .service(resource("/auth/login").route(web::post().to(auth::login)))
                .service(resource("/auth/refresh").route(web::post().to(auth::refresh)))
                .service(resource("/auth/logout").route(web::post().to(auth::logout)))
                .service(
                    resource("/auth/password-reset")
                        .route(web::post().to(auth::request_password_reset)),
                )
                .service(
                    resource("/auth/password-reset/confirm")
                        .route(web::post().to(auth::confirm_password_reset)),
                )
                .service(
                    resource("/users/me")
                        .route(web::get().to(users::me))
                        .route(web::patch().to(users::update_me))
                        .route(web::delete().to(users::deactivate_me)),
                )
                .service(
                    resource("/users/me/password").route(web::put().to(users::change_password)),
                )
                .service(resource("/users").route(web::get().to(users::list_users)))
                .service(resource("/users/{id}").route(web::patch().to(users::update_user)))
                .service(
                    resource("/events")
                        .route(web::post().to(events::create_event))
                        .route(web::get().to(events::list_events)),
                )
                .service(
                    resource("/events/{id}")
                        .route(web::get().to(events::get_event))
                        .route(web::patch().to(events::update_event))
                        .route(web::delete().to(events::cancel_event)),
                )
                .service(resource("/events/{id}/holds").route(web::post().to(holds::create_hold)))
                .service(
                    resource("/holds/{id}")
                        .route(web::get().to(holds::get_hold))
                        .route(web::delete().to(holds::release_hold)),
                )
                .service(resource("/holds/{id}/confirm").route(web::post().to(holds::confirm_hold)))
                .service(resource("/events/{id}/bookings").route(web::post().to(bookings::book)))
                .service(resource("/bookings/{id}").route(web::get().to(bookings::get_booking)))
                .service(resource("/bookings/{id}/cancel").route(web::post().to(bookings::cancel_booking)))
                .service(
                    resource("/events/{id}/waitlist")
                        .route(web::post().to(waitlist::join))
                        .route(web::get().to(waitlist::event_queue)),
                )
                .service(resource("/waitlist/{id}").route(web::delete().to(waitlist::leave)))
                .service(resource("/analytics/events").route(web::get().to(analytics::events))),
        )
        .service(resource("/health/live").route(web::get().to(ops::live)))
        .service(resource("/health/ready").route(web::get().to(ops::ready)))
        .service(resource("/metrics").route(web::get().to(ops::metrics)))
        .service(SwaggerUi::new("/docs/{_:.*}").url("/api/openapi.json", ApiDoc::openapi()))
        .service(web::resource("/docs").route(web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header(("Location", "/docs/"))
                .finish()
        })))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::not_found())
        }));
}
