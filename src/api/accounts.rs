//! Sign-up, sign-in, sign-out, the caller's own account.

use crate::api::json::ApiJson;
use crate::api::limits;
use crate::api::tx::TxStart;
use crate::auth::Session;
use crate::auth::password::NewPassword;
use crate::auth::tokens::{self, SESSION_PREFIX};
use crate::domain::error::{Code, Errors};
use crate::domain::user::{DisplayName, Email, Role};
use crate::error::{ApiError, Problem, Result};
use crate::flow::accounts::{self as flow, Creator};
use crate::state::AppState;
use crate::store::users::{self, Membership, User};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// Unique, compared case-insensitively; at most 254 characters.
    #[schema(format = "email", max_length = 254, example = "li.na@brand.example")]
    pub email: String,
    /// 12 to 128 characters, any Unicode, never truncated; the most common passwords
    /// are refused (`password_too_common`).
    #[schema(
        min_length = 12,
        max_length = 128,
        format = "password",
        example = "plum rain over the west lake"
    )]
    pub password: String,
    /// 1 to 100 characters after trimming, no control characters.
    #[schema(min_length = 1, max_length = 100, example = "Li Na")]
    pub display_name: String,
}

/// Parses a new account's fields, listing every problem at once. A lone password
/// problem keeps its own code (`password_too_common`, …) at the top level.
pub fn parse_account(
    raw_email: &str,
    password: &str,
    display_name: &str,
) -> Result<(Email, NewPassword, DisplayName)> {
    let mut errs = Errors::new();
    let email = errs.take(Email::parse("email", raw_email));
    let name = errs.take(DisplayName::parse("display_name", display_name));
    let password = NewPassword::parse_for("password", password, &[raw_email, display_name]);
    match (email, name, password) {
        (Some(e), Some(n), Ok(p)) => Ok((e, p, n)),
        (Some(_), Some(_), Err(pw_err)) => Err(pw_err),
        (_, _, pw) => {
            let mut all = errs.into_vec();
            if let Err(pw_err) = pw {
                all.extend(pw_err.field_errors().iter().cloned());
            }
            Err(ApiError::validation(all))
        }
    }
}

/// Hashes the password off the request threads, then creates the account in one
/// transaction with its audit event.
pub async fn create_user(
    state: &AppState,
    tx: TxStart,
    creator: Creator<'_>,
    email: &Email,
    password: &NewPassword,
    display_name: &DisplayName,
    role: Role,
) -> Result<User> {
    let hash = state.hasher.hash(password).await?;
    let mut tx = tx.begin().await?;
    let user = flow::create_user(&mut tx, creator, email, display_name, role, &hash).await?;
    tx.commit().await?;
    Ok(user)
}

/// Create an account (role `marketer`).
#[utoipa::path(
    tag = "auth",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "The new account", body = User),
        (status = 409, description = "`email_taken`: an account with this email exists", body = Problem),
        (status = 422, description = "`validation_failed` (`invalid_email`, `invalid_display_name`, …); a lone password problem has its own code: `password_too_short`, `password_too_long`, `password_too_common`", body = Problem),
        (status = 429, description = "`too_many_requests`: too many sign-ups and sign-ins from this address (`ANON_RATE_PER_MINUTE`); wait `Retry-After` seconds", body = Problem),
        (status = 503, description = "`overloaded`: too many passwords are being checked at once; retry after `Retry-After`", body = Problem),
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<RegisterBody>,
    tx: TxStart,
) -> Result<HttpResponse> {
    state
        .limits
        .anonymous
        .check(&limits::client(&req, &state.settings.trusted_proxies))?;
    let b = body.0;
    let (email, password, name) = parse_account(&b.email, &b.password, &b.display_name)?;
    let user = create_user(
        &state,
        tx,
        Creator::Themselves,
        &email,
        &password,
        &name,
        Role::Marketer,
    )
    .await?;
    Ok(HttpResponse::Created().json(user))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    #[schema(format = "email", example = "li.na@brand.example")]
    pub email: String,
    #[schema(format = "password", example = "plum rain over the west lake")]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginAnswer {
    /// The session token (`mgs_` and 43 more characters); send it as
    /// `Authorization: Bearer <token>`.
    #[schema(pattern = "^mgs_[A-Za-z0-9_-]{43}$")]
    pub token: String,
    /// When the session ends (12 hours after sign-in unless configured otherwise).
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// A login attempt counted against an account before its password is checked; given
/// back when dropped before `keep` (the check failed, or the request was cancelled).
struct Attempt(Option<(sqlx::PgPool, i64)>);

impl Attempt {
    fn keep(&mut self) {
        self.0 = None;
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if let Some((pool, attempt)) = self.0.take() {
            // Best effort, off the request: the caller is gone or has its own error.
            tokio::spawn(async move {
                let _ = users::give_back_attempt(&pool, attempt).await;
            });
        }
    }
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::UNAUTHORIZED,
        Code::InvalidCredentials,
        "The email or the password is wrong.",
    )
}

