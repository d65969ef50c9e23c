//! The lifecycle of SPEC §3, and every rule that decides whether a step may be taken and
//! what it changes. Each rule is a pure function with its own unit test; `crate::flow`
//! loads the facts, calls these, and writes what they decide.

use super::Application;
use super::parts::{Complete, Parts, Window};
use super::reasons::ReasonCode;
use crate::domain::actor::{Actor, Party};
use crate::domain::brand::Brand;
use crate::domain::error::{Code, Errors, FieldError, Rejection};
use crate::domain::season::{self, SeasonState};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Status {
    Draft,
    Submitted,
    InReview,
    ChangesRequested,
    Approved,
    Rejected,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Draft,
        Status::Submitted,
        Status::InReview,
        Status::ChangesRequested,
        Status::Approved,
        Status::Rejected,
        Status::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::InReview => "in_review",
            Status::ChangesRequested => "changes_requested",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Edit,
    Submit,
    Withdraw,
    Appeal,
    Claim,
    Release,
    Approve,
    Reject,
    RequestChanges,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::Edit,
        Action::Submit,
        Action::Withdraw,
        Action::Appeal,
        Action::Claim,
        Action::Release,
        Action::Approve,
        Action::Reject,
        Action::RequestChanges,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Edit => "edit",
            Action::Submit => "submit",
            Action::Withdraw => "withdraw",
            Action::Appeal => "appeal",
            Action::Claim => "claim",
            Action::Release => "release",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::RequestChanges => "request_changes",
        }
    }

    /// Brand-side actions; the others are the platform's.
    fn by_member(self) -> bool {
        matches!(
            self,
            Action::Edit | Action::Submit | Action::Withdraw | Action::Appeal
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionError {
    /// This party may never take this action (403).
    Forbidden,
    /// Not from the current status (409 `invalid_transition`).
    Invalid,
}

/// The state machine: the status an action leads to, or why it may not be taken. The
/// party is checked first, so a marketer trying to claim is refused whatever the status.
pub fn apply(from: Status, action: Action, party: Party) -> Result<Status, TransitionError> {
    use Action as A;
    use Status as S;
    if action.by_member() != (party == Party::Member) {
        return Err(TransitionError::Forbidden);
    }
    let to = match (from, action) {
        (S::Draft | S::ChangesRequested, A::Edit) => from,
        (S::Draft | S::ChangesRequested, A::Submit) => S::Submitted,
        (S::Draft | S::Submitted | S::InReview | S::ChangesRequested, A::Withdraw) => S::Withdrawn,
        (S::Rejected, A::Appeal) => S::Submitted,
        (S::Submitted, A::Claim) => S::InReview,
        (S::InReview, A::Release) => S::Submitted,
        (S::InReview, A::Approve) => S::Approved,
        (S::InReview, A::Reject) => S::Rejected,
        (S::InReview, A::RequestChanges) => S::ChangesRequested,
        _ => return Err(TransitionError::Invalid),
    };
    Ok(to)
}

/// 409 `invalid_transition` for `action` from `from`.
pub fn invalid_transition(from: Status, action: Action) -> Rejection {
    Rejection::conflict(
        Code::InvalidTransition,
        format!(
            "Cannot {} while the status is {}.",
            action.as_str(),
            from.as_str()
        ),
    )
}

/// [`apply`] for this actor, as the refusal a client sees.
pub fn step(from: Status, action: Action, actor: &Actor) -> Result<Status, Rejection> {
    apply(from, action, actor.party()).map_err(|e| match e {
        TransitionError::Forbidden => Rejection::role(),
        TransitionError::Invalid => invalid_transition(from, action),
    })
}

/// Four eyes: an appeal is claimed and decided by someone other than the reviewer who
/// rejected it (403 `four_eyes_required`).
pub fn check_four_eyes(app: &Application, actor: &Actor) -> Result<(), Rejection> {
    if app.appeal && app.rejected_by == Some(actor.id) {
        return Err(Rejection::forbidden(
            Code::FourEyesRequired,
            "An appeal must be decided by someone other than the reviewer who rejected it.",
        ));
    }
    Ok(())
}

/// A claimed application is the claimer's until decided or released: only they, or an
/// admin, may decide or release it (403 `forbidden`).
pub fn check_claimer_or_admin(app: &Application, actor: &Actor) -> Result<(), Rejection> {
    if app.reviewer_id == Some(actor.id) || actor.is_admin() {
        return Ok(());
    }
    Err(Rejection::forbidden(
        Code::Forbidden,
        "Only the reviewer who claimed this application (or an admin) may do this.",
    ))
}

/// A rejection may be appealed once (409 `invalid_transition`).
pub fn check_appeal_once(app: &Application) -> Result<(), Rejection> {
    if app.appeal_used {
        return Err(Rejection::conflict(
            Code::InvalidTransition,
            "An application may be appealed once.",
        ));
    }
    Ok(())
}

/// The requested window lies inside the season's run window (422
/// `window_outside_season`) and is at most 30 days long (422 `window_too_long`).
pub fn check_window_fits(
    window: &Window,
    season_starts: DateTime<Utc>,
    season_ends: DateTime<Utc>,
) -> Result<(), Rejection> {
    if !window.within(season_starts, season_ends) {
        return Err(Rejection::unprocessable(
            Code::WindowOutsideSeason,
            format!(
                "The requested window must lie inside the season's run window ({season_starts} to {season_ends})."
            ),
        ));
    }
    if window.too_long() {
        return Err(Rejection::unprocessable(
            Code::WindowTooLong,
            "A Moments ad runs at most 30 days.",
        ));
    }
    Ok(())
}

/// What submit needs of the season.
#[derive(Debug, Clone, Copy)]
pub struct SeasonFacts {
    pub state: SeasonState,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Every check of submit, in this order: each required part present and valid, the brand
/// eligible, the season accepting, the window inside the season and at most 30 days.
/// Gives the complete application that goes to review.
pub fn check_submit(
    parts: &Parts,
    brand: &Brand,
    season: &SeasonFacts,
) -> Result<Complete, Rejection> {
    let complete = parts.complete()?;
    brand.check_eligible()?;
    season::check_accepting(season.state)?;
    check_window_fits(&complete.window, season.starts_at, season.ends_at)?;
    Ok(complete)
}

/// Which decision a reviewer takes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Reject,
    RequestChanges,
}

/// A reviewer's decision, parsed: a rejection or a request for changes always carries
/// its reason and a note to the brand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve { note: Option<String> },
    Reject { reason: ReasonCode, note: String },
    RequestChanges { reason: ReasonCode, note: String },
}

pub const MAX_NOTE_CHARS: usize = 2000;

impl Decision {
    /// SPEC §3: `reject` and `request_changes` need a `reason_code` and a `note`; an
    /// approval takes no reason code; a note has at most 2000 characters and no control
    /// character but line breaks, counted and screened as sent (the document's rule), and
    /// is kept trimmed (blank is absent). Lists every problem at once.
    pub fn parse(
        kind: DecisionKind,
        reason_code: Option<&str>,
        note: Option<&str>,
    ) -> Result<Self, Rejection> {
        let sent_ok = note.is_none_or(|n| {
            n.chars().count() <= MAX_NOTE_CHARS
                && !n.chars().any(|c| c.is_control() && c != '\n' && c != '\r')
        });
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        let mut errs = Errors::new();
        let reason = match (kind, reason_code) {
            (DecisionKind::Approve, Some(_)) => {
                errs.push(FieldError::new(
                    "reason_code",
                    Code::NotAllowed,
                    "An approval has no reason code.",
                ));
                None
            }
            (DecisionKind::Approve, None) => None,
            (_, Some(c)) => {
                let parsed = ReasonCode::parse(c);
                errs.check(
                    parsed.is_some(),
                    "reason_code",
                    Code::InvalidReasonCode,
                    "Use a code from GET /v1/reason-codes.",
                );
                parsed
            }
            (_, None) => {
                errs.push(FieldError::new(
                    "reason_code",
                    Code::Required,
                    "A reason code is required.",
                ));
                None
            }
        };
        if kind != DecisionKind::Approve && note.is_none() {
            errs.push(FieldError::new(
                "note",
                Code::Required,
                "Explain the decision to the brand.",
            ));
        }
        errs.check(
            sent_ok,
            "note",
            Code::InvalidLength,
            "At most 2000 characters, without control characters.",
        );
        errs.finish(())?;
        let note = note.map(str::to_owned);
        Ok(match (kind, reason, note) {
            (DecisionKind::Approve, _, note) => Decision::Approve { note },
            (DecisionKind::Reject, Some(reason), Some(note)) => Decision::Reject { reason, note },
            (DecisionKind::RequestChanges, Some(reason), Some(note)) => {
                Decision::RequestChanges { reason, note }
            }
            // Unreachable: the checks above recorded an error for each missing part.
            _ => return Err(Rejection::invalid(Vec::new())),
        })
    }

    pub fn kind(&self) -> DecisionKind {
        match self {
            Decision::Approve { .. } => DecisionKind::Approve,
            Decision::Reject { .. } => DecisionKind::Reject,
            Decision::RequestChanges { .. } => DecisionKind::RequestChanges,
        }
    }

    pub fn action(&self) -> Action {
        match self {
            Decision::Approve { .. } => Action::Approve,
            Decision::Reject { .. } => Action::Reject,
            Decision::RequestChanges { .. } => Action::RequestChanges,
        }
    }

    pub fn reason(&self) -> Option<ReasonCode> {
        match self {
            Decision::Approve { .. } => None,
            Decision::Reject { reason, .. } | Decision::RequestChanges { reason, .. } => {
                Some(*reason)
            }
        }
    }

    pub fn note(&self) -> Option<&str> {
        match self {
            Decision::Approve { note } => note.as_deref(),
            Decision::Reject { note, .. } | Decision::RequestChanges { note, .. } => Some(note),
        }
    }
}

/// What a step changes besides the status; `crate::store::applications::transition`
/// writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Withdraw: nothing else.
    Nothing,
    /// Submitted now, unclaimed, not an appeal.
    Submit,
    /// Submitted now, unclaimed, an appeal (once) of the rejection by `rejected_by`.
    Appeal { rejected_by: Option<Uuid> },
    /// Claimed by `reviewer`.
    Claim { reviewer: Uuid },
    /// Unclaimed again.
    Release,
    /// Decided by `by`, now.
    Decide { decision: Decision, by: Uuid },
}

