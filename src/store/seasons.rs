//! Seasons. Their state is computed from the database clock, never stored.

use super::fetch_page;
use crate::domain::page::{Cursor, List, PageParams};
use crate::domain::season::{self, Phase, SeasonSpec, SeasonState};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

/// A season as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Season {
    pub id: Uuid,
    /// Unique, `[a-z0-9-]{2,40}`.
    #[schema(
        min_length = 2,
        max_length = 40,
        pattern = "^[a-z0-9-]{2,40}$",
        example = "618-2027"
    )]
    pub code: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// An IANA time zone name.
    #[schema(example = "Asia/Shanghai")]
    pub timezone: String,
    pub applications_open_at: DateTime<Utc>,
    pub applications_close_at: DateTime<Utc>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub phases: Vec<Phase>,
    /// Derived from the clock when read.
    pub state: SeasonState,
    /// Increases on every change; sent as the ETag.
    #[schema(minimum = 1)]
    pub version: i32,
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
}

impl Season {
    pub fn state_at(&self, now: DateTime<Utc>) -> SeasonState {
        season::state_at(
            self.applications_open_at,
            self.applications_close_at,
            self.ends_at,
            now,
        )
    }

    /// The fields a person sets, for merging a change and checking it again.
    pub fn spec(&self) -> SeasonSpec {
        SeasonSpec {
            code: self.code.clone(),
            name: self.name.clone(),
            timezone: self.timezone.clone(),
            applications_open_at: self.applications_open_at,
            applications_close_at: self.applications_close_at,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            phases: self.phases.clone(),
        }
    }

    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    code: String,
    name: String,
    timezone: String,
    applications_open_at: DateTime<Utc>,
    applications_close_at: DateTime<Utc>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    phases: Json<Vec<Phase>>,
    version: i32,
    created_at: DateTime<Utc>,
    db_now: DateTime<Utc>,
}

impl From<Row> for Season {
    fn from(r: Row) -> Self {
        let state = season::state_at(
            r.applications_open_at,
            r.applications_close_at,
            r.ends_at,
            r.db_now,
        );
        Season {
            id: r.id,
            code: r.code,
            name: r.name,
            timezone: r.timezone,
            applications_open_at: r.applications_open_at,
            applications_close_at: r.applications_close_at,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            phases: r.phases.0,
            state,
            version: r.version,
            created_at: r.created_at,
        }
    }
}

const COLUMNS: &str = "id, code, name, timezone, applications_open_at, applications_close_at, \
     starts_at, ends_at, phases, version, created_at, now() AS db_now";

pub async fn insert(conn: &mut PgConnection, s: &SeasonSpec) -> sqlx::Result<Season> {
    let q = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO seasons (id, code, name, timezone, applications_open_at, \
         applications_close_at, starts_at, ends_at, phases) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
    )));
    let row: Row = bind_spec(q.bind(Uuid::new_v4()), s).fetch_one(conn).await?;
    Ok(row.into())
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Season>> {
    one(conn, "id = $1", id).await
}

pub async fn by_code(conn: &mut PgConnection, code: &str) -> sqlx::Result<Option<Season>> {
    one(conn, "code = $1", code).await
}

/// The season, locked until the transaction ends.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Season>> {
    one(conn, "id = $1 FOR UPDATE", id).await
}

/// The season, share-locked until the transaction ends: its windows cannot change while
/// an application is checked against them.
pub async fn share(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Season>> {
    one(conn, "id = $1 FOR SHARE", id).await
}

/// The season where `cond` holds of `$1` (a fixed string: it is spliced into the SQL).
async fn one<'q, K>(
    conn: &mut PgConnection,
    cond: &'static str,
    key: K,
) -> sqlx::Result<Option<Season>>
where
    K: 'q + Send + sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>,
{
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM seasons WHERE {cond}"
    )))
    .bind(key)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Into::into))
}

pub async fn list(
    conn: &mut PgConnection,
    state: Option<SeasonState>,
    page: &PageParams,
) -> sqlx::Result<List<Season>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM seasons WHERE true"));
    // The same boundaries as `domain::season::state_at`, evaluated by the database.
    qb.push(match state {
        None => "",
        Some(SeasonState::Upcoming) => " AND now() < applications_open_at",
        Some(SeasonState::Accepting) => {
            " AND applications_open_at <= now() AND now() < applications_close_at"
        }
        Some(SeasonState::Running) => " AND applications_close_at <= now() AND now() < ends_at",
        Some(SeasonState::Ended) => " AND ends_at <= now()",
    });
    let rows = fetch_page(qb, conn, ("created_at", "id"), page, |r: &Row| {
        Cursor::new(r.created_at, r.id)
    })
    .await?;
    Ok(rows.map(Season::from))
}

/// Whether a campaign or a non-revoked whitelist entry of the season would lie outside
/// `[starts_at, ends_at]`.
pub async fn would_strand(
    conn: &mut PgConnection,
    id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM campaigns WHERE season_id = $1 \
           AND (starts_at < $2 OR ends_at > $3)) \
         OR EXISTS (SELECT 1 FROM whitelist_entries WHERE season_id = $1 \
           AND status <> 'revoked' AND (valid_from < $2 OR valid_until > $3))",
    )
    .bind(id)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_one(conn)
    .await
}

pub async fn update(conn: &mut PgConnection, id: Uuid, s: &SeasonSpec) -> sqlx::Result<Season> {
    let q = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE seasons SET code = $2, name = $3, timezone = $4, applications_open_at = $5, \
         applications_close_at = $6, starts_at = $7, ends_at = $8, phases = $9, \
         version = version + 1, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    )));
    let row: Row = bind_spec(q.bind(id), s).fetch_one(conn).await?;
    Ok(row.into())
}

/// Binds the fields of `s` as `$2` to `$9`, in the order insert and update name them.
fn bind_spec<'q>(
    q: QueryAs<'q, Postgres, Row, PgArguments>,
    s: &'q SeasonSpec,
) -> QueryAs<'q, Postgres, Row, PgArguments> {
    q.bind(&s.code)
        .bind(&s.name)
        .bind(&s.timezone)
        .bind(s.applications_open_at)
        .bind(s.applications_close_at)
        .bind(s.starts_at)
        .bind(s.ends_at)
        .bind(Json(&s.phases))
}
