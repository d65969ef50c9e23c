//! The dashboard's figures, each computed by the database with aggregates: one query per
//! block, run by the caller inside one read-only snapshot so the blocks agree.

use super::campaigns::STATE_SQL;
use serde::Serialize;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use utoipa::ToSchema;
use uuid::Uuid;

/// Applications by current status; every status is present, 0 where none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, ToSchema)]
pub struct ApplicationCounts {
    #[schema(minimum = 0)]
    pub draft: i64,
    #[schema(minimum = 0)]
    pub submitted: i64,
    #[schema(minimum = 0)]
    pub in_review: i64,
    #[schema(minimum = 0)]
    pub changes_requested: i64,
    #[schema(minimum = 0)]
    pub approved: i64,
    #[schema(minimum = 0)]
    pub rejected: i64,
    #[schema(minimum = 0)]
    pub withdrawn: i64,
}

/// Whitelist entries by status; every status is present, 0 where none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, ToSchema)]
pub struct WhitelistCounts {
    #[schema(minimum = 0)]
    pub active: i64,
    #[schema(minimum = 0)]
    pub suspended: i64,
    #[schema(minimum = 0)]
    pub revoked: i64,
}

/// Campaigns by their state now, derived exactly as `GET /v1/campaigns` derives `state`
/// (so these agree with that list filtered by `state`); every state is present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, ToSchema)]
pub struct CampaignCounts {
    #[schema(minimum = 0)]
    pub scheduled: i64,
    #[schema(minimum = 0)]
    pub live: i64,
    #[schema(minimum = 0)]
    pub paused: i64,
    #[schema(minimum = 0)]
    pub halted: i64,
    #[schema(minimum = 0)]
    pub ended: i64,
}

/// How the review is keeping up.
///
/// A decision time runs from an application's latest submit (`submitted_at`) to its
/// decision (`decision.decided_at`), over the applications whose current status is a
/// decision outcome (approved, rejected, changes_requested): one figure per application,
/// its latest decision. An application that was sent back for changes or appealed and
/// submitted again is pending, not decided, until its next decision.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, ToSchema)]
pub struct ReviewFigures {
    /// Applications waiting for a decision: `submitted` plus `in_review`.
    #[schema(minimum = 0)]
    pub pending: i64,
    /// Whole seconds (rounded down) since the earliest `submitted_at` among pending
    /// applications; null when none is pending.
    #[schema(minimum = 0)]
    pub oldest_pending_seconds: Option<i64>,
    /// Median decision time in seconds (continuous percentile, so it may have a
    /// fraction); null when nothing has been decided.
    #[schema(minimum = 0)]
    pub median_decision_seconds: Option<f64>,
    /// 90th percentile of decision times in seconds (continuous, may have a fraction);
    /// null when nothing has been decided.
    #[schema(minimum = 0)]
    pub p90_decision_seconds: Option<f64>,
    /// approved / (approved + rejected), from 0 to 1; null when there is neither.
    #[schema(minimum = 0, maximum = 1)]
    pub approval_rate: Option<f64>,
}

/// `GET /v1/dashboard/summary`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Summary {
    /// The season summarised; null when the figures cover every season.
    pub season_id: Option<Uuid>,
    pub applications: ApplicationCounts,
    pub whitelist: WhitelistCounts,
    pub campaigns: CampaignCounts,
    pub review: ReviewFigures,
}

#[derive(sqlx::FromRow)]
struct ApplicationRow {
    #[sqlx(flatten)]
    counts: ApplicationCounts,
    #[sqlx(flatten)]
    review: ReviewFigures,
}

const APPLICATIONS: &str = "SELECT \
    count(*) FILTER (WHERE a.status = 'draft') AS draft, \
    count(*) FILTER (WHERE a.status = 'submitted') AS submitted, \
    count(*) FILTER (WHERE a.status = 'in_review') AS in_review, \
    count(*) FILTER (WHERE a.status = 'changes_requested') AS changes_requested, \
    count(*) FILTER (WHERE a.status = 'approved') AS approved, \
    count(*) FILTER (WHERE a.status = 'rejected') AS rejected, \
    count(*) FILTER (WHERE a.status = 'withdrawn') AS withdrawn, \
    count(*) FILTER (WHERE a.status IN ('submitted', 'in_review')) AS pending, \
    floor(extract(epoch FROM now() - \
        min(a.submitted_at) FILTER (WHERE a.status IN ('submitted', 'in_review'))))::int8 \
        AS oldest_pending_seconds, \
    percentile_cont(0.5) WITHIN GROUP \
        (ORDER BY extract(epoch FROM a.decided_at - a.submitted_at)::float8) \
        FILTER (WHERE a.status IN ('approved', 'rejected', 'changes_requested')) \
        AS median_decision_seconds, \
    percentile_cont(0.9) WITHIN GROUP \
        (ORDER BY extract(epoch FROM a.decided_at - a.submitted_at)::float8) \
        FILTER (WHERE a.status IN ('approved', 'rejected', 'changes_requested')) \
        AS p90_decision_seconds, \
    (count(*) FILTER (WHERE a.status = 'approved'))::float8 \
        / NULLIF(count(*) FILTER (WHERE a.status IN ('approved', 'rejected')), 0) \
        AS approval_rate \
    FROM applications a WHERE true";

const WHITELIST: &str = "SELECT \
    count(*) FILTER (WHERE w.status = 'active') AS active, \
    count(*) FILTER (WHERE w.status = 'suspended') AS suspended, \
    count(*) FILTER (WHERE w.status = 'revoked') AS revoked \
    FROM whitelist_entries w WHERE true";

/// Appends the season filter, when there is one, on `column`.
fn season(qb: &mut QueryBuilder<Postgres>, column: &str, season_id: Option<Uuid>) {
    if let Some(id) = season_id {
        qb.push(format_args!(" AND {column} = ")).push_bind(id);
    }
}

/// The summary for one season, or for all when `season_id` is `None`. Run it inside a
/// `REPEATABLE READ` transaction so that the blocks (and `now()`) share one snapshot.
#[tracing::instrument(skip_all, fields(season_id = ?season_id))]
pub async fn summary(conn: &mut PgConnection, season_id: Option<Uuid>) -> sqlx::Result<Summary> {
    let mut qb = QueryBuilder::new(APPLICATIONS);
    season(&mut qb, "a.season_id", season_id);
    let apps: ApplicationRow = qb.build_query_as().fetch_one(&mut *conn).await?;

    let mut qb = QueryBuilder::new(WHITELIST);
    season(&mut qb, "w.season_id", season_id);
    let whitelist: WhitelistCounts = qb.build_query_as().fetch_one(&mut *conn).await?;

    let mut qb = QueryBuilder::new(format!(
        "SELECT \
         count(*) FILTER (WHERE s.state = 'scheduled') AS scheduled, \
         count(*) FILTER (WHERE s.state = 'live') AS live, \
         count(*) FILTER (WHERE s.state = 'paused') AS paused, \
         count(*) FILTER (WHERE s.state = 'halted') AS halted, \
         count(*) FILTER (WHERE s.state = 'ended') AS ended \
         FROM (SELECT {STATE_SQL} AS state FROM campaigns c WHERE true"
    ));
    season(&mut qb, "c.season_id", season_id);
    qb.push(") s");
    let campaigns: CampaignCounts = qb.build_query_as().fetch_one(&mut *conn).await?;

    Ok(Summary {
        season_id,
        applications: apps.counts,
        whitelist,
        campaigns,
        review: apps.review,
    })
}
