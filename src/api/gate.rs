//! The gate for the ad-serving side: may this campaign serve at time T? Answered from the
//! in-memory cache (see `crate::gate`), never with a query per check.

use crate::api::json::{Strict, StrictJson};
use crate::auth::Caller;
use crate::domain::error::{Code, Errors, Rejection};
use crate::domain::time;
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::gate::Verdict;
use crate::gate::decision::Reason;
use crate::state::AppState;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub const MAX_BATCH: usize = 1000;
/// On every gate answer: how old, in whole milliseconds, the state behind it is (the time
/// since the instance last confirmed it current through its change feed).
pub const AGE_HEADER: &str = "gate-state-age-ms";

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(check).service(batch);
}

/// Services (API keys) and staff may ask the gate; marketers may not.
fn authorize(caller: &Caller) -> Result<()> {
    match caller {
        Caller::Service { .. } => Ok(()),
        Caller::User(u) => u.require_staff(),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// RFC 3339 time to check at; now when absent.
    #[param(value_type = Option<DateTime<Utc>>)]
    pub at: Option<String>,
}

fn parse_at(raw: Option<&str>) -> Result<DateTime<Utc>> {
    let Some(raw) = raw else {
        return Ok(Utc::now());
    };
    // An unencoded `+` in a query string arrives as a space.
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_rfc3339(&raw.replace(' ', "+")))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::validation(vec![FieldError::new(
                "at",
                Code::InvalidDatetime,
                "`at` is an RFC 3339 time with an offset, e.g. 2027-06-18T20:00:00+08:00.",
            )])
        })
        .and_then(|t| Ok(time::check("at", t).map_err(Rejection::from)?))
}

