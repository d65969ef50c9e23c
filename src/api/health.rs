//! Probes and metrics, outside `/v1`.

use crate::app::Lifecycle;
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use std::time::Duration;

/// The process is alive.
#[utoipa::path(
    tag = "platform",
    responses((status = 200, description = "Alive: `{\"status\": \"ok\"}`", body = crate::openapi::Probe))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// The database answers and the instance is not shutting down.
#[utoipa::path(
    tag = "platform",
    responses(
        (status = 200, description = "The database answers: `{\"status\": \"ready\"}`", body = crate::openapi::Probe),
        (status = 503, description = "`unavailable`: the database is known to be away, does not answer within 2 seconds, the instance is draining before it stops, or the gate has not loaded its state yet", body = Problem),
    )
)]
#[get("/readyz")]
pub async fn readyz(
    state: web::Data<AppState>,
    lifecycle: Option<web::Data<Lifecycle>>,
) -> Result<HttpResponse> {
    if lifecycle.is_some_and(|l| l.draining()) || !state.gate.database_up() || !state.gate.loaded()
    {
        return Err(ApiError::unavailable());
    }
    let ping = async {
        let mut conn = state.pool.acquire().await?;
        sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(&mut *conn)
            .await
    };
    match tokio::time::timeout(Duration::from_secs(2), ping).await {
        Ok(Ok(_)) => Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::unavailable())
        }
        Err(_) => Err(ApiError::unavailable()),
    }
}

/// Prometheus text exposition.
#[utoipa::path(
    tag = "platform",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain"))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(&state.pool))
}
