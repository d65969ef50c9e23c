//! Optimistic concurrency (SPEC §6): a versioned resource changes only if the version the
//! client read is still current (412 `precondition_failed` otherwise).

use super::error::{Code, Kind, Rejection};

/// What an `If-Match` header allows.
#[derive(Debug, PartialEq)]
pub enum IfMatch {
    /// `*`: whatever version is current.
    Any,
    /// The versions its entity tags name: `"3"`, `W/"3"` or `3`, comma-separated.
    Versions(Vec<i32>),
}

impl IfMatch {
    pub fn parse(raw: &str) -> Self {
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
    pub fn check(&self, current: i32) -> Result<(), Rejection> {
        match self {
            Self::Any => Ok(()),
            Self::Versions(v) if v.contains(&current) => Ok(()),
            Self::Versions(_) => Err(stale()),
        }
    }
}

pub fn stale() -> Rejection {
    Rejection::new(
        Kind::Stale,
        Code::PreconditionFailed,
        "The resource changed since you read it; read it again and retry.",
    )
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
        assert_eq!(
            IfMatch::parse("junk").check(1).unwrap_err().kind,
            Kind::Stale
        );
        assert!(IfMatch::Any.check(7).is_ok());
    }
}
