//! `/api/v1/events/{id}/holds` and `/api/v1/holds/{id}`: reserve seats, then confirm.

use crate::AppState;
use crate::dto::{BookingDto, HoldDto, SeatsRequest};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use crate::idempotency::IdempotencyKey;
use actix_web::{HttpResponse, web};
use boxoffice_domain::booking::Quantity;
use boxoffice_domain::ports::SeatRequest;
use boxoffice_domain::{EventId, HoldId, TicketTypeId, UserId};
use uuid::Uuid;

/// The seats a hold or waitlist request asks for.
pub(crate) fn seat_request(
    user: UserId,
    event: Uuid,
    body: &SeatsRequest,
) -> Result<SeatRequest, ApiError> {
    Ok(SeatRequest {
        event_id: EventId::from_uuid(event),
        ticket_type_id: body.ticket_type_id.map(TicketTypeId::from_uuid),
        user_id: user,
        quantity: Quantity::new(body.quantity)
            .map_err(|m| ApiError::invalid_field("quantity", m))?,
    })
}

/// Holds seats for `HOLD_TTL_SECS`; confirm the hold to book them.
#[utoipa::path(post, operation_id = "createHold", path = "/api/v1/events/{id}/holds", tag = "holds", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Event id"), ("Idempotency-Key" = Option<String>, Header, description = "A Structured Field string (`\"a1b2c3\"`; a bare key works too): a repeat with the same key and request has no second effect and answers what the first made, as it is now")),
    request_body = SeatsRequest,
    responses((status = 201, body = HoldDto, headers(("Location" = String, description = "The path of the hold"))), (status = 404, body = Problem),
        (status = 409, description = "`sold_out`, `purchase_limit_exceeded`, `sales_closed`, `event_cancelled`", body = Problem),
        (status = 400, description = "`bad_request`: more than one `Idempotency-Key` header", body = Problem),
        (status = 422, description = "`validation_failed`, `idempotency_key_reused`", body = Problem)))]
pub async fn create_hold(
    state: web::Data<AppState>,
    key: IdempotencyKey,
    AuthUser(user): AuthUser,
    event: web::Path<Uuid>,
    body: Json<SeatsRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = seat_request(user.id, *event, &body)?;
    let hold = state.bookings.hold(&request, key.into_inner()).await?;
    metrics::counter!("boxoffice_holds_created_total").increment(1);
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/holds/{}", hold.id)))
        .json(HoldDto::from(hold)))
}

/// The caller's live hold.
#[utoipa::path(get, operation_id = "getHold", path = "/api/v1/holds/{id}", tag = "holds", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Hold id")),
    responses((status = 200, body = HoldDto), (status = 404, body = Problem)))]
pub async fn get_hold(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let hold = state
        .bookings
        .hold_of(user.id, HoldId::from_uuid(*id))
        .await?;
    Ok(HttpResponse::Ok().json(HoldDto::from(hold)))
}

/// Turns the caller's hold into a booking (`source: hold`).
#[utoipa::path(post, operation_id = "confirmHold", path = "/api/v1/holds/{id}/confirm", tag = "holds", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Hold id"), ("Idempotency-Key" = Option<String>, Header, description = "A Structured Field string (`\"a1b2c3\"`; a bare key works too): a repeat with the same key and request has no second effect and answers what the first made, as it is now")),
    responses((status = 201, description = "The booking (also when the hold was confirmed before)", body = BookingDto,
            headers(("Location" = String, description = "The path of the booking"))),
        (status = 404, body = Problem), (status = 410, description = "`hold_expired`", body = Problem),
        (status = 400, description = "`bad_request`: more than one `Idempotency-Key` header", body = Problem),
        (status = 422, description = "`validation_failed`, `idempotency_key_reused`", body = Problem)))]
pub async fn confirm_hold(
    state: web::Data<AppState>,
    key: IdempotencyKey,
    AuthUser(user): AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let booking = state
        .bookings
        .confirm_hold(user.id, HoldId::from_uuid(*id), key.into_inner())
        .await?;
    metrics::counter!("boxoffice_bookings_total", "source" => "hold").increment(1);
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/bookings/{}", booking.id)))
        .json(BookingDto::from(booking)))
}

/// Releases the caller's hold: its seats return at once.
#[utoipa::path(delete, operation_id = "releaseHold", path = "/api/v1/holds/{id}", tag = "holds", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Hold id")),
    responses((status = 204, description = "Released"), (status = 404, body = Problem)))]
pub async fn release_hold(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .bookings
        .release_hold(user.id, HoldId::from_uuid(*id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
