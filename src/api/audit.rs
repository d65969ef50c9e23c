//! The audit trail, for admins: every recorded change, filtered, newest first.

use crate::api::page::{List, PageParams};
use crate::auth::Session;
use crate::domain::error::Code;
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent, AuditFilter, EntityType};
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list);
}

/// The query of `GET /v1/audit`. Read as text and parsed by `filter`, so that each bad
/// value is reported with its field, and only once the caller is known to be an admin.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events about this kind of thing.
    #[param(inline, value_type = Option<EntityType>)]
    pub entity_type: Option<String>,
    /// Only events about this thing.
    #[param(value_type = Option<Uuid>)]
    pub entity_id: Option<String>,
    /// Only events by this user.
    #[param(value_type = Option<Uuid>)]
    pub actor_id: Option<String>,
    /// Only events at or after this RFC 3339 time (inclusive).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub since: Option<String>,
    /// Only events before this RFC 3339 time (exclusive); not before `since`.
    #[param(value_type = Option<DateTime<Utc>>)]
    pub until: Option<String>,
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

fn uuid(errs: &mut Vec<FieldError>, field: &str, raw: Option<&str>) -> Option<Uuid> {
    let raw = raw?;
    let id = Uuid::parse_str(raw.trim()).ok();
    if id.is_none() {
        errs.push(FieldError::new(field, Code::InvalidUuid, "Use a UUID."));
    }
    id
}

fn time(errs: &mut Vec<FieldError>, field: &str, raw: Option<&str>) -> Option<DateTime<Utc>> {
    let raw = raw?.trim();
    // An unencoded `+` in a query string arrives as a space.
    let t = DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_rfc3339(&raw.replace(' ', "+")))
        .map(|t| t.with_timezone(&Utc))
        .ok();
    if t.is_none() {
        errs.push(FieldError::new(
            field,
            Code::InvalidDatetime,
            format!(
                "`{field}` is an RFC 3339 time with an offset, e.g. 2027-06-18T20:00:00+08:00."
            ),
        ));
    }
    t
}

/// The filter the query asks for, or every problem with it.
fn filter(q: &AuditQuery) -> std::result::Result<AuditFilter, Vec<FieldError>> {
    let mut errs = Vec::new();
    let entity_type = q.entity_type.as_deref().and_then(|raw| {
        let t = EntityType::parse(raw.trim());
        if t.is_none() {
            let all: Vec<&str> = EntityType::ALL.iter().map(|t| t.as_str()).collect();
            errs.push(FieldError::new(
                "entity_type",
                Code::InvalidEntityType,
                format!("Use one of {}.", all.join(", ")),
            ));
        }
        t
    });
    let f = AuditFilter {
        entity_type,
        entity_id: uuid(&mut errs, "entity_id", q.entity_id.as_deref()),
        actor_id: uuid(&mut errs, "actor_id", q.actor_id.as_deref()),
        since: time(&mut errs, "since", q.since.as_deref()),
        until: time(&mut errs, "until", q.until.as_deref()),
    };
    if let (Some(since), Some(until)) = (f.since, f.until)
        && since > until
    {
        errs.push(FieldError::new(
            "since",
            Code::InvalidRange,
            "`since` must not be after `until`.",
        ));
    }
    if errs.is_empty() { Ok(f) } else { Err(errs) }
}

/// The audit trail, newest first. Admins.
#[utoipa::path(
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events, newest first", body = List<AuditEvent>),
        (status = 401, body = Problem),
        (status = 403, description = "`forbidden`: admins only", body = Problem),
        (status = 422, description = "`validation_failed`, naming each bad parameter (`invalid_entity_type`, `invalid_uuid`, `invalid_datetime`, `invalid_range`, `out_of_range`, `invalid_cursor`)", body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/audit")]
#[tracing::instrument(skip_all)]
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse> {
    session.0.require_admin()?;
    let q = web::Query::<AuditQuery>::from_query(req.query_string()).map_err(|e| {
        ApiError::unprocessable(
            Code::InvalidQuery,
            format!("The query string is invalid: {e}"),
        )
    })?;
    let filter = filter(&q);
    let page = PageParams::parse(req.query_string());
    let (filter, page) = match (filter, page) {
        (Ok(f), Ok(p)) => (f, p),
        (f, p) => {
            let mut errs = f.err().unwrap_or_default();
            if let Err(e) = p {
                errs.extend(e.errors);
            }
            return Err(ApiError::validation(errs));
        }
    };
    let rows = audit::list(&mut *state.pool.acquire().await?, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> AuditQuery {
        let qs = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        web::Query::<AuditQuery>::from_query(&qs)
            .unwrap()
            .into_inner()
    }

    fn fields(r: std::result::Result<AuditFilter, Vec<FieldError>>) -> Vec<(String, String)> {
        r.unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code.as_str().to_owned()))
            .collect()
    }

    #[test]
    fn parses_every_filter() {
        let id = Uuid::new_v4();
        let f = filter(&q(&[
            ("entity_type", "whitelist_entry"),
            ("entity_id", &id.to_string()),
            ("actor_id", &id.to_string()),
            ("since", "2027-06-18T20:00:00+08:00"),
            ("until", "2027-06-18 12:00:00Z"),
        ]))
        .unwrap();
        assert_eq!(f.entity_type, Some(EntityType::WhitelistEntry));
        assert_eq!(f.entity_id, Some(id));
        assert_eq!(f.actor_id, Some(id));
        assert_eq!(f.since, f.until, "same instant, other offset");
        // `+` sent unencoded arrives as a space.
        let f = filter(&q(&[("since", "2027-06-18T20:00:00 08:00")])).unwrap();
        assert_eq!(f.since.unwrap().to_rfc3339(), "2027-06-18T12:00:00+00:00");
        assert!(filter(&q(&[])).unwrap().entity_type.is_none());
    }

    #[test]
    fn names_every_bad_field() {
        let got = fields(filter(&q(&[
            ("entity_type", "audit_event"),
            ("entity_id", "42"),
            ("actor_id", "nobody"),
            ("since", "yesterday"),
            ("until", "2027-06-18"),
        ])));
        let want = [
            ("entity_type", "invalid_entity_type"),
            ("entity_id", "invalid_uuid"),
            ("actor_id", "invalid_uuid"),
            ("since", "invalid_datetime"),
            ("until", "invalid_datetime"),
        ];
        assert_eq!(
            got,
            want.map(|(f, c)| (f.to_owned(), c.to_owned())).to_vec()
        );
        let got = fields(filter(&q(&[
            ("since", "2027-06-18T12:00:01Z"),
            ("until", "2027-06-18T12:00:00Z"),
        ])));
        assert_eq!(got, [("since".to_owned(), "invalid_range".to_owned())]);
    }
}
