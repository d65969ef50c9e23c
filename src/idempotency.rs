//! `Idempotency-Key` on every POST (SPEC §6), kept in PostgreSQL so it holds across
//! instances. What it guarantees:
//!
//! - **Authentication first.** A request with a bearer token is authenticated before
//!   anything is looked up or replayed: a token that no longer works (logged out, expired,
//!   user disabled, key revoked) gets 401, never a stored answer.
//! - **Scoped.** A key belongs to one credential, one method and one path. Requests
//!   without a credential (sign-up, sign-in: they carry a password, and any hash of it kept
//!   here could be guessed offline) are not kept: they simply run.
//! - **Never twice.** The first request claims the key inside its own transaction (`Tx`),
//!   the handler's change goes into that transaction, and the answer is written into it
//!   before one commit: a crash or a lost connection leaves either both or neither. A
//!   duplicate arriving meanwhile waits on the claim (at most `idempotency_wait`, then 409
//!   `idempotency_in_progress`) and then replays the answer.
//! - **No readable secret.** The stored answer is sealed (ChaCha20-Poly1305) with a key
//!   derived from the request itself, bearer token included, and stored nowhere: only the
//!   same request from the same credential can open it. A database dump holds no token or
//!   key that was handed out, and nothing that lets one guess a password.
//! - **Only successes are kept.** A refusal changed nothing, so a retry runs again (and a
//!   "retry" answer such as 409 `whitelist_conflict` is never replayed).
//!
//! Rows expire after 24 hours; the housekeeping sweep deletes them.

use crate::api::json::{BODY_LIMIT, too_large};
use crate::api::tx::{Shared, Slot};
use crate::auth::caller;
use crate::domain::error::Code;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";
const KEPT_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::ETAG, header::LOCATION];
const TTL_SECS: f64 = 24.0 * 3600.0;

/// What identifies a request and its answer, all derived from what was sent. The bearer
/// token (at least 128 random bits) is in each, so none can be guessed from the table.
struct Derived {
    /// Whose key space: the credential, method and path.
    caller: Vec<u8>,
    /// The request, to tell a repeat from another request under the same key.
    request_hash: Vec<u8>,
    /// Seals the answer; never stored.
    seal: [u8; 32],
}

fn derive(req: &ServiceRequest, token: Option<&str>, key: &str, body: &[u8]) -> Derived {
    let part = |h: &mut Sha256, bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    let request = |label: &[u8]| {
        let mut h = Sha256::new();
        part(&mut h, label);
        part(&mut h, token.unwrap_or_default().as_bytes());
        part(&mut h, req.method().as_str().as_bytes());
        part(&mut h, req.path().as_bytes());
        part(&mut h, req.query_string().as_bytes());
        part(&mut h, body);
        h
    };
    let caller = {
        let mut h = Sha256::new();
        part(&mut h, b"moments-gate idempotency caller v2");
        part(&mut h, token.unwrap_or_default().as_bytes());
        part(&mut h, req.method().as_str().as_bytes());
        part(&mut h, req.path().as_bytes());
        h.finalize().to_vec()
    };
    let request_hash = request(b"moments-gate idempotency request v2")
        .finalize()
        .to_vec();
    let mut h = request(b"moments-gate idempotency seal v2");
    part(&mut h, key.as_bytes());
    Derived {
        caller,
        request_hash,
        seal: h.finalize().into(),
    }
}

/// Errors become answers here, so the outer layers (request log, metrics,
/// `Cache-Control`) see them like any other.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> actix_web::Result<ServiceResponse<BoxBody>> {
    let key = match req.headers().get(HEADER) {
        Some(v) if req.method() == Method::POST => v.to_str().ok().map(str::to_owned),
        _ => return Ok(next.call(req).await?.map_into_boxed_body()),
    };
    guarded(req, next, key).await
}

/// `Ok(req.error_response(e))` for an error while the request is still ours.
macro_rules! try_or_answer {
    ($req:ident, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Ok($req.error_response(ApiError::from(e))),
        }
    };
}

