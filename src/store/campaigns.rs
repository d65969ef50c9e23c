//! Campaigns, each with its state derived in SQL at read time so that lists can filter
//! by it. The CASE below is `domain::campaign::CampaignState::derive`; keep them in step.

use super::{Scope, fetch_page, push_keyset};
pub use crate::domain::campaign::Campaign;
use crate::domain::campaign::CampaignState;
use crate::domain::page::{Cursor, List, PageParams};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, QueryBuilder};
use uuid::Uuid;

#[derive(Debug, Clone, Default)]
pub struct CampaignFilter {
    pub season_id: Option<Uuid>,
    pub brand_id: Option<Uuid>,
    pub state: Option<CampaignState>,
}

/// The derived state of campaign row `c`; precedence as in `CampaignState::derive`.
/// `c.whitelisted` (whether its brand has an active whitelist entry for its season) is
/// kept on the row by the database (triggers on both tables, see migration
/// 20261205000003), so no whitelist entry is read to derive a state.
macro_rules! state_sql {
    () => {
        "(CASE WHEN now() >= c.ends_at THEN 'ended' \
         WHEN NOT c.whitelisted THEN 'halted' \
         WHEN c.paused THEN 'paused' \
         WHEN now() < c.starts_at THEN 'scheduled' \
         ELSE 'live' END)"
    };
}

/// The rows of `c` in `state`: the same precedence as `state_sql!`. Halted ones are read
/// from `campaigns_halted_idx` (the campaigns not whitelisted, newest first).
fn state_condition(state: CampaignState) -> &'static str {
    match state {
        CampaignState::Ended => " AND now() >= c.ends_at",
        CampaignState::Halted => " AND NOT c.whitelisted AND now() < c.ends_at",
        CampaignState::Paused => " AND now() < c.ends_at AND c.paused AND c.whitelisted",
        CampaignState::Scheduled => {
            " AND now() < c.starts_at AND now() < c.ends_at AND NOT c.paused AND c.whitelisted"
        }
        CampaignState::Live => {
            " AND c.starts_at <= now() AND now() < c.ends_at AND NOT c.paused AND c.whitelisted"
        }
    }
}

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

const SELECT: &str = concat!("SELECT ", columns!(), " FROM campaigns c WHERE true");

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
        " FROM c"
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
pub async fn list<'c>(
    conn: impl PgExecutor<'c>,
    f: &CampaignFilter,
    scope: Scope,
    page: &PageParams,
) -> sqlx::Result<List<Campaign>> {
    let filter = |qb: &mut QueryBuilder<sqlx::Postgres>| {
        if let Some(s) = f.season_id {
            qb.push(" AND c.season_id = ").push_bind(s);
        }
        if let Some(b) = f.brand_id {
            qb.push(" AND c.brand_id = ").push_bind(b);
        }
        if let Some(st) = f.state {
            qb.push(state_condition(st));
        }
        scope.push(qb, "c.brand_id");
    };
    let mut qb = QueryBuilder::new(SELECT);
    if f.state.is_some() {
        // The page's ids first, then only their rows. A state is decided by a few columns
        // that an index can cover (for live and scheduled: `campaigns_runnable_idx`), so
        // the ids come from the index alone; the newest campaigns are mostly scheduled,
        // and reading each from the table only to pass it over cost 15 ms a page of live
        // ones at 200k campaigns.
        qb.push(" AND c.id IN (SELECT c.id FROM campaigns c WHERE true");
        filter(&mut qb);
        push_keyset(&mut qb, "c.created_at", "c.id", page);
        qb.push(")");
    } else {
        filter(&mut qb);
    }
    fetch_page(qb, conn, ("c.created_at", "c.id"), page, |c: &Campaign| {
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
        " FROM c"
    ))
    .bind(id)
    .bind(from)
    .fetch_optional(conn)
    .await
}
