//! Applications: reads filtered by the caller's brands, and guarded writes.

use super::{Scope, fetch_page};
pub use crate::domain::application::Application;
use crate::domain::application::{
    Budget, Creative, DecisionKind, DecisionRecord, Effect, Landing, Parts, ReasonCode, Status,
    Step, Targeting, Title, ValidParts, Window,
};
use crate::domain::page::{Cursor, List, PageParams};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};
use utoipa::ToSchema;
use uuid::Uuid;

/// A row as stored; [`Application`] is what the rest of the crate sees.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub season_id: Uuid,
    pub title: String,
    pub creative: Option<Json<Creative>>,
    pub landing: Option<Json<Landing>>,
    pub requested_starts_at: Option<DateTime<Utc>>,
    pub requested_ends_at: Option<DateTime<Utc>>,
    pub budget_total_fen: Option<i64>,
    pub budget_daily_cap_fen: Option<i64>,
    pub budget_cpm_bid_fen: Option<i64>,
    pub targeting: Option<Json<Targeting>>,
    pub status: Status,
    pub version: i32,
    pub appeal: bool,
    pub appeal_used: bool,
    pub rejected_by: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub reviewer_id: Option<Uuid>,
    pub decision: Option<DecisionKind>,
    pub decision_reason_code: Option<ReasonCode>,
    pub decision_note: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
}

pub const COLUMNS: &str = "a.id, a.brand_id, a.season_id, a.title, a.creative, a.landing, \
    a.requested_starts_at, a.requested_ends_at, a.budget_total_fen, a.budget_daily_cap_fen, \
    a.budget_cpm_bid_fen, a.targeting, a.status, a.version, a.appeal, a.appeal_used, a.rejected_by, \
    a.created_by, a.created_at, a.updated_at, a.submitted_at, a.reviewer_id, a.decision, \
    a.decision_reason_code, a.decision_note, a.decided_by, a.decided_at";

impl Row {
    fn parts(&self) -> Parts {
        Parts {
            creative: self.creative.clone().map(|j| j.0),
            landing: self.landing.clone().map(|j| j.0),
            requested_window: match (self.requested_starts_at, self.requested_ends_at) {
                (Some(starts_at), Some(ends_at)) => Some(Window { starts_at, ends_at }),
                _ => None,
            },
            budget: match (self.budget_total_fen, self.budget_cpm_bid_fen) {
                (Some(total_fen), Some(cpm_bid_fen)) => Some(Budget {
                    total_fen,
                    daily_cap_fen: self.budget_daily_cap_fen,
                    cpm_bid_fen,
                }),
                _ => None,
            },
            targeting: self.targeting.clone().map(|j| j.0),
        }
    }

    fn into_domain(self) -> Application {
        let parts = self.parts();
        let decision = match (self.decision, self.decided_by, self.decided_at) {
            (Some(decision), Some(decided_by), Some(decided_at)) => Some(DecisionRecord {
                decision,
                reason_code: self.decision_reason_code,
                note: self.decision_note,
                decided_by,
                decided_at,
            }),
            _ => None,
        };
        Application {
            id: self.id,
            brand_id: self.brand_id,
            season_id: self.season_id,
            title: self.title,
            creative: parts.creative,
            landing: parts.landing,
            requested_window: parts.requested_window,
            budget: parts.budget,
            targeting: parts.targeting,
            status: self.status,
            version: self.version,
            appeal: self.appeal,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
            submitted_at: self.submitted_at,
            reviewer_id: self.reviewer_id,
            decision,
            appeal_used: self.appeal_used,
            rejected_by: self.rejected_by,
        }
    }
}

