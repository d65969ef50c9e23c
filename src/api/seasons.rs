//! Promotional seasons: admins create and change them; everyone signed in reads them.

use crate::api::json::ApiJson;
use crate::api::page::{List, PageParams};
use crate::api::precondition::if_match;
use crate::api::tx::TxStart;
use crate::auth::Session;
use crate::domain::season::{DEFAULT_TIMEZONE, Phase, SeasonSpec, SeasonState, valid_code};
use crate::error::{ApiError, Problem, Result};
use crate::flow::seasons as flow;
use crate::state::AppState;
use crate::store::seasons::{self, Season};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(get_one)
        .service(update);
}

fn with_etag(mut res: actix_web::HttpResponseBuilder, s: &Season) -> HttpResponse {
    res.insert_header((header::ETAG, s.etag())).json(s)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSeasonBody {
    /// `[a-z0-9-]{2,40}`, unique, e.g. `618-2027`.
    #[schema(
        min_length = 2,
        max_length = 40,
        pattern = "^[a-z0-9-]{2,40}$",
        example = "618-2027"
    )]
    pub code: String,
    /// 1 to 200 characters after trimming, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "618 Shopping Festival 2027"
    )]
    pub name: String,
    /// An IANA time zone name; default `Asia/Shanghai`.
    #[schema(example = "Asia/Shanghai")]
    pub timezone: Option<String>,
    /// Before `applications_close_at`.
    pub applications_open_at: DateTime<Utc>,
    /// After `applications_open_at`, no later than `ends_at`.
    pub applications_close_at: DateTime<Utc>,
    /// Before `ends_at`.
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Inside `[starts_at, ends_at]`, in order of their start, not overlapping.
    #[serde(default)]
    pub phases: Vec<Phase>,
}

/// Create a season.
#[utoipa::path(
    tag = "seasons",
    request_body = CreateSeasonBody,
    responses(
        (status = 201, description = "The season", body = Season, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: only admins create seasons", body = Problem),
        (status = 409, description = "`season_code_taken`: another season has this code", body = Problem),
        (status = 422, description = "`validation_failed` (`invalid_code`, `invalid_name`, `invalid_timezone`, `out_of_order`, `after_season_end`, `outside_season`, `overlaps`)", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/seasons")]
pub async fn create(
    session: Session,
    body: ApiJson<CreateSeasonBody>,
    tx: TxStart,
) -> Result<HttpResponse> {
    let b = body.0;
    let spec = SeasonSpec {
        code: b.code,
        name: b.name,
        timezone: b.timezone.unwrap_or_else(|| DEFAULT_TIMEZONE.to_owned()),
        applications_open_at: b.applications_open_at,
        applications_close_at: b.applications_close_at,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        phases: b.phases,
    };
    let mut tx = tx.begin().await?;
    let season = flow::create(&mut tx, &session.0.actor(), spec).await?;
    tx.commit().await?;
    Ok(with_etag(HttpResponse::Created(), &season))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeasonQuery {
    /// Derived from the clock now.
    pub state: Option<SeasonState>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List seasons, newest first.
#[utoipa::path(
    tag = "seasons",
    params(SeasonQuery),
    responses((status = 200, description = "A page of seasons", body = List<Season>), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/seasons")]
pub async fn list(
    state: web::Data<AppState>,
    _session: Session,
    page: PageParams,
    q: web::Query<SeasonQuery>,
) -> Result<HttpResponse> {
    let mut conn = state.pool.acquire().await?;
    let rows = seasons::list(&mut conn, q.state, &page).await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// One season, by id or by code.
#[utoipa::path(
    tag = "seasons",
    params(("id" = String, Path, description = "The season's id (a UUID) or its code (e.g. `618-2027`)")),
    responses(
        (status = 200, description = "The season", body = Season, headers(("ETag" = String))),
        (status = 404, description = "`not_found`: no season has this id or code", body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/seasons/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    _session: Session,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let key = id.into_inner();
    // Neither an id nor a code can name no season, whatever it holds (a NUL, which the
    // database would refuse, included).
    let id = key.parse::<Uuid>().ok();
    if id.is_none() && !valid_code(&key) {
        return Err(ApiError::not_found());
    }
    let mut conn = state.pool.acquire().await?;
    let season = match id {
        Some(id) => seasons::get(&mut conn, id).await?,
        None => seasons::by_code(&mut conn, &key).await?,
    }
    .ok_or_else(ApiError::not_found)?;
    Ok(with_etag(HttpResponse::Ok(), &season))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSeasonBody {
    /// `[a-z0-9-]{2,40}`, unique.
    #[schema(min_length = 2, max_length = 40, pattern = "^[a-z0-9-]{2,40}$")]
    pub code: Option<String>,
    /// 1 to 200 characters after trimming, no control characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// An IANA time zone name.
    pub timezone: Option<String>,
    pub applications_open_at: Option<DateTime<Utc>>,
    pub applications_close_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Replaces the phases whole.
    pub phases: Option<Vec<Phase>>,
}

impl UpdateSeasonBody {
    fn merge(self, mut s: SeasonSpec) -> (SeasonSpec, Vec<&'static str>) {
        let mut changed = Vec::new();
        macro_rules! set {
            ($($f:ident),*) => {$(
                if let Some(v) = self.$f {
                    if v != s.$f {
                        changed.push(stringify!($f));
                    }
                    s.$f = v;
                }
            )*};
        }
        set!(
            code,
            name,
            timezone,
            applications_open_at,
            applications_close_at,
            starts_at,
            ends_at,
            phases
        );
        (s, changed)
    }
}

/// Change a season. Send `If-Match` with the ETag you read.
#[utoipa::path(
    tag = "seasons",
    params(
        ("id" = Uuid, Path),
        ("If-Match" = String, Header, description = "The `ETag` you last read (`\"3\"`, `W/\"3\"` or `3`; a list matches when any of its tags does), or `*` for whatever version is current"),
    ),
    request_body = UpdateSeasonBody,
    responses(
        (status = 200, description = "The changed season", body = Season, headers(("ETag" = String))),
        (status = 403, description = "`forbidden`: only admins change seasons", body = Problem),
        (status = 404, description = "`not_found`: no such season", body = Problem),
        (status = 409, description = "`season_in_use`: a campaign or whitelist entry of the season would lie outside its run window; `season_code_taken`: another season has this code", body = Problem),
        (status = 412, description = "`precondition_failed`: the season changed since you read it", body = Problem),
        (status = 422, description = "`validation_failed`: the season as changed breaks a rule (the codes of POST /v1/seasons)", body = Problem),
        (status = 428, description = "`precondition_required`: send `If-Match`", body = Problem),
    ),
    security(("bearer" = []))
)]
#[patch("/seasons/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: ApiJson<UpdateSeasonBody>,
) -> Result<HttpResponse> {
    let actor = session.0.actor();
    actor.require_admin()?;
    let expected = if_match(&req)?;
    let body = body.0;
    let mut tx = state.pool.begin().await?;
    let season = flow::update(&mut tx, &actor, *id, &expected, |s| body.merge(s)).await?;
    tx.commit().await?;
    Ok(with_etag(HttpResponse::Ok(), &season))
}