async fn guarded(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    key: Option<String>,
) -> actix_web::Result<ServiceResponse<BoxBody>> {
    // Visible ASCII, `!` to `~` (the document's `^[!-~]+$`): a space is not visible.
    let visible =
        |k: &String| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic());
    let Some(key) = key.filter(visible) else {
        let e = ApiError::unprocessable(
            Code::InvalidIdempotencyKey,
            "Idempotency-Key is 1 to 255 visible ASCII characters.",
        );
        return Ok(req.error_response(e));
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(req.error_response(ApiError::internal("AppState missing")));
    };
    // Without a credential there is nothing to scope a key by but the request, and the
    // anonymous requests (sign-up, sign-in) carry a password: any hash of it kept here
    // could be guessed offline at hash speed. So they are not kept; the request runs.
    if !req.headers().contains_key(header::AUTHORIZATION) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    // Authenticate before anything is looked up or replayed.
    let token = caller::bearer(req.request()).map(str::to_owned);
    let who = caller::authenticate(req.request().clone()).await;
    try_or_answer!(req, who);
    let body = try_or_answer!(req, read_body(req.take_payload()).await);
    let d = derive(&req, token.as_deref(), &key, &body);
    req.set_payload(Payload::from(body));

    let mut tx = try_or_answer!(req, state.pool.begin().await);
    // A duplicate waits for the first request's transaction, not longer than this.
    let wait_ms = state.settings.idempotency_wait.as_millis().max(1);
    let set = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SET LOCAL lock_timeout = {wait_ms}"
    )))
    .execute(&mut *tx)
    .await;
    try_or_answer!(req, set);
    let claimed = sqlx::query_scalar::<_, bool>(
        "INSERT INTO idempotency_keys (caller, key, request_hash) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING RETURNING true",
    )
    .bind(&d.caller)
    .bind(&key)
    .bind(&d.request_hash)
    .fetch_optional(&mut *tx)
    .await;
    let claimed = match claimed {
        Ok(c) => c.is_some(),
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("55P03") => {
            return Ok(req.error_response(in_progress()));
        }
        Err(e) => return Ok(req.error_response(ApiError::from(e))),
    };
    if claimed {
        let reset = reset_lock_timeout(&mut tx).await;
        try_or_answer!(req, reset);
        return run_and_store(req, next, tx, &d, &key).await;
    }
    let stored: sqlx::Result<Option<Stored>> = sqlx::query_as(
        "SELECT request_hash, status_code, response_headers, response_body, \
         EXTRACT(EPOCH FROM now() - created_at)::float8 AS age \
         FROM idempotency_keys WHERE caller = $1 AND key = $2",
    )
    .bind(&d.caller)
    .bind(&key)
    .fetch_optional(&mut *tx)
    .await;
    let Some(stored) = try_or_answer!(req, stored) else {
        return Ok(req.error_response(in_progress()));
    };
    if stored.age > TTL_SECS {
        // Expired: this request takes the key over, inside its own transaction, if it is
        // still expired once its row lock is ours (a concurrent takeover may have won).
        let taken = sqlx::query_scalar::<_, bool>(
            "UPDATE idempotency_keys SET request_hash = $3, created_at = now(), \
             status_code = NULL, response_headers = NULL, response_body = NULL \
             WHERE caller = $1 AND key = $2 AND created_at < now() - interval '24 hours' \
             RETURNING true",
        )
        .bind(&d.caller)
        .bind(&key)
        .bind(&d.request_hash)
        .fetch_optional(&mut *tx)
        .await;
        match taken {
            Ok(Some(_)) => {
                let reset = reset_lock_timeout(&mut tx).await;
                try_or_answer!(req, reset);
                return run_and_store(req, next, tx, &d, &key).await;
            }
            // Another request took it over first, and is running or done: retry.
            Ok(None) => return Ok(req.error_response(in_progress())),
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("55P03") => {
                return Ok(req.error_response(in_progress()));
            }
            Err(e) => return Ok(req.error_response(ApiError::from(e))),
        }
    }
    drop(tx);
    if stored.request_hash != d.request_hash {
        let e = ApiError::unprocessable(
            Code::IdempotencyKeyReused,
            "This Idempotency-Key was used with another request; use a new key.",
        );
        return Ok(req.error_response(e));
    }
    let (Some(status), Some(sealed)) = (stored.status_code, stored.response_body) else {
        return Ok(req.error_response(in_progress()));
    };
    let Some(body) = open(&d.seal, &sealed) else {
        let e = ApiError::internal("a stored idempotent answer did not open");
        return Ok(req.error_response(e));
    };
    let res = replay(status, stored.response_headers, body);
    Ok(req.into_response(res))
}

/// The handler's statements run under the connection's own `lock_timeout`, not the
/// claim's wait.
async fn reset_lock_timeout(tx: &mut sqlx::PgConnection) -> sqlx::Result<()> {
    sqlx::query("SET LOCAL lock_timeout TO DEFAULT")
        .execute(tx)
        .await
        .map(|_| ())
}

