//! `/api/v1/events*`: publishing, listing, changing and cancelling events.

use crate::AppState;
use crate::dto::{
    CreateEventRequest, EventDto, EventListParams, PageDto, PageParams, UpdateEventRequest,
};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Json, Query};
use crate::stream::{AvailabilityEvent, Frame, Streams};
use actix_web::http::header::{self, IfNoneMatch};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, web};
use boxoffice_domain::EventId;
use boxoffice_domain::event::{EventChanges, EventQuery};
use std::sync::Arc;
use uuid::Uuid;

/// Publishes an event (organizers and admins).
#[utoipa::path(post, operation_id = "createEvent", path = "/api/v1/events", tag = "events", security(("bearer" = [])), request_body = CreateEventRequest,
    responses((status = 201, body = EventDto, headers(("Location" = String, description = "The path of the event"))), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "`validation_failed`", body = Problem)))]
pub async fn create_event(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    body: Json<CreateEventRequest>,
) -> Result<HttpResponse, ApiError> {
    let (details, ticket_types) = body.into_inner().into_domain();
    let event = state.events.create(&user, details, ticket_types).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/events/{}", event.id)))
        .json(EventDto::from(event)))
}

/// Scheduled events, upcoming first (by `starts_at`, then `id`).
#[utoipa::path(get, operation_id = "listEvents", path = "/api/v1/events", tag = "events", params(EventListParams, PageParams),
    responses((status = 200, body = PageDto<EventDto>), (status = 422, body = Problem)))]
pub async fn list_events(
    state: web::Data<AppState>,
    filters: Query<EventListParams>,
    page: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let filters = filters.into_inner();
    let now = state.clock.now();
    let query = EventQuery {
        from: filters.from.map_or(now, Into::into),
        now,
        text: filters
            .q
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty()),
        page: page.to_request()?,
    };
    let (page, source) = state.events.list(&query).await?;
    metrics::counter!("boxoffice_event_listings_total", "source" => source.as_str()).increment(1);
    let (body, _) = state
        .listing_bodies
        .render(Arc::as_ptr(&page) as usize, &page, |page| {
            let dto = PageDto::from_page(page.clone(), EventDto::from);
            serde_json::to_vec(&dto)
        })?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// One event with its availability. The answer carries an `ETag`; a request whose
/// `If-None-Match` names it gets 304 while the event is unchanged.
#[utoipa::path(get, operation_id = "getEvent", path = "/api/v1/events/{id}", tag = "events",
    params(("id" = Uuid, Path, description = "Event id"),
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` of an earlier answer: 304 while the event still reads the same")),
    responses(
        (status = 200, body = EventDto, headers(("ETag" = String, description = "Changes whenever the answer's body changes"))),
        (status = 304, description = "Unchanged since the answer whose `ETag` was sent", headers(("ETag" = String))),
        (status = 404, body = Problem)))]
pub async fn get_event(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (read, source) = state.events.read(EventId::from_uuid(*id)).await?;
    metrics::counter!("boxoffice_event_reads_total", "source" => source.as_str()).increment(1);
    let (body, etag) = state.event_bodies.render(read.value.id, &read, |read| {
        serde_json::to_vec(&EventDto::from(read.value.clone()))
    })?;
    let unchanged = match request.get_header::<IfNoneMatch>() {
        Some(IfNoneMatch::Any) => true,
        Some(IfNoneMatch::Items(tags)) => tags.iter().any(|tag| tag.weak_eq(&etag)),
        None => false,
    };
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header(header::ETag(etag))
        // Caches may keep the answer but must ask again before reusing it.
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    Ok(if unchanged {
        response.finish()
    } else {
        response.content_type("application/json").body(body)
    })
}

/// The event's availability as it changes, as Server-Sent Events: the current figures
/// at once, then a frame whenever they change (at most 10 a second), and a comment
/// every 15 s while nothing does. Each frame is the whole state, with `id:` the
/// event's version: a client that reconnects (sending `Last-Event-ID`, as browsers
/// do) gets the current figures first, so it misses nothing. Streams end when the
/// server stops; a server with `SSE_MAX_STREAMS` streams open answers 503.
#[utoipa::path(get, operation_id = "streamAvailability", path = "/api/v1/events/{id}/availability/stream", tag = "events",
    params(("id" = Uuid, Path, description = "Event id"),
        ("Last-Event-ID" = Option<String>, Header, description = "The `id:` of the last frame received; the stream starts with the current figures whatever it is")),
    responses(
        (status = 200, content_type = "text/event-stream", body = AvailabilityEvent,
            description = "`event: availability` events whose `data:` is an AvailabilityFrame as JSON, `id:` the event's version"),
        (status = 404, body = Problem),
        (status = 503, description = "`service_unavailable`: as many streams open as this server may serve", body = Problem)))]
pub async fn stream_availability(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let event = EventId::from_uuid(*id);
    let (read, _) = state.events.read(event).await?;
    let first = Frame::of(&read.value, read.version).map_err(|e| ApiError::internal(&e.into()))?;
    let Some(subscription) = state.streams.subscribe(event, &first) else {
        return Err(ApiError::unavailable(
            "This server has as many availability streams open as it may serve. Retry shortly.",
        ));
    };
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Proxies such as nginx must pass each frame on at once.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(Streams::frames(first, subscription)))
}

/// Changes an event (its organizer and admins).
#[utoipa::path(patch, operation_id = "updateEvent", path = "/api/v1/events/{id}", tag = "events", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Event id")), request_body = UpdateEventRequest,
    responses((status = 200, body = EventDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`capacity_below_sold`, `event_cancelled`", body = Problem),
        (status = 422, body = Problem)))]
pub async fn update_event(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<Uuid>,
    body: Json<UpdateEventRequest>,
) -> Result<HttpResponse, ApiError> {
    let changes = EventChanges::from(body.into_inner());
    let event = state
        .events
        .update(&user, EventId::from_uuid(*id), &changes)
        .await?;
    Ok(HttpResponse::Ok().json(EventDto::from(event)))
}

/// Cancels an event (its organizer and admins).
#[utoipa::path(delete, operation_id = "cancelEvent", path = "/api/v1/events/{id}", tag = "events", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Event id")),
    responses((status = 204, description = "Cancelled"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn cancel_event(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.events.cancel(&user, EventId::from_uuid(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