/// Sign in. Unknown email and wrong password answer alike, in about the same time.
#[utoipa::path(
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in", body = LoginAnswer),
        (status = 401, description = "`invalid_credentials`: the email or the password is wrong (the same answer for both)", body = Problem),
        (status = 429, description = "`too_many_attempts`: 10 failed sign-ins of this account within 15 minutes; `too_many_requests`: too many sign-ups and sign-ins from this address; wait `Retry-After` seconds (counted per account, even against the right password)", body = Problem),
        (status = 503, description = "`overloaded`: too many passwords are being checked at once; retry after `Retry-After`", body = Problem),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<LoginBody>,
) -> Result<HttpResponse> {
    state
        .limits
        .anonymous
        .check(&limits::client(&req, &state.settings.trusted_proxies))?;
    let b = body.0;
    if b.password.chars().count() > crate::auth::password::MAX_CHARS * 4 {
        return Err(invalid_credentials());
    }
    let found = users::by_email(&mut *state.pool.acquire().await?, &b.email).await?;
    let mut attempt = match &found {
        Some((user, _)) => {
            match users::take_attempt(&mut *state.pool.acquire().await?, user.id).await? {
                Ok(attempt) => Some(Attempt(Some((state.pool.uncounted().clone(), attempt)))),
                Err(wait) => return Err(ApiError::too_many_attempts(wait)),
            }
        }
        None => None,
    };
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), Some(h)),
        None => (None, None),
    };
    // If the check fails, or the client goes away while it waits for its turn, the
    // attempt is given back (by `Attempt`'s drop): it was never a guess.
    let ok = state.hasher.verify(&b.password, hash).await?;
    if let Some(a) = attempt.as_mut() {
        a.keep();
    }
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        // The attempt taken above stays recorded as a failure.
        Some(_) => {
            state.metrics.logins_failed.fetch_add(1, Ordering::Relaxed);
            return Err(invalid_credentials());
        }
        None => {
            state.metrics.logins_failed.fetch_add(1, Ordering::Relaxed);
            return Err(invalid_credentials());
        }
    };
    users::clear_failures(&mut *state.pool.acquire().await?, user.id).await?;
    let token = tokens::generate(SESSION_PREFIX);
    let expires_at = users::create_session(
        &mut *state.pool.acquire().await?,
        user.id,
        &tokens::digest(&token),
        state.settings.session_ttl,
    )
    .await?;
    Ok(HttpResponse::Ok().json(LoginAnswer {
        token,
        expires_at,
        user,
    }))
}

/// Sign out: the token stops working at once.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 204, description = "Signed out"),
        (status = 403, description = "`forbidden`: a service key has no session to end", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/auth/logout")]
pub async fn logout(session: Session, tx: TxStart) -> Result<HttpResponse> {
    let mut tx = tx.begin().await?;
    users::delete_session(&mut *tx, session.0.session_id).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    /// The brands the user is a member of (empty for staff).
    pub memberships: Vec<Membership>,
}

/// The signed-in user and the brands they belong to.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 403, description = "`forbidden`: a service key is not a user", body = Problem),
    ),
    security(("bearer" = []))
)]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, session: Session) -> Result<HttpResponse> {
    let mut conn = state.pool.acquire().await?;
    let user = users::by_id(&mut conn, session.0.id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    drop(conn);
    let memberships = users::memberships(&mut *state.pool.acquire().await?, user.id).await?;
    Ok(HttpResponse::Ok().json(Me { user, memberships }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    #[schema(format = "password", example = "plum rain over the west lake")]
    pub current_password: String,
    /// 12 to 128 characters; the most common passwords are refused.
    #[schema(
        min_length = 12,
        max_length = 128,
        format = "password",
        example = "autumn moon over the calm lake"
    )]
    pub new_password: String,
}

/// Change the password; the user's other sessions end.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordBody,
    responses(
        (status = 204, description = "Changed; the user's other sessions have ended"),
        (status = 403, description = "`forbidden`: a service key has no password", body = Problem),
        (status = 422, description = "`wrong_password`: the current password is wrong; `password_too_short`, `password_too_long`, `password_too_common`: the new one is refused", body = Problem),
        (status = 429, description = "`too_many_requests`: too many password changes for this account (`PASSWORD_CHANGES_PER_HOUR`, right or wrong); wait `Retry-After` seconds", body = Problem),
    ),
    security(("bearer" = []))
)]
#[post("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    session: Session,
    body: ApiJson<PasswordBody>,
    tx: TxStart,
) -> Result<HttpResponse> {
    let caller = session.0;
    // Counted whatever the outcome: a wrong current password is a guess.
    state.limits.password_change.check(&caller.id)?;
    let mut tx = tx.begin().await?;
    let user = users::by_id(&mut tx, caller.id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let new = NewPassword::parse_for(
        "new_password",
        &body.0.new_password,
        &[&user.email, &user.display_name],
    )?;
    // Through the request's transaction: with an Idempotency-Key it already holds a
    // connection, and a second one from the pool could wait on a full pool.
    let hash = users::password_hash(&mut *tx, caller.id).await?;
    if !state
        .hasher
        .verify(&body.0.current_password, Some(hash))
        .await?
    {
        return Err(ApiError::invalid_field(
            "current_password",
            Code::WrongPassword,
            "The current password is wrong.",
        ));
    }
    let new_hash = state.hasher.hash(&new).await?;
    flow::change_password(&mut tx, &caller.actor(), caller.session_id, &new_hash).await?;
    tx.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}
