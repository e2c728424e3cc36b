//! `/api/v1/events/{id}/check-ins`: scanning tickets at the door, offline uploads,
//! undo, the list of check-ins (JSON or CSV) and progress.

use crate::AppState;
use crate::dto::{
    AdmittedDto, CheckInDto, CheckInProgressDto, CheckInRequest, OfflineBatchDto,
    OfflineBatchRequest, PageDto, PageParams, ScanResultDto, TypeProgressDto,
};
use crate::error::{ApiError, Problem};
use crate::extract::{DoorAuth, Json, Query};
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpResponse, web};
use boxoffice_domain::EventId;
use boxoffice_domain::page::PageRequest;
use boxoffice_domain::services::{CheckInError, OfflineScan};
use boxoffice_domain::ticket::TicketId;
use chrono::Duration;
use uuid::Uuid;

/// The most scans one offline upload may carry.
pub const MAX_OFFLINE_SCANS: usize = 1000;

/// How far in the future an offline scan's time may be (device clocks drift).
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// Checks a ticket in by its scanned code: 200 the first time, 409 afterwards.
#[utoipa::path(post, operation_id = "checkIn", path = "/api/v1/events/{id}/check-ins", tag = "check-in",
    security(("bearer" = []), ("apiToken" = ["checkin"])),
    params(("id" = Uuid, Path, description = "Event id")),
    request_body = CheckInRequest,
    responses((status = 200, description = "Let in", body = AdmittedDto),
        (status = 403, description = "`forbidden`: not this event's organizer, an admin or a token for it", body = Problem),
        (status = 404, description = "No such event, or a ticket of another event", body = Problem),
        (status = 409, description = "`already_checked_in` (with the first `check_in`), `ticket_voided`", body = Problem),
        (status = 422, description = "`invalid_ticket_code`: malformed, changed or forged", body = Problem)))]
pub async fn check_in(
    state: web::Data<AppState>,
    DoorAuth(door): DoorAuth,
    event: web::Path<Uuid>,
    body: Json<CheckInRequest>,
) -> Result<HttpResponse, ApiError> {
    let result = state
        .tickets
        .check_in(&door, EventId::from_uuid(*event), &body.code)
        .await;
    count_scan(&result);
    Ok(HttpResponse::Ok().json(AdmittedDto::from(result?)))
}

fn count_scan<T>(result: &Result<T, CheckInError>) {
    let outcome = match result {
        Ok(_) => "checked_in",
        Err(CheckInError::AlreadyCheckedIn(_)) => "already_checked_in",
        Err(CheckInError::Voided) => "ticket_voided",
        Err(CheckInError::InvalidCode(_)) => "invalid_ticket_code",
        Err(CheckInError::NotFound | CheckInError::Forbidden | CheckInError::Backend(_)) => {
            return;
        }
    };
    metrics::counter!("boxoffice_check_in_scans_total", "outcome" => outcome).increment(1);
}

/// Uploads scans a device made offline. They are applied earliest first, so the
/// earliest scan of a ticket wins wherever it was made; each gets its own result, in
/// the order sent. A scan earlier than a ticket's check-in takes its place and reports
/// that check-in as its `conflict`.
#[utoipa::path(post, operation_id = "uploadOfflineCheckIns", path = "/api/v1/events/{id}/check-ins/batch", tag = "check-in",
    security(("bearer" = []), ("apiToken" = ["checkin"])),
    params(("id" = Uuid, Path, description = "Event id")),
    request_body = OfflineBatchRequest,
    responses((status = 200, description = "One result per scan", body = OfflineBatchDto),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, description = "`validation_failed`: no scans, more than 1,000, or a scan time in the future", body = Problem)))]
pub async fn upload_offline(
    state: web::Data<AppState>,
    DoorAuth(door): DoorAuth,
    event: web::Path<Uuid>,
    body: Json<OfflineBatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if body.scans.is_empty() || body.scans.len() > MAX_OFFLINE_SCANS {
        return Err(ApiError::invalid_field(
            "scans",
            format!("must hold 1 to {MAX_OFFLINE_SCANS} scans"),
        ));
    }
    let latest = state.clock.now() + CLOCK_SKEW;
    if let Some(i) = body.scans.iter().position(|s| s.scanned_at.0 > latest) {
        return Err(ApiError::invalid_field(
            &format!("scans[{i}].scanned_at"),
            "is in the future",
        ));
    }
    let scans: Vec<OfflineScan> = body
        .scans
        .into_iter()
        .map(|s| OfflineScan {
            code: s.code,
            scanned_at: s.scanned_at.0,
        })
        .collect();
    let results = state
        .tickets
        .check_in_offline(&door, EventId::from_uuid(*event), &scans)
        .await?;
    let results = results
        .into_iter()
        .enumerate()
        .map(|(index, result)| {
            count_scan(&result);
            scan_result(index, result)
        })
        .collect();
    Ok(HttpResponse::Ok().json(OfflineBatchDto { results }))
}

