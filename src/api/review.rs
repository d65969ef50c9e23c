//! The review side of applications (SPEC §3): the queue, claim, release, decision, and
//! the reason codes a decision gives.

use crate::api::applications::answer;
use crate::api::json::ApiJson;
use crate::api::page::{Cursor, List, PageParams};
use crate::api::tx::TxStart;
use crate::auth::Session;
use crate::domain::application::{Decision, DecisionKind, ReasonCode};
use crate::error::{Problem, Result};
use crate::flow::applications::{self as flow, Decided};
use crate::state::AppState;
use crate::store::applications::{self as store, Application, QueueItem};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub use crate::flow::applications::Approval;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(claim)
        .service(release)
        .service(decide)
        .service(reason_codes)
        .service(queue);
}

/// Take a submitted application for review; it is yours until decided or released.
#[utoipa::path(tag = "review", params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The application, `in_review`, claimed by you", body = Application, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: only reviewers and admins claim; `four_eyes_required`: an appeal goes to someone other than the reviewer who rejected it", body = Problem),
        (status = 404, description = "`not_found`: no such application", body = Problem),
        (status = 409, description = "`invalid_transition`: only a `submitted` application can be claimed", body = Problem),
    ),
    security(("bearer" = [])))]
#[post("/applications/{id}/claim")]
pub async fn claim(session: Session, id: web::Path<Uuid>, tx: TxStart) -> Result<HttpResponse> {
    let actor = session.0.actor();
    let mut tx = tx.begin().await?;
    let app = flow::claim(&mut tx, &actor, *id).await?;
    tx.commit().await?;
    Ok(answer(StatusCode::OK, app))
}

/// Give a claimed application back to the queue.
#[utoipa::path(tag = "review", params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The application, `submitted` again", body = Application, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: only the reviewer who claimed it, or an admin", body = Problem),
        (status = 404, description = "`not_found`: no such application", body = Problem),
        (status = 409, description = "`invalid_transition`: only an `in_review` application can be released", body = Problem),
    ),
    security(("bearer" = [])))]
#[post("/applications/{id}/release")]
pub async fn release(session: Session, id: web::Path<Uuid>, tx: TxStart) -> Result<HttpResponse> {
    let actor = session.0.actor();
    let mut tx = tx.begin().await?;
    let app = flow::release(&mut tx, &actor, *id).await?;
    tx.commit().await?;
    Ok(answer(StatusCode::OK, app))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub decision: DecisionKind,
    /// Required for reject and request_changes, absent for approve: a code from
    /// GET /v1/reason-codes.
    #[schema(schema_with = crate::domain::application::schema::optional_reason_code)]
    pub reason_code: Option<String>,
    /// Required for reject and request_changes (at most 2000 characters as sent; kept trimmed);
    /// optional for approve.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Decide a claimed application. Approve, in one transaction: re-check the brand, create
/// (or reuse) its whitelist entry for the season, create the campaign.
#[utoipa::path(tag = "review", params(("id" = Uuid, Path)), request_body = DecisionBody,
    responses(
        (status = 200, description = "For `reject` and `request_changes` the application (with its `ETag`); for `approve` `{application, whitelist_entry, campaign}`", body = crate::openapi::DecisionAnswer,
            headers(("ETag" = String, description = "The application's `version`, quoted; sent with the application, not with an approval"))),
        (status = 403, description = "`forbidden`: only the reviewer who claimed it, or an admin; `four_eyes_required`: an appeal is decided by someone other than the reviewer who rejected it", body = Problem),
        (status = 404, description = "`not_found`: no such application", body = Problem),
        (status = 409, description = "`invalid_transition`: only an `in_review` application can be decided (two concurrent decisions: one wins); `whitelist_suspended`: the brand's whitelist entry for the season is suspended; `whitelist_conflict`: the whitelist changed meanwhile, retry", body = Problem),
        (status = 422, description = "`validation_failed` (`reason_code`: `required`, `invalid_reason_code`, `not_allowed`; `note`: `required`, `invalid_length`); `brand_not_eligible`: on approve, the brand is no longer a verified brand account", body = Problem),
    ),
    security(("bearer" = [])))]
#[post("/applications/{id}/decision")]
pub async fn decide(
    session: Session,
    id: web::Path<Uuid>,
    body: ApiJson<DecisionBody>,
    tx: TxStart,
) -> Result<HttpResponse> {
    let b = body.0;
    let decision = Decision::parse(b.decision, b.reason_code.as_deref(), b.note.as_deref())?;
    let actor = session.0.actor();
    let mut tx = tx.begin().await?;
    let decided = flow::decide(&mut tx, &actor, *id, decision).await?;
    tx.commit().await?;
    Ok(match decided {
        Decided::Application(app) => answer(StatusCode::OK, *app),
        Decided::Approved(approval) => HttpResponse::Ok().json(approval),
    })
}

/// A reason for rejecting an application or asking for changes.
#[derive(Serialize, ToSchema)]
pub struct ReasonCodeInfo {
    #[schema(schema_with = crate::domain::application::schema::reason_code)]
    pub code: &'static str,
    /// What the reason means.
    pub title: &'static str,
    /// How the brand can fix it.
    pub remediation: &'static str,
}

/// What each rejection reason means and how to fix it.
#[utoipa::path(tag = "review",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 200), ("cursor" = Option<String>, Query)),
    responses((status = 200, description = "The reason codes, in a fixed order", body = List<ReasonCodeInfo>)),
    security(("bearer" = [])))]
#[get("/reason-codes")]
pub async fn reason_codes(_session: Session, page: PageParams) -> Result<HttpResponse> {
    let codes = List::from_slice(&ReasonCode::ALL, &page, |c| ReasonCodeInfo {
        code: c.as_str(),
        title: c.title(),
        remediation: c.remediation(),
    })?;
    Ok(HttpResponse::Ok().json(codes))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    pub season_id: Option<Uuid>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Submitted applications waiting for a reviewer: appeals first, then oldest first.
#[utoipa::path(tag = "review", params(QueueQuery),
    responses(
        (status = 200, description = "A page of the queue: appeals first, then oldest `submitted_at` first", body = List<QueueItem>),
        (status = 403, description = "`forbidden`: only reviewers and admins see the queue", body = Problem),
    ),
    security(("bearer" = [])))]
#[get("/review/queue")]
pub async fn queue(
    state: web::Data<AppState>,
    session: Session,
    page: PageParams,
    q: web::Query<QueueQuery>,
) -> Result<HttpResponse> {
    session.0.require_staff()?;
    let rows = store::queue(&mut *state.pool.acquire().await?, q.season_id, &page).await?;
    let now = chrono::Utc::now();
    let rows_page = List::from_rows(rows, &page, |r: &Application| Cursor {
        k: Some(r.appeal),
        ..Cursor::new(r.submitted_at.unwrap_or(r.created_at), r.id)
    });
    Ok(HttpResponse::Ok().json(rows_page.map(|r| {
        let waited = r.submitted_at.map_or(0, |s| (now - s).num_seconds().max(0));
        QueueItem {
            application: r,
            waiting_seconds: waited,
        }
    })))
}
