//! Service keys for the ad-serving side.

use crate::api::json::ApiJson;
use crate::api::page::{List, PageParams};
use crate::api::tx::TxStart;
use crate::auth::Session;
use crate::auth::tokens::{self, API_KEY_PREFIX};
use crate::error::{Problem, Result};
use crate::flow::api_keys as flow;
use crate::state::AppState;
use crate::store::api_keys::{self, ApiKey};
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
    session: Session,
    body: ApiJson<CreateKeyBody>,
    tx: TxStart,
) -> Result<HttpResponse> {
    let key = tokens::generate(API_KEY_PREFIX);
    let mut tx = tx.begin().await?;
    let row = flow::create(
        &mut tx,
        &session.0.actor(),
        &body.0.name,
        &tokens::digest(&key),
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
    let rows = api_keys::list(&mut *state.pool.acquire().await?, &page).await?;
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
    let mut tx = state.pool.begin().await?;
    flow::revoke(&mut tx, &session.0.actor(), id.into_inner()).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
