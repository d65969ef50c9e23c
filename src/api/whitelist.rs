//! The whitelist: which brands may run in which season. Reviewers suspend, reinstate and
//! revoke entries; brand members read their own; everyone allowed may export CSV.

use crate::api::json::ApiJson;
use crate::api::page::{Cursor, List, PageParams, cut_page};
use crate::api::tx::TxStart;
use crate::auth::Session;
use crate::db::Db;
use crate::domain::whitelist::{WhitelistAction, WhitelistStatus};
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;
use crate::store::Scope;
use crate::store::whitelist::{self, ExportRow, WhitelistEntry, WhitelistFilter};
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::{StreamExt, stream};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(one)
        .service(suspend)
        .service(reinstate)
        .service(revoke);
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WhitelistQuery {
    pub season_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    pub status: Option<WhitelistStatus>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List whitelist entries, newest grant first. With `Accept: text/csv` every matching
/// entry (not paged) as CSV.
#[utoipa::path(
    tag = "whitelist",
    params(WhitelistQuery),
    responses(
        (status = 200, description = "A page of entries; with `Accept: text/csv`, every matching entry (not paged) as RFC 4180 CSV with a header row: id, brand_id, brand_name, season_id, season_code, status, valid_from, valid_until, source_application_id, granted_by, granted_at, status_reason", content(
            (List<WhitelistEntry> = "application/json"),
            (String = "text/csv"),
        )),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/whitelist")]
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    page: PageParams,
    q: web::Query<WhitelistQuery>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let scope = Scope::from(&session.0.actor());
    let q = q.into_inner();
    let filter = WhitelistFilter {
        season_id: q.season_id,
        brand_id: q.brand_id,
        status: q.status,
    };
    if wants_csv(&req) {
        return export(state.pool.clone(), filter, scope).await;
    }
    let rows = whitelist::list(&mut *state.pool.acquire().await?, &filter, scope, &page).await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// One whitelist entry.
#[utoipa::path(
    tag = "whitelist",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The entry", body = WhitelistEntry),
        (status = 404, description = "`not_found`: no such entry, or not one of your brands'", body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/whitelist/{id}")]
pub async fn one(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let mut conn = state.pool.acquire().await?;
    let entry = whitelist::by_id(
        &mut conn,
        id.into_inner(),
        Scope::from(&session.0.actor()),
        false,
    )
    .await?
    .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(entry))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why: 1 to 1000 characters after trimming.
    #[schema(
        min_length = 1,
        max_length = 1000,
        example = "Counterfeit goods reported by Tmall."
    )]
    pub reason: String,
}

/// Suspend an active entry: the brand's campaigns for the season halt.
#[utoipa::path(
    tag = "whitelist",
    params(("id" = Uuid, Path)),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The entry, `suspended`", body = WhitelistEntry),
        (status = 403, description = "`forbidden`: only reviewers and admins change the whitelist", body = Problem),
        (status = 404, description = "`not_found`: no such entry, or not one of your brands'", body = Problem),
        (status = 409, description = "`invalid_transition`: only an `active` entry can be suspended", body = Problem),
        (status = 422, description = "`validation_failed` (`invalid_reason`)", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/whitelist/{id}/suspend")]
pub async fn suspend(
    session: Session,
    id: web::Path<Uuid>,
    body: ApiJson<ReasonBody>,
    tx: TxStart,
) -> Result<HttpResponse> {
    change(tx, session, id, body, WhitelistAction::Suspend).await
}

/// Reinstate a suspended entry.
#[utoipa::path(
    tag = "whitelist",
    params(("id" = Uuid, Path)),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The entry, `active` again", body = WhitelistEntry),
        (status = 403, description = "`forbidden`: only reviewers and admins change the whitelist", body = Problem),
        (status = 404, description = "`not_found`: no such entry, or not one of your brands'", body = Problem),
        (status = 409, description = "`invalid_transition`: only a `suspended` entry can be reinstated; `whitelist_conflict`: the brand has another open entry for the season", body = Problem),
        (status = 422, description = "`validation_failed` (`invalid_reason`)", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/whitelist/{id}/reinstate")]
pub async fn reinstate(
    session: Session,
    id: web::Path<Uuid>,
    body: ApiJson<ReasonBody>,
    tx: TxStart,
) -> Result<HttpResponse> {
    change(tx, session, id, body, WhitelistAction::Reinstate).await
}

/// Revoke an entry, for good.
#[utoipa::path(
    tag = "whitelist",
    params(("id" = Uuid, Path)),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The entry, `revoked` (final)", body = WhitelistEntry),
        (status = 403, description = "`forbidden`: only reviewers and admins change the whitelist", body = Problem),
        (status = 404, description = "`not_found`: no such entry, or not one of your brands'", body = Problem),
        (status = 409, description = "`invalid_transition`: the entry is revoked already", body = Problem),
        (status = 422, description = "`validation_failed` (`invalid_reason`)", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/whitelist/{id}/revoke")]
pub async fn revoke(
    session: Session,
    id: web::Path<Uuid>,
    body: ApiJson<ReasonBody>,
    tx: TxStart,
) -> Result<HttpResponse> {
    change(tx, session, id, body, WhitelistAction::Revoke).await
}

/// The body of suspend, reinstate and revoke.
async fn change(
    tx: TxStart,
    session: Session,
    id: web::Path<Uuid>,
    body: ApiJson<ReasonBody>,
    action: WhitelistAction,
) -> Result<HttpResponse> {
    let mut tx = tx.begin().await?;
    let updated = crate::flow::whitelist::change_status(
        &mut tx,
        &session.0.actor(),
        id.into_inner(),
        action,
        &body.0.reason,
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(updated))
}

// ---- CSV export ----

const CSV_HEADER: &str = "id,brand_id,brand_name,season_id,season_code,status,valid_from,\
     valid_until,source_application_id,granted_by,granted_at,status_reason\r\n";

/// Rows fetched per round trip while streaming the export.
const CSV_CHUNK: i64 = 1000;

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            range
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("text/csv")
        })
}

