//! Campaigns: what an approved application became. Brand members pause and resume them;
//! a reviewer may pause (stop an ad at once) but only the brand or an admin resumes.

use crate::api::page::{List, PageParams};
use crate::api::tx::TxStart;
use crate::auth::Session;
use crate::domain::campaign::{CampaignState, PauseAction};
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;
use crate::store::Scope;
use crate::store::campaigns::{self, Campaign, CampaignFilter};
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(one)
        .service(pause)
        .service(resume);
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignQuery {
    pub season_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    pub state: Option<CampaignState>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List campaigns, newest first.
#[utoipa::path(
    tag = "campaigns",
    params(CampaignQuery),
    responses((status = 200, description = "A page of campaigns", body = List<Campaign>), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/campaigns")]
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    page: PageParams,
    q: web::Query<CampaignQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let filter = CampaignFilter {
        season_id: q.season_id,
        brand_id: q.brand_id,
        state: q.state,
    };
    let rows = campaigns::list(
        &mut *state.pool.acquire().await?,
        &filter,
        Scope::from(&session.0.actor()),
        &page,
    )
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// One campaign, with its state now.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The campaign", body = Campaign),
        (status = 404, description = "`not_found`: no such campaign, or not one of your brands'", body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/campaigns/{id}")]
pub async fn one(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let mut conn = state.pool.acquire().await?;
    let c = campaigns::by_id(
        &mut conn,
        id.into_inner(),
        Scope::from(&session.0.actor()),
        false,
    )
    .await?
    .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(c))
}

/// Pause a campaign: it stops serving at once. Brand members, reviewers and admins.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The campaign, paused", body = Campaign),
        (status = 404, description = "`not_found`: no such campaign, or not one of your brands'", body = Problem),
        (status = 409, description = "`invalid_transition`: paused already, or ended", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/campaigns/{id}/pause")]
pub async fn pause(session: Session, id: web::Path<Uuid>, tx: TxStart) -> Result<HttpResponse> {
    switch(tx, session, id.into_inner(), PauseAction::Pause).await
}

/// Resume a paused campaign. Brand members and admins; a reviewer may not.
#[utoipa::path(
    tag = "campaigns",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The campaign, running again", body = Campaign),
        (status = 403, description = "`forbidden`: a reviewer may pause but not resume", body = Problem),
        (status = 404, description = "`not_found`: no such campaign, or not one of your brands'", body = Problem),
        (status = 409, description = "`invalid_transition`: not paused, or ended", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/campaigns/{id}/resume")]
pub async fn resume(session: Session, id: web::Path<Uuid>, tx: TxStart) -> Result<HttpResponse> {
    switch(tx, session, id.into_inner(), PauseAction::Resume).await
}

async fn switch(
    tx: TxStart,
    session: Session,
    id: Uuid,
    action: PauseAction,
) -> Result<HttpResponse> {
    let mut tx = tx.begin().await?;
    let updated = crate::flow::campaigns::switch(&mut tx, &session.0.actor(), id, action).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(updated))
}
