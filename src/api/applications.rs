//! Applications and their lifecycle (SPEC §3), the review queue and the reason codes.

use crate::api::json::ApiJson;
use crate::api::page::{Cursor, List, PageParams};
use crate::api::precondition::IfMatch;
use crate::auth::{Session, UserCaller};
use crate::domain::application::{
    self as rules, Action, Budget, Creative, Landing, Parts, Party, Status, Targeting,
    TransitionError, Window,
};
use crate::domain::season::SeasonState;
use crate::domain::user::Role;
use crate::error::{ApiError, FieldError, OnConstraint, Problem, Result};
use crate::state::AppState;
use crate::store::applications::{self as store, Application, Change, Filter, QueueItem, Row};
use crate::store::audit::{self, Actor, AuditEvent, Event};
use crate::store::{Scope, brands, campaigns, seasons, whitelist};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use serde::{Deserialize, Deserializer, Serialize};
use sqlx::{PgConnection, Postgres, Transaction};
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
        .service(claim)
        .service(release)
        .service(decide)
        .service(events)
        .service(reason_codes)
        .service(queue);
}

pub fn etag(version: i32) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}

fn answer(status: actix_web::http::StatusCode, row: Row) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(etag(row.version))
        .json(row.into_api())
}

fn finish(errs: Vec<FieldError>) -> Result<()> {
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errs))
    }
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
    state: web::Data<AppState>,
    session: Session,
    body: ApiJson<CreateBody>,
) -> Result<HttpResponse> {
    let caller = session.0;
    if caller.is_staff() {
        return Err(ApiError::forbidden_because(
            "forbidden",
            "Applications are made by the brand's members.",
        ));
    }
    let b = body.0;
    let parts = Parts {
        creative: b.creative,
        landing: b.landing,
        requested_window: b.requested_window,
        budget: b.budget,
        targeting: b.targeting,
    };
    let mut tx = state.pool.begin().await?;
    let row = create_draft(&mut tx, &caller, b.brand_id, b.season_id, &b.title, &parts).await?;
    tx.commit().await?;
    Ok(answer(actix_web::http::StatusCode::CREATED, row))
}

