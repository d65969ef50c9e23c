//! Rows inserted straight into the database, for tests that need a given state without
//! walking the API to it (the approval flow has its own tests). Shared by the whitelist,
//! campaign and dashboard tests.

use crate::helpers::{TestApp, User};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// A verified brand owned by `owner`.
pub async fn brand(app: &TestApp, owner: &User, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO brands (id, name, kind, tmall_store_url, verification, created_by) \
         VALUES ($1, $2, 'brand', 'https://shop.tmall.com', 'verified', $3)",
    )
    .bind(id)
    .bind(name)
    .bind(owner.id)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO brand_members (brand_id, user_id, role) VALUES ($1, $2, 'owner')")
        .bind(id)
        .bind(owner.id)
        .execute(&app.pool)
        .await
        .unwrap();
    id
}

/// A season whose run window spans now (from 25 days ago to 60 days ahead).
pub async fn season(app: &TestApp, code: &str) -> Uuid {
    let id = Uuid::new_v4();
    let now = Utc::now();
    sqlx::query(
        "INSERT INTO seasons (id, code, name, applications_open_at, applications_close_at, \
         starts_at, ends_at) VALUES ($1, $2, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(code)
    .bind(now - Duration::days(30))
    .bind(now - Duration::days(20))
    .bind(now - Duration::days(25))
    .bind(now + Duration::days(60))
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

/// An approved application of `brand` for `season`, created by `by`.
pub async fn approved_application(app: &TestApp, brand: Uuid, season: Uuid, by: Uuid) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(concat!(
        "INSERT INTO applications (id, brand_id, season_id, title, status, created_by, \
             submitted_at, decision, decided_by, decided_at, ",
        parts_columns!(),
        ") VALUES ($1, $2, $3, 'Approved ad', 'approved', $4, now(), 'approve', $4, now(), ",
        parts_values!(),
        ")"
    ))
    .bind(id)
    .bind(brand)
    .bind(season)
    .bind(by)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

/// A whitelist entry in `status`, from its own approved application, granted by `by`.
pub async fn whitelist_entry(
    app: &TestApp,
    brand: Uuid,
    season: Uuid,
    status: &str,
    by: Uuid,
) -> Uuid {
    let application = approved_application(app, brand, season, by).await;
    entry(app, (brand, season), status, by, Some(application)).await
}

/// A whitelist entry in `status` over the `season` fixture's run window, from
/// `source` (with none, it adds no application to count).
pub async fn entry(
    app: &TestApp,
    (brand, season): (Uuid, Uuid),
    status: &str,
    by: Uuid,
    source: Option<Uuid>,
) -> Uuid {
    let id = Uuid::new_v4();
    let now = Utc::now();
    sqlx::query(
        "INSERT INTO whitelist_entries (id, brand_id, season_id, status, valid_from, \
         valid_until, source_application_id, granted_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(brand)
    .bind(season)
    .bind(status)
    .bind(now - Duration::days(25))
    .bind(now + Duration::days(60))
    .bind(source)
    .bind(by)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

/// A campaign (with its own approved application) over `[starts_at, ends_at)`.
pub async fn campaign(
    app: &TestApp,
    brand: Uuid,
    season: Uuid,
    by: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    paused: bool,
) -> Uuid {
    let application = approved_application(app, brand, season, by).await;
    campaign_of(
        app,
        application,
        (brand, season),
        starts_at,
        ends_at,
        paused,
    )
    .await
}

/// The campaign of `application` over `[starts_at, ends_at)`.
pub async fn campaign_of(
    app: &TestApp,
    application: Uuid,
    (brand, season): (Uuid, Uuid),
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    paused: bool,
) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO campaigns (id, application_id, brand_id, season_id, title, starts_at, \
         ends_at, paused) VALUES ($1, $2, $3, $4, 'Spring sale', $5, $6, $7)",
    )
    .bind(id)
    .bind(application)
    .bind(brand)
    .bind(season)
    .bind(starts_at)
    .bind(ends_at)
    .bind(paused)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

/// Audit events recorded about `entity`.
pub async fn audit_count(app: &TestApp, entity: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE entity_id = $1")
        .bind(entity)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Two brands, each with its own marketer, in one running season, each with an active
/// whitelist entry; plus an admin and a reviewer.
pub struct World {
    pub admin: User,
    pub reviewer: User,
    pub owner: User,
    pub stranger: User,
    pub brand: Uuid,
    pub other_brand: Uuid,
    pub season: Uuid,
    pub entry: Uuid,
    pub other_entry: Uuid,
}

pub async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let reviewer = app.user_with_role(&admin, "reviewer").await;
    let owner = app.marketer().await;
    let stranger = app.marketer().await;
    let acme = brand(app, &owner, "Acme").await;
    let other_brand = brand(app, &stranger, "Other").await;
    let season = season(app, "618-2027").await;
    let entry = whitelist_entry(app, acme, season, "active", reviewer.id).await;
    let other_entry = whitelist_entry(app, other_brand, season, "active", reviewer.id).await;
    World {
        admin,
        reviewer,
        owner,
        stranger,
        brand: acme,
        other_brand,
        season,
        entry,
        other_entry,
    }
}
