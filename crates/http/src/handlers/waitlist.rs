//! `/api/v1/events/{id}/waitlist`, `/api/v1/waitlist/{id}` and `/api/v1/users/me/waitlist`.

use super::holds::seat_request;
use crate::AppState;
use crate::dto::{PageDto, PageParams, SeatsRequest, WaitlistEntryDto, WaitlistStatusFilter};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json, Query};
use crate::idempotency::IdempotencyKey;
use actix_web::{HttpResponse, web};
use boxoffice_domain::booking::WaitlistStatus;
use boxoffice_domain::{EventId, WaitlistEntryId};
use uuid::Uuid;

/// Joins an event's waitlist (only when not enough tickets are free).
#[utoipa::path(post, operation_id = "joinWaitlist", path = "/api/v1/events/{id}/waitlist", tag = "waitlist", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Event id"), ("Idempotency-Key" = Option<String>, Header, description = "A Structured Field string (`\"a1b2c3\"`; a bare key works too): a repeat with the same key and request has no second effect and answers what the first made, as it is now")),
    request_body = SeatsRequest,
    responses((status = 201, body = WaitlistEntryDto), (status = 404, body = Problem),
        (status = 409, description = "`already_waitlisted`, `tickets_available`, `sold_out`, `sales_closed`, `event_cancelled`, `purchase_limit_exceeded`", body = Problem),
        (status = 400, description = "`bad_request`: more than one `Idempotency-Key` header", body = Problem),
        (status = 422, description = "`validation_failed`, `idempotency_key_reused`", body = Problem)))]
pub async fn join(
    state: web::Data<AppState>,
    key: IdempotencyKey,
    AuthUser(user): AuthUser,
    event: web::Path<Uuid>,
    body: Json<SeatsRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = seat_request(user.id, *event, &body)?;
    let entry = state
        .bookings
        .join_waitlist(&request, key.into_inner())
        .await?;
    metrics::counter!("boxoffice_waitlist_joins_total").increment(1);
    Ok(HttpResponse::Created().json(WaitlistEntryDto::from(entry)))
}

/// An event's waitlist (its organizer, admins): `waiting` entries in queue order by default.
#[utoipa::path(get, operation_id = "listEventWaitlist", path = "/api/v1/events/{id}/waitlist", tag = "waitlist", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Event id"), WaitlistStatusFilter, PageParams),
    responses((status = 200, body = PageDto<WaitlistEntryDto>), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn event_queue(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    event: web::Path<Uuid>,
    filter: Query<WaitlistStatusFilter>,
    page: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let status = filter.status.map_or(WaitlistStatus::Waiting, Into::into);
    let page = state
        .bookings
        .event_waitlist(
            &user,
            EventId::from_uuid(*event),
            status,
            &page.to_request()?,
        )
        .await?;
    Ok(HttpResponse::Ok().json(PageDto::from_page(page, WaitlistEntryDto::from)))
}

/// Takes a waiting entry out of the queue: its owner, the event's organizer or an admin.
#[utoipa::path(delete, operation_id = "leaveWaitlist", path = "/api/v1/waitlist/{id}", tag = "waitlist", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Waitlist entry id")),
    responses((status = 204, description = "Left"), (status = 404, body = Problem),
        (status = 409, description = "`not_waiting`: already promoted or closed", body = Problem)))]
pub async fn leave(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state
        .bookings
        .leave_waitlist(&user, WaitlistEntryId::from_uuid(*id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's waitlist entries, every status, newest first.
#[utoipa::path(get, operation_id = "listMyWaitlistEntries", path = "/api/v1/users/me/waitlist", tag = "waitlist", security(("bearer" = [])),
    params(PageParams), responses((status = 200, body = PageDto<WaitlistEntryDto>)))]
pub async fn my_entries(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    page: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .bookings
        .my_waitlist(user.id, &page.to_request()?)
        .await?;
    Ok(HttpResponse::Ok().json(PageDto::from_page(page, WaitlistEntryDto::from)))
}
