//! Applications: their parts, the format rules for each, and the lifecycle (SPEC §3).

use crate::error::FieldError;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
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

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
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

/// Who acts on an application: a member of its brand, or platform staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Member,
    Staff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionError {
    /// This party may never take this action (403).
    Forbidden,
    /// Not from the current status (409 `invalid_transition`).
    Invalid,
}

/// The lifecycle of SPEC §3: the status an action leads to, or why it may not be taken.
/// The role is checked first, so a marketer trying to claim is refused whatever the status.
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

// ---- the parts of an application, each validated for format when present ----

fn err(field: &str, code: &'static str, msg: impl Into<String>) -> FieldError {
    FieldError::new(field, code, msg)
}

fn check_len(errs: &mut Vec<FieldError>, field: &str, s: &str, min: usize, max: usize) {
    let n = s.chars().count();
    if n < min || n > max || s.chars().any(char::is_control) {
        errs.push(err(
            field,
            "invalid_length",
            format!("Use {min} to {max} characters, without control characters."),
        ));
    }
}

/// An https URL; returns its host when it is one.
pub fn https_host(raw: &str) -> Option<String> {
    let u = url::Url::parse(raw).ok()?;
    if u.scheme() != "https" || !u.username().is_empty() || u.password().is_some() {
        return None;
    }
    u.host_str().map(str::to_ascii_lowercase)
}

/// `host` is `domain` or a subdomain of it.
pub fn host_within(host: &str, domain: &str) -> bool {
    host == domain || host.ends_with(&format!(".{domain}"))
}

fn check_https(errs: &mut Vec<FieldError>, field: &str, raw: &str) {
    if raw.len() > 2048 || https_host(raw).is_none() {
        errs.push(err(field, "invalid_url", "Use an https URL."));
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Creative {
    #[schema(min_length = 1, max_length = 40)]
    pub headline: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub body: String,
    /// e.g. "Tmall flagship store".
    #[schema(min_length = 1, max_length = 30)]
    pub card_label: String,
    /// An https URL, at most 2048 characters.
    #[schema(
        format = "uri",
        max_length = 2048,
        example = "https://img.alicdn.com/logo.png"
    )]
    pub logo_url: String,
    /// 1 to 9 https image URLs.
    #[schema(schema_with = crate::openapi::image_urls)]
    pub image_urls: Vec<String>,
}

impl Creative {
    pub fn check(&self, errs: &mut Vec<FieldError>) {
        check_len(errs, "creative.headline", &self.headline, 1, 40);
        check_len(
            errs,
            "creative.body",
            &self.body.replace(['\n', '\r'], " "),
            0,
            500,
        );
        check_len(errs, "creative.card_label", &self.card_label, 1, 30);
        check_https(errs, "creative.logo_url", &self.logo_url);
        if self.image_urls.is_empty() || self.image_urls.len() > 9 {
            errs.push(err(
                "creative.image_urls",
                "invalid_count",
                "Give 1 to 9 images.",
            ));
        }
        for (i, u) in self.image_urls.iter().enumerate() {
            check_https(errs, &format!("creative.image_urls[{i}]"), u);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Landing {
    /// A `tmall://` deep link into the brand's store in the Tmall app: at most 2047
    /// characters after `tmall://`, no whitespace or control characters.
    #[schema(
        format = "uri",
        pattern = "^tmall://\\S+$",
        max_length = 2055,
        example = "tmall://page.tm/shop?shopId=123"
    )]
    pub app_url: String,
    /// The fallback without the app: https on tmall.com, taobao.com or a subdomain of
    /// them, at most 2048 characters.
    #[schema(
        format = "uri",
        max_length = 2048,
        example = "https://lining.tmall.com/"
    )]
    pub web_url: String,
}