/// What POST /applications checks and writes, inside the caller's transaction (also used
/// by `crate::demo`): the title and parts, that the caller is a member of the brand and
/// that the season exists; then the draft and its audit event.
pub async fn create_draft(
    conn: &mut PgConnection,
    caller: &UserCaller,
    brand_id: Uuid,
    season_id: Uuid,
    title: &str,
    parts: &Parts,
) -> Result<Row> {
    let mut errs = Vec::new();
    rules::check_title(&mut errs, title);
    parts.check(&mut errs);
    if !brands::is_member(&mut *conn, caller.id, brand_id).await? {
        errs.push(FieldError::new(
            "brand_id",
            "unknown_brand",
            "No brand of yours has this id.",
        ));
    }
    if seasons::share(&mut *conn, season_id).await?.is_none() {
        errs.push(FieldError::new(
            "season_id",
            "unknown_season",
            "No season has this id.",
        ));
    }
    finish(errs)?;
    let row = store::insert(
        &mut *conn,
        brand_id,
        season_id,
        title.trim(),
        parts,
        caller.id,
    )
    .await?;
    audit::record(
        conn,
        Actor::from(caller),
        Event::new("application", row.id, "create").status(None, "draft"),
    )
    .await?;
    Ok(row)
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
    let rows = store::list(&state.pool, Scope::from(&session.0), &f, &page).await?;
    Ok(HttpResponse::Ok().json(rows.map(Row::into_api)))
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
    let row = store::visible(&mut conn, Scope::from(&session.0), *id, false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(answer(actix_web::http::StatusCode::OK, row))
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

fn party(caller: &UserCaller) -> Party {
    if caller.is_staff() {
        Party::Staff
    } else {
        Party::Member
    }
}

/// Locks the application the caller may see and checks that `action` is allowed now.
async fn begin(
    state: &AppState,
    caller: &UserCaller,
    id: Uuid,
    action: Action,
) -> Result<(Transaction<'static, Postgres>, Row, Status)> {
    let mut tx = state.pool.begin().await?;
    let (row, to) = lock_for(&mut tx, caller, id, action).await?;
    Ok((tx, row, to))
}

/// `begin` inside a transaction the caller already holds (also used by `crate::demo`):
/// the locked row and the status `action` leads to.
pub async fn lock_for(
    conn: &mut PgConnection,
    caller: &UserCaller,
    id: Uuid,
    action: Action,
) -> Result<(Row, Status)> {
    let row = store::visible(conn, Scope::from(caller), id, true)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let to = rules::apply(row.status(), action, party(caller)).map_err(|e| match e {
        TransitionError::Forbidden => ApiError::forbidden(),
        TransitionError::Invalid => ApiError::invalid_transition(&row.status, action.as_str()),
    })?;
    Ok((row, to))
}

/// Moves the locked application to `to`, writes the audit event, returns the new row.
pub async fn move_to(
    conn: &mut PgConnection,
    caller: &UserCaller,
    row: &Row,
    action: Action,
    to: Status,
    change: Change,
    note: Option<&str>,
) -> Result<Row> {
    if !store::transition(conn, row.id, row.status(), to, change).await? {
        return Err(ApiError::invalid_transition(&row.status, action.as_str()));
    }
    audit::record(
        conn,
        Actor::from(caller),
        Event::new("application", row.id, action.as_str())
            .status(Some(&row.status), to.as_str())
            .note(note),
    )
    .await?;
    store::get_for_update(conn, row.id)
        .await?
        .ok_or_else(ApiError::not_found)
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
    let caller = session.0;
    let expected = IfMatch::from_request(&req)?;
    let (mut tx, row, _) = begin(&state, &caller, *id, Action::Edit).await?;
    expected.check(row.version)?;
    let b = body.0;
    let mut parts = row.parts();
    if let Some(v) = b.creative {
        parts.creative = v;
    }
    if let Some(v) = b.landing {
        parts.landing = v;
    }
    if let Some(v) = b.requested_window {
        parts.requested_window = v;
    }
    if let Some(v) = b.budget {
        parts.budget = v;
    }
    if let Some(v) = b.targeting {
        parts.targeting = v;
    }
    let mut errs = Vec::new();
    if let Some(t) = &b.title {
        rules::check_title(&mut errs, t);
    }
    parts.check(&mut errs);
    finish(errs)?;
    store::write_parts(&mut tx, row.id, b.title.as_deref().map(str::trim), &parts).await?;
    audit::record(
        &mut tx,
        Actor::from(&caller),
        Event::new("application", row.id, "update"),
    )
    .await?;
    let row = store::get_for_update(&mut tx, row.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    tx.commit().await?;
    Ok(answer(actix_web::http::StatusCode::OK, row))
}

/// Why a brand may not apply, or `None` when it may.
fn ineligibility(kind: &str, verification: &str) -> Option<&'static str> {
    if kind != "brand" {
        Some(
            "Only brand accounts (flagship stores) may run these ads; independent retailers are not eligible.",
        )
    } else if verification != "verified" {
        Some("The brand has not been verified by the platform yet.")
    } else {
        None
    }
}

async fn check_brand(conn: &mut PgConnection, brand_id: Uuid) -> Result<()> {
    let brand = brands::share(conn, brand_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    match ineligibility(&brand.kind, &brand.verification) {
        Some(why) => Err(ApiError::unprocessable("brand_not_eligible", why)),
        None => Ok(()),
    }
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
pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let caller = session.0;
    let (mut tx, row, to) = begin(&state, &caller, *id, Action::Submit).await?;
    let change = submit_change(&mut tx, &row).await?;
    let row = move_to(&mut tx, &caller, &row, Action::Submit, to, change, None).await?;
    tx.commit().await?;
    Ok(answer(actix_web::http::StatusCode::OK, row))
}

/// The checks of submit on the locked application, and what it changes.
pub async fn submit_change(conn: &mut PgConnection, row: &Row) -> Result<Change> {
    let parts = row.parts();
    finish(parts.completeness())?;
    check_brand(conn, row.brand_id).await?;
    let season = seasons::share(conn, row.season_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if season.state != SeasonState::Accepting {
        return Err(ApiError::unprocessable(
            "season_not_accepting",
            "The season is not accepting applications now.",
        ));
    }
    let window = parts.requested_window.ok_or_else(ApiError::not_found)?;
    let (starts, ends) = (season.starts_at, season.ends_at);
    if !window.within(starts, ends) {
        return Err(ApiError::unprocessable(
            "window_outside_season",
            format!(
                "The requested window must lie inside the season's run window ({starts} to {ends})."
            ),
        ));
    }
    if window.too_long() {
        return Err(ApiError::unprocessable(
            "window_too_long",
            "A Moments ad runs at most 30 days.",
        ));
    }
    Ok(Change {
        submitted_now: true,
        reviewer_id: Some(None),
        appeal: Some(false),
        ..Default::default()
    })
}

/// A transition with no rule of its own beyond the lifecycle and `check`.
async fn simple(
    state: &AppState,
    caller: &UserCaller,
    id: Uuid,
    action: Action,
    check: impl FnOnce(&Row) -> Result<Change>,
) -> Result<HttpResponse> {
    let (mut tx, row, to) = begin(state, caller, id, action).await?;
    let change = check(&row)?;
    let row = move_to(&mut tx, caller, &row, action, to, change, None).await?;
    tx.commit().await?;
    Ok(answer(actix_web::http::StatusCode::OK, row))
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
pub async fn withdraw(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    simple(&state, &session.0, *id, Action::Withdraw, |_| {
        Ok(Change::default())
    })
    .await
}

fn four_eyes(row: &Row, caller: &UserCaller) -> Result<()> {
    if row.appeal && row.rejected_by == Some(caller.id) {
        return Err(ApiError::forbidden_because(
            "four_eyes_required",
            "An appeal must be decided by someone other than the reviewer who rejected it.",
        ));
    }
    Ok(())
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
pub async fn appeal(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    simple(&state, &session.0, *id, Action::Appeal, appeal_change).await
}

/// The rule of an appeal (once), and what it changes.
pub fn appeal_change(row: &Row) -> Result<Change> {
    if row.appeal_used {
        return Err(ApiError::conflict(
            "invalid_transition",
            "An application may be appealed once.",
        ));
    }
    Ok(Change {
        submitted_now: true,
        reviewer_id: Some(None),
        appeal: Some(true),
        rejected_by: row.decided_by,
        ..Default::default()
    })
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
pub async fn claim(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let caller = session.0;
    simple(&state, &caller, *id, Action::Claim, |row| {
        claim_change(row, &caller)
    })
    .await
}

/// The rule of a claim (four eyes on an appeal), and what it changes.
pub fn claim_change(row: &Row, caller: &UserCaller) -> Result<Change> {
    four_eyes(row, caller)?;
    Ok(Change {
        reviewer_id: Some(Some(caller.id)),
        ..Default::default()
    })
}

fn claimer_or_admin(row: &Row, caller: &UserCaller) -> Result<()> {
    if row.reviewer_id == Some(caller.id) || caller.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden_because(
            "forbidden",
            "Only the reviewer who claimed this application (or an admin) may do this.",
        ))
    }
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
pub async fn release(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let caller = session.0;
    simple(&state, &caller, *id, Action::Release, |row| {
        claimer_or_admin(row, &caller)?;
        Ok(Change {
            reviewer_id: Some(None),
            ..Default::default()
        })
    })
    .await
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Reject,
    RequestChanges,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub decision: DecisionKind,
    /// Required for reject and request_changes, absent for approve: a code from
    /// GET /v1/reason-codes.
    #[schema(schema_with = crate::openapi::optional_reason_code)]
    pub reason_code: Option<String>,
    /// Required for reject and request_changes (at most 2000 characters after trimming);
    /// optional for approve.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// What an approval made, in one transaction.
#[derive(Serialize, ToSchema)]
pub struct Approval {
    pub application: Application,
    pub whitelist_entry: whitelist::WhitelistEntry,
    pub campaign: campaigns::Campaign,
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
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
    body: ApiJson<DecisionBody>,
) -> Result<HttpResponse> {
    let caller = session.0;
    let b = body.0;
    let action = match b.decision {
        DecisionKind::Approve => Action::Approve,
        DecisionKind::Reject => Action::Reject,
        DecisionKind::RequestChanges => Action::RequestChanges,
    };
    let note = b.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let mut errs = Vec::new();
    if action != Action::Approve {
        match b.reason_code.as_deref() {
            Some(c) if rules::is_reason_code(c) => {}
            Some(_) => errs.push(FieldError::new(
                "reason_code",
                "invalid_reason_code",
                "Use a code from GET /v1/reason-codes.",
            )),
            None => errs.push(FieldError::new(
                "reason_code",
                "required",
                "A reason code is required.",
            )),
        }
        if note.is_none() {
            errs.push(FieldError::new(
                "note",
                "required",
                "Explain the decision to the brand.",
            ));
        }
    } else if b.reason_code.is_some() {
        errs.push(FieldError::new(
            "reason_code",
            "not_allowed",
            "An approval has no reason code.",
        ));
    }
    if note.is_some_and(|n| n.chars().count() > 2000) {
        errs.push(FieldError::new(
            "note",
            "invalid_length",
            "At most 2000 characters.",
        ));
    }
    finish(errs)?;

    let (mut tx, row, to) = begin(&state, &caller, *id, action).await?;
    let change = decision_change(&row, &caller, action, b.reason_code.clone(), note)?;
    if action != Action::Approve {
        let row = move_to(&mut tx, &caller, &row, action, to, change, note).await?;
        tx.commit().await?;
        return Ok(answer(actix_web::http::StatusCode::OK, row));
    }
    let approval = approve(&mut tx, &caller, &row, to, change, note).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(approval))
}

/// Who may decide the locked application, and what the decision changes. The body's
/// reason code and note are checked by the caller beforehand.
pub fn decision_change(
    row: &Row,
    caller: &UserCaller,
    action: Action,
    reason_code: Option<String>,
    note: Option<&str>,
) -> Result<Change> {
    claimer_or_admin(row, caller)?;
    four_eyes(row, caller)?;
    Ok(Change {
        decision: Some((
            action.as_str().to_owned(),
            reason_code,
            note.map(str::to_owned),
            caller.id,
        )),
        ..Default::default()
    })
}

/// The approval, inside the caller's transaction: re-checks the brand, creates the
/// brand's whitelist entry for the season (or reuses the open one; a suspended one
/// blocks), creates the campaign, moves the application to `to`.
pub async fn approve(
    conn: &mut PgConnection,
    caller: &UserCaller,
    row: &Row,
    to: Status,
    change: Change,
    note: Option<&str>,
) -> Result<Approval> {
    let action = Action::Approve;
    check_brand(&mut *conn, row.brand_id).await?;
    let season = seasons::share(&mut *conn, row.season_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let window = row
        .parts()
        .requested_window
        .ok_or_else(ApiError::not_found)?;
    let actor = Actor::from(caller);
    let entry = match whitelist::open_for_update(&mut *conn, row.brand_id, row.season_id).await? {
        Some(e) if e.status == crate::domain::whitelist::WhitelistStatus::Suspended => {
            return Err(ApiError::conflict(
                "whitelist_suspended",
                "The brand's whitelist entry for this season is suspended; reinstate it first.",
            ));
        }
        Some(e) => e,
        None => {
            let e = whitelist::insert(
                &mut *conn,
                row.brand_id,
                row.season_id,
                season.starts_at,
                season.ends_at,
                row.id,
                caller.id,
            )
            .await
            .on_constraint("whitelist_one_open_per_brand_season", || {
                ApiError::conflict(
                    "whitelist_conflict",
                    "The whitelist changed meanwhile; retry.",
                )
            })?;
            audit::record(
                &mut *conn,
                actor,
                Event::new("whitelist_entry", e.id, "create").status(None, "active"),
            )
            .await?;
            e
        }
    };
    let campaign = campaigns::insert(
        &mut *conn,
        row.id,
        row.brand_id,
        row.season_id,
        &row.title,
        window.starts_at,
        window.ends_at,
    )
    .await
    .on_constraint("campaigns_one_per_application", || {
        ApiError::invalid_transition("approved", "approve")
    })?;
    audit::record(
        &mut *conn,
        actor,
        Event::new("campaign", campaign.id, "create").status(None, "scheduled"),
    )
    .await?;
    let row = move_to(&mut *conn, caller, row, action, to, change, note).await?;
    Ok(Approval {
        application: row.into_api(),
        whitelist_entry: entry,
        campaign,
    })
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
    store::visible(&mut conn, Scope::from(&session.0), *id, false)
        .await?
        .ok_or_else(ApiError::not_found)?;
    drop(conn);
    let rows = store::events(&state.pool, *id, &page).await?;
    Ok(HttpResponse::Ok().json(List::from_rows(rows, &page, |e| Cursor::new(e.at, e.id))))
}

/// A reason for rejecting an application or asking for changes.
#[derive(Serialize, ToSchema)]
pub struct ReasonCode {
    #[schema(schema_with = crate::openapi::reason_code)]
    pub code: &'static str,
    /// What the reason means.
    pub title: &'static str,
    /// How the brand can fix it.
    pub remediation: &'static str,
}

/// What each rejection reason means and how to fix it.
#[utoipa::path(tag = "review",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 200), ("cursor" = Option<String>, Query)),
    responses((status = 200, description = "The reason codes, in a fixed order", body = List<ReasonCode>)),
    security(("bearer" = [])))]
#[get("/reason-codes")]
pub async fn reason_codes(_session: Session, page: PageParams) -> Result<HttpResponse> {
    let codes = List::from_slice(&rules::REASON_CODES, &page, |(code, title, remediation)| {
        ReasonCode {
            code,
            title,
            remediation,
        }
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
    let rows = store::queue(&state.pool, q.season_id, &page).await?;
    let now = chrono::Utc::now();
    let rows_page = List::from_rows(rows, &page, |r| Cursor {
        k: Some(r.appeal),
        ..Cursor::new(r.submitted_at.unwrap_or(r.created_at), r.id)
    });
    Ok(HttpResponse::Ok().json(List {
        items: rows_page
            .items
            .into_iter()
            .map(|r| {
                let waited = r.submitted_at.map_or(0, |s| (now - s).num_seconds().max(0));
                QueueItem {
                    application: r.into_api(),
                    waiting_seconds: waited,
                }
            })
            .collect(),
        next_cursor: rows_page.next_cursor,
    }))
}
