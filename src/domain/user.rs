//! Users: roles, email addresses and display names.

use super::error::{Code, FieldError, text};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, sqlx::Type,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Role {
    Marketer,
    Reviewer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Marketer => "marketer",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "marketer" => Some(Role::Marketer),
            "reviewer" => Some(Role::Reviewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Platform staff: reviewers and admins (an admin can do all a reviewer can).
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Reviewer | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An email address as given (compared case-insensitively by the database).
#[derive(Debug, Clone)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let bad = |m: &str| FieldError::new(field, Code::InvalidEmail, m);
        if s.len() > 254 {
            return Err(bad("An email address has at most 254 characters."));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(bad("An email address looks like name@example.com."));
        };
        let ok = !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err(bad("An email address looks like name@example.com."));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as shown to others: 1–100 characters, no control characters.
#[derive(Debug, Clone)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        text(
            field,
            raw,
            (1, 100),
            false,
            Code::InvalidDisplayName,
            "A display name has 1 to 100 characters and no control characters.",
        )
        .map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(Email::parse("e", "Ann@Example.com").is_ok());
        for bad in ["", "a", "a@b", "@b.com", "a b@c.com", "a@.com", "a@com."] {
            assert!(Email::parse("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(DisplayName::parse("n", " Ann ").is_ok());
        assert!(DisplayName::parse("n", "  ").is_err());
        assert!(DisplayName::parse("n", "a\u{0007}").is_err());
        assert!(DisplayName::parse("n", &"x".repeat(101)).is_err());
    }
}