fn scan_result(
    index: usize,
    result: Result<boxoffice_domain::services::Admitted, CheckInError>,
) -> ScanResultDto {
    let refused = |status: &str, error: CheckInError| {
        let problem = ApiError::from(error);
        ScanResultDto {
            index,
            status: status.to_owned(),
            check_in: None,
            conflict: None,
            detail: Some(problem.detail().to_owned()),
        }
    };
    match result {
        Ok(admitted) => ScanResultDto {
            index,
            status: "checked_in".to_owned(),
            check_in: Some(admitted.check_in.into()),
            conflict: admitted.replaced.map(Into::into),
            detail: None,
        },
        Err(CheckInError::AlreadyCheckedIn(first)) => ScanResultDto {
            check_in: Some(first.clone().into()),
            ..refused("already_checked_in", CheckInError::AlreadyCheckedIn(first))
        },
        Err(e @ CheckInError::Voided) => refused("ticket_voided", e),
        Err(e @ CheckInError::InvalidCode(_)) => refused("invalid_ticket_code", e),
        Err(e) => refused("not_found", e),
    }
}

/// Undoes a check-in recorded less than 2 minutes ago (a wrong scan): the ticket is
/// valid again.
#[utoipa::path(delete, operation_id = "undoCheckIn", path = "/api/v1/events/{id}/check-ins/{ticket_id}", tag = "check-in",
    security(("bearer" = []), ("apiToken" = ["checkin"])),
    params(("id" = Uuid, Path, description = "Event id"), ("ticket_id" = Uuid, Path, description = "Ticket id")),
    responses((status = 204, description = "Undone"),
        (status = 403, body = Problem),
        (status = 404, description = "No such event, or the ticket is not checked in", body = Problem),
        (status = 409, description = "`undo_window_passed`", body = Problem)))]
pub async fn undo(
    state: web::Data<AppState>,
    DoorAuth(door): DoorAuth,
    ids: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (event, ticket) = *ids;
    state
        .tickets
        .undo_check_in(
            &door,
            EventId::from_uuid(event),
            TicketId::from_uuid(ticket),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The check-ins in force at an event, in the order they were recorded.
#[utoipa::path(get, operation_id = "listCheckIns", path = "/api/v1/events/{id}/check-ins", tag = "check-in",
    security(("bearer" = []), ("apiToken" = ["checkin"])),
    params(("id" = Uuid, Path, description = "Event id"), PageParams),
    responses((status = 200, body = PageDto<CheckInDto>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    DoorAuth(door): DoorAuth,
    event: web::Path<Uuid>,
    page: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .tickets
        .check_ins(&door, EventId::from_uuid(*event), &page.to_request()?)
        .await?;
    Ok(HttpResponse::Ok().json(PageDto::from_page(page, CheckInDto::from)))
}

/// Every check-in in force at an event as CSV (RFC 4180, with a header row), in the
/// order they were recorded.
#[utoipa::path(get, operation_id = "exportCheckIns", path = "/api/v1/events/{id}/check-ins.csv", tag = "check-in",
    security(("bearer" = []), ("apiToken" = ["checkin"])),
    params(("id" = Uuid, Path, description = "Event id")),
    responses((status = 200, description = "The check-ins", content_type = "text/csv", body = String),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn export_csv(
    state: web::Data<AppState>,
    DoorAuth(door): DoorAuth,
    event: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let event = EventId::from_uuid(*event);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ApiError::internal(&e.into());
    writer
        .write_record([
            "check_in_id",
            "ticket_id",
            "booking_id",
            "ticket_type_id",
            "number",
            "scanned_at",
            "recorded_at",
            "scanner_kind",
            "scanner_id",
        ])
        .map_err(internal)?;
    let mut after = None;
    loop {
        let page = state
            .tickets
            .check_ins(&door, event, &PageRequest { limit: 100, after })
            .await?;
        for c in &page.items {
            let ticket = &c.ticket;
            writer
                .write_record([
                    c.id.to_string(),
                    ticket.ticket_id().to_string(),
                    ticket.booking_id.to_string(),
                    ticket.ticket_type_id.to_string(),
                    ticket.number.get().to_string(),
                    c.scanned_at.to_rfc3339(),
                    c.recorded_at.to_rfc3339(),
                    c.scanner.kind().to_owned(),
                    c.scanner.id().to_string(),
                ])
                .map_err(internal)?;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let body = writer
        .into_inner()
        .map_err(|e| ApiError::internal(&anyhow::anyhow!("{e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"check-ins-{event}.csv\""),
        ))
        .body(body))
}

/// Checked in / sold, in all and per ticket type.
#[utoipa::path(get, operation_id = "getCheckInProgress", path = "/api/v1/events/{id}/check-ins/progress", tag = "check-in",
    security(("bearer" = []), ("apiToken" = ["checkin"])),
    params(("id" = Uuid, Path, description = "Event id")),
    responses((status = 200, body = CheckInProgressDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn progress(
    state: web::Data<AppState>,
    DoorAuth(door): DoorAuth,
    event: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let types = state
        .tickets
        .progress(&door, EventId::from_uuid(*event))
        .await?;
    Ok(HttpResponse::Ok().json(CheckInProgressDto {
        event_id: *event,
        sold: types.iter().map(|t| t.sold).sum(),
        checked_in: types.iter().map(|t| t.checked_in).sum(),
        ticket_types: types.into_iter().map(TypeProgressDto::from).collect(),
    }))
}
