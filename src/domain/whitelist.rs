//! The whitelist entry's state machine and the reason given for a change of it.

use crate::error::{ApiError, FieldError};
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum WhitelistStatus {
    Active,
    Suspended,
    Revoked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhitelistAction {
    Suspend,
    Reinstate,
    Revoke,
}

impl WhitelistStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    /// The status after `action`, or `None` when the action is not allowed from `self`.
    /// Revoked is final: nothing leaves it.
    pub fn apply(self, action: WhitelistAction) -> Option<Self> {
        use WhitelistAction::*;
        use WhitelistStatus::*;
        match (self, action) {
            (Active, Suspend) => Some(Suspended),
            (Suspended, Reinstate) => Some(Active),
            (Active | Suspended, Revoke) => Some(Revoked),
            _ => None,
        }
    }
}

impl WhitelistAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Suspend => "suspend",
            Self::Reinstate => "reinstate",
            Self::Revoke => "revoke",
        }
    }

    /// The 409 for `action` refused from `from`.
    pub fn refused(self, from: WhitelistStatus) -> ApiError {
        ApiError::conflict(
            "invalid_transition",
            format!(
                "Cannot {} a whitelist entry that is {}.",
                self.as_str(),
                from.as_str()
            ),
        )
    }
}

/// Why a whitelist entry's status changed: 1 to 1000 characters after trimming.
#[derive(Debug, Clone)]
pub struct Reason(String);

impl Reason {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let n = s.chars().count();
        if n == 0 || n > 1000 {
            return Err(FieldError::new(
                "reason",
                "invalid_reason",
                "A reason has 1 to 1000 characters.",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::WhitelistAction::*;
    use super::WhitelistStatus::*;
    use super::*;

    #[test]
    fn every_status_action_pair() {
        let cases = [
            (Active, Suspend, Some(Suspended)),
            (Active, Reinstate, None),
            (Active, Revoke, Some(Revoked)),
            (Suspended, Suspend, None),
            (Suspended, Reinstate, Some(Active)),
            (Suspended, Revoke, Some(Revoked)),
            (Revoked, Suspend, None),
            (Revoked, Reinstate, None),
            (Revoked, Revoke, None),
        ];
        for (from, action, to) in cases {
            assert_eq!(from.apply(action), to, "{from:?} {action:?}");
        }
    }

    #[test]
    fn refusal_is_invalid_transition() {
        let e = Reinstate.refused(Revoked);
        assert_eq!(e.status().as_u16(), 409);
        assert_eq!(e.code(), "invalid_transition");
    }

    #[test]
    fn reasons() {
        assert_eq!(Reason::parse("  fraud ").unwrap().as_str(), "fraud");
        assert!(Reason::parse("").is_err());
        assert!(Reason::parse("   ").is_err());
        assert!(Reason::parse(&"é".repeat(1000)).is_ok());
        assert!(Reason::parse(&"x".repeat(1001)).is_err());
    }
}
