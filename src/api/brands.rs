//! Brands, their members and their verification.

use crate::api::json::ApiJson;
use crate::api::page::{List, PageParams};
use crate::auth::{Session, UserCaller};
use crate::domain::brand::{
    BrandKind, BrandName, MemberRole, StoreUrl, Verification, VerificationDecision, decision_note,
};
use crate::domain::user::Role;
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;
use crate::store::Scope;
use crate::store::audit::{self, Actor, Event};
use crate::store::brands::{self, Brand, BrandFilter, Member, NewBrand};
use crate::store::users;
use actix_web::{HttpResponse, delete, get, post, web};
use serde::Deserialize;
use sqlx::PgConnection;
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
    state: web::Data<AppState>,
    session: Session,
    body: ApiJson<CreateBrandBody>,
) -> Result<HttpResponse> {
    let caller = session.0;
    let b = body.0;
    let name = BrandName::parse(&b.name);
    let url = StoreUrl::parse(&b.tmall_store_url);
    let (name, url) = match (name, url) {
        (Ok(n), Ok(u)) => (n, u),
        (n, u) => {
            let errs = [n.err(), u.err()].into_iter().flatten().collect();
            return Err(ApiError::validation(errs));
        }
    };
    let mut tx = state.pool.begin().await?;
    let brand = insert_brand(&mut tx, &caller, &name, b.kind, &url).await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(brand))
}

/// Inserts the brand, makes a marketer who creates it its owner and writes the audit
/// event, inside the caller's transaction (also used by `crate::demo`).
pub async fn insert_brand(
    conn: &mut PgConnection,
    caller: &UserCaller,
    name: &BrandName,
    kind: BrandKind,
    url: &StoreUrl,
) -> Result<Brand> {
    let brand = brands::insert(
        &mut *conn,
        NewBrand {
            name,
            kind,
            url,
            created_by: caller.id,
        },
    )
    .await?;
    if caller.role == Role::Marketer {
        brands::add_member(
            &mut *conn,
            brand.id,
            caller.id,
            MemberRole::Owner,
            caller.id,
        )
        .await?;
    }
    audit::record(
        conn,
        Actor::from(caller),
        Event::new("brand", brand.id, "create").status(None, Verification::Pending.as_str()),
    )
    .await?;
    Ok(brand)
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
    let rows = brands::list(&mut conn, Scope::from(&session.0), &filter, &page).await?;
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
    let brand = brands::visible(&mut conn, Scope::from(&session.0), id.into_inner())
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(brand))
}

/// May the caller manage the brand's members? Admins and the brand's owners may; a
/// member is refused (403); anyone else who cannot see the brand gets 404.
async fn require_owner(conn: &mut PgConnection, caller: &UserCaller, brand_id: Uuid) -> Result<()> {
    match caller.role {
        Role::Admin => Ok(()),
        Role::Reviewer => Err(ApiError::forbidden()),
        Role::Marketer => match brands::member_role(conn, caller.id, brand_id)
            .await?
            .as_deref()
        {
            Some("owner") => Ok(()),
            Some(_) => Err(ApiError::forbidden()),
            None => Err(ApiError::not_found()),
        },
    }
}

