//! The times the service accepts: whatever is sent (a window, a season, a gate check's
//! `at`, a filter, a cursor) lies in [2000, 2100), far from the limits of the database's
//! `timestamptz` and of date arithmetic, and far enough for any real season.

use super::error::{Code, FieldError};
use chrono::{DateTime, TimeZone, Utc};

pub fn earliest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap()
}

pub fn latest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap()
}

pub fn is_sane(t: DateTime<Utc>) -> bool {
    t >= earliest() && t < latest()
}

/// `t` when it lies in [2000, 2100), else `field`'s 422 `out_of_range`.
pub fn check(field: &str, t: DateTime<Utc>) -> Result<DateTime<Utc>, FieldError> {
    if is_sane(t) {
        Ok(t)
    } else {
        Err(FieldError::new(
            field,
            Code::OutOfRange,
            "Use a time from 2000 to 2099.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn bounds() {
        assert!(check("t", earliest()).is_ok());
        assert!(check("t", latest() - Duration::seconds(1)).is_ok());
        assert!(check("t", latest()).is_err());
        assert!(check("t", earliest() - Duration::seconds(1)).is_err());
        let far: DateTime<Utc> = "-100000-01-01T00:00:00Z".parse().unwrap_or(earliest());
        assert!(far == earliest() || check("t", far).is_err());
    }
}
