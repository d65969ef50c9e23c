//! Whitelist entries: one per (brand, season) that is not revoked, enforced by the
//! unique index `whitelist_one_open_per_brand_season`.

use super::{Scope, fetch_page, push_keyset};
use crate::domain::page::{Cursor, List, PageParams};
pub use crate::domain::whitelist::WhitelistEntry;
use crate::domain::whitelist::WhitelistStatus;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, QueryBuilder};
use uuid::Uuid;

pub const UNIQUE_OPEN: &str = "whitelist_one_open_per_brand_season";

/// A row of the CSV export: the entry with its brand's name and season's code.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportRow {
    #[sqlx(flatten)]
    pub entry: WhitelistEntry,
    pub brand_name: String,
    pub season_code: String,
}

#[derive(Debug, Clone, Default)]
pub struct WhitelistFilter {
    pub season_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    pub status: Option<WhitelistStatus>,
}

const COLUMNS: &str = "w.id, w.brand_id, w.season_id, w.status, w.valid_from, w.valid_until, \
     w.source_application_id, w.granted_by, w.granted_at, w.status_reason";

const RETURNING: &str = " RETURNING id, brand_id, season_id, status, valid_from, valid_until, \
     source_application_id, granted_by, granted_at, status_reason";

fn push_filter(qb: &mut QueryBuilder<sqlx::Postgres>, f: &WhitelistFilter, scope: Scope) {
    if let Some(s) = f.season_id {
        qb.push(" AND w.season_id = ").push_bind(s);
    }
    if let Some(b) = f.brand_id {
        qb.push(" AND w.brand_id = ").push_bind(b);
    }
    if let Some(st) = f.status {
        qb.push(" AND w.status = ").push_bind(st.as_str());
    }
    scope.push(qb, "w.brand_id");
}

/// The brand's entry for the season that is not revoked, locked for the caller's
/// transaction (the approval decides on it).
///
/// Where there is no entry yet there is no row to lock, so the (brand, season) pair is
/// locked first with a transaction-scoped advisory lock: concurrent approvals of one
/// brand's applications take turns, and the second reuses the entry the first created
/// instead of failing on the unique index.
pub async fn open_for_update(
    conn: &mut PgConnection,
    brand_id: Uuid,
    season_id: Uuid,
) -> sqlx::Result<Option<WhitelistEntry>> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2::text, 0))")
        .bind(brand_id)
        .bind(season_id)
        .execute(&mut *conn)
        .await?;
    let mut qb = QueryBuilder::new("SELECT ");
    qb.push(COLUMNS).push(" FROM whitelist_entries w");
    qb.push(" WHERE w.brand_id = ")
        .push_bind(brand_id)
        .push(" AND w.season_id = ")
        .push_bind(season_id)
        .push(" AND w.status <> 'revoked' FOR UPDATE");
    qb.build_query_as().fetch_optional(conn).await
}

/// Inserts an active entry. The caller writes the audit event; a second open entry for
/// (brand, season) fails on `UNIQUE_OPEN`.
pub async fn insert(
    conn: &mut PgConnection,
    brand_id: Uuid,
    season_id: Uuid,
    valid_from: DateTime<Utc>,
    valid_until: DateTime<Utc>,
    source_application_id: Uuid,
    granted_by: Uuid,
) -> sqlx::Result<WhitelistEntry> {
    let mut qb = QueryBuilder::new(
        "INSERT INTO whitelist_entries (id, brand_id, season_id, status, valid_from, \
         valid_until, source_application_id, granted_by) VALUES (",
    );
    qb.push_bind(Uuid::new_v4())
        .push(", ")
        .push_bind(brand_id)
        .push(", ")
        .push_bind(season_id)
        .push(", 'active', ")
        .push_bind(valid_from)
        .push(", ")
        .push_bind(valid_until)
        .push(", ")
        .push_bind(source_application_id)
        .push(", ")
        .push_bind(granted_by)
        .push(")")
        .push(RETURNING);
    qb.build_query_as().fetch_one(conn).await
}

/// The entry if `scope` may see it; `lock` takes a row lock for a status change.
pub async fn by_id(
    conn: &mut PgConnection,
    id: Uuid,
    scope: Scope,
    lock: bool,
) -> sqlx::Result<Option<WhitelistEntry>> {
    let mut qb = QueryBuilder::new("SELECT ");
    qb.push(COLUMNS).push(" FROM whitelist_entries w");
    qb.push(" WHERE w.id = ").push_bind(id);
    scope.push(&mut qb, "w.brand_id");
    if lock {
        qb.push(" FOR UPDATE");
    }
    qb.build_query_as().fetch_optional(conn).await
}

/// Newest first by `granted_at, id`.
pub async fn list<'c>(
    conn: impl PgExecutor<'c>,
    f: &WhitelistFilter,
    scope: Scope,
    page: &PageParams,
) -> sqlx::Result<List<WhitelistEntry>> {
    let mut qb = QueryBuilder::new("SELECT ");
    qb.push(COLUMNS)
        .push(" FROM whitelist_entries w WHERE true");
    push_filter(&mut qb, f, scope);
    fetch_page(
        qb,
        conn,
        ("w.granted_at", "w.id"),
        page,
        |w: &WhitelistEntry| Cursor::new(w.granted_at, w.id),
    )
    .await
}

/// One chunk of the export, newest first, with brand name and season code.
pub async fn export_chunk<'c>(
    conn: impl PgExecutor<'c>,
    f: &WhitelistFilter,
    scope: Scope,
    page: &PageParams,
) -> sqlx::Result<Vec<ExportRow>> {
    let mut qb = QueryBuilder::new("SELECT ");
    qb.push(COLUMNS).push(
        ", b.name AS brand_name, s.code AS season_code \
         FROM whitelist_entries w JOIN brands b ON b.id = w.brand_id \
         JOIN seasons s ON s.id = w.season_id WHERE true",
    );
    push_filter(&mut qb, f, scope);
    push_keyset(&mut qb, "w.granted_at", "w.id", page);
    qb.build_query_as().fetch_all(conn).await
}

/// Moves the entry from `from` to `to`; `None` when it is no longer in `from`.
pub async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    from: WhitelistStatus,
    to: WhitelistStatus,
    reason: &str,
) -> sqlx::Result<Option<WhitelistEntry>> {
    let mut qb = QueryBuilder::new("UPDATE whitelist_entries SET status = ");
    qb.push_bind(to.as_str())
        .push(", status_reason = ")
        .push_bind(reason)
        .push(", updated_at = now() WHERE id = ")
        .push_bind(id)
        .push(" AND status = ")
        .push_bind(from.as_str())
        .push(RETURNING);
    qb.build_query_as().fetch_optional(conn).await
}
