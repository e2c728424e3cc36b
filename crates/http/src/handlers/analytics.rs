//! `/api/v1/analytics/events`: utilisation and cancellations for organizers and admins.

use crate::AppState;
use crate::dto::EventAnalyticsDto;
use crate::error::{ApiError, Problem};
use crate::extract::AuthUser;
use actix_web::{HttpResponse, web};

/// Seat figures per event, highest utilisation first: all events for admins, their own
/// for organizers.
#[utoipa::path(get, operation_id = "getEventAnalytics", path = "/api/v1/analytics/events", tag = "analytics", security(("bearer" = [])),
    responses((status = 200, body = Vec<EventAnalyticsDto>), (status = 403, body = Problem)))]
pub async fn events(
    state: web::Data<AppState>,
    AuthUser(user): AuthUser,
) -> Result<HttpResponse, ApiError> {
    let reports = state.bookings.analytics(&user).await?;
    let rows: Vec<EventAnalyticsDto> = reports.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(rows))
}
