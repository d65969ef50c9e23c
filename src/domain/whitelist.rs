//! The whitelist entry's state machine and the reason given for a change of it.

use super::error::{Code, FieldError, Rejection, text};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

/// A brand's place on a season's whitelist.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct WhitelistEntry {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub season_id: Uuid,
    pub status: WhitelistStatus,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub source_application_id: Option<Uuid>,
    pub granted_by: Uuid,
    pub granted_at: DateTime<Utc>,
    pub status_reason: Option<String>,
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

    /// The status after `action`, or the 409 when it is not allowed from `self`.
    pub fn step(self, action: WhitelistAction) -> Result<Self, Rejection> {
        self.apply(action).ok_or_else(|| action.refused(self))
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
    pub fn refused(self, from: WhitelistStatus) -> Rejection {
        Rejection::conflict(
            Code::InvalidTransition,
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
        text(
            "reason",
            raw,
            (1, 1000),
            true,
            Code::InvalidReason,
            "A reason has 1 to 1000 characters.",
        )
        .map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SPEC §3: an approval reuses the brand's open entry for the season, but a suspended one
/// blocks it (409 `whitelist_suspended`) until a reviewer reinstates it.
pub fn check_open_entry_for_approval(open: Option<WhitelistStatus>) -> Result<(), Rejection> {
    if open == Some(WhitelistStatus::Suspended) {
        return Err(Rejection::conflict(
            Code::WhitelistSuspended,
            "The brand's whitelist entry for this season is suspended; reinstate it first.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::error::Kind;
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
        let e = Revoked.step(Reinstate).unwrap_err();
        assert_eq!((e.kind, e.code), (Kind::Conflict, Code::InvalidTransition));
        assert_eq!(Active.step(Suspend), Ok(Suspended));
    }

    #[test]
    fn reasons() {
        assert_eq!(Reason::parse("  fraud ").unwrap().as_str(), "fraud");
        assert!(Reason::parse("").is_err());
        assert!(Reason::parse("   ").is_err());
        assert!(Reason::parse(&"é".repeat(1000)).is_ok());
        assert!(Reason::parse(&"x".repeat(1001)).is_err());
    }

    #[test]
    fn a_suspended_entry_blocks_approval() {
        assert!(check_open_entry_for_approval(None).is_ok());
        assert!(check_open_entry_for_approval(Some(Active)).is_ok());
        let e = check_open_entry_for_approval(Some(Suspended)).unwrap_err();
        assert_eq!((e.kind, e.code), (Kind::Conflict, Code::WhitelistSuspended));
    }
}
