//! A campaign's derived state and its pause switch.

use super::error::{Code, Rejection};
use super::user::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CampaignState {
    Scheduled,
    Live,
    Paused,
    Halted,
    Ended,
}

impl CampaignState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Live => "live",
            Self::Paused => "paused",
            Self::Halted => "halted",
            Self::Ended => "ended",
        }
    }

    /// The state of a campaign at `now`. The first rule that holds wins:
    ///
    /// 1. `ended` — `now >= ends_at` (an ended campaign stays ended whatever else holds);
    /// 2. `halted` — the brand has no *active* whitelist entry for the season (suspended,
    ///    revoked or none), whatever the pause switch says;
    /// 3. `paused` — the brand paused it;
    /// 4. `scheduled` — `now < starts_at`;
    /// 5. `live` — otherwise.
    ///
    /// `store::campaigns` computes the same rule in SQL (so lists filter by it); keep the
    /// two in step.
    pub fn derive(
        now: DateTime<Utc>,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        paused: bool,
        whitelist_active: bool,
    ) -> Self {
        if now >= ends_at {
            Self::Ended
        } else if !whitelist_active {
            Self::Halted
        } else if paused {
            Self::Paused
        } else if now < starts_at {
            Self::Scheduled
        } else {
            Self::Live
        }
    }
}

/// A campaign, with its state derived when read.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Campaign {
    pub id: Uuid,
    pub application_id: Uuid,
    pub brand_id: Uuid,
    pub season_id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub paused: bool,
    pub state: CampaignState,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseAction {
    Pause,
    Resume,
}

impl PauseAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
        }
    }

    /// The new value of `paused`, or the 409 when the switch is already there or the
    /// campaign has ended.
    pub fn apply(self, paused: bool, state: CampaignState) -> Result<bool, Rejection> {
        let from = if paused { "paused" } else { "running" };
        let refuse = |why: &str| {
            Rejection::conflict(
                Code::InvalidTransition,
                format!("Cannot {} a campaign that is {why}.", self.as_str()),
            )
        };
        if state == CampaignState::Ended {
            return Err(refuse("ended"));
        }
        match (self, paused) {
            (Self::Pause, false) => Ok(true),
            (Self::Resume, true) => Ok(false),
            _ => Err(refuse(from)),
        }
    }
}

impl PauseAction {
    /// A reviewer may pause (stop an ad at once) but only the brand or an admin resumes.
    /// Whether a marketer is a member of the campaign's brand is settled by visibility.
    pub fn allowed_for(self, role: Role) -> Result<(), Rejection> {
        if self == Self::Resume && role == Role::Reviewer {
            return Err(Rejection::role());
        }
        Ok(())
    }
}

/// The audit label of a pause switch value.
pub fn run_label(paused: bool) -> &'static str {
    if paused { "paused" } else { "running" }
}

#[cfg(test)]
mod tests {
    use super::super::error::Kind;
    use super::CampaignState::*;
    use super::*;
    use chrono::Duration;

    #[test]
    fn state_precedence() {
        let now = Utc::now();
        let h = Duration::hours(1);
        let (past, future) = (now - h, now + h);
        // ended beats everything
        assert_eq!(
            CampaignState::derive(now, past - h, past, true, false),
            Ended
        );
        assert_eq!(CampaignState::derive(now, past, now, false, true), Ended);
        // halted beats paused and scheduled
        assert_eq!(
            CampaignState::derive(now, past, future, true, false),
            Halted
        );
        assert_eq!(
            CampaignState::derive(now, future, future + h, false, false),
            Halted
        );
        // paused beats scheduled
        assert_eq!(
            CampaignState::derive(now, future, future + h, true, true),
            Paused
        );
        assert_eq!(CampaignState::derive(now, past, future, true, true), Paused);
        assert_eq!(
            CampaignState::derive(now, future, future + h, false, true),
            Scheduled
        );
        assert_eq!(CampaignState::derive(now, past, future, false, true), Live);
        assert_eq!(CampaignState::derive(now, now, future, false, true), Live);
    }

    #[test]
    fn pause_switch() {
        use PauseAction::*;
        assert!(Pause.apply(false, Live).unwrap());
        assert!(Pause.apply(false, Halted).unwrap());
        assert!(!Resume.apply(true, Paused).unwrap());
        assert!(!Resume.apply(true, Halted).unwrap());
        for (a, paused, state) in [
            (Pause, true, Paused),
            (Resume, false, Live),
            (Resume, false, Scheduled),
            (Pause, false, Ended),
            (Resume, true, Ended),
        ] {
            let e = a.apply(paused, state).unwrap_err();
            assert_eq!((e.kind, e.code), (Kind::Conflict, Code::InvalidTransition));
        }
        assert_eq!(run_label(true), "paused");
        assert_eq!(run_label(false), "running");
    }

    #[test]
    fn reviewers_pause_but_do_not_resume() {
        use PauseAction::*;
        for role in [Role::Marketer, Role::Reviewer, Role::Admin] {
            assert!(Pause.allowed_for(role).is_ok());
        }
        assert!(Resume.allowed_for(Role::Marketer).is_ok());
        assert!(Resume.allowed_for(Role::Admin).is_ok());
        assert_eq!(
            Resume.allowed_for(Role::Reviewer).unwrap_err().kind,
            Kind::Forbidden
        );
    }
}
