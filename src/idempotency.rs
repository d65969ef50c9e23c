//! `Idempotency-Key` on every POST, kept in PostgreSQL so it holds across instances.
//!
//! The first request with a key claims it (an insert that only one caller can win), runs,
//! and stores its answer; a repeat with the same body within 24 hours gets that answer
//! again (`Idempotent-Replayed: true`); a repeat with another body gets 422
//! `idempotency_key_reused`; a repeat while the first still runs waits for its answer.
//! The caller is the bearer token (or "anonymous" without one). Server errors (5xx) and
//! 429 are not kept, so a retry runs again.

use crate::api::json::{BODY_LIMIT, too_large};
use crate::domain::error::Code;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

pub const HEADER: &str = "idempotency-key";
const KEPT_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::ETAG,
    header::LOCATION,
    header::RETRY_AFTER,
];
/// A claim older than this whose answer never came is taken to be abandoned (its
/// instance died mid-request) and may be claimed again.
const ABANDONED_AFTER_SECS: f64 = 60.0;

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> actix_web::Result<ServiceResponse<BoxBody>> {
    let key = match req.headers().get(HEADER) {
        Some(v) if req.method() == Method::POST => v.to_str().ok().map(str::to_owned),
        _ => return Ok(next.call(req).await?.map_into_boxed_body()),
    };
    let Some(key) = key.filter(|k| (1..=255).contains(&k.len())) else {
        return Err(ApiError::unprocessable(
            Code::InvalidIdempotencyKey,
            "Idempotency-Key is 1 to 255 visible ASCII characters.",
        )
        .into());
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };

    let caller = Sha256::digest(
        req.headers()
            .get(header::AUTHORIZATION)
            .map_or(&b"anonymous"[..], HeaderValue::as_bytes),
    )
    .to_vec();
    let body = read_body(req.take_payload()).await?;
    let mut h = Sha256::new();
    h.update(req.path().as_bytes());
    h.update(b"?");
    h.update(req.query_string().as_bytes());
    h.update(b"\n");
    h.update(&body);
    let request_hash = h.finalize().to_vec();
    req.set_payload(Payload::from(body));

    let started = Instant::now();
    loop {
        let claimed: Option<bool> = sqlx::query_scalar(
            "INSERT INTO idempotency_keys (caller, key, request_hash) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING RETURNING true",
        )
        .bind(&caller)
        .bind(&key)
        .bind(&request_hash)
        .fetch_optional(&state.pool)
        .await
        .map_err(ApiError::from)?;
        if claimed.is_some() {
            return run_and_store(req, next, &state, &caller, &key).await;
        }
        let stored: Option<Stored> = sqlx::query_as(
            "SELECT request_hash, status_code, response_headers, response_body, \
             EXTRACT(EPOCH FROM now() - created_at)::float8 AS age \
             FROM idempotency_keys WHERE caller = $1 AND key = $2",
        )
        .bind(&caller)
        .bind(&key)
        .fetch_optional(&state.pool)
        .await
        .map_err(ApiError::from)?;
        let Some(stored) = stored else { continue };
        let expired = stored.age > 24.0 * 3600.0
            || (stored.status_code.is_none() && stored.age > ABANDONED_AFTER_SECS);
        if expired {
            sqlx::query(
                "DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 \
                 AND request_hash = $3 AND created_at < now() - make_interval(secs => $4)",
            )
            .bind(&caller)
            .bind(&key)
            .bind(&stored.request_hash)
            .bind(stored.age.min(ABANDONED_AFTER_SECS))
            .execute(&state.pool)
            .await
            .map_err(ApiError::from)?;
            continue;
        }
        if stored.request_hash != request_hash {
            return Err(ApiError::unprocessable(
                Code::IdempotencyKeyReused,
                "This Idempotency-Key was used with another request; use a new key.",
            )
            .into());
        }
        if let Some(status) = stored.status_code {
            let res = replay(status, stored.response_headers, stored.response_body);
            return Ok(req.into_response(res));
        }
        if started.elapsed() > state.settings.idempotency_wait {
            return Err(ApiError::conflict(
                Code::IdempotencyInProgress,
                "A request with this Idempotency-Key is still running; retry shortly.",
            )
            .with_retry_after(1)
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(sqlx::FromRow)]
struct Stored {
    request_hash: Vec<u8>,
    status_code: Option<i32>,
    response_headers: Option<serde_json::Value>,
    response_body: Option<Vec<u8>>,
    age: f64,
}

async fn read_body(mut payload: Payload) -> actix_web::Result<web::Bytes> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::bad_request(Code::MalformedBody, "The body could not be read.")
        })?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(too_large().into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

async fn run_and_store(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    state: &AppState,
    caller: &[u8],
    key: &str,
) -> actix_web::Result<ServiceResponse<BoxBody>> {
    let res = match next.call(req).await {
        Ok(res) => res,
        Err(e) => {
            forget(state, caller, key).await;
            return Err(e);
        }
    };
    let (http_req, res) = res.into_parts();
    let status = res.status();
    let headers: serde_json::Map<String, serde_json::Value> = KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let v = res.headers().get(name)?.to_str().ok()?;
            Some((name.as_str().to_owned(), v.into()))
        })
        .collect();
    let (head, body) = res.into_parts();
    let bytes = match actix_web::body::to_bytes(body).await {
        Ok(b) => b,
        Err(_) => {
            forget(state, caller, key).await;
            return Err(ApiError::internal("response body could not be read").into());
        }
    };
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        forget(state, caller, key).await;
    } else {
        let saved = sqlx::query(
            "UPDATE idempotency_keys SET status_code = $3, response_headers = $4, response_body = $5 \
             WHERE caller = $1 AND key = $2",
        )
        .bind(caller)
        .bind(key)
        .bind(i32::from(status.as_u16()))
        .bind(serde_json::Value::Object(headers))
        .bind(bytes.to_vec())
        .execute(&state.pool)
        .await;
        if let Err(e) = saved {
            // The change itself is committed; only the replay record is missing. The
            // claim stays and is taken to be abandoned after a minute.
            tracing::error!(error = %e, "could not store an idempotent answer");
        }
    }
    let res = head.set_body(bytes).map_into_boxed_body();
    Ok(ServiceResponse::new(http_req, res))
}

async fn forget(state: &AppState, caller: &[u8], key: &str) {
    let _ = sqlx::query("DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2")
        .bind(caller)
        .bind(key)
        .execute(&state.pool)
        .await;
}

fn replay(status: i32, headers: Option<serde_json::Value>, body: Option<Vec<u8>>) -> HttpResponse {
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
    res.body(body.unwrap_or_default())
}