fn in_progress() -> ApiError {
    ApiError::conflict(
        Code::IdempotencyInProgress,
        "A request with this Idempotency-Key is still running; retry shortly.",
    )
    .with_retry_after(1)
}

#[derive(sqlx::FromRow)]
struct Stored {
    request_hash: Vec<u8>,
    status_code: Option<i32>,
    response_headers: Option<serde_json::Value>,
    response_body: Option<Vec<u8>>,
    age: f64,
}

async fn read_body(mut payload: Payload) -> Result<web::Bytes, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::bad_request(Code::MalformedBody, "The body could not be read.")
        })?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

async fn run_and_store(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    d: &Derived,
    key: &str,
) -> actix_web::Result<ServiceResponse<BoxBody>> {
    let shared = Shared::default();
    *shared.0.borrow_mut() = Slot::Ready(tx);
    req.extensions_mut().insert(shared.clone());
    // If the handler fails, its transaction (and the claim) roll back when dropped.
    let res = next.call(req).await?;
    let slot = std::mem::take(&mut *shared.0.borrow_mut());
    let status = res.status();
    let mut tx = match slot {
        Slot::Returned(tx) | Slot::Ready(tx) if status.is_success() => tx,
        // A refusal changed nothing: nothing is kept, and a retry runs again.
        _ => return Ok(res.map_into_boxed_body()),
    };
    let (http_req, res) = res.into_parts();
    let headers: serde_json::Map<String, serde_json::Value> = KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let v = res.headers().get(name)?.to_str().ok()?;
            Some((name.as_str().to_owned(), v.into()))
        })
        .collect();
    let (head, body) = res.into_parts();
    let answer = |r: HttpResponse| Ok(ServiceResponse::new(http_req.clone(), r));
    let Ok(bytes) = actix_web::body::to_bytes(body).await else {
        return answer(ApiError::internal("response body could not be read").error_response());
    };
    let sealed = match seal(&d.seal, &bytes) {
        Ok(s) => s,
        Err(e) => return answer(e.error_response()),
    };
    let saved = sqlx::query(
        "UPDATE idempotency_keys SET status_code = $3, response_headers = $4, \
         response_body = $5 WHERE caller = $1 AND key = $2",
    )
    .bind(&d.caller)
    .bind(key)
    .bind(i32::from(status.as_u16()))
    .bind(serde_json::Value::Object(headers))
    .bind(sealed)
    .execute(&mut *tx)
    .await;
    // The change and its answer commit together; if this fails the change is not there
    // either, and the client is told so rather than shown a 2xx.
    let committed = match saved {
        Ok(_) => tx.commit().await,
        Err(e) => Err(e),
    };
    if let Err(e) = committed {
        return answer(ApiError::from(e).error_response());
    }
    let res = head.set_body(bytes).map_into_boxed_body();
    Ok(ServiceResponse::new(http_req, res))
}

/// `nonce || ciphertext` of `plain` under `key`.
fn seal(key: &[u8; 32], plain: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(ApiError::internal)?;
    let cipher = ChaCha20Poly1305::new(&Key::from(*key));
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), plain)
        .map_err(|_| ApiError::internal("could not seal an idempotent answer"))?;
    Ok([&nonce[..], &sealed].concat())
}

fn open(key: &[u8; 32], sealed: &[u8]) -> Option<Vec<u8>> {
    let (nonce, ciphertext) = sealed.split_at_checked(12)?;
    let nonce: [u8; 12] = nonce.try_into().ok()?;
    let cipher = ChaCha20Poly1305::new(&Key::from(*key));
    cipher.decrypt(&Nonce::from(nonce), ciphertext).ok()
}

fn replay(status: i32, headers: Option<serde_json::Value>, body: Vec<u8>) -> HttpResponse {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    if let Some(serde_json::Value::Object(map)) = headers {
        for (k, v) in map {
            if let (Ok(name), Some(v)) = (HeaderName::try_from(k.as_str()), v.as_str())
                && let Ok(value) = HeaderValue::from_str(v)
            {
                res.insert_header((name, value));
            }
        }
    }
    res.insert_header(("idempotent-replayed", "true"));
    res.body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_answers_open_only_with_their_key() {
        let k = [7u8; 32];
        let s = seal(&k, b"{\"token\":\"mgs_x\"}").unwrap();
        assert!(!s.windows(5).any(|w| w == b"mgs_x"));
        assert_eq!(open(&k, &s).unwrap(), b"{\"token\":\"mgs_x\"}");
        assert!(open(&[8u8; 32], &s).is_none());
        assert!(open(&k, &s[..5]).is_none());
    }
}
