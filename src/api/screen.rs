//! What no query parameter of ours accepts, refused before any handler sees it: a
//! control character (a NUL reaches PostgreSQL as an error, not as text) and a query
//! string longer than any real request's.

use crate::domain::error::Code;
use crate::error::ApiError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

pub const MAX_QUERY: usize = 4096;

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
    if let Some(e) = query_problem(req.query_string()) {
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
}
