//! Service keys for the ad-serving side.

use crate::api::json::ApiJson;
use crate::api::page::{List, PageParams};
use crate::auth::Session;
use crate::auth::tokens::{self, API_KEY_PREFIX};
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::state::AppState;
use crate::store::api_keys::{self, ApiKey};
use crate::store::audit::{self, Actor, Event};
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyBody {
    /// 1 to 100 characters after trimming, no control characters.
    #[schema(min_length = 1, max_length = 100, example = "ad-server-shanghai")]
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedKey {
    pub id: Uuid,
    pub name: String,
    /// The secret (`mgk_` and 43 more characters), shown this once. Send it as
    /// `Authorization: Bearer <key>`.
    #[schema(pattern = "^mgk_[A-Za-z0-9_-]{43}$")]
    pub key: String,
    pub created_at: DateTime<Utc>,
}

/// Create a key; its secret is in this answer only.
#[utoipa::path(
    tag = "api-keys",
    request_body = CreateKeyBody,
    responses(
        (status = 201, description = "The key, with its secret", body = CreatedKey),
        (status = 403, description = "`forbidden`: only admins create keys", body = Problem),
        (status = 422, description = "`validation_failed` (`invalid_name`)", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/api-keys")]
pub async fn create(
    state: web::Data<AppState>,
    session: Session,
    body: ApiJson<CreateKeyBody>,
) -> Result<HttpResponse> {
    let caller = session.0;
    caller.require_admin()?;
    let name = body.0.name.trim().to_owned();
    let n = name.chars().count();
    if n == 0 || n > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::validation(vec![FieldError::new(
            "name",
            "invalid_name",
            "A key's name has 1 to 100 characters.",
        )]));
    }
    let key = tokens::generate(API_KEY_PREFIX);
    let mut tx = state.pool.begin().await?;
    let row = api_keys::insert(&mut tx, &name, &tokens::digest(&key), caller.id).await?;
    audit::record(
        &mut tx,
        Actor::from(&caller),
        Event::new("api_key", row.id, "create").status(None, "active"),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(CreatedKey {
        id: row.id,
        name: row.name,
        key,
        created_at: row.created_at,
    }))
}

/// List keys, newest first, without their secrets.
#[utoipa::path(
    tag = "api-keys",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200),
        ("cursor" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "A page of keys, without secrets", body = List<ApiKey>),
        (status = 403, description = "`forbidden`: only admins list keys", body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/api-keys")]
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    page: PageParams,
) -> Result<HttpResponse> {
    session.0.require_admin()?;
    let rows = api_keys::list(&state.pool, &page).await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// Revoke a key: it stops working on every instance within a second.
#[utoipa::path(
    tag = "api-keys",
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "Revoked (already revoked: unchanged)"),
        (status = 403, description = "`forbidden`: only admins revoke keys", body = Problem),
        (status = 404, description = "`not_found`: no such key", body = Problem),
    ),
    security(("bearer" = []))
)]
#[delete("/api-keys/{id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let caller = session.0;
    caller.require_admin()?;
    let id = id.into_inner();
    let mut tx = state.pool.begin().await?;
    let was_active = api_keys::revoke(&mut tx, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if was_active {
        audit::record(
            &mut tx,
            Actor::from(&caller),
            Event::new("api_key", id, "revoke").status(Some("active"), "revoked"),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
