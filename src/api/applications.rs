//! Applications as brand members see them: drafts, edits, submit, withdraw, appeal, and
//! the audit trail. The review side is `api::review`.

use crate::api::json::ApiJson;
use crate::api::page::{Cursor, List, PageParams};
use crate::api::precondition::if_match;
use crate::api::tx::TxStart;
use crate::auth::Session;
use crate::domain::application::{
    Application, Budget, Creative, Landing, Parts, Status, Targeting, Window,
};
use crate::error::{ApiError, Problem, Result};
use crate::flow::applications::{self as flow, Edit, NewDraft};
use crate::state::AppState;
use crate::store::Scope;
use crate::store::applications::{self as store, Filter};
use crate::store::audit::AuditEvent;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::{Deserialize, Deserializer};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(get_one)
        .service(update)
        .service(submit)
        .service(withdraw)
        .service(appeal)
        .service(events);
}

pub fn etag(version: i32) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

/// The application with its version as the ETag.
pub fn answer(status: StatusCode, app: Application) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(etag(app.version))
        .json(app)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// One of your brands.
    pub brand_id: Uuid,
    pub season_id: Uuid,
    /// 1 to 200 characters after trimming, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "Li-Ning 618 running shoes"
    )]
    pub title: String,
    pub creative: Option<Creative>,
    pub landing: Option<Landing>,
    pub requested_window: Option<Window>,
    pub budget: Option<Budget>,
    pub targeting: Option<Targeting>,
}

/// Start a draft for one of your brands. Only brand_id, season_id and title are required;
/// every other part that is present is checked at once.
#[utoipa::path(
    tag = "applications",
    request_body = CreateBody,
    responses(
        (status = 201, description = "The draft", body = Application, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: applications are made by brand members, not staff", body = Problem),
        (status = 422, description = "`validation_failed`: each invalid field (`unknown_brand`, `unknown_season`, `invalid_length`, `invalid_url`, `invalid_count`, `invalid_deep_link`, `invalid_landing_url`, `invalid_window`, `must_be_positive`, `exceeds_total`, `invalid_region`, `invalid_age_range`, `invalid_gender`)", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/applications")]
pub async fn create(
    session: Session,
    body: ApiJson<CreateBody>,
    tx: TxStart,
) -> Result<HttpResponse> {
    let b = body.0;
    let draft = NewDraft {
        brand_id: b.brand_id,
        season_id: b.season_id,
        title: &b.title,
        parts: Parts {
            creative: b.creative,
            landing: b.landing,
            requested_window: b.requested_window,
            budget: b.budget,
            targeting: b.targeting,
        },
    };
    let mut tx = tx.begin().await?;
    let app = flow::create_draft(&mut tx, &session.0.actor(), draft).await?;
    tx.commit().await?;
    Ok(answer(StatusCode::CREATED, app))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub season_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Applications you may see (your brands' or, for staff, all), newest first.
#[utoipa::path(
    tag = "applications",
    params(ListQuery),
    responses((status = 200, description = "A page of applications", body = List<Application>), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/applications")]
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    page: PageParams,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let f = Filter {
        status: q.status,
        season_id: q.season_id,
        brand_id: q.brand_id,
    };
    let rows = store::list(
        &mut *state.pool.acquire().await?,
        Scope::from(&session.0.actor()),
        &f,
        &page,
    )
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// One application, with its version as the ETag.
#[utoipa::path(
    tag = "applications",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The application", body = Application, headers(("ETag" = String))),
        (status = 404, description = "`not_found`: no such application, or not one of your brands'", body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/applications/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let mut conn = state.pool.acquire().await?;
    let app = store::visible(&mut conn, Scope::from(&session.0.actor()), *id, false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(answer(StatusCode::OK, app))
}

/// `Some(v)` for a value, `Some(None)` for an explicit null, `None` when absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    /// 1 to 200 characters after trimming, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// A part replaces the stored one whole; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Creative>)]
    pub creative: Option<Option<Creative>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Landing>)]
    pub landing: Option<Option<Landing>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Window>)]
    pub requested_window: Option<Option<Window>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Budget>)]
    pub budget: Option<Option<Budget>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Targeting>)]
    pub targeting: Option<Option<Targeting>>,
}

