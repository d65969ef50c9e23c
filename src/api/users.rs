//! Admin management of user accounts.

use crate::api::accounts::{create_user, parse_account};
use crate::api::json::ApiJson;
use crate::api::page::{List, PageParams};
use crate::api::tx::TxStart;
use crate::auth::Session;
use crate::domain::user::Role;
use crate::error::{Problem, Result};
use crate::flow::accounts::{self as flow, Creator};
use crate::state::AppState;
use crate::store::users::{self, User, UserFilter};
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserBody {
    /// Unique, compared case-insensitively; at most 254 characters.
    #[schema(
        format = "email",
        max_length = 254,
        example = "wang.fang@platform.example"
    )]
    pub email: String,
    /// 12 to 128 characters; the most common passwords are refused.
    #[schema(
        min_length = 12,
        max_length = 128,
        format = "password",
        example = "plum rain over the west lake"
    )]
    pub password: String,
    /// 1 to 100 characters after trimming, no control characters.
    #[schema(min_length = 1, max_length = 100, example = "Wang Fang")]
    pub display_name: String,
    pub role: Role,
}

/// Create a user of any role.
#[utoipa::path(
    tag = "users",
    request_body = CreateUserBody,
    responses(
        (status = 201, description = "The new account", body = User),
        (status = 403, description = "`forbidden`: only admins create users", body = Problem),
        (status = 409, description = "`email_taken`: an account with this email exists", body = Problem),
        (status = 422, description = "`validation_failed` (`invalid_email`, `invalid_display_name`, …); a lone password problem has its own code: `password_too_short`, `password_too_long`, `password_too_common`", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/users")]
pub async fn create(
    state: web::Data<AppState>,
    session: Session,
    body: ApiJson<CreateUserBody>,
    tx: TxStart,
) -> Result<HttpResponse> {
    let caller = session.0;
    caller.require_admin()?;
    let b = body.0;
    let (email, password, name) = parse_account(&b.email, &b.password, &b.display_name)?;
    let actor = caller.actor();
    let user = create_user(
        &state,
        tx,
        Creator::Admin(&actor),
        &email,
        &password,
        &name,
        b.role,
    )
    .await?;
    Ok(HttpResponse::Created().json(user))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// Part of the email or the display name.
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List users, newest first.
#[utoipa::path(
    tag = "users",
    params(UserQuery),
    responses(
        (status = 200, description = "A page of users", body = List<User>),
        (status = 403, description = "`forbidden`: only admins list users", body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/users")]
pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    page: PageParams,
    q: web::Query<UserQuery>,
) -> Result<HttpResponse> {
    session.0.require_admin()?;
    let q = q.into_inner();
    let filter = UserFilter {
        role: q.role,
        disabled: q.disabled,
        q: q.q.filter(|s| !s.trim().is_empty()),
    };
    let rows = users::list(&mut *state.pool.acquire().await?, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// Disable a user: they can no longer sign in and their sessions end at once.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The user, disabled (already disabled: unchanged)", body = User),
        (status = 403, description = "`forbidden`: only admins disable users", body = Problem),
        (status = 404, description = "`not_found`: no such user", body = Problem),
        (status = 409, description = "`cannot_disable_self`: an admin cannot disable their own account", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/users/{id}/disable")]
pub async fn disable(session: Session, id: web::Path<Uuid>, tx: TxStart) -> Result<HttpResponse> {
    let mut tx = tx.begin().await?;
    let user = flow::disable(&mut tx, &session.0.actor(), id.into_inner()).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(user))
}