/// Checks the brand exists (for admins and reviewers), then that the caller may manage it.
async fn authorize_members(
    conn: &mut PgConnection,
    caller: &UserCaller,
    brand_id: Uuid,
    lock: bool,
) -> Result<()> {
    // Visibility first, in SQL: a marketer may not even lock another brand's row.
    let visible = brands::visible(conn, Scope::from(caller), brand_id)
        .await?
        .is_some();
    if !visible || (lock && brands::lock(conn, brand_id).await?.is_none()) {
        return Err(ApiError::not_found());
    }
    require_owner(conn, caller, brand_id).await
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
        (status = 422, description = "`user_not_found`: no account has this email; `not_a_marketer`: only marketers can be members", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/brands/{id}/members")]
pub async fn add_member(
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
    body: ApiJson<AddMemberBody>,
) -> Result<HttpResponse> {
    let caller = session.0;
    let brand_id = id.into_inner();
    let b = body.0;
    let mut tx = state.pool.begin().await?;
    authorize_members(&mut tx, &caller, brand_id, true).await?;
    let member = add_member_by_email(&mut tx, &caller, brand_id, &b.email, b.role).await?;
    tx.commit().await?;
    Ok(HttpResponse::Created().json(member))
}

/// Adds the marketer with this email to the brand and writes the audit event, inside
/// the caller's transaction (also used by `crate::demo`). Whether the caller may manage
/// the brand's members is theirs to check first (`authorize_members`).
pub async fn add_member_by_email(
    conn: &mut PgConnection,
    caller: &UserCaller,
    brand_id: Uuid,
    email: &str,
    role: MemberRole,
) -> Result<Member> {
    let (user, _) = users::by_email(&mut *conn, email).await?.ok_or_else(|| {
        ApiError::invalid_field("email", "user_not_found", "No account has this email.")
    })?;
    let (user_id, email) = (user.id, user.email);
    if user.role != Role::Marketer.as_str() {
        return Err(ApiError::invalid_field(
            "email",
            "not_a_marketer",
            "Only marketer accounts can be members of a brand.",
        ));
    }
    let member = brands::add_member(&mut *conn, brand_id, user_id, role, caller.id)
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "already_member",
                "This user is already a member of the brand.",
            )
        })?;
    let note = format!("{user_id} {email} as {}", role.as_str());
    audit::record(
        conn,
        Actor::from(caller),
        Event::new("brand", brand_id, "add_member").note(Some(&note)),
    )
    .await?;
    Ok(member)
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
    let caller = session.0;
    let brand_id = id.into_inner();
    let mut conn = state.pool.acquire().await?;
    authorize_members(&mut conn, &caller, brand_id, false).await?;
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
    let caller = session.0;
    let (brand_id, user_id) = path.into_inner();
    let mut tx = state.pool.begin().await?;
    authorize_members(&mut tx, &caller, brand_id, true).await?;
    let role = brands::member_role(&mut tx, user_id, brand_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if role == MemberRole::Owner.as_str() && brands::owner_count(&mut tx, brand_id).await? <= 1 {
        return Err(ApiError::conflict(
            "last_owner",
            "A brand keeps at least one owner; add another owner first.",
        ));
    }
    let (email, _) = brands::remove_member(&mut tx, brand_id, user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let note = format!("{user_id} {email}");
    audit::record(
        &mut tx,
        Actor::from(&caller),
        Event::new("brand", brand_id, "remove_member").note(Some(&note)),
    )
    .await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationBody {
    pub decision: VerificationDecision,
    /// Required (1–1000 characters after trimming) when rejecting; optional otherwise.
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
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<Uuid>,
    body: ApiJson<VerificationBody>,
) -> Result<HttpResponse> {
    let caller = session.0;
    caller.require_staff()?;
    let brand_id = id.into_inner();
    let b = body.0;
    let note =
        decision_note(b.decision, b.note.as_deref()).map_err(|e| ApiError::validation(vec![e]))?;
    let to = match b.decision {
        VerificationDecision::Verified => Verification::Verified,
        VerificationDecision::Rejected => Verification::Rejected,
    };
    let mut tx = state.pool.begin().await?;
    let brand = set_verification(&mut tx, &caller, brand_id, to, note.as_deref()).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(brand))
}

/// Records the verification decision and its audit event, inside the caller's
/// transaction (also used by `crate::demo`); the note is checked beforehand
/// (`decision_note`).
pub async fn set_verification(
    conn: &mut PgConnection,
    caller: &UserCaller,
    brand_id: Uuid,
    to: Verification,
    note: Option<&str>,
) -> Result<Brand> {
    let before = brands::lock(&mut *conn, brand_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let brand = brands::set_verification(&mut *conn, brand_id, to, note, caller.id).await?;
    audit::record(
        conn,
        Actor::from(caller),
        Event::new("brand", brand_id, "verify")
            .status(Some(&before.verification), to.as_str())
            .note(note),
    )
    .await?;
    Ok(brand)
}
