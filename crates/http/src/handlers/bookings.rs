//! `/api/v1/events/{id}/bookings`, `/api/v1/bookings/{id}` and `/api/v1/users/me/bookings`.

use crate::AppState;
use crate::dto::{
    BookRequestDto, BookingDto, BookingOutcomeDto, BookingStatusFilter, CancelRequest, PageDto,
    PageParams,
};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json, OptionalJson, Query};
use crate::idempotency::IdempotencyKey;
use actix_web::{HttpResponse, web};
use boxoffice_domain::booking::Quantity;
use boxoffice_domain::services::BookingIntent;
use boxoffice_domain::ticket::TicketId;
use boxoffice_domain::{BookingId, EventId, TicketTypeId};
use uuid::Uuid;

/// Books tickets, or joins the waitlist for them (see `on_sold_out` and `allow_partial`).
/// Repeats with the same `Idempotency-Key` and body return the first outcome and book nothing.
#[utoipa::path(post, operation_id = "bookTickets", path = "/api/v1/events/{id}/bookings", tag = "bookings", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Event id"),
        ("Idempotency-Key" = Option<String>, Header, description = "A Structured Field string (`\"a1b2c3\"`; a bare key works too): a repeat with the same key and request has no second effect and answers what the first made, as it is now")),
    request_body = BookRequestDto,
    responses((status = 201, description = "Booked (maybe with a waitlist entry for the rest)", body = BookingOutcomeDto,
            headers(("Location" = String, description = "The path of the booking"))),
        (status = 202, description = "Waitlisted", body = BookingOutcomeDto), (status = 404, body = Problem),
        (status = 409, description = "`sold_out`, `purchase_limit_exceeded`, `sales_closed`, `event_cancelled`, `already_waitlisted`", body = Problem),
        (status = 400, description = "`bad_request`: more than one `Idempotency-Key` header", body = Problem),
        (status = 422, description = "`validation_failed`, `idempotency_key_reused`", body = Problem)))]
pub async fn book(
    state: web::Data<AppState>,
    key: IdempotencyKey,
    AuthUser(user): AuthUser,
    event: web::Path<Uuid>,
    body: Json<BookRequestDto>,
) -> Result<HttpResponse, ApiError> {
    let intent = BookingIntent {
        event_id: EventId::from_uuid(*event),
        ticket_type_id: body.ticket_type_id.map(TicketTypeId::from_uuid),
        quantity: Quantity::new(body.quantity)
            .map_err(|m| ApiError::invalid_field("quantity", m))?,
        on_sold_out: body.on_sold_out.into(),
        allow_partial: body.allow_partial,
        idempotency_key: key.into_inner(),
    };
    let outcome = state.bookings.book(user.id, intent).await?;
    let mut response = match &outcome.booking {
        Some(booking) => {
            metrics::counter!("boxoffice_bookings_total", "source" => "direct").increment(1);
            let mut created = HttpResponse::Created();
            created.insert_header(("Location", format!("/api/v1/bookings/{}", booking.id)));
            created
        }
        None => HttpResponse::Accepted(),
    };
    if outcome.waitlist_entry.is_some() {
        metrics::counter!("boxoffice_waitlist_joins_total").increment(1);
    }
    Ok(response.json(BookingOutcomeDto::from(outcome)))
}

/// One booking (its owner, its event's organizer, admins).
#[utoipa::path(get, operation_id = "getBooking", path = "/api/v1/bookings/{id}", tag = "bookings", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Booking id")),
    responses((status = 200, body = BookingDto), (status = 404, body = Problem)))]
pub async fn get_booking(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let booking = state
        .bookings
        .booking(&user, BookingId::from_uuid(*id))
        .await?;
    Ok(HttpResponse::Ok().json(BookingDto::from(booking)))
}

/// Cancels all of a booking, `quantity` tickets of it, or the tickets `ticket_ids`
/// names (its owner, admins).
#[utoipa::path(post, operation_id = "cancelBooking", path = "/api/v1/bookings/{id}/cancel", tag = "bookings", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Booking id"), ("Idempotency-Key" = Option<String>, Header, description = "A Structured Field string (`\"a1b2c3\"`; a bare key works too): a repeat with the same key and request has no second effect and answers what the first made, as it is now")),
    request_body(content = Option<CancelRequest>),
    responses((status = 200, body = BookingDto), (status = 404, body = Problem),
        (status = 409, description = "`already_cancelled`, `already_checked_in` (more seats than the booking has unused tickets, or a named ticket was used: the seat of a used ticket is never given back)", body = Problem),
        (status = 400, description = "`bad_request`: more than one `Idempotency-Key` header", body = Problem),
        (status = 422, description = "quantity above what is booked, a ticket of another booking, `idempotency_key_reused`", body = Problem)))]
pub async fn cancel_booking(
    state: web::Data<AppState>,
    key: IdempotencyKey,
    AuthUser(user): AuthUser,
    id: web::Path<Uuid>,
    OptionalJson(request): OptionalJson<CancelRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = BookingId::from_uuid(*id);
    let booking = match request.ticket_ids {
        Some(tickets) => {
            let tickets = named_tickets(&tickets, request.quantity)?;
            state
                .bookings
                .cancel_tickets(&user, id, &tickets, key.into_inner())
                .await?
        }
        None => {
            let quantity = request
                .quantity
                .map(|q| Quantity::new(q).map_err(|m| ApiError::invalid_field("quantity", m)))
                .transpose()?;
            state
                .bookings
                .cancel_booking(&user, id, quantity, key.into_inner())
                .await?
        }
    };
    metrics::counter!("boxoffice_cancellations_total").increment(1);
    Ok(HttpResponse::Ok().json(BookingDto::from(booking)))
}

/// The distinct tickets of `ticket_ids`, 1 to 100 of them and as many as `quantity`
/// says when it is given.
fn named_tickets(ids: &[Uuid], quantity: Option<u32>) -> Result<Vec<TicketId>, ApiError> {
    let distinct: std::collections::BTreeSet<Uuid> = ids.iter().copied().collect();
    if distinct.len() != ids.len() || Quantity::new(u32::try_from(ids.len()).unwrap_or(0)).is_err()
    {
        return Err(ApiError::invalid_field(
            "ticket_ids",
            "must name 1 to 100 distinct tickets",
        ));
    }
    if quantity.is_some_and(|q| usize::try_from(q).ok() != Some(ids.len())) {
        return Err(ApiError::invalid_field(
            "quantity",
            "must equal the number of ticket_ids when both are given",
        ));
    }
    Ok(ids.iter().copied().map(TicketId::from_uuid).collect())
}

/// The caller's bookings, newest first.
#[utoipa::path(get, operation_id = "listMyBookings", path = "/api/v1/users/me/bookings", tag = "bookings", security(("bearer" = [])),
    params(BookingStatusFilter, PageParams),
    responses((status = 200, body = PageDto<BookingDto>), (status = 401, body = Problem)))]
pub async fn my_bookings(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    filter: Query<BookingStatusFilter>,
    page: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let status = filter.status.map(Into::into);
    let page = state
        .bookings
        .my_bookings(user.id, status, &page.to_request()?)
        .await?;
    Ok(HttpResponse::Ok().json(PageDto::from_page(page, BookingDto::from)))
}
