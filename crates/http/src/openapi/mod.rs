//! The OpenAPI 3.1 document, generated from the handlers' annotations and completed
//! with the responses every operation shares (see `responses`).

mod links;
mod responses;

use crate::dto::*;
use crate::error::{FieldProblem, Problem};
use crate::handlers::{
    analytics, api_tokens, audit, auth, bookings, check_ins, events, holds, ops, ticket_types,
    tickets, users, waitlist,
};
use crate::stream::{AvailabilityEvent, AvailabilityFrame};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document served at `/api/openapi.json`, browsable at `/docs` and printed by
/// `boxoffice openapi`: [`ApiDoc`] with every operation's shared error responses and
/// headers.
///
/// # Panics
/// Never for the document the annotations make: utoipa reads back what it writes.
#[must_use]
pub fn document() -> utoipa::openapi::OpenApi {
    #[allow(clippy::expect_used)] // a round trip of utoipa's own types
    let mut json = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
    responses::complete(&mut json);
    links::add(&mut json);
    #[allow(clippy::expect_used)]
    serde_json::from_value(json).expect("a completed document reads back")
}

/// The annotated API, before [`document`] completes it.
#[derive(OpenApi)]
#[openapi(
    info(title = "boxoffice", description = "Event-ticket booking: events, holds, bookings and a strict FIFO waitlist that never oversell. Sign-in attempts and writes are rate-limited: over a limit, a request answers 429 `rate_limited` with a `Retry-After` header and changes nothing. While Postgres or Redis cannot be reached, a request that needs it answers 503 `service_unavailable` with `Retry-After: 1`; retry it, a booking with the same `Idempotency-Key`."),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout,
        auth::request_password_reset, auth::confirm_password_reset,
        users::me, users::update_me, users::change_password, users::deactivate_me,
        users::erase_me, users::list_users, users::update_user, users::erase_user,
        events::create_event, events::list_events, events::get_event, events::update_event, events::cancel_event,
        events::stream_availability,
        ticket_types::add, ticket_types::get, ticket_types::update, ticket_types::retire,
        holds::create_hold, holds::get_hold, holds::confirm_hold, holds::release_hold,
        bookings::book, bookings::get_booking, bookings::cancel_booking, bookings::my_bookings,
        waitlist::join, waitlist::event_queue, waitlist::leave, waitlist::my_entries,
        tickets::booking_tickets, tickets::qr_svg, tickets::qr_png, tickets::keys,
        check_ins::check_in, check_ins::upload_offline, check_ins::undo, check_ins::list,
        check_ins::export_csv, check_ins::progress,
        api_tokens::create, api_tokens::list, api_tokens::revoke,
        analytics::events, audit::entries,
        ops::live, ops::ready, ops::metrics,
    ),
    components(schemas(Problem, FieldProblem, UserDto, TokensDto, RoleDto, EventDto, TicketTypeDto, TicketTypeStatusDto, AvailabilityDto, AvailabilityFrame, AvailabilityEvent,
        HoldDto, BookingDto, WaitlistEntryDto, ClosedReasonDto, BookingOutcomeDto, EventAnalyticsDto, AuditEntryDto,
        TicketDto, TicketListDto, VerifyingKeyDto, VerifyingKeysDto, CheckInDto, ScannerDto, AdmittedDto,
        ScanResultDto, OfflineBatchDto, CheckInProgressDto, TypeProgressDto, ApiTokenDto, ApiTokenListDto,
        CreatedApiTokenDto)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, login and sessions"),
        (name = "users", description = "Accounts"),
        (name = "events", description = "Events and ticket types"),
        (name = "holds", description = "Seats reserved for a while, then confirmed"),
        (name = "bookings", description = "Direct bookings and cancellations"),
        (name = "waitlist", description = "Strict FIFO queues for sold-out events"),
        (name = "tickets", description = "The tickets of a booking, with signed codes and QR codes"),
        (name = "check-in", description = "Scanning tickets at the door, online and offline"),
        (name = "api-tokens", description = "Scoped tokens for door scanners and integrations"),
        (name = "analytics", description = "Figures for organizers and admins"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("bxo_ API token with the route's scope")
                    .description(Some("An API token from `POST /api/v1/api-tokens`, sent as `Authorization: Bearer bxo_...`. It works only on the routes of its scopes, for its events."))
                    .build(),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_is_openapi_3_1_and_lists_the_contract_paths() {
        let doc = serde_json::to_value(document()).expect("serialises");
        assert!(
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1"))
        );
        for path in [
            "/api/v1/auth/register",
            "/api/v1/events/{id}",
            "/api/v1/users/{id}",
            "/health/ready",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} missing");
        }
    }
}
