//! The extractors that authenticate a request. Tokens are read only from the
//! `Authorization: Bearer` header, never from a URL.

use super::tokens::{self, API_KEY_PREFIX, SESSION_PREFIX};
use crate::domain::actor::Actor;
use crate::domain::error::Code;
use crate::domain::user::Role;
use crate::error::{ApiError, Result};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

/// A signed-in user.
#[derive(Debug, Clone, Copy)]
pub struct UserCaller {
    pub id: Uuid,
    pub role: Role,
    pub session_id: Uuid,
}

impl UserCaller {
    /// The acting party, as the flow layer takes it.
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id,
            role: self.role,
        }
    }

    pub fn is_staff(&self) -> bool {
        self.role.is_staff()
    }

    pub fn require_staff(&self) -> Result<()> {
        if self.is_staff() {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    pub fn require_admin(&self) -> Result<()> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

/// A user session or a service (API key).
#[derive(Debug, Clone, Copy)]
pub enum Caller {
    User(UserCaller),
    Service { key_id: Uuid },
}

/// The token of `Authorization: Bearer <token>`, when there is one.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AppState missing"))
}

async fn user_for_session(state: &AppState, token: &str) -> Result<Option<UserCaller>> {
    let row: Option<(Uuid, Uuid, Role)> = sqlx::query_as(
        "SELECT s.id, u.id, u.role FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > now() AND NOT u.disabled",
    )
    .bind(tokens::digest(token))
    .fetch_optional(&mut *state.pool.acquire().await?)
    .await?;
    Ok(row.map(|(session_id, id, role)| UserCaller {
        id,
        role,
        session_id,
    }))
}

/// Who the bearer token says is calling, checked once per request: the answer is kept in
/// the request's extensions for every later extractor (and the idempotency layer, which
/// authenticates before it replays anything).
pub async fn authenticate(req: HttpRequest) -> Result<Caller> {
    if let Some(c) = req.extensions().get::<Caller>() {
        return Ok(*c);
    }
    let caller = authenticate_token(&req).await?;
    req.extensions_mut().insert(caller);
    Ok(caller)
}

async fn authenticate_token(req: &HttpRequest) -> Result<Caller> {
    let token = bearer(req).ok_or_else(ApiError::unauthorized)?;
    let state = state(req)?;
    if token.starts_with(SESSION_PREFIX) {
        let user = user_for_session(&state, token).await?;
        return user.map(Caller::User).ok_or_else(ApiError::unauthorized);
    }
    if token.starts_with(API_KEY_PREFIX) {
        // Held to the gate's freshness bound: 503 `gate_state_stale` past it.
        let key_id = state
            .gate
            .api_key(&state.pool, &tokens::digest(token))
            .await?;
        return key_id
            .map(|key_id| Caller::Service { key_id })
            .ok_or_else(ApiError::unauthorized);
    }
    Err(ApiError::unauthorized())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(authenticate(req))
    }
}

/// A signed-in user; a service key is refused with 403 (services may only call the gate).
#[derive(Debug, Clone, Copy)]
pub struct Session(pub UserCaller);

impl FromRequest for Session {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(req).await? {
                Caller::User(u) => Ok(Session(u)),
                Caller::Service { .. } => Err(ApiError::forbidden_because(
                    Code::Forbidden,
                    "A service key may only call the gate.",
                )),
            }
        })
    }
}
