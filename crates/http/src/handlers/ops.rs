//! Operations endpoints outside `/api/v1`: health and metrics.

use crate::AppState;
use crate::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

/// Liveness: the process answers.
#[utoipa::path(get, operation_id = "checkLiveness", path = "/health/live", tag = "operations", responses((status = 200, description = "Alive")))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the process is not stopping, and every configured store answers.
#[utoipa::path(get, operation_id = "checkReadiness", path = "/health/ready", tag = "operations",
    responses((status = 200, description = "Ready"),
        (status = 503, description = "`not_ready`: the process is stopping, or a store does not answer")))]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.stopping.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "Not ready: the process is stopping.",
        ));
    }
    // Checked at once, so a dead dependency costs one timeout, not one per check.
    let answers = futures_util::future::join_all(state.health.iter().map(|check| async move {
        let answer = tokio::time::timeout(std::time::Duration::from_secs(2), check.ping()).await;
        let status = match answer {
            Ok(Ok(())) => "ok",
            Ok(Err(error)) => {
                tracing::warn!(dependency = check.name(), error = %error, "readiness check failed");
                "unavailable"
            }
            Err(_) => {
                tracing::warn!(dependency = check.name(), "readiness check timed out");
                "unavailable"
            }
        };
        (check.name(), status)
    }))
    .await;
    let ready = answers.iter().all(|(_, status)| *status == "ok");
    let checks: serde_json::Map<String, serde_json::Value> = answers
        .into_iter()
        .map(|(name, status)| (name.to_owned(), status.into()))
        .collect();
    if ready {
        Ok(HttpResponse::Ok().json(json!({"status": "ok", "checks": checks})))
    } else {
        let down: Vec<_> = checks
            .iter()
            .filter(|(_, s)| *s != "ok")
            .map(|(name, _)| name.as_str())
            .collect();
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!("Not ready: {} unavailable.", down.join(", ")),
        ))
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, operation_id = "getMetrics", path = "/metrics", tag = "operations", responses((status = 200, description = "Metrics")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body((state.render_metrics)())
}
