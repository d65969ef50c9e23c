//! Applications (SPEC §2, §3). Where each rule lives:
//! - `parts`: the format of every part, completeness, the title;
//! - `lifecycle`: the state machine, who may take each step, four eyes, claimer or admin,
//!   appeal once, the submit checks (with `brand::eligibility` and
//!   `season::check_accepting`), the window inside the season and at most 30 days, and a
//!   decision's reason code and note;
//! - `reasons`: the reason codes and what they mean.

pub mod lifecycle;
pub mod parts;
pub mod reasons;
pub mod schema;

pub use lifecycle::{
    Action, Decision, DecisionKind, Effect, SeasonFacts, Status, Step, TransitionError, apply,
};
pub use parts::{
    Budget, Complete, Creative, Landing, Parts, REGIONS, Targeting, Title, ValidParts, Window,
};
pub use reasons::ReasonCode;

use crate::domain::error::Rejection;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A reviewer's decision as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DecisionRecord {
    pub decision: DecisionKind,
    #[schema(schema_with = schema::reason_code_or_null)]
    pub reason_code: Option<ReasonCode>,
    /// The reviewer's explanation to the brand.
    #[schema(max_length = 2000)]
    pub note: Option<String>,
    pub decided_by: Uuid,
    pub decided_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Application {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub season_id: Uuid,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    pub creative: Option<Creative>,
    pub landing: Option<Landing>,
    pub requested_window: Option<Window>,
    pub budget: Option<Budget>,
    pub targeting: Option<Targeting>,
    pub status: Status,
    /// Increases on every change; sent as the ETag.
    #[schema(minimum = 1)]
    pub version: i32,
    /// True while (and after) the application is an appeal of a rejection.
    pub appeal: bool,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// The reviewer who claimed it.
    pub reviewer_id: Option<Uuid>,
    pub decision: Option<DecisionRecord>,
    /// Whether the one appeal has been used.
    #[serde(skip)]
    pub appeal_used: bool,
    /// Who rejected it before its appeal (four eyes).
    #[serde(skip)]
    pub rejected_by: Option<Uuid>,
}

impl Application {
    pub fn parts(&self) -> Parts {
        Parts {
            creative: self.creative.clone(),
            landing: self.landing.clone(),
            requested_window: self.requested_window,
            budget: self.budget,
            targeting: self.targeting.clone(),
        }
    }

    /// What review and approval read. An application past submit that is not complete
    /// breaks an invariant of the database: the caller treats that as an internal error.
    pub fn complete(&self) -> Result<Complete, Rejection> {
        self.parts().complete()
    }
}
