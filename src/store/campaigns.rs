//! Campaigns, each with its state derived in SQL at read time so that lists can filter
//! by it. The CASE below is `domain::campaign::CampaignState::derive`; keep them in step.

use super::{Scope, fetch_page};
pub use crate::domain::campaign::Campaign;
use crate::domain::campaign::CampaignState;
use crate::domain::page::{Cursor, List, PageParams};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, QueryBuilder};
use uuid::Uuid;

#[derive(Debug, Clone, Default)]
pub struct CampaignFilter {
    pub season_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    pub state: Option<CampaignState>,
}

/// Campaign `c`'s active whitelist entry as `wl` (its columns null when there is none).
/// At most one entry per (brand, season) is not revoked (`whitelist_one_open_per_brand_season`),
/// so the join never repeats a campaign. A join rather than `EXISTS` in the select list:
/// the planner turns such an `EXISTS` into a hashed subplan that reads every active entry
/// once per query, even for one page; a join is probed per row for a page and hashed for
/// the dashboard's counts.
macro_rules! with_whitelist {
    () => {
        " LEFT JOIN whitelist_entries wl ON wl.brand_id = c.brand_id \
         AND wl.season_id = c.season_id AND wl.status = 'active'"
    };
}

/// The derived state of campaign row `c` joined `with_whitelist!`; precedence as in
/// `CampaignState::derive`.
macro_rules! state_sql {
    () => {
        "(CASE WHEN now() >= c.ends_at THEN 'ended' \
         WHEN wl.id IS NULL THEN 'halted' \
         WHEN c.paused THEN 'paused' \
         WHEN now() < c.starts_at THEN 'scheduled' \
         ELSE 'live' END)"
    };
}

/// The rows of `c` (joined `with_whitelist!`) in `state`: the same precedence as
/// `state_sql!`, written so that the conditions on the campaign's own columns can be
/// checked before the whitelist is probed.
fn state_condition(state: CampaignState) -> &'static str {
    match state {
        CampaignState::Ended => " AND now() >= c.ends_at",
        CampaignState::Halted => " AND now() < c.ends_at AND wl.id IS NULL",
        CampaignState::Paused => " AND now() < c.ends_at AND c.paused AND wl.id IS NOT NULL",
        CampaignState::Scheduled => {
            " AND now() < c.starts_at AND now() < c.ends_at AND NOT c.paused AND wl.id IS NOT NULL"
        }
        CampaignState::Live => {
            " AND c.starts_at <= now() AND now() < c.ends_at AND NOT c.paused AND wl.id IS NOT NULL"
        }
    }
}

/// `state_sql!`, for queries built at run time, such as the dashboard's counts by state.
pub const STATE_SQL: &str = state_sql!();
/// `with_whitelist!`, likewise.
pub const WITH_WHITELIST: &str = with_whitelist!();

macro_rules! columns {
    () => {
        concat!(
            "c.id, c.application_id, c.brand_id, c.season_id, c.title, c.starts_at, c.ends_at, \
             c.paused, ",
            state_sql!(),
            " AS state, c.created_at"
        )
    };
}

const SELECT: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM campaigns c",
    with_whitelist!(),
    " WHERE true"
);

/// Inserts a running campaign (the approval's caller writes the audit event).
pub async fn insert(
    conn: &mut PgConnection,
    application_id: Uuid,
    brand_id: Uuid,
    season_id: Uuid,
    title: &str,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> sqlx::Result<Campaign> {
    sqlx::query_as(concat!(
        "WITH c AS (INSERT INTO campaigns (id, application_id, brand_id, season_id, title, \
         starts_at, ends_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *) SELECT ",
        columns!(),
        " FROM c",
        with_whitelist!()
    ))
    .bind(Uuid::new_v4())
    .bind(application_id)
    .bind(brand_id)
    .bind(season_id)
    .bind(title)
    .bind(starts_at)
    .bind(ends_at)
    .fetch_one(conn)
    .await
}

/// The campaign if `scope` may see it; `lock` takes a row lock for a change.
pub async fn by_id(
    conn: &mut PgConnection,
    id: Uuid,
    scope: Scope,
    lock: bool,
) -> sqlx::Result<Option<Campaign>> {
    let mut qb = QueryBuilder::new(SELECT);
    qb.push(" AND c.id = ").push_bind(id);
    scope.push(&mut qb, "c.brand_id");
    if lock {
        qb.push(" FOR UPDATE OF c");
    }
    qb.build_query_as().fetch_optional(conn).await
}

/// Newest first by `created_at, id`.
pub async fn list(
    pool: &PgPool,
    f: &CampaignFilter,
    scope: Scope,
    page: &PageParams,
) -> sqlx::Result<List<Campaign>> {
    let mut qb = QueryBuilder::new(SELECT);
    if let Some(s) = f.season_id {
        qb.push(" AND c.season_id = ").push_bind(s);
    }
    if let Some(b) = f.brand_id {
        qb.push(" AND c.brand_id = ").push_bind(b);
    }
    if let Some(st) = f.state {
        qb.push(state_condition(st));
    }
    scope.push(&mut qb, "c.brand_id");
    fetch_page(qb, pool, ("c.created_at", "c.id"), page, |c: &Campaign| {
        Cursor::new(c.created_at, c.id)
    })
    .await
}

/// Sets the pause switch from `from` to `!from`; `None` when it is no longer `from`.
pub async fn set_paused(
    conn: &mut PgConnection,
    id: Uuid,
    from: bool,
) -> sqlx::Result<Option<Campaign>> {
    sqlx::query_as(concat!(
        "WITH c AS (UPDATE campaigns SET paused = NOT paused, updated_at = now() \
         WHERE id = $1 AND paused = $2 RETURNING *) SELECT ",
        columns!(),
        " FROM c",
        with_whitelist!()
    ))
    .bind(id)
    .bind(from)
    .fetch_optional(conn)
    .await
}