/// Everything a step of the lifecycle decides: where it leads and what it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub action: Action,
    pub from: Status,
    pub to: Status,
    pub effect: Effect,
}

impl Application {
    /// The status `action` leads to for this actor, or the refusal.
    pub fn next(&self, action: Action, actor: &Actor) -> Result<Status, Rejection> {
        step(self.status, action, actor)
    }

    fn step(&self, action: Action, actor: &Actor, effect: Effect) -> Result<Step, Rejection> {
        Ok(Step {
            action,
            from: self.status,
            to: self.next(action, actor)?,
            effect,
        })
    }

    pub fn withdraw(&self, actor: &Actor) -> Result<Step, Rejection> {
        self.step(Action::Withdraw, actor, Effect::Nothing)
    }

    pub fn appeal(&self, actor: &Actor) -> Result<Step, Rejection> {
        let step = self.step(
            Action::Appeal,
            actor,
            Effect::Appeal {
                rejected_by: self.decision.as_ref().map(|d| d.decided_by),
            },
        )?;
        check_appeal_once(self)?;
        Ok(step)
    }

    pub fn claim(&self, actor: &Actor) -> Result<Step, Rejection> {
        let step = self.step(Action::Claim, actor, Effect::Claim { reviewer: actor.id })?;
        check_four_eyes(self, actor)?;
        Ok(step)
    }

