//! `If-Match` on PATCH (SPEC §6): required (428 without); what it allows is
//! `domain::version::IfMatch`, checked by the flow against the locked row (412).

pub use crate::domain::version::IfMatch;
use crate::error::{ApiError, Result};
use actix_web::HttpRequest;
use actix_web::http::header;

/// Reads the header: 428 `precondition_required` without one.
pub fn if_match(req: &HttpRequest) -> Result<IfMatch> {
    let raw = req
        .headers()
        .get(header::IF_MATCH)
        .ok_or_else(ApiError::precondition_required)?
        .to_str()
        .map_err(|_| ApiError::precondition_failed())?;
    Ok(IfMatch::parse(raw))
}