/// Creates a draft.
pub async fn insert(
    conn: &mut PgConnection,
    brand_id: Uuid,
    season_id: Uuid,
    title: &Title,
    p: &ValidParts,
    created_by: Uuid,
) -> sqlx::Result<Application> {
    let id = Uuid::new_v4();
    let q = sqlx::query(
        "INSERT INTO applications (id, brand_id, season_id, title, created_by, creative, landing, \
         requested_starts_at, requested_ends_at, budget_total_fen, budget_daily_cap_fen, \
         budget_cpm_bid_fen, targeting) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id)
    .bind(brand_id)
    .bind(season_id)
    .bind(title.as_str())
    .bind(created_by);
    bind_parts(q, p.get()).execute(&mut *conn).await?;
    get_for_update(conn, id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// Writes title and parts (all of them: absent ones are cleared) and bumps the version.
pub async fn write_parts(
    conn: &mut PgConnection,
    id: Uuid,
    title: Option<&Title>,
    p: &ValidParts,
) -> sqlx::Result<()> {
    let q = sqlx::query(
        "UPDATE applications SET title = COALESCE($2, title), creative = $3, landing = $4, \
         requested_starts_at = $5, requested_ends_at = $6, budget_total_fen = $7, \
         budget_daily_cap_fen = $8, budget_cpm_bid_fen = $9, targeting = $10, \
         version = version + 1, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(title.map(Title::as_str));
    bind_parts(q, p.get()).execute(conn).await?;
    Ok(())
}

/// Binds the parts as the next eight parameters, in the order insert and write_parts
/// name the columns: creative, landing, requested_starts_at, requested_ends_at,
/// budget_total_fen, budget_daily_cap_fen, budget_cpm_bid_fen, targeting.
fn bind_parts<'q>(
    q: Query<'q, Postgres, PgArguments>,
    p: &Parts,
) -> Query<'q, Postgres, PgArguments> {
    q.bind(p.creative.clone().map(Json))
        .bind(p.landing.clone().map(Json))
        .bind(p.requested_window.map(|w| w.starts_at))
        .bind(p.requested_window.map(|w| w.ends_at))
        .bind(p.budget.map(|b| b.total_fen))
        .bind(p.budget.and_then(|b| b.daily_cap_fen))
        .bind(p.budget.map(|b| b.cpm_bid_fen))
        .bind(p.targeting.clone().map(Json))
}

/// The application, locked for this transaction. Visibility is the caller's to check.
pub async fn get_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> sqlx::Result<Option<Application>> {
    visible(conn, Scope::All, id, true).await
}

/// The application if `scope` may see it (locked when `lock`).
pub async fn visible(
    conn: &mut PgConnection,
    scope: Scope,
    id: Uuid,
    lock: bool,
) -> sqlx::Result<Option<Application>> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {COLUMNS} FROM applications a WHERE a.id = "
    ));
    qb.push_bind(id);
    scope.push(&mut qb, "a.brand_id");
    if lock {
        qb.push(" FOR UPDATE");
    }
    let row: Option<Row> = qb.build_query_as().fetch_optional(conn).await?;
    Ok(row.map(Row::into_domain))
}

pub struct Filter {
    pub status: Option<Status>,
    pub season_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
}

pub async fn list<'c>(
    conn: impl PgExecutor<'c>,
    scope: Scope,
    f: &Filter,
    page: &PageParams,
) -> sqlx::Result<List<Application>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM applications a WHERE true"));
    scope.push(&mut qb, "a.brand_id");
    if let Some(s) = f.status {
        qb.push(" AND a.status = ").push_bind(s);
    }
    if let Some(s) = f.season_id {
        qb.push(" AND a.season_id = ").push_bind(s);
    }
    if let Some(b) = f.brand_id {
        qb.push(" AND a.brand_id = ").push_bind(b);
    }
    let rows = fetch_page(qb, conn, ("a.created_at", "a.id"), page, |r: &Row| {
        Cursor::new(r.created_at, r.id)
    })
    .await?;
    Ok(rows.map(Row::into_domain))
}

