//! `/api/v1/bookings/{id}/tickets` (with QR codes) and `/api/v1/checkin/keys`.

use crate::AppState;
use crate::dto::{TicketDto, TicketListDto, VerifyingKeyDto, VerifyingKeysDto};
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use crate::qr;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use boxoffice_domain::BookingId;
use boxoffice_domain::ticket::TicketId;
use uuid::Uuid;

/// The tickets of a booking with their signed codes (its owner, its event's organizer,
/// admins). Voided tickets keep their codes, which scan as `ticket_voided`.
#[utoipa::path(get, operation_id = "listBookingTickets", path = "/api/v1/bookings/{id}/tickets", tag = "tickets", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Booking id")),
    responses((status = 200, body = TicketListDto), (status = 404, body = Problem)))]
pub async fn booking_tickets(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let tickets = state
        .tickets
        .tickets(&user, BookingId::from_uuid(*id))
        .await?;
    Ok(HttpResponse::Ok().json(TicketListDto {
        items: tickets.into_iter().map(TicketDto::from).collect(),
    }))
}

/// One ticket's code as a QR code in SVG.
#[utoipa::path(get, operation_id = "getTicketQrSvg", path = "/api/v1/bookings/{id}/tickets/{ticket_id}/qr.svg", tag = "tickets", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Booking id"), ("ticket_id" = Uuid, Path, description = "Ticket id")),
    responses((status = 200, description = "The QR code", content_type = "image/svg+xml", body = String), (status = 404, body = Problem)))]
pub async fn qr_svg(
    state: web::Data<AppState>,
    user: AuthUser,
    ids: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let code = ticket_code(&state, &user, &ids).await?;
    let picture = qr::svg(&code).map_err(|e| ApiError::internal(&e))?;
    Ok(picture_response("image/svg+xml", picture))
}

/// One ticket's code as a QR code in PNG.
#[utoipa::path(get, operation_id = "getTicketQrPng", path = "/api/v1/bookings/{id}/tickets/{ticket_id}/qr.png", tag = "tickets", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Booking id"), ("ticket_id" = Uuid, Path, description = "Ticket id")),
    responses((status = 200, description = "The QR code", content_type = "image/png", body = Vec<u8>), (status = 404, body = Problem)))]
pub async fn qr_png(
    state: web::Data<AppState>,
    user: AuthUser,
    ids: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let code = ticket_code(&state, &user, &ids).await?;
    let picture = qr::png(&code).map_err(|e| ApiError::internal(&e))?;
    Ok(picture_response("image/png", picture))
}

async fn ticket_code(
    state: &AppState,
    AuthUser(user): &AuthUser,
    ids: &(Uuid, Uuid),
) -> Result<String, ApiError> {
    let (booking, ticket) = *ids;
    let coded = state
        .tickets
        .ticket(
            user,
            BookingId::from_uuid(booking),
            TicketId::from_uuid(ticket),
        )
        .await?;
    Ok(coded.code)
}

/// A picture that only its owner should see: the browser may keep it a while (not
/// long: a code changes when its key is rotated out), shared caches may not.
fn picture_response(
    content_type: &'static str,
    body: impl actix_web::body::MessageBody + 'static,
) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((CACHE_CONTROL, "private, max-age=300"))
        .body(body)
}

/// The public keys that verify ticket codes, for scanners that work offline. Anyone may
/// read them.
#[utoipa::path(get, operation_id = "listCheckinKeys", path = "/api/v1/checkin/keys", tag = "check-in",
    responses((status = 200, body = VerifyingKeysDto)))]
pub async fn keys(state: web::Data<AppState>) -> HttpResponse {
    let keys = state.tickets.verifying_keys();
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .json(VerifyingKeysDto {
            keys: keys.into_iter().map(VerifyingKeyDto::from).collect(),
        })
}