/// Streams every matching entry in chunks, so the export's size is not bounded by memory.
/// The first chunk is read before answering, so a failing query still gets a problem.
async fn export(pool: Db, filter: WhitelistFilter, scope: Scope) -> Result<HttpResponse> {
    let (rows, next) = chunk(&pool, &filter, scope, None).await?;
    let mut first = String::from(CSV_HEADER);
    write_rows(&mut first, &rows);
    let rest = stream::unfold(next.map(|c| (pool, filter, c)), move |st| async move {
        let (pool, filter, after) = st?;
        match chunk(&pool, &filter, scope, Some(after)).await {
            Ok((rows, next)) => {
                let mut out = String::new();
                write_rows(&mut out, &rows);
                Some((Ok(Bytes::from(out)), next.map(|c| (pool, filter, c))))
            }
            Err(e) => {
                tracing::error!(error = %e, "whitelist export failed mid-stream");
                Some((Err(e), None))
            }
        }
    });
    let body = stream::once(async move { Ok(Bytes::from(first)) }).chain(rest);
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .streaming(body))
}

async fn chunk(
    pool: &Db,
    filter: &WhitelistFilter,
    scope: Scope,
    after: Option<Cursor>,
) -> sqlx::Result<(Vec<ExportRow>, Option<Cursor>)> {
    let page = PageParams {
        limit: CSV_CHUNK,
        after,
    };
    let mut rows =
        whitelist::export_chunk(&mut *pool.acquire().await?, filter, scope, &page).await?;
    let next = cut_page(&mut rows, &page, |r| {
        Cursor::new(r.entry.granted_at, r.entry.id)
    });
    Ok((rows, next))
}

fn write_rows(out: &mut String, rows: &[ExportRow]) {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    for r in rows {
        let e = &r.entry;
        let cells = [
            e.id.to_string(),
            e.brand_id.to_string(),
            r.brand_name.clone(),
            e.season_id.to_string(),
            r.season_code.clone(),
            e.status.as_str().to_owned(),
            time(e.valid_from),
            time(e.valid_until),
            e.source_application_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            e.granted_by.to_string(),
            time(e.granted_at),
            e.status_reason.clone().unwrap_or_default(),
        ];
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_cell(out, c);
        }
        out.push_str("\r\n");
    }
}

/// One RFC 4180 field. A value a spreadsheet would run as a formula (starting with
/// `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'` so that it is shown as text.
fn push_cell(out: &mut String, value: &str) {
    let guarded;
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{value}");
        guarded.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

#[cfg(test)]
mod tests {
    use super::push_cell;

    fn cell(s: &str) -> String {
        let mut out = String::new();
        push_cell(&mut out, s);
        out
    }

    #[test]
    fn csv_cells() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell(""), "");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=1+1"), "'=1+1");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("=A1,B1"), "\"'=A1,B1\"");
    }
}
