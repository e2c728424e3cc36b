//! `/api/v1/events/{id}/ticket-types*`: ticket types after their event's creation.

use crate::AppState;
use crate::dto::{TicketTypeDto, TicketTypeRequest, UpdateTicketTypeRequest, ticket_type_of};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json};
use actix_web::{HttpResponse, web};
use boxoffice_domain::event::{Event, TicketTypeChanges};
use boxoffice_domain::{EventId, TicketTypeId};
use uuid::Uuid;

/// Type `id` of `event`, which the use case has just returned: missing is a bug.
fn shown(event: Event, id: TicketTypeId) -> Result<TicketTypeDto, ApiError> {
    ticket_type_of(event, id).ok_or_else(|| {
        ApiError::backend(&anyhow::anyhow!(
            "ticket type {id} is missing from its event"
        ))
    })
}

/// Where type `ty` of event `event` is read.
fn location(event: EventId, ty: TicketTypeId) -> String {
    format!("/api/v1/events/{event}/ticket-types/{ty}")
}

/// One ticket type of an event, with its seat counts (the same as in the event).
#[utoipa::path(get, operation_id = "getTicketType", path = "/api/v1/events/{id}/ticket-types/{type_id}", tag = "events",
    params(("id" = Uuid, Path, description = "Event id"), ("type_id" = Uuid, Path, description = "Ticket type id")),
    responses((status = 200, body = TicketTypeDto), (status = 404, body = Problem)))]
pub async fn get(
    state: web::Data<AppState>,
    ids: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (event, type_id) = (EventId::from_uuid(ids.0), TicketTypeId::from_uuid(ids.1));
    let event = state.events.get(event).await?;
    let found = ticket_type_of(event, type_id).ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(found))
}

/// Adds a ticket type to an event (its organizer and admins). It is sold at once,
/// after the event's other types; the event's capacity still caps all types together.
#[utoipa::path(post, operation_id = "addTicketType", path = "/api/v1/events/{id}/ticket-types", tag = "events", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Event id")), request_body = TicketTypeRequest,
    responses((status = 201, body = TicketTypeDto, headers(("Location" = String, description = "The path of the ticket type"))), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`event_cancelled`", body = Problem),
        (status = 422, description = "`validation_failed`: a field, a name another type of the event has (ignoring case), or an event with 50 types already", body = Problem)))]
pub async fn add(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<Uuid>,
    body: Json<TicketTypeRequest>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner().into_domain();
    let type_id = new.id;
    let event = state
        .events
        .add_ticket_type(&user, EventId::from_uuid(*id), new)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", location(event.id, type_id)))
        .json(shown(event, type_id)?))
}

/// Changes a ticket type's name, price or quantity (the event's organizer and admins).
#[utoipa::path(patch, operation_id = "updateTicketType", path = "/api/v1/events/{id}/ticket-types/{type_id}", tag = "events", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Event id"), ("type_id" = Uuid, Path, description = "Ticket type id")),
    request_body = UpdateTicketTypeRequest,
    responses((status = 200, body = TicketTypeDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`quantity_below_sold`, `ticket_type_retired`, `event_cancelled`", body = Problem),
        (status = 422, body = Problem)))]
pub async fn update(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    ids: web::Path<(Uuid, Uuid)>,
    body: Json<UpdateTicketTypeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (event, type_id) = (EventId::from_uuid(ids.0), TicketTypeId::from_uuid(ids.1));
    let changes = TicketTypeChanges::from(body.into_inner());
    let event = state
        .events
        .change_ticket_type(&user, event, type_id, &changes)
        .await?;
    Ok(HttpResponse::Ok().json(shown(event, type_id)?))
}

/// Retires a ticket type (the event's organizer and admins): it is no longer sold (409
/// `ticket_type_retired` for new holds, bookings and waitlist entries of it) and its
/// waiting entries are closed (`closed_reason: ticket_type_retired`); its bookings and
/// holds stay valid. Retiring it again changes nothing.
#[utoipa::path(delete, operation_id = "retireTicketType", path = "/api/v1/events/{id}/ticket-types/{type_id}", tag = "events", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Event id"), ("type_id" = Uuid, Path, description = "Ticket type id")),
    responses((status = 204, description = "Retired"), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`event_cancelled`", body = Problem)))]
pub async fn retire(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    ids: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (event, type_id) = (EventId::from_uuid(ids.0), TicketTypeId::from_uuid(ids.1));
    state
        .events
        .retire_ticket_type(&user, event, type_id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
