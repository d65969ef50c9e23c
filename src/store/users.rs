use super::fetch_page;
use crate::domain::page::{Cursor, List, PageParams};
use crate::domain::user::{DisplayName, Email, Role};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, PgPool, QueryBuilder};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct User {
    pub id: Uuid,
    #[schema(format = "email", max_length = 254, example = "li.na@brand.example")]
    pub email: String,
    #[schema(min_length = 1, max_length = 100, example = "Li Na")]
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

pub const COLUMNS: &str = "id, email, display_name, role, disabled, created_at";

pub struct NewUser<'a> {
    pub email: &'a Email,
    pub display_name: &'a DisplayName,
    pub role: Role,
    pub password_hash: &'a str,
}

pub async fn insert(conn: &mut PgConnection, u: NewUser<'_>) -> sqlx::Result<User> {
    sqlx::query_as(
        "INSERT INTO users (id, email, display_name, role, password_hash) \
         VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, email, display_name, role, disabled, created_at",
    )
    .bind(Uuid::new_v4())
    .bind(u.email.as_str())
    .bind(u.display_name.as_str())
    .bind(u.role.as_str())
    .bind(u.password_hash)
    .fetch_one(conn)
    .await
}

/// The user with this email (any case) and their password hash.
pub async fn by_email<'c>(
    conn: impl PgExecutor<'c>,
    email: &str,
) -> sqlx::Result<Option<(User, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: User,
        password_hash: String,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, email, display_name, role, disabled, created_at, password_hash \
         FROM users WHERE lower(email) = lower($1)",
    )
    .bind(email.trim())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.user, r.password_hash)))
}

/// The (lowercased) email and role of each account whose email is one of `emails`.
pub async fn roles_by_email<'c>(
    conn: impl PgExecutor<'c>,
    emails: &[&str],
) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT lower(email), role FROM users WHERE lower(email) = ANY($1)")
        .bind(emails)
        .fetch_all(conn)
        .await
}

pub async fn by_id(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<User>> {
    sqlx::query_as(
        "SELECT id, email, display_name, role, disabled, created_at FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn password_hash<'c>(conn: impl PgExecutor<'c>, id: Uuid) -> sqlx::Result<String> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(conn)
        .await
}

pub struct UserFilter {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub q: Option<String>,
}

pub async fn list<'c>(
    conn: impl PgExecutor<'c>,
    f: &UserFilter,
    page: &PageParams,
) -> sqlx::Result<List<User>> {
    let mut qb = QueryBuilder::new(
        "SELECT id, email, display_name, role, disabled, created_at FROM users WHERE true",
    );
    if let Some(role) = f.role {
        qb.push(" AND role = ").push_bind(role.as_str());
    }
    if let Some(d) = f.disabled {
        qb.push(" AND disabled = ").push_bind(d);
    }
    if let Some(q) = &f.q {
        let pattern = format!("%{}%", super::escape_like(q));
        qb.push(" AND (email ILIKE ")
            .push_bind(pattern.clone())
            .push(" OR display_name ILIKE ")
            .push_bind(pattern)
            .push(")");
    }
    fetch_page(qb, conn, ("created_at", "id"), page, |u: &User| {
        Cursor::new(u.created_at, u.id)
    })
    .await
}

/// Marks the user disabled and ends all their sessions; returns the user as it was before.
pub async fn disable(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<(User, bool)>> {
    let before: Option<User> = sqlx::query_as(
        "SELECT id, email, display_name, role, disabled, created_at FROM users WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(before) = before else {
        return Ok(None);
    };
    let was_disabled = before.disabled;
    sqlx::query("UPDATE users SET disabled = true, updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(Some((
        User {
            disabled: true,
            ..before
        },
        was_disabled,
    )))
}

pub async fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    hash: &str,
    keep_session: Uuid,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(id)
        .bind(keep_session)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---- sessions and login throttling ----

pub async fn create_session<'c>(
    conn: impl PgExecutor<'c>,
    user_id: Uuid,
    token_hash: &[u8],
    ttl: std::time::Duration,
) -> sqlx::Result<DateTime<Utc>> {
    let secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
    sqlx::query_scalar(
        "INSERT INTO sessions (id, user_id, token_hash, expires_at) \
         VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING expires_at",
    )
    .bind(Uuid::new_v4())
    .bind(user_id)
    .bind(token_hash)
    .bind(secs as f64)
    .fetch_one(conn)
    .await
}

pub async fn delete_session<'c>(conn: impl PgExecutor<'c>, session_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(session_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub const MAX_FAILURES: i64 = 10;
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;

/// Seconds until the account may try again, when it has `MAX_FAILURES` failures inside
/// the window; `None` when it may try now.
async fn locked_for(conn: &mut PgConnection, user_id: Uuid) -> sqlx::Result<Option<u64>> {
    let secs: Option<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM (at + make_interval(secs => $2) - now()))::float8 \
         FROM login_failures WHERE user_id = $1 AND at > now() - make_interval(secs => $2) \
         ORDER BY at DESC OFFSET $3 LIMIT 1",
    )
    .bind(user_id)
    .bind(FAILURE_WINDOW_SECS as f64)
    .bind(MAX_FAILURES - 1)
    .fetch_optional(conn)
    .await?;
    Ok(secs.map(|s| s.ceil().max(1.0) as u64))
}

/// Takes one login attempt for the account before its password is checked, counted as a
/// failure until `clear_failures` says it succeeded: `Err(seconds to wait)` when the
/// account already has `MAX_FAILURES` failures inside the window. Attempts on one account
/// take turns (its row is locked), so concurrent guesses cannot all pass the count before
/// any of them is recorded.
pub async fn take_attempt(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> sqlx::Result<Result<i64, u64>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    if let Some(wait) = locked_for(&mut tx, user_id).await? {
        return Ok(Err(wait));
    }
    // Old failures no longer count; drop them while we are here.
    let attempt: i64 = sqlx::query_scalar(
        "WITH gone AS (DELETE FROM login_failures WHERE user_id = $1 \
         AND at < now() - make_interval(secs => $2)) \
         INSERT INTO login_failures (user_id) VALUES ($1) RETURNING id",
    )
    .bind(user_id)
    .bind(FAILURE_WINDOW_SECS as f64)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(attempt))
}

/// Gives back an attempt that could not be judged (the password check itself failed), so
/// that an outage does not count against the account.
pub async fn give_back_attempt(pool: &PgPool, attempt: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE id = $1")
        .bind(attempt)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn clear_failures<'c>(conn: impl PgExecutor<'c>, user_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Membership {
    pub brand_id: Uuid,
    pub brand_name: String,
    /// The user's role in the brand.
    pub role: crate::domain::brand::MemberRole,
}

pub async fn memberships<'c>(
    conn: impl PgExecutor<'c>,
    user_id: Uuid,
) -> sqlx::Result<Vec<Membership>> {
    sqlx::query_as(
        "SELECT b.id AS brand_id, b.name AS brand_name, m.role FROM brand_members m \
         JOIN brands b ON b.id = m.brand_id WHERE m.user_id = $1 ORDER BY b.name, b.id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}
