//! Brands and their members. Every read for a marketer is filtered by membership in SQL.

use super::{Scope, fetch_page};
pub use crate::domain::brand::Brand;
use crate::domain::brand::{BrandKind, BrandName, MemberRole, StoreUrl, Verification};
use crate::domain::page::{Cursor, List, PageParams};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, QueryBuilder};
use uuid::Uuid;

const COLUMNS: &str =
    "id, name, kind, tmall_store_url, verification, verification_note, created_at";

pub struct NewBrand<'a> {
    pub name: &'a BrandName,
    pub kind: BrandKind,
    pub url: &'a StoreUrl,
    pub created_by: Uuid,
}

pub async fn insert(conn: &mut PgConnection, b: NewBrand<'_>) -> sqlx::Result<Brand> {
    sqlx::query_as(
        "INSERT INTO brands (id, name, kind, tmall_store_url, created_by) \
         VALUES ($1, $2, $3, $4, $5) \
         RETURNING id, name, kind, tmall_store_url, verification, verification_note, created_at",
    )
    .bind(Uuid::new_v4())
    .bind(b.name.as_str())
    .bind(b.kind.as_str())
    .bind(b.url.as_str())
    .bind(b.created_by)
    .fetch_one(conn)
    .await
}

/// The brand if `scope` may see it.
pub async fn visible(
    conn: &mut PgConnection,
    scope: Scope,
    id: Uuid,
) -> sqlx::Result<Option<Brand>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM brands WHERE id = "));
    qb.push_bind(id);
    scope.push(&mut qb, "id");
    qb.build_query_as().fetch_optional(conn).await
}

pub async fn is_member(
    conn: &mut PgConnection,
    user_id: Uuid,
    brand_id: Uuid,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM brand_members WHERE brand_id = $1 AND user_id = $2)",
    )
    .bind(brand_id)
    .bind(user_id)
    .fetch_one(conn)
    .await
}

/// The user's role in the brand, if they are a member.
pub async fn member_role(
    conn: &mut PgConnection,
    user_id: Uuid,
    brand_id: Uuid,
) -> sqlx::Result<Option<MemberRole>> {
    sqlx::query_scalar("SELECT role FROM brand_members WHERE brand_id = $1 AND user_id = $2")
        .bind(brand_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// Locks the brand row: membership changes of one brand run one at a time, so the
/// last-owner rule holds under concurrency.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Brand>> {
    locked(conn, id, "FOR UPDATE").await
}

/// The brand, share-locked until the transaction ends: its kind and verification cannot
/// change while an application is submitted or approved on them.
pub async fn share(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Brand>> {
    locked(conn, id, "FOR SHARE").await
}

async fn locked(
    conn: &mut PgConnection,
    id: Uuid,
    lock: &'static str,
) -> sqlx::Result<Option<Brand>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM brands WHERE id = $1 {lock}"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The brand `created_by` registered with this store URL, oldest first.
pub async fn id_by_url_and_creator(
    conn: &mut PgConnection,
    url: &StoreUrl,
    created_by: Uuid,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "SELECT id FROM brands WHERE tmall_store_url = $1 AND created_by = $2 \
         ORDER BY created_at, id LIMIT 1",
    )
    .bind(url.as_str())
    .bind(created_by)
    .fetch_optional(conn)
    .await
}

pub struct BrandFilter {
    pub verification: Option<Verification>,
    pub kind: Option<BrandKind>,
    pub q: Option<String>,
}

pub async fn list(
    conn: &mut PgConnection,
    scope: Scope,
    f: &BrandFilter,
    page: &PageParams,
) -> sqlx::Result<List<Brand>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM brands WHERE true"));
    scope.push(&mut qb, "id");
    if let Some(v) = f.verification {
        qb.push(" AND verification = ").push_bind(v.as_str());
    }
    if let Some(k) = f.kind {
        qb.push(" AND kind = ").push_bind(k.as_str());
    }
    if let Some(q) = &f.q {
        qb.push(" AND name ILIKE ")
            .push_bind(format!("%{}%", super::escape_like(q)));
    }
    fetch_page(qb, conn, ("created_at", "id"), page, |b: &Brand| {
        Cursor::new(b.created_at, b.id)
    })
    .await
}

/// Records a verification decision; returns the brand as it is now.
pub async fn set_verification(
    conn: &mut PgConnection,
    id: Uuid,
    to: Verification,
    note: Option<&str>,
    by: Uuid,
) -> sqlx::Result<Brand> {
    sqlx::query_as(
        "UPDATE brands SET verification = $2, verification_note = $3, verified_by = $4, \
         verified_at = now(), updated_at = now() WHERE id = $1 \
         RETURNING id, name, kind, tmall_store_url, verification, verification_note, created_at",
    )
    .bind(id)
    .bind(to.as_str())
    .bind(note)
    .bind(by)
    .fetch_one(conn)
    .await
}

// ---- members ----

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Member {
    pub user_id: Uuid,
    #[schema(format = "email", max_length = 254)]
    pub email: String,
    pub display_name: String,
    pub role: MemberRole,
    pub added_at: DateTime<Utc>,
}

/// Adds the member; `None` when they already are one.
pub async fn add_member(
    conn: &mut PgConnection,
    brand_id: Uuid,
    user_id: Uuid,
    role: MemberRole,
    added_by: Uuid,
) -> sqlx::Result<Option<Member>> {
    sqlx::query_as(
        "WITH m AS (INSERT INTO brand_members (brand_id, user_id, role, added_by) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (brand_id, user_id) DO NOTHING \
         RETURNING user_id, role, added_at) \
         SELECT m.user_id, u.email, u.display_name, m.role, m.added_at \
         FROM m JOIN users u ON u.id = m.user_id",
    )
    .bind(brand_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(added_by)
    .fetch_optional(conn)
    .await
}

pub async fn members(
    conn: &mut PgConnection,
    brand_id: Uuid,
    page: &PageParams,
) -> sqlx::Result<List<Member>> {
    let mut qb = QueryBuilder::new(
        "SELECT m.user_id, u.email, u.display_name, m.role, m.added_at \
         FROM brand_members m JOIN users u ON u.id = m.user_id WHERE m.brand_id = ",
    );
    qb.push_bind(brand_id);
    fetch_page(qb, conn, ("m.added_at", "m.user_id"), page, |m: &Member| {
        Cursor::new(m.added_at, m.user_id)
    })
    .await
}

pub async fn owner_count(conn: &mut PgConnection, brand_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM brand_members WHERE brand_id = $1 AND role = 'owner'")
        .bind(brand_id)
        .fetch_one(conn)
        .await
}

/// Removes the member; returns their email and role, `None` when they were not one.
pub async fn remove_member(
    conn: &mut PgConnection,
    brand_id: Uuid,
    user_id: Uuid,
) -> sqlx::Result<Option<(String, MemberRole)>> {
    sqlx::query_as(
        "WITH m AS (DELETE FROM brand_members WHERE brand_id = $1 AND user_id = $2 \
         RETURNING user_id, role) \
         SELECT u.email, m.role FROM m JOIN users u ON u.id = m.user_id",
    )
    .bind(brand_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await
}
