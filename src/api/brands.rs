//! Brands, their members and their verification.

use crate::api::json::ApiJson;
use crate::api::page::{List, PageParams};
use crate::api::tx::TxStart;
use crate::auth::Session;
use crate::domain::brand::{
    BrandKind, BrandName, MemberRole, StoreUrl, Verification, VerificationDecision,
};
use crate::domain::error::Errors;
use crate::error::{ApiError, Problem, Result};
use crate::flow::brands as flow;
use crate::state::AppState;
use crate::store::Scope;
use crate::store::brands::{self, Brand, BrandFilter, Member};
use actix_web::{HttpResponse, delete, get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(get_one)
        .service(add_member)
        .service(list_members)
        .service(remove_member)
        .service(verify);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBrandBody {
    /// 1 to 200 characters after trimming, no control characters.
    #[schema(min_length = 1, max_length = 200, example = "Li-Ning")]
    pub name: String,
    pub kind: BrandKind,
    /// An https URL on tmall.com or a subdomain of it, without credentials or port;
    /// at most 2048 characters.
    #[schema(
        format = "uri",
        max_length = 2048,
        example = "https://lining.tmall.com/"
    )]
    pub tmall_store_url: String,
}

/// Register a brand. A marketer who creates it becomes its owner.
#[utoipa::path(
    tag = "brands",
    request_body = CreateBrandBody,
    responses(
        (status = 201, description = "The brand, `pending` verification", body = Brand),
        (status = 422, description = "`validation_failed` (`invalid_name`, `invalid_store_url`)", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/brands")]
pub async fn create(
    session: Session,
    body: ApiJson<CreateBrandBody>,
    tx: TxStart,
) -> Result<HttpResponse> {
    let b = body.0;
    let mut errs = Errors::new();
    let name = errs.take(BrandName::parse(&b.name));
    let url = errs.take(StoreUrl::parse(&b.tmall_store_url));
    let (Some(name), Some(url)) = errs.finish((name, url))? else {
        return Err(ApiError::validation(Vec::new()));
    };
    let mut tx = tx.begin().await?;
    let brand = flow::create(&mut tx, &session.0.actor(), &name, b.kind, &url).await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(brand))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BrandQuery {
    pub verification: Option<Verification>,
    pub kind: Option<BrandKind>,
    /// Part of the name.
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List brands, newest first: a marketer sees their own, staff see all.
#[utoipa::path(
    tag = "brands",
    params(BrandQuery),
    responses((status = 200, description = "A page of brands", body = List<Brand>), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[get("/brands")]
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    page: PageParams,
    q: web::Query<BrandQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let filter = BrandFilter {
        verification: q.verification,
        kind: q.kind,
        q: q.q.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
    };
    let mut conn = state.pool.acquire().await?;
    let rows = brands::list(&mut conn, Scope::from(&session.0.actor()), &filter, &page).await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// One brand.
#[utoipa::path(
    tag = "brands",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The brand", body = Brand),
        (status = 404, description = "`not_found`: no such brand, or not one of yours", body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/brands/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
) -> Result<HttpResponse> {
    let mut conn = state.pool.acquire().await?;
    let brand = brands::visible(&mut conn, Scope::from(&session.0.actor()), id.into_inner())
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(brand))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberBody {
    /// The email of an existing marketer account (compared case-insensitively).
    #[schema(format = "email", example = "li.na@brand.example")]
    pub email: String,
    pub role: MemberRole,
}

/// Add a marketer to the brand.
#[utoipa::path(
    tag = "brands",
    params(("id" = Uuid, Path)),
    request_body = AddMemberBody,
    responses(
        (status = 201, description = "The new member", body = Member),
        (status = 403, description = "`forbidden`: only the brand's owners and admins manage members", body = Problem),
        (status = 404, description = "`not_found`: no such brand, or not one of yours", body = Problem),
        (status = 409, description = "`already_member`: the user is a member already", body = Problem),
        (status = 422, description = "`user_not_found`: no marketer account has this email (an unknown email and a staff account answer alike)", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/brands/{id}/members")]
pub async fn add_member(
    session: Session,
    id: web::Path<Uuid>,
    body: ApiJson<AddMemberBody>,
    tx: TxStart,
) -> Result<HttpResponse> {
    let b = body.0;
    let mut tx = tx.begin().await?;
    let member = flow::add_member(&mut tx, &session.0.actor(), *id, &b.email, b.role).await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(member))
}

/// The brand's members, newest first.
#[utoipa::path(
    tag = "brands",
    params(
        ("id" = Uuid, Path),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200),
        ("cursor" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "A page of the brand's members", body = List<Member>),
        (status = 403, description = "`forbidden`: only the brand's owners and admins list members", body = Problem),
        (status = 404, description = "`not_found`: no such brand, or not one of yours", body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/brands/{id}/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
    page: PageParams,
) -> Result<HttpResponse> {
    let brand_id = id.into_inner();
    let mut conn = state.pool.acquire().await?;
    flow::authorize_members(&mut conn, &session.0.actor(), brand_id, false).await?;
    let rows = brands::members(&mut conn, brand_id, &page).await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// Remove a member; the brand's last owner cannot be removed.
#[utoipa::path(
    tag = "brands",
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`forbidden`: only the brand's owners and admins manage members", body = Problem),
        (status = 404, description = "`not_found`: no such brand (or not one of yours), or the user is not a member", body = Problem),
        (status = 409, description = "`last_owner`: a brand keeps at least one owner", body = Problem),
    ),
    security(("bearer" = []))
)]
#[delete("/brands/{id}/members/{user_id}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse> {
    let (brand_id, user_id) = path.into_inner();
    let mut tx = state.pool.begin().await?;
    flow::remove_member(&mut tx, &session.0.actor(), brand_id, user_id).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationBody {
    pub decision: VerificationDecision,
    /// Required when rejecting (at most 1000 characters as sent, not blank; kept trimmed);
    /// optional otherwise.
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Verify or reject a brand (also later: rejecting a verified brand revokes it).
#[utoipa::path(
    tag = "brands",
    params(("id" = Uuid, Path)),
    request_body = VerificationBody,
    responses(
        (status = 200, description = "The brand with its new verification", body = Brand),
        (status = 403, description = "`forbidden`: only reviewers and admins verify brands", body = Problem),
        (status = 404, description = "`not_found`: no such brand", body = Problem),
        (status = 422, description = "`validation_failed` (`note`: `required` when rejecting, `too_long`)", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/brands/{id}/verification")]
pub async fn verify(
    session: Session,
    id: web::Path<Uuid>,
    body: ApiJson<VerificationBody>,
    tx: TxStart,
) -> Result<HttpResponse> {
    let b = body.0;
    let mut tx = tx.begin().await?;
    let brand = flow::verify(
        &mut tx,
        &session.0.actor(),
        *id,
        b.decision,
        b.note.as_deref(),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(brand))
}