    pub fn release(&self, actor: &Actor) -> Result<Step, Rejection> {
        let step = self.step(Action::Release, actor, Effect::Release)?;
        check_claimer_or_admin(self, actor)?;
        Ok(step)
    }

    /// A decision by the claimer (or an admin), four eyes on an appeal.
    pub fn decide(&self, actor: &Actor, decision: Decision) -> Result<Step, Rejection> {
        let action = decision.action();
        let step = self.step(
            action,
            actor,
            Effect::Decide {
                decision,
                by: actor.id,
            },
        )?;
        check_claimer_or_admin(self, actor)?;
        check_four_eyes(self, actor)?;
        Ok(step)
    }

    /// Submit, once the facts are loaded: [`check_submit`].
    pub fn submit(
        &self,
        actor: &Actor,
        brand: &Brand,
        season: &SeasonFacts,
    ) -> Result<Step, Rejection> {
        let step = self.step(Action::Submit, actor, Effect::Submit)?;
        check_submit(&self.parts(), brand, season)?;
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::application::parts::tests::{complete_parts, window};
    use crate::domain::brand::{BrandKind, Verification};
    use crate::domain::error::Kind;
    use crate::domain::user::Role;
    use Action as A;
    use Party::{Member, Staff};
    use Status as S;
    use chrono::Duration;

    #[test]
    fn every_status_action_party_triple() {
        let allowed: &[(Status, Action, Status)] = &[
            (S::Draft, A::Edit, S::Draft),
            (S::ChangesRequested, A::Edit, S::ChangesRequested),
            (S::Draft, A::Submit, S::Submitted),
            (S::ChangesRequested, A::Submit, S::Submitted),
            (S::Draft, A::Withdraw, S::Withdrawn),
            (S::Submitted, A::Withdraw, S::Withdrawn),
            (S::InReview, A::Withdraw, S::Withdrawn),
            (S::ChangesRequested, A::Withdraw, S::Withdrawn),
            (S::Rejected, A::Appeal, S::Submitted),
            (S::Submitted, A::Claim, S::InReview),
            (S::InReview, A::Release, S::Submitted),
            (S::InReview, A::Approve, S::Approved),
            (S::InReview, A::Reject, S::Rejected),
            (S::InReview, A::RequestChanges, S::ChangesRequested),
        ];
        for from in Status::ALL {
            for action in Action::ALL {
                for party in [Member, Staff] {
                    let got = apply(from, action, party);
                    let right_party = action.by_member() == (party == Member);
                    let expected = match allowed.iter().find(|(f, a, _)| *f == from && *a == action)
                    {
                        _ if !right_party => Err(TransitionError::Forbidden),
                        Some((_, _, to)) => Ok(*to),
                        None => Err(TransitionError::Invalid),
                    };
                    assert_eq!(got, expected, "{from:?} {action:?} {party:?}");
                }
            }
        }
    }

    #[test]
    fn withdrawn_and_approved_are_final() {
        for action in Action::ALL {
            for party in [Member, Staff] {
                assert!(apply(S::Withdrawn, action, party).is_err());
                assert!(apply(S::Approved, action, party).is_err());
            }
        }
    }

    #[test]
    fn refusals_as_the_client_sees_them() {
        let marketer = actor(Role::Marketer);
        let e = step(S::Submitted, A::Claim, &marketer).unwrap_err();
        assert_eq!((e.kind, e.code), (Kind::Forbidden, Code::Forbidden));
        let e = step(S::Approved, A::Withdraw, &marketer).unwrap_err();
        assert_eq!((e.kind, e.code), (Kind::Conflict, Code::InvalidTransition));
    }

    fn actor(role: Role) -> Actor {
        Actor {
            id: Uuid::new_v4(),
            role,
        }
    }

    pub(crate) fn app(status: Status) -> Application {
        let now = Utc::now();
        Application {
            id: Uuid::new_v4(),
            brand_id: Uuid::new_v4(),
            season_id: Uuid::new_v4(),
            title: "t".into(),
            creative: None,
            landing: None,
            requested_window: None,
            budget: None,
            targeting: None,
            status,
            version: 1,
            appeal: false,
            created_by: Uuid::new_v4(),
            created_at: now,
            updated_at: now,
            submitted_at: None,
            reviewer_id: None,
            decision: None,
            appeal_used: false,
            rejected_by: None,
        }
    }

    #[test]
    fn four_eyes_on_an_appeal() {
        let (first, second) = (actor(Role::Reviewer), actor(Role::Reviewer));
        let mut a = app(S::Submitted);
        a.rejected_by = Some(first.id);
        // Not an appeal: the same reviewer may take it again.
        assert!(check_four_eyes(&a, &first).is_ok());
        a.appeal = true;
        let e = check_four_eyes(&a, &first).unwrap_err();
        assert_eq!((e.kind, e.code), (Kind::Forbidden, Code::FourEyesRequired));
        assert!(check_four_eyes(&a, &second).is_ok());
        // Claim and decide both hold to it.
        assert_eq!(a.claim(&first).unwrap_err().code, Code::FourEyesRequired);
        assert!(a.claim(&second).is_ok());
        let mut r = a.clone();
        r.status = S::InReview;
        r.reviewer_id = Some(first.id);
        let approve = Decision::Approve { note: None };
        assert_eq!(
            r.decide(&first, approve.clone()).unwrap_err().code,
            Code::FourEyesRequired
        );
    }

    #[test]
    fn only_the_claimer_or_an_admin() {
        let (claimer, other, admin) = (
            actor(Role::Reviewer),
            actor(Role::Reviewer),
            actor(Role::Admin),
        );
        let mut a = app(S::InReview);
        a.reviewer_id = Some(claimer.id);
        assert!(check_claimer_or_admin(&a, &claimer).is_ok());
        assert!(check_claimer_or_admin(&a, &admin).is_ok());
        let e = check_claimer_or_admin(&a, &other).unwrap_err();
        assert_eq!((e.kind, e.code), (Kind::Forbidden, Code::Forbidden));
        assert!(a.release(&other).is_err());
        assert_eq!(a.release(&claimer).unwrap().effect, Effect::Release);
        let reject = Decision::Reject {
            reason: ReasonCode::Other,
            note: "n".into(),
        };
        assert!(a.decide(&other, reject.clone()).is_err());
        let s = a.decide(&admin, reject).unwrap();
        assert_eq!(s.to, S::Rejected);
    }

    #[test]
    fn appeal_once() {
        let marketer = actor(Role::Marketer);
        let mut a = app(S::Rejected);
        let s = a.appeal(&marketer).unwrap();
        assert_eq!(s.to, S::Submitted);
        a.appeal_used = true;
        let e = check_appeal_once(&a).unwrap_err();
        assert_eq!((e.kind, e.code), (Kind::Conflict, Code::InvalidTransition));
        assert!(a.appeal(&marketer).is_err());
    }

    #[test]
    fn window_inside_the_season_and_at_most_30_days() {
        let t0 = Utc::now();
        let (s, e) = (t0, t0 + Duration::days(60));
        assert!(check_window_fits(&window(t0, t0 + Duration::days(30)), s, e).is_ok());
        assert!(check_window_fits(&window(s, e - Duration::days(30)), s, e).is_ok());
        let too_early = window(t0 - Duration::seconds(1), t0 + Duration::days(1));
        assert_eq!(
            check_window_fits(&too_early, s, e).unwrap_err().code,
            Code::WindowOutsideSeason
        );
        let too_late = window(e - Duration::days(1), e + Duration::seconds(1));
        assert_eq!(
            check_window_fits(&too_late, s, e).unwrap_err().code,
            Code::WindowOutsideSeason
        );
        let too_long = window(t0, t0 + Duration::days(30) + Duration::seconds(1));
        assert_eq!(
            check_window_fits(&too_long, s, e).unwrap_err().code,
            Code::WindowTooLong
        );
    }

    fn brand(kind: BrandKind, verification: Verification) -> Brand {
        Brand {
            id: Uuid::new_v4(),
            name: "b".into(),
            kind,
            tmall_store_url: "https://b.tmall.com/".into(),
            verification,
            verification_note: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn submit_checks_in_order() {
        let parts = complete_parts();
        let w = parts.requested_window.unwrap();
        let season = SeasonFacts {
            state: SeasonState::Accepting,
            starts_at: w.starts_at,
            ends_at: w.ends_at,
        };
        let ok = brand(BrandKind::Brand, Verification::Verified);
        assert!(check_submit(&parts, &ok, &season).is_ok());
        // completeness first
        let e = check_submit(
            &Parts::default(),
            &brand(BrandKind::Brand, Verification::Pending),
            &season,
        )
        .unwrap_err();
        assert_eq!(e.code, Code::ValidationFailed);
        // then the brand
        let e = check_submit(
            &parts,
            &brand(BrandKind::IndependentRetailer, Verification::Verified),
            &season,
        )
        .unwrap_err();
        assert_eq!(e.code, Code::BrandNotEligible);
        // then the season
        let closed = SeasonFacts {
            state: SeasonState::Running,
            ..season
        };
        assert_eq!(
            check_submit(&parts, &ok, &closed).unwrap_err().code,
            Code::SeasonNotAccepting
        );
        // then the window
        let short = SeasonFacts {
            ends_at: w.ends_at - Duration::seconds(1),
            ..season
        };
        assert_eq!(
            check_submit(&parts, &ok, &short).unwrap_err().code,
            Code::WindowOutsideSeason
        );
        // and submit is the member's, from draft
        let mut a = app(S::Draft);
        a.requested_window = parts.requested_window;
        a.creative = parts.creative.clone();
        a.landing = parts.landing.clone();
        a.budget = parts.budget;
        assert_eq!(
            a.submit(&actor(Role::Marketer), &ok, &season)
                .unwrap()
                .effect,
            Effect::Submit
        );
        assert_eq!(
            a.submit(&actor(Role::Reviewer), &ok, &season)
                .unwrap_err()
                .kind,
            Kind::Forbidden
        );
    }

    fn fields(r: Rejection) -> Vec<(String, &'static str)> {
        r.errors
            .into_iter()
            .map(|e| (e.field, e.code.as_str()))
            .collect()
    }

    #[test]
    fn decisions_need_a_reason_and_a_note() {
        use DecisionKind::*;
        assert_eq!(
            Decision::parse(Approve, None, Some("  ")).unwrap(),
            Decision::Approve { note: None }
        );
        assert_eq!(
            Decision::parse(Reject, Some("budget"), Some(" too low ")).unwrap(),
            Decision::Reject {
                reason: ReasonCode::Budget,
                note: "too low".into()
            }
        );
        assert_eq!(
            fields(Decision::parse(Reject, None, None).unwrap_err()),
            [
                ("reason_code".into(), "required"),
                ("note".into(), "required")
            ]
        );
        assert_eq!(
            fields(Decision::parse(RequestChanges, Some("fraud"), Some("x")).unwrap_err()),
            [("reason_code".into(), "invalid_reason_code")]
        );
        assert_eq!(
            fields(Decision::parse(Approve, Some("other"), None).unwrap_err()),
            [("reason_code".into(), "not_allowed")]
        );
        let long = "x".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(
            fields(Decision::parse(Approve, None, Some(&long)).unwrap_err()),
            [("note".into(), "invalid_length")]
        );
        assert!(Decision::parse(Reject, Some("other"), Some(&"é".repeat(MAX_NOTE_CHARS))).is_ok());
        // As sent: a tab at the edge, or whitespace that takes it past the bound.
        let padded = format!("{} ", "x".repeat(MAX_NOTE_CHARS));
        for bad in ["\tok", "ok\t", padded.as_str()] {
            assert_eq!(
                fields(Decision::parse(Approve, None, Some(bad)).unwrap_err()),
                [("note".into(), "invalid_length")],
                "{bad:?}"
            );
        }
        // Blank is absent: fine for an approval, missing for a rejection.
        assert!(Decision::parse(Approve, None, Some(" \n ")).is_ok());
    }
}