/// Writes `step`: moves the application from `step.from` to `step.to` with what the step
/// changes besides the status (see `Effect`). False when it was no longer in `step.from`.
pub async fn transition(conn: &mut PgConnection, id: Uuid, step: &Step) -> sqlx::Result<bool> {
    let mut w = Write::default();
    match &step.effect {
        Effect::Nothing => {}
        Effect::Submit => {
            w.submitted_now = true;
            w.set_reviewer = true;
            w.appeal = Some(false);
        }
        Effect::Appeal { rejected_by } => {
            w.submitted_now = true;
            w.set_reviewer = true;
            w.appeal = Some(true);
            w.rejected_by = *rejected_by;
        }
        Effect::Claim { reviewer } => {
            w.set_reviewer = true;
            w.reviewer = Some(*reviewer);
        }
        Effect::Release => w.set_reviewer = true,
        Effect::Decide { decision, by } => {
            w.decision = Some(decision.kind());
            w.reason = decision.reason();
            w.note = decision.note().map(str::to_owned);
            w.decided_by = Some(*by);
        }
    }
    let done = sqlx::query(
        "UPDATE applications SET status = $3, version = version + 1, updated_at = now(), \
         submitted_at = CASE WHEN $4 THEN now() ELSE submitted_at END, \
         reviewer_id = CASE WHEN $5 THEN $6 ELSE reviewer_id END, \
         appeal = COALESCE($7, appeal), \
         appeal_used = appeal_used OR COALESCE($7, false), \
         rejected_by = COALESCE($8, rejected_by), \
         decision = CASE WHEN $9::text IS NULL THEN decision ELSE $9 END, \
         decision_reason_code = CASE WHEN $9::text IS NULL THEN decision_reason_code ELSE $10 END, \
         decision_note = CASE WHEN $9::text IS NULL THEN decision_note ELSE $11 END, \
         decided_by = CASE WHEN $9::text IS NULL THEN decided_by ELSE $12 END, \
         decided_at = CASE WHEN $9::text IS NULL THEN decided_at ELSE now() END \
         WHERE id = $1 AND status = $2",
    )
    .bind(id)
    .bind(step.from)
    .bind(step.to)
    .bind(w.submitted_now)
    .bind(w.set_reviewer)
    .bind(w.reviewer)
    .bind(w.appeal)
    .bind(w.rejected_by)
    .bind(w.decision)
    .bind(w.reason)
    .bind(w.note)
    .bind(w.decided_by)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The columns a step writes, as the UPDATE above binds them.
#[derive(Default)]
struct Write {
    submitted_now: bool,
    set_reviewer: bool,
    reviewer: Option<Uuid>,
    appeal: Option<bool>,
    rejected_by: Option<Uuid>,
    decision: Option<DecisionKind>,
    reason: Option<ReasonCode>,
    note: Option<String>,
    decided_by: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueItem {
    #[serde(flatten)]
    pub application: Application,
    /// Seconds since the latest submit.
    #[schema(minimum = 0)]
    pub waiting_seconds: i64,
}

/// Submitted applications: appeals first, then oldest submit first.
pub async fn queue<'c>(
    conn: impl PgExecutor<'c>,
    season_id: Option<Uuid>,
    page: &PageParams,
) -> sqlx::Result<Vec<Application>> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {COLUMNS} FROM applications a WHERE a.status = 'submitted'"
    ));
    if let Some(s) = season_id {
        qb.push(" AND a.season_id = ").push_bind(s);
    }
    if let Some(c) = page.after {
        qb.push(" AND (NOT a.appeal, a.submitted_at, a.id) > (")
            .push_bind(!c.k.unwrap_or(false))
            .push(", ")
            .push_bind(c.t)
            .push(", ")
            .push_bind(c.id)
            .push(")");
    }
    qb.push(" ORDER BY NOT a.appeal, a.submitted_at, a.id LIMIT ")
        .push_bind(page.fetch());
    let rows: Vec<Row> = qb.build_query_as().fetch_all(conn).await?;
    Ok(rows.into_iter().map(Row::into_domain).collect())
}

/// The application of the brand for the season with this title, whatever its status.
pub async fn id_by_title(
    conn: &mut PgConnection,
    brand_id: Uuid,
    season_id: Uuid,
    title: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "SELECT id FROM applications WHERE brand_id = $1 AND season_id = $2 AND title = $3 \
         LIMIT 1",
    )
    .bind(brand_id)
    .bind(season_id)
    .bind(title)
    .fetch_optional(conn)
    .await
}

/// Audit events of one application, oldest first.
pub async fn events<'c>(
    conn: impl PgExecutor<'c>,
    id: Uuid,
    page: &PageParams,
) -> sqlx::Result<Vec<super::audit::AuditEvent>> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {} FROM audit_events WHERE entity_type = 'application' AND entity_id = ",
        super::audit::COLUMNS
    ));
    qb.push_bind(id);
    if let Some(c) = page.after {
        qb.push(" AND (at, id) > (")
            .push_bind(c.t)
            .push(", ")
            .push_bind(c.id)
            .push(")");
    }
    qb.push(" ORDER BY at, id LIMIT ").push_bind(page.fetch());
    qb.build_query_as().fetch_all(conn).await
}
