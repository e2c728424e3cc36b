//! `/api/v1/audit`: the audit log, for admins.

use crate::AppState;
use crate::dto::{AuditEntryDto, AuditFilterParams, PageDto, PageParams};
use crate::error::{ApiError, Problem};
use crate::extract::{AuthUser, Query};
use actix_web::{HttpResponse, web};

/// Security-relevant actions, newest first (admins): logins, password changes and
/// resets, role and active changes, token families revoked for reuse, event
/// cancellations.
#[utoipa::path(get, operation_id = "listAuditEntries", path = "/api/v1/audit", tag = "users", security(("bearer" = [])),
    params(AuditFilterParams, PageParams),
    responses((status = 200, body = PageDto<AuditEntryDto>), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn entries(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
    filter: Query<AuditFilterParams>,
    page: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter
        .to_filter()
        .map_err(|message| ApiError::invalid_field("action", message))?;
    let page = state
        .accounts
        .audit_entries(&user, &filter, &page.to_request()?)
        .await?;
    Ok(HttpResponse::Ok().json(PageDto::from_page(page, AuditEntryDto::from)))
}
