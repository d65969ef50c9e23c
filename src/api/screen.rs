//! What no request of ours needs, refused before any handler sees it: a control character
//! in a query parameter (a NUL reaches PostgreSQL as an error, not as text), a query
//! string longer than any real request's, and request headers larger than any real
//! client sends (actix-http's own bound depends on how the bytes arrive).

use crate::domain::error::Code;
use crate::error::ApiError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

pub const MAX_QUERY: usize = 4096;
/// Names and values of all request headers together.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Why the request's headers are refused, if they are.
pub fn headers_problem(headers: &actix_web::http::header::HeaderMap) -> Option<ApiError> {
    let total: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    (total > MAX_HEADER_BYTES).then(|| {
        ApiError::new(
            actix_web::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Code::HeadersTooLarge,
            format!("The request headers are larger than {MAX_HEADER_BYTES} bytes."),
        )
    })
}

/// Why `query` is refused, if it is.
pub fn query_problem(query: &str) -> Option<ApiError> {
    if query.len() > MAX_QUERY {
        return Some(ApiError::unprocessable(
            Code::InvalidQuery,
            format!("The query string is longer than {MAX_QUERY} bytes."),
        ));
    }
    let control = url::form_urlencoded::parse(query.as_bytes())
        .any(|(k, v)| k.chars().chain(v.chars()).any(char::is_control));
    control.then(|| {
        ApiError::unprocessable(
            Code::InvalidQuery,
            "Query parameters may not contain control characters.",
        )
    })
}

pub async fn query(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> actix_web::Result<ServiceResponse<BoxBody>> {
    if let Some(e) = headers_problem(req.headers()).or_else(|| query_problem(req.query_string())) {
        return Ok(req.error_response(e));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_queries() {
        assert!(query_problem("q=nike&limit=5").is_none());
        assert!(query_problem("q=%E6%9D%8E%E5%AE%81").is_none());
        assert!(query_problem("q=a%00b").is_some());
        assert!(query_problem("q=a%0Ab").is_some());
        assert!(query_problem(&"q=".repeat(3000)).is_some());
    }

    #[test]
    fn refused_headers() {
        use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
        let mut h = HeaderMap::new();
        let name = HeaderName::from_static("x-filler");
        h.insert(
            name.clone(),
            HeaderValue::from_str(&"a".repeat(16_000)).unwrap(),
        );
        assert!(headers_problem(&h).is_none());
        h.insert(
            name,
            HeaderValue::from_str(&"a".repeat(MAX_HEADER_BYTES)).unwrap(),
        );
        assert_eq!(headers_problem(&h).unwrap().code(), "headers_too_large");
    }
}
