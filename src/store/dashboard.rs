//! The dashboard's figures, each computed by the database: one query per block, run by the
//! caller inside one read-only snapshot so the blocks agree. The counts come from tables
//! kept by triggers in the same transaction as every change (migrations 20261205000002
//! and 20261205000003), so a summary reads a few hundred rows, not every application.

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

/// Applications by status from `application_counts` (kept by a trigger in the same
/// transaction as every change), so no application row is read to count them.
const COUNTS: &str = "SELECT \
    coalesce(sum(n) FILTER (WHERE status = 'draft'), 0)::int8 AS draft, \
    coalesce(sum(n) FILTER (WHERE status = 'submitted'), 0)::int8 AS submitted, \
    coalesce(sum(n) FILTER (WHERE status = 'in_review'), 0)::int8 AS in_review, \
    coalesce(sum(n) FILTER (WHERE status = 'changes_requested'), 0)::int8 AS changes_requested, \
    coalesce(sum(n) FILTER (WHERE status = 'approved'), 0)::int8 AS approved, \
    coalesce(sum(n) FILTER (WHERE status = 'rejected'), 0)::int8 AS rejected, \
    coalesce(sum(n) FILTER (WHERE status = 'withdrawn'), 0)::int8 AS withdrawn \
    FROM application_counts a WHERE true";

/// The oldest pending submit: the first entry of `applications_pending*_idx`.
const OLDEST_PENDING: &str = "SELECT floor(extract(epoch FROM now() - min(a.submitted_at)))::int8 \
    FROM applications a WHERE a.status IN ('submitted', 'in_review')";

/// Decision times in order, read from `applications_decision_time*_idx` (whose
/// expression this ORDER BY repeats exactly).
const DECISION_TIMES: &str = "SELECT extract(epoch FROM a.decided_at - a.submitted_at)::float8 \
    FROM applications a WHERE a.status IN ('approved', 'rejected', 'changes_requested')";

/// How many decision times each bucket holds (`decision_time_counts`, kept by a trigger),
/// buckets in the order of their times.
const DECISION_BUCKETS: &str = "SELECT d.lo_seconds, sum(d.n)::int8 FROM decision_time_counts d \
    WHERE d.n > 0";

/// Entries by status from `whitelist_counts` (kept by a trigger).
const WHITELIST: &str = "SELECT \
    coalesce(sum(n) FILTER (WHERE status = 'active'), 0)::int8 AS active, \
    coalesce(sum(n) FILTER (WHERE status = 'suspended'), 0)::int8 AS suspended, \
    coalesce(sum(n) FILTER (WHERE status = 'revoked'), 0)::int8 AS revoked \
    FROM whitelist_counts w WHERE true";

/// The campaigns not ended, and among them the halted, paused and scheduled ones: the
/// precedence of `state_sql!` in `store::campaigns` (ended, halted, paused, scheduled, live) written
/// as filters, which costs half as much per row as comparing its text; live = the rest.
/// Read from `campaigns_running*_idx` alone.
const RUNNING: &str = "SELECT count(*), \
    count(*) FILTER (WHERE NOT c.whitelisted), \
    count(*) FILTER (WHERE c.whitelisted AND c.paused), \
    count(*) FILTER (WHERE c.whitelisted AND NOT c.paused AND now() < c.starts_at) \
    FROM campaigns c WHERE now() < c.ends_at";

/// Appends the season filter, when there is one, on `column`.
fn season(qb: &mut QueryBuilder<Postgres>, column: &str, season_id: Option<Uuid>) {
    if let Some(id) = season_id {
        qb.push(format_args!(" AND {column} = ")).push_bind(id);
    }
}

