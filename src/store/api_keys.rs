use super::fetch_page;
use crate::domain::page::{Cursor, List, PageParams};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, QueryBuilder};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert(
    conn: &mut PgConnection,
    name: &str,
    key_hash: &[u8],
    created_by: Uuid,
) -> sqlx::Result<ApiKey> {
    sqlx::query_as(
        "INSERT INTO api_keys (id, name, key_hash, created_by) VALUES ($1, $2, $3, $4) \
         RETURNING id, name, created_by, created_at, revoked_at",
    )
    .bind(Uuid::new_v4())
    .bind(name)
    .bind(key_hash)
    .bind(created_by)
    .fetch_one(conn)
    .await
}

pub async fn list<'c>(conn: impl PgExecutor<'c>, page: &PageParams) -> sqlx::Result<List<ApiKey>> {
    let qb = QueryBuilder::new(
        "SELECT id, name, created_by, created_at, revoked_at FROM api_keys WHERE true",
    );
    fetch_page(qb, conn, ("created_at", "id"), page, |k: &ApiKey| {
        Cursor::new(k.created_at, k.id)
    })
    .await
}

/// Revokes the key; `Some(true)` when it was active until now, `Some(false)` when it was
/// already revoked, `None` when there is no such key.
pub async fn revoke(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<bool>> {
    let was_active: Option<bool> = sqlx::query_scalar(
        "UPDATE api_keys k SET revoked_at = COALESCE(k.revoked_at, now()) \
         FROM (SELECT id, revoked_at IS NULL AS active FROM api_keys WHERE id = $1 FOR UPDATE) old \
         WHERE k.id = old.id RETURNING old.active",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(was_active)
}

/// The active key with this hash.
pub async fn active_by_hash<'c>(
    conn: impl PgExecutor<'c>,
    hash: &[u8],
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
        .bind(hash)
        .fetch_optional(conn)
        .await
}
