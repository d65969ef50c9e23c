//! The staff dashboard: figures for one season or for all, computed by the database.

use crate::auth::Session;
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;
use crate::store::dashboard::{self, Summary};
use crate::store::seasons;
use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(summary);
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// The season to summarise (its id); every season when absent.
    pub season_id: Option<Uuid>,
}

/// Counts by status, campaigns by state and review timings, for one season or all.
/// Reviewers and admins.
#[utoipa::path(
    tag = "dashboard",
    params(SummaryQuery),
    responses(
        (status = 200, description = "The figures", body = Summary),
        (status = 401, body = Problem),
        (status = 403, description = "`forbidden`: reviewers and admins only", body = Problem),
        (status = 404, description = "`not_found`: no season has this id", body = Problem),
        (status = 422, description = "`invalid_query`: `season_id` is not a UUID", body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/dashboard/summary")]
#[tracing::instrument(skip_all)]
pub async fn summary(
    state: web::Data<AppState>,
    session: Session,
    q: web::Query<SummaryQuery>,
) -> Result<HttpResponse> {
    session.0.require_staff()?;
    // One snapshot (and one `now()`) for every block, so the figures agree.
    let mut tx = state
        .pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    if let Some(id) = q.season_id {
        seasons::get(&mut tx, id)
            .await?
            .ok_or_else(ApiError::not_found)?;
    }
    let summary = dashboard::summary(&mut tx, q.season_id).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(summary))
}