/// May this campaign serve at `at`? One reason, by the precedence documented on `Reason`:
/// whitelist_revoked, whitelist_suspended, not_whitelisted, brand_unverified, paused,
/// not_started, ended, outside_whitelist_window, ok.
#[utoipa::path(
    tag = "gate",
    params(("id" = Uuid, Path), CheckQuery),
    responses(
        (status = 200, description = "The verdict", body = Verdict, headers(
            ("Gate-State-Age-Ms" = u64, description = "How old the state behind this answer is, in milliseconds: the time since this instance last confirmed it current")
        )),
        (status = 403, description = "`forbidden`: marketers may not ask the gate", body = Problem),
        (status = 404, description = "`not_found`: no such campaign", body = Problem),
        (status = 422, description = "`validation_failed` (`at`: `invalid_datetime`)", body = Problem),
        (status = 503, description = "`gate_state_stale`: this instance cannot confirm its state is current within `GATE_MAX_STALENESS_MS` (retry, or ask another instance)", body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/gate/campaigns/{id}")]
pub async fn check(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    q: web::Query<CheckQuery>,
) -> Result<HttpResponse> {
    authorize(&caller)?;
    let at = parse_at(q.at.as_deref())?;
    let (verdict, age) = state.gate.check(&state.pool, id.into_inner(), at).await?;
    state.metrics.count_reason(verdict.reason);
    if verdict.reason == Reason::NotFound {
        return Err(ApiError::not_found());
    }
    Ok(HttpResponse::Ok()
        .insert_header((AGE_HEADER, age.as_millis().to_string()))
        .json(verdict))
}

#[derive(Debug, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchCheck {
    /// An unknown campaign is answered with reason `not_found`, not an error.
    pub campaign_id: Uuid,
    /// Now when absent.
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// 1 to 1000 checks.
    #[schema(min_items = 1, max_items = 1000)]
    pub checks: Vec<BatchCheck>,
}

/// Only UUIDs and times, no numbers, three levels deep: read in one pass (a property test
/// holds it to what the screening parse gives).
impl Strict for BatchBody {}

#[derive(Serialize, ToSchema)]
pub struct BatchAnswer {
    /// One per check, in the order asked; an unknown campaign has reason `not_found`.
    pub results: Vec<Verdict>,
}

/// Many checks at once (1 to 1000), answered in order.
#[utoipa::path(
    tag = "gate",
    request_body = BatchBody,
    responses(
        (status = 200, description = "One verdict per check, in order", body = BatchAnswer, headers(
            ("Gate-State-Age-Ms" = u64, description = "How old the state behind these answers is, in milliseconds: the time since this instance last confirmed it current")
        )),
        (status = 403, description = "`forbidden`: marketers may not ask the gate", body = Problem),
        (status = 422, description = "`validation_failed` (`checks`: `invalid_length` outside 1 to 1000)", body = Problem),
        (status = 503, description = "`gate_state_stale`: this instance cannot confirm its state is current within `GATE_MAX_STALENESS_MS` (retry, or ask another instance)", body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/gate/batch")]
pub async fn batch(
    state: web::Data<AppState>,
    caller: Caller,
    body: StrictJson<BatchBody>,
) -> Result<HttpResponse> {
    authorize(&caller)?;
    let checks = body.0.checks;
    if checks.is_empty() || checks.len() > MAX_BATCH {
        return Err(ApiError::validation(vec![FieldError::new(
            "checks",
            Code::InvalidLength,
            "A batch has 1 to 1000 checks.",
        )]));
    }
    let mut errs = Errors::new();
    // The field's name is made only for a time out of range, not for each of 1,000 checks.
    for (i, c) in checks.iter().enumerate() {
        if let Some(at) = c.at.filter(|at| !time::is_sane(*at)) {
            errs.take(time::check(&format!("checks[{i}].at"), at));
        }
    }
    errs.finish(())?;
    let now = Utc::now();
    let checks: Vec<(Uuid, DateTime<Utc>)> = checks
        .into_iter()
        .map(|c| (c.campaign_id, c.at.unwrap_or(now)))
        .collect();
    let (results, age) = state.gate.check_many(&state.pool, &checks).await?;
    state
        .metrics
        .count_reasons(results.iter().map(|v| v.reason));
    Ok(HttpResponse::Ok()
        .insert_header((AGE_HEADER, age.as_millis().to_string()))
        .content_type("application/json")
        .body(answer_json(&results)))
}

/// The batch's answer, `BatchAnswer { results }` as JSON, byte for byte what serde writes
/// (a property test holds it to that), written straight into one buffer: through serde
/// the escaping of every id and the formatting of every time were a fifth of a batch's
/// cost. A time is formatted once for a run of checks at the same time (a batch without
/// `at` is all one time).
pub fn answer_json(results: &[Verdict]) -> Vec<u8> {
    fn id(out: &mut Vec<u8>, id: Option<Uuid>) {
        match id {
            Some(id) => {
                out.push(b'"');
                let mut buf = Uuid::encode_buffer();
                out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
    }
    // About 190 bytes a verdict with its ids.
    let mut out = Vec::with_capacity(16 + results.len() * 192);
    let mut at_text: Option<(DateTime<Utc>, String)> = None;
    out.extend_from_slice(b"{\"results\":[");
    for (i, v) in results.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"campaign_id\":");
        id(&mut out, Some(v.campaign_id));
        out.extend_from_slice(b",\"brand_id\":");
        id(&mut out, v.brand_id);
        out.extend_from_slice(b",\"season_id\":");
        id(&mut out, v.season_id);
        out.extend_from_slice(b",\"at\":\"");
        let text = match at_text.take() {
            Some((at, text)) if at == v.at => text,
            _ => v.at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        };
        out.extend_from_slice(text.as_bytes());
        at_text = Some((v.at, text));
        out.extend_from_slice(b"\",\"eligible\":");
        out.extend_from_slice(if v.eligible { b"true" } else { b"false" });
        out.extend_from_slice(b",\"reason\":\"");
        out.extend_from_slice(v.reason.as_str().as_bytes());
        out.extend_from_slice(b"\"}");
    }
    out.extend_from_slice(b"]}");
    out
}