/// The continuous percentile `p` of the decision times counted in `buckets` (as
/// `percentile_cont`): finds the bucket holding rank `p * (n - 1)`, then reads the one or
/// two values from there in the index, in order, starting at the bucket's lower bound
/// (every time in an earlier bucket is below it, every time in a later one above).
async fn decision_percentile(
    conn: &mut PgConnection,
    season_id: Option<Uuid>,
    buckets: &[(i64, i64)],
    p: f64,
) -> sqlx::Result<Option<f64>> {
    let n: i64 = buckets.iter().map(|b| b.1).sum();
    if n <= 0 {
        return Ok(None);
    }
    let rank = p * (n - 1) as f64;
    let lo = rank.floor();
    let mut before = 0;
    let mut from = buckets[0].0;
    for &(bucket, count) in buckets {
        if before + count > lo as i64 {
            from = bucket;
            break;
        }
        before += count;
    }
    let mut qb = QueryBuilder::new(DECISION_TIMES);
    season(&mut qb, "a.season_id", season_id);
    qb.push(" AND (a.decided_at - a.submitted_at) >= make_interval(secs => ")
        .push_bind(from as f64)
        .push(") ORDER BY (a.decided_at - a.submitted_at) OFFSET ")
        .push_bind(lo as i64 - before)
        .push(" LIMIT 2");
    let v: Vec<f64> = qb.build_query_scalar().fetch_all(&mut *conn).await?;
    Ok(match v.as_slice() {
        [] => None,
        [a] => Some(*a),
        [a, b, ..] => Some(a + (rank - lo) * (b - a)),
    })
}

/// The summary for one season, or for all when `season_id` is `None`. Run it inside a
/// `REPEATABLE READ` transaction so that the blocks (and `now()`) share one snapshot.
#[tracing::instrument(skip_all, fields(season_id = ?season_id))]
pub async fn summary(conn: &mut PgConnection, season_id: Option<Uuid>) -> sqlx::Result<Summary> {
    let mut qb = QueryBuilder::new(COUNTS);
    season(&mut qb, "a.season_id", season_id);
    let counts: ApplicationCounts = qb.build_query_as().fetch_one(&mut *conn).await?;

    let mut qb = QueryBuilder::new(OLDEST_PENDING);
    season(&mut qb, "a.season_id", season_id);
    let oldest_pending_seconds: Option<i64> = qb.build_query_scalar().fetch_one(&mut *conn).await?;

    let mut qb = QueryBuilder::new(DECISION_BUCKETS);
    season(&mut qb, "d.season_id", season_id);
    qb.push(" GROUP BY d.lo_seconds ORDER BY d.lo_seconds");
    let buckets: Vec<(i64, i64)> = qb.build_query_as().fetch_all(&mut *conn).await?;
    let median = decision_percentile(conn, season_id, &buckets, 0.5).await?;
    let p90 = decision_percentile(conn, season_id, &buckets, 0.9).await?;
    let judged = counts.approved + counts.rejected;
    let review = ReviewFigures {
        pending: counts.submitted + counts.in_review,
        oldest_pending_seconds,
        median_decision_seconds: median,
        p90_decision_seconds: p90,
        approval_rate: (judged > 0).then(|| counts.approved as f64 / judged as f64),
    };

    let mut qb = QueryBuilder::new(WHITELIST);
    season(&mut qb, "w.season_id", season_id);
    let whitelist: WhitelistCounts = qb.build_query_as().fetch_one(&mut *conn).await?;

    // All campaigns from `campaign_counts` (kept by a trigger); the ones not ended from
    // `campaigns_running*_idx` alone (their state needs only the row: `c.whitelisted`);
    // ended = all - not ended.
    let mut qb =
        QueryBuilder::new("SELECT coalesce(sum(n), 0)::int8 FROM campaign_counts c WHERE true");
    season(&mut qb, "c.season_id", season_id);
    let all: i64 = qb.build_query_scalar().fetch_one(&mut *conn).await?;
    let mut qb = QueryBuilder::new(RUNNING);
    season(&mut qb, "c.season_id", season_id);
    let (running, halted, paused, scheduled): (i64, i64, i64, i64) =
        qb.build_query_as().fetch_one(&mut *conn).await?;
    let campaigns = CampaignCounts {
        scheduled,
        live: running - halted - paused - scheduled,
        paused,
        halted,
        ended: all - running,
    };

    Ok(Summary {
        season_id,
        applications: counts,
        whitelist,
        campaigns,
        review,
    })
}