/// Change a draft (or an application whose changes were requested). `If-Match` required.
#[utoipa::path(
    tag = "applications",
    params(
        ("id" = Uuid, Path),
        ("If-Match" = String, Header, description = "The `ETag` you last read (`\"3\"`, `W/\"3\"` or `3`; a list matches when any of its tags does), or `*` for whatever version is current"),
    ),
    request_body = PatchBody,
    responses(
        (status = 200, description = "The changed application", body = Application, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: only brand members edit applications", body = Problem),
        (status = 404, description = "`not_found`: no such application, or not one of your brands'", body = Problem),
        (status = 409, description = "`invalid_transition`: only a `draft` or `changes_requested` application can be edited", body = Problem),
        (status = 412, description = "`precondition_failed`: the application changed since you read it", body = Problem),
        (status = 422, description = "`validation_failed`: each invalid field (`invalid_length`, `invalid_url`, `invalid_count`, `invalid_deep_link`, `invalid_landing_url`, `invalid_window`, `must_be_positive`, `exceeds_total`, `invalid_region`, `invalid_age_range`, `invalid_gender`)", body = Problem),
        (status = 428, description = "`precondition_required`: send `If-Match`", body = Problem),
    ),
    security(("bearer" = []))
)]
#[patch("/applications/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: ApiJson<PatchBody>,
) -> Result<HttpResponse> {
    let expected = if_match(&req)?;
    let b = body.0;
    let edit = Edit {
        title: b.title.as_deref(),
        creative: b.creative,
        landing: b.landing,
        requested_window: b.requested_window,
        budget: b.budget,
        targeting: b.targeting,
    };
    let mut tx = state.pool.begin().await?;
    let app = flow::edit(&mut tx, &session.0.actor(), *id, &expected, edit).await?;
    tx.commit().await?;
    Ok(answer(StatusCode::OK, app))
}

/// Runs one lifecycle step in its own transaction and answers with the application.
async fn step<F>(tx: TxStart, session: Session, id: Uuid, f: F) -> Result<HttpResponse>
where
    F: AsyncFnOnce(
        &mut sqlx::PgConnection,
        &crate::domain::actor::Actor,
        Uuid,
    ) -> crate::flow::Result<Application>,
{
    let actor = session.0.actor();
    let mut tx = tx.begin().await?;
    let app = f(&mut tx, &actor, id).await?;
    tx.commit().await?;
    Ok(answer(StatusCode::OK, app))
}

/// Send for review: every required part present and valid, the brand eligible, the season
/// accepting, the window inside the season and at most 30 days.
#[utoipa::path(
    tag = "applications",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The application, `submitted`", body = Application, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: only brand members submit", body = Problem),
        (status = 404, description = "`not_found`: no such application, or not one of your brands'", body = Problem),
        (status = 409, description = "`invalid_transition`: only a `draft` or `changes_requested` application can be submitted", body = Problem),
        (status = 422, description = "`validation_failed`: a required part is missing (`required`) or invalid; `brand_not_eligible`: the brand is not a verified brand account; `season_not_accepting`: the season's applications window is not open; `window_outside_season`: the requested window is not inside the season's run window; `window_too_long`: the requested window is over 30 days", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/applications/{id}/submit")]
pub async fn submit(session: Session, id: web::Path<Uuid>, tx: TxStart) -> Result<HttpResponse> {
    step(tx, session, *id, flow::submit).await
}

/// Withdraw (final) from draft, submitted, in_review or changes_requested.
#[utoipa::path(tag = "applications", params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The application, `withdrawn`", body = Application, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: only brand members withdraw", body = Problem),
        (status = 404, description = "`not_found`: no such application, or not one of your brands'", body = Problem),
        (status = 409, description = "`invalid_transition`: not from the current status", body = Problem),
    ),
    security(("bearer" = [])))]
#[post("/applications/{id}/withdraw")]
pub async fn withdraw(session: Session, id: web::Path<Uuid>, tx: TxStart) -> Result<HttpResponse> {
    step(tx, session, *id, flow::withdraw).await
}

/// Appeal a rejection, once: it goes back to the queue, ahead of other work.
#[utoipa::path(tag = "applications", params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The application, `submitted` again with `appeal: true`", body = Application, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: only brand members appeal", body = Problem),
        (status = 404, description = "`not_found`: no such application, or not one of your brands'", body = Problem),
        (status = 409, description = "`invalid_transition`: not `rejected`, or appealed already", body = Problem),
    ),
    security(("bearer" = [])))]
#[post("/applications/{id}/appeal")]
pub async fn appeal(session: Session, id: web::Path<Uuid>, tx: TxStart) -> Result<HttpResponse> {
    step(tx, session, *id, flow::appeal).await
}

/// The application's audit events, oldest first.
#[utoipa::path(tag = "applications",
    params(("id" = Uuid, Path), ("limit" = Option<i64>, Query, minimum = 1, maximum = 200), ("cursor" = Option<String>, Query)),
    responses(
        (status = 200, description = "A page of the application's audit events, oldest first", body = List<AuditEvent>),
        (status = 404, description = "`not_found`: no such application, or not one of your brands'", body = Problem),
    ),
    security(("bearer" = [])))]
#[get("/applications/{id}/events")]
pub async fn events(
    state: web::Data<AppState>,
    session: Session,
    page: PageParams,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let mut conn = state.pool.acquire().await?;
    store::visible(&mut conn, Scope::from(&session.0.actor()), *id, false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    drop(conn);
    let rows: Vec<AuditEvent> =
        store::events(&mut *state.pool.acquire().await?, *id, &page).await?;
    Ok(HttpResponse::Ok().json(List::from_rows(rows, &page, |e| Cursor::new(e.at, e.id))))
}