impl Landing {
    pub fn check(&self, errs: &mut Vec<FieldError>) {
        let deep = self.app_url.strip_prefix("tmall://");
        if !deep.is_some_and(|rest| {
            !rest.is_empty()
                && rest.len() < 2048
                && !rest.chars().any(|c| c.is_whitespace() || c.is_control())
        }) {
            errs.push(err(
                "landing.app_url",
                "invalid_deep_link",
                "Use a tmall:// deep link.",
            ));
        }
        let ok = https_host(&self.web_url)
            .is_some_and(|h| host_within(&h, "tmall.com") || host_within(&h, "taobao.com"));
        if !ok || self.web_url.len() > 2048 {
            errs.push(err(
                "landing.web_url",
                "invalid_landing_url",
                "Use an https URL on tmall.com, taobao.com or a subdomain of them.",
            ));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Before `ends_at`.
    pub starts_at: DateTime<Utc>,
    /// At most 30 days after `starts_at` (checked at submit), inside the season's run
    /// window.
    pub ends_at: DateTime<Utc>,
}

pub const MAX_RUN_DAYS: i64 = 30;

impl Window {
    pub fn check(&self, errs: &mut Vec<FieldError>) {
        if self.starts_at >= self.ends_at {
            errs.push(err(
                "requested_window",
                "invalid_window",
                "starts_at must be before ends_at.",
            ));
        }
    }

    /// A Moments ad runs at most 30 days.
    pub fn too_long(&self) -> bool {
        self.ends_at - self.starts_at > Duration::days(MAX_RUN_DAYS)
    }

    pub fn within(&self, starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> bool {
        self.starts_at >= starts_at && self.ends_at <= ends_at
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Total budget in fen (CNY minor units), > 0.
    #[schema(minimum = 1)]
    pub total_fen: i64,
    /// Optional daily cap in fen, at most the total.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub daily_cap_fen: Option<i64>,
    /// Bid per thousand impressions in fen, > 0.
    #[schema(minimum = 1)]
    pub cpm_bid_fen: i64,
}

impl Budget {
    pub fn check(&self, errs: &mut Vec<FieldError>) {
        if self.total_fen <= 0 {
            errs.push(err(
                "budget.total_fen",
                "must_be_positive",
                "Must be more than 0.",
            ));
        }
        if self.cpm_bid_fen <= 0 {
            errs.push(err(
                "budget.cpm_bid_fen",
                "must_be_positive",
                "Must be more than 0.",
            ));
        }
        if let Some(cap) = self.daily_cap_fen {
            if cap <= 0 {
                errs.push(err(
                    "budget.daily_cap_fen",
                    "must_be_positive",
                    "Must be more than 0.",
                ));
            } else if cap > self.total_fen {
                errs.push(err(
                    "budget.daily_cap_fen",
                    "exceeds_total",
                    "The daily cap cannot exceed the total budget.",
                ));
            }
        }
    }
}

/// ISO 3166-2:CN subdivision codes.
pub const REGIONS: [&str; 34] = [
    "CN-AH", "CN-BJ", "CN-CQ", "CN-FJ", "CN-GD", "CN-GS", "CN-GX", "CN-GZ", "CN-HA", "CN-HB",
    "CN-HE", "CN-HI", "CN-HK", "CN-HL", "CN-HN", "CN-JL", "CN-JS", "CN-JX", "CN-LN", "CN-MO",
    "CN-NM", "CN-NX", "CN-QH", "CN-SC", "CN-SD", "CN-SH", "CN-SN", "CN-SX", "CN-TJ", "CN-TW",
    "CN-XJ", "CN-XZ", "CN-YN", "CN-ZJ",
];

fn default_age_min() -> i32 {
    18
}

fn default_age_max() -> i32 {
    65
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Targeting {
    /// ISO 3166-2:CN codes such as "CN-SH"; empty means all.
    #[serde(default)]
    #[schema(schema_with = crate::openapi::regions)]
    pub regions: Vec<String>,
    /// 18 to 65, at most `age_max`.
    #[serde(default = "default_age_min")]
    #[schema(minimum = 18, maximum = 65, default = 18)]
    pub age_min: i32,
    /// 18 to 65, at least `age_min`.
    #[serde(default = "default_age_max")]
    #[schema(minimum = 18, maximum = 65, default = 65)]
    pub age_max: i32,
    /// Subset of ["female", "male"]; empty means all.
    #[serde(default)]
    #[schema(schema_with = crate::openapi::genders)]
    pub genders: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = crate::openapi::interests)]
    pub interests: Vec<String>,
}

impl Targeting {
    pub fn check(&self, errs: &mut Vec<FieldError>) {
        let mut seen = std::collections::HashSet::new();
        for (i, r) in self.regions.iter().enumerate() {
            if !REGIONS.contains(&r.as_str()) || !seen.insert(r) {
                errs.push(err(
                    &format!("targeting.regions[{i}]"),
                    "invalid_region",
                    "Use each ISO 3166-2:CN code (e.g. CN-SH) once.",
                ));
            }
        }
        if !(18..=65).contains(&self.age_min)
            || !(18..=65).contains(&self.age_max)
            || self.age_min > self.age_max
        {
            errs.push(err(
                "targeting.age_min",
                "invalid_age_range",
                "Ages run 18 ≤ age_min ≤ age_max ≤ 65.",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, g) in self.genders.iter().enumerate() {
            if !(g == "female" || g == "male") || !seen.insert(g) {
                errs.push(err(
                    &format!("targeting.genders[{i}]"),
                    "invalid_gender",
                    "Use \"female\" and/or \"male\", each once.",
                ));
            }
        }
        if self.interests.len() > 50 {
            errs.push(err(
                "targeting.interests",
                "invalid_count",
                "At most 50 interests.",
            ));
        }
        for (i, s) in self.interests.iter().enumerate() {
            check_len(errs, &format!("targeting.interests[{i}]"), s, 1, 50);
        }
    }
}

pub fn check_title(errs: &mut Vec<FieldError>, title: &str) {
    check_len(errs, "title", title.trim(), 1, 200);
}

/// The parts of an application that may be missing in a draft.
#[derive(Debug, Clone, Default)]
pub struct Parts {
    pub creative: Option<Creative>,
    pub landing: Option<Landing>,
    pub requested_window: Option<Window>,
    pub budget: Option<Budget>,
    pub targeting: Option<Targeting>,
}

impl Parts {
    /// Format errors of the parts that are present.
    pub fn check(&self, errs: &mut Vec<FieldError>) {
        if let Some(c) = &self.creative {
            c.check(errs);
        }
        if let Some(l) = &self.landing {
            l.check(errs);
        }
        if let Some(w) = &self.requested_window {
            w.check(errs);
        }
        if let Some(b) = &self.budget {
            b.check(errs);
        }
        if let Some(t) = &self.targeting {
            t.check(errs);
        }
    }

    /// Everything submit needs: each required part present and valid (targeting may be
    /// absent: it then targets everyone).
    pub fn completeness(&self) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let missing = |f: &str| err(f, "required", "Required before submitting.");
        if self.creative.is_none() {
            errs.push(missing("creative"));
        }
        if self.landing.is_none() {
            errs.push(missing("landing"));
        }
        if self.requested_window.is_none() {
            errs.push(missing("requested_window"));
        }
        if self.budget.is_none() {
            errs.push(missing("budget"));
        }
        self.check(&mut errs);
        errs
    }
}

pub const REASON_CODES: [(&str, &str, &str); 6] = [
    (
        "brand_ineligible",
        "The brand is not eligible",
        "Only verified brand accounts (flagship stores) may apply. Have the brand verified, or apply from the brand's own account rather than a retailer's.",
    ),
    (
        "creative_policy",
        "The creative breaks the ad policy",
        "Revise the headline, body, images or logo so they follow the Moments ad policy: no superlatives without proof, no misleading prices, images of the advertised products.",
    ),
    (
        "landing_page",
        "The landing page is not acceptable",
        "Point the deep link and the web fallback at the brand's own Tmall store or product pages, and make sure both open.",
    ),
    (
        "targeting",
        "The targeting is not acceptable",
        "Adjust regions, ages, genders or interests; targeting must not single out protected groups or minors.",
    ),
    (
        "budget",
        "The budget or bid is not acceptable",
        "Raise the bid to at least the season's floor, or make the daily cap and the total consistent with the requested window.",
    ),
    (
        "other",
        "Another reason",
        "Read the reviewer's note, change what it asks for and submit again.",
    ),
];

pub fn is_reason_code(code: &str) -> bool {
    REASON_CODES.iter().any(|(c, _, _)| *c == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use Party::{Member, Staff};
    use Status as S;

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

    fn creative() -> Creative {
        Creative {
            headline: "618 deals".into(),
            body: String::new(),
            card_label: "Tmall flagship store".into(),
            logo_url: "https://img.example/logo.png".into(),
            image_urls: vec!["https://img.example/1.png".into()],
        }
    }

    fn errors_of(f: impl Fn(&mut Vec<FieldError>)) -> Vec<String> {
        let mut e = Vec::new();
        f(&mut e);
        e.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn creative_rules() {
        assert!(errors_of(|e| creative().check(e)).is_empty());
        let mut c = creative();
        c.headline = "x".repeat(41);
        c.image_urls = vec![];
        c.logo_url = "http://img.example/logo.png".into();
        assert_eq!(
            errors_of(|e| c.check(e)),
            [
                "creative.headline",
                "creative.logo_url",
                "creative.image_urls"
            ]
        );
        let mut c = creative();
        c.image_urls = vec!["https://a.example/1.png".into(); 10];
        assert_eq!(errors_of(|e| c.check(e)), ["creative.image_urls"]);
        c.image_urls = vec!["ftp://a.example/1.png".into()];
        assert_eq!(errors_of(|e| c.check(e)), ["creative.image_urls[0]"]);
    }

    #[test]
    fn landing_rules() {
        let ok = Landing {
            app_url: "tmall://page.tm/shop?id=1".into(),
            web_url: "https://brand.tmall.com/shop".into(),
        };
        assert!(errors_of(|e| ok.check(e)).is_empty());
        for web in [
            "https://tmall.com.evil.example/",
            "http://brand.tmall.com/",
            "https://eviltmall.com/",
            "https://tmall.com@evil.example/",
            "https://item.taobao.com.cn/",
        ] {
            let l = Landing {
                web_url: web.into(),
                ..ok.clone()
            };
            assert_eq!(errors_of(|e| l.check(e)), ["landing.web_url"], "{web}");
        }
        let l = Landing {
            web_url: "https://item.taobao.com/x".into(),
            ..ok.clone()
        };
        assert!(errors_of(|e| l.check(e)).is_empty());
        for app in ["https://brand.tmall.com", "tmall://", "tmall:// x"] {
            let l = Landing {
                app_url: app.into(),
                ..ok.clone()
            };
            assert_eq!(errors_of(|e| l.check(e)), ["landing.app_url"], "{app}");
        }
    }

    #[test]
    fn window_budget_targeting_rules() {
        let t0 = Utc::now();
        let w = Window {
            starts_at: t0,
            ends_at: t0,
        };
        assert_eq!(errors_of(|e| w.check(e)), ["requested_window"]);
        let w = Window {
            starts_at: t0,
            ends_at: t0 + Duration::days(30),
        };
        assert!(!w.too_long());
        let w = Window {
            starts_at: t0,
            ends_at: t0 + Duration::days(30) + Duration::seconds(1),
        };
        assert!(w.too_long());

        let b = Budget {
            total_fen: 100,
            daily_cap_fen: Some(101),
            cpm_bid_fen: 0,
        };
        assert_eq!(
            errors_of(|e| b.check(e)),
            ["budget.cpm_bid_fen", "budget.daily_cap_fen"]
        );
        let b = Budget {
            total_fen: 100,
            daily_cap_fen: Some(100),
            cpm_bid_fen: 1,
        };
        assert!(errors_of(|e| b.check(e)).is_empty());

        let t = Targeting {
            regions: vec!["CN-SH".into(), "CN-XX".into(), "CN-SH".into()],
            age_min: 17,
            age_max: 30,
            genders: vec!["female".into(), "other".into()],
            interests: vec!["".into()],
        };
        assert_eq!(
            errors_of(|e| t.check(e)),
            [
                "targeting.regions[1]",
                "targeting.regions[2]",
                "targeting.age_min",
                "targeting.genders[1]",
                "targeting.interests[0]"
            ]
        );
    }

    #[test]
    fn completeness_lists_every_missing_part() {
        let p = Parts {
            creative: Some(creative()),
            ..Default::default()
        };
        let fields: Vec<String> = p.completeness().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["landing", "requested_window", "budget"]);
    }
}
