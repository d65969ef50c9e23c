//! `If-Match` on PATCH (SPEC §6): required (428 without), and the version read must still
//! be current (412 otherwise). One parser for every versioned resource.

use crate::error::{ApiError, Result};
use actix_web::HttpRequest;
use actix_web::http::header;

/// What an `If-Match` header allows.
#[derive(Debug, PartialEq)]
pub enum IfMatch {
    /// `*`: whatever version is current.
    Any,
    /// The versions its entity tags name: `"3"`, `W/"3"` or `3`, comma-separated.
    Versions(Vec<i32>),
}

impl IfMatch {
    /// Reads the header: 428 `precondition_required` without one.
    pub fn from_request(req: &HttpRequest) -> Result<Self> {
        let raw = req
            .headers()
            .get(header::IF_MATCH)
            .ok_or_else(ApiError::precondition_required)?
            .to_str()
            .map_err(|_| ApiError::precondition_failed())?;
        Ok(Self::parse(raw))
    }

    fn parse(raw: &str) -> Self {
        if raw.trim() == "*" {
            return Self::Any;
        }
        Self::Versions(
            raw.split(',')
                .filter_map(|t| {
                    let t = t.trim();
                    let t = t.strip_prefix("W/").unwrap_or(t);
                    t.trim_matches('"').parse().ok()
                })
                .collect(),
        )
    }

    /// 412 `precondition_failed` unless `current` is a version the header allows.
    pub fn check(&self, current: i32) -> Result<()> {
        match self {
            Self::Any => Ok(()),
            Self::Versions(v) if v.contains(&current) => Ok(()),
            Self::Versions(_) => Err(ApiError::precondition_failed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_lists_and_any() {
        assert_eq!(IfMatch::parse("*"), IfMatch::Any);
        assert_eq!(IfMatch::parse("\"3\""), IfMatch::Versions(vec![3]));
        assert_eq!(IfMatch::parse("W/\"3\""), IfMatch::Versions(vec![3]));
        assert_eq!(IfMatch::parse("3"), IfMatch::Versions(vec![3]));
        assert_eq!(
            IfMatch::parse("\"2\", W/\"5\", junk"),
            IfMatch::Versions(vec![2, 5])
        );
        assert!(IfMatch::parse("\"2\", \"5\"").check(5).is_ok());
        assert!(IfMatch::parse("\"2\"").check(5).is_err());
        assert!(IfMatch::parse("junk").check(1).is_err());
        assert!(IfMatch::Any.check(7).is_ok());
    }
}
