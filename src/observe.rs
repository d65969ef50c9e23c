//! What an operator sees of each request: a request id, a log line, counters and a
//! latency histogram per route.
//!
//! - `X-Request-Id`: taken from the request when it is 1 to 64 characters of
//!   `[A-Za-z0-9._:-]`, else made here (a per-process random prefix and a counter);
//!   echoed in the answer, carried by the request's span into every log line written while
//!   it runs, and given as `instance` in problem+json (`request_id()`).
//! - One log line per request at info, with route template, method, status and time; the
//!   gate's (thousands a second, each counted in the metrics) at debug. Answers with status
//!   500 and above are logged at warn whatever the route.
//! - The route's label is rebuilt from what the router already matched (the matched path
//!   with each parameter put back as `{name}`), not by matching the path a second time.

use crate::metrics::{Metrics, method_label};
use crate::state::AppState;
use actix_web::HttpRequest;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use std::borrow::Cow;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const MAX_REQUEST_ID_LEN: usize = 64;

tokio::task_local! {
    static CURRENT: HeaderValue;
}

/// The id of the request being answered on this task, if any.
pub fn request_id() -> Option<String> {
    CURRENT
        .try_with(|v| v.to_str().ok().map(str::to_owned))
        .ok()
        .flatten()
}

/// The caller's id when it is safe to log and echo as it is.
fn accepted(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    (1..=MAX_REQUEST_ID_LEN).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':'))
}

/// A fresh id: 12 random hex digits for this process, then a counter. Unique across
/// instances without a random draw per request.
fn generate() -> HeaderValue {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let prefix = PREFIX.get_or_init(|| {
        let mut b = [0u8; 6];
        if getrandom::fill(&mut b).is_err() {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            b.copy_from_slice(&t.to_le_bytes()[..6]);
        }
        hex::encode(b)
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("{prefix}-{n:x}"))
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// Counts the request under the route template that answered, from the router's own
/// match: the matched path with each parameter's span put back as `{name}`. Only a path
/// the app does not serve with this method (404, 405) is matched again, for its label.
fn record(
    req: &HttpRequest,
    method: &'static str,
    status: u16,
    d: Duration,
    m: &Metrics,
) -> String {
    let info = req.match_info();
    let path = info.as_str();
    let base = path.as_ptr() as usize;
    let mut spans: Vec<(usize, usize, &str)> = Vec::new();
    let mut inside = true;
    for (name, value) in info.iter() {
        let start = (value.as_ptr() as usize).wrapping_sub(base);
        if start > path.len() || start + value.len() > path.len() {
            inside = false;
            break;
        }
        spans.push((start, start + value.len(), name));
    }
    if inside {
        let label: Cow<'_, str> = if spans.is_empty() {
            Cow::Borrowed(path)
        } else {
            spans.sort_unstable();
            let mut t = String::with_capacity(path.len() + 8);
            let mut at = 0;
            for (start, end, name) in &spans {
                if *start < at {
                    inside = false;
                    break;
                }
                t.push_str(&path[at..*start]);
                t.push('{');
                t.push_str(name);
                t.push('}');
                at = *end;
            }
            t.push_str(&path[at..]);
            Cow::Owned(t)
        };
        if inside && m.record_served(method, &label, status, d) {
            return label.into_owned();
        }
    }
    let label = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    m.record_request(method, &label, status, d);
    label
}

/// The middleware: see the module's documentation.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> actix_web::Result<ServiceResponse<impl MessageBody>> {
    let start = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| accepted(v))
        .cloned()
        .unwrap_or_else(generate);
    let api = req.path().starts_with("/v1");
    let gate = req.path().starts_with("/v1/gate/");
    let method = method_label(req.method());
    let id_text = id.to_str().unwrap_or("").to_owned();
    // The gate's span is at debug, so that at the default level its hot path builds none.
    let span = if gate {
        tracing::debug_span!("request", request_id = %id_text)
    } else {
        tracing::info_span!("request", request_id = %id_text)
    };
    let mut res = CURRENT
        .scope(id.clone(), next.call(req))
        .instrument(span.clone())
        .await?;
    let elapsed = start.elapsed();
    let status = res.status().as_u16();
    let state = res.request().app_data::<web::Data<AppState>>().cloned();
    if let Some(state) = state {
        let route = record(res.request(), method, status, elapsed, &state.metrics);
        let ms = elapsed.as_secs_f64() * 1000.0;
        let _entered = span.enter();
        if status >= 500 {
            tracing::warn!(request_id = %id_text, method, route = %route, status, ms, "request failed");
        } else if gate {
            tracing::debug!(method, route = %route, status, ms, "request");
        } else {
            tracing::info!(method, route = %route, status, ms, "request");
        }
    }
    let headers = res.headers_mut();
    headers.insert(REQUEST_ID, id);
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_bounded_and_plain() {
        for ok in ["abc", "0f3a-12", "trace:1.2_3", &"x".repeat(64)] {
            assert!(accepted(&HeaderValue::from_str(ok).unwrap()), "{ok}");
        }
        for bad in ["", "a b", "a\"b", "é", "<script>", &"x".repeat(65)] {
            let v = HeaderValue::from_bytes(bad.as_bytes()).unwrap();
            assert!(!accepted(&v), "{bad}");
        }
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(accepted(&a) && accepted(&b));
    }
}
