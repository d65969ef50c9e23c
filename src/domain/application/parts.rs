//! The parts of an application (SPEC §2): each is checked for format whenever it is
//! present; all of the required ones must be there before submit. Parsing a draft's parts
//! gives [`ValidParts`], the only form the store writes; a complete set gives
//! [`Complete`], the only form review and approval read.

use super::schema;
use crate::domain::error::{Code, Errors, FieldError, Rejection, text};
use crate::domain::time;
use crate::domain::url::{self, TMALL_OR_TAOBAO};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An application's title: 1 to 200 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        text(
            "title",
            raw,
            (1, 200),
            false,
            Code::InvalidLength,
            "Use 1 to 200 characters, without control characters.",
        )
        .map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_len(errs: &mut Errors, field: &str, s: &str, (min, max): (usize, usize)) {
    let n = s.chars().count();
    errs.check(
        n >= min && n <= max && !s.chars().any(char::is_control),
        field,
        Code::InvalidLength,
        &format!("Use {min} to {max} characters, without control characters."),
    );
}

fn check_https(errs: &mut Errors, field: &str, raw: &str) {
    errs.check(
        url::parse(raw).is_some(),
        field,
        Code::InvalidUrl,
        "Use an https URL (a domain name, no port or credentials).",
    );
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
    #[schema(schema_with = schema::image_urls)]
    pub image_urls: Vec<String>,
}

pub const MAX_IMAGES: usize = 9;

impl Creative {
    pub fn check(&self, errs: &mut Errors) {
        check_len(errs, "creative.headline", &self.headline, (1, 40));
        check_len(
            errs,
            "creative.body",
            &self.body.replace(['\n', '\r'], " "),
            (0, 500),
        );
        check_len(errs, "creative.card_label", &self.card_label, (1, 30));
        check_https(errs, "creative.logo_url", &self.logo_url);
        let count_ok = (1..=MAX_IMAGES).contains(&self.image_urls.len());
        errs.check(
            count_ok,
            "creative.image_urls",
            Code::InvalidCount,
            "Give 1 to 9 images.",
        );
        if self.image_urls.len() <= MAX_IMAGES {
            for (i, u) in self.image_urls.iter().enumerate() {
                check_https(errs, &format!("creative.image_urls[{i}]"), u);
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Landing {
    /// A `tmall://` deep link into the brand's store in the Tmall app: at most 2047
    /// visible ASCII characters after `tmall://` (percent-encode anything else).
    #[schema(
        pattern = "^tmall://[!-~]+$",
        max_length = 2055,
        example = "tmall://page.tm/shop?shopId=123"
    )]
    pub app_url: String,
    /// The fallback without the app: https on tmall.com, taobao.com or a subdomain of
    /// them (no port or credentials), at most 2048 characters.
    #[schema(
        format = "uri",
        max_length = 2048,
        example = "https://lining.tmall.com/"
    )]
    pub web_url: String,
}

impl Landing {
    pub fn check(&self, errs: &mut Errors) {
        let deep = self.app_url.strip_prefix("tmall://");
        errs.check(
            deep.is_some_and(|rest| {
                !rest.is_empty() && rest.len() < 2048 && rest.bytes().all(|b| b.is_ascii_graphic())
            }),
            "landing.app_url",
            Code::InvalidDeepLink,
            "Use a tmall:// deep link.",
        );
        errs.check(
            url::parse(&self.web_url).is_some_and(|u| u.is_within(TMALL_OR_TAOBAO)),
            "landing.web_url",
            Code::InvalidLandingUrl,
            "Use an https URL on tmall.com, taobao.com or a subdomain of them.",
        );
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
    pub fn check(&self, errs: &mut Errors) {
        errs.take(time::check("requested_window.starts_at", self.starts_at));
        errs.take(time::check("requested_window.ends_at", self.ends_at));
        errs.check(
            self.starts_at < self.ends_at,
            "requested_window",
            Code::InvalidWindow,
            "starts_at must be before ends_at.",
        );
    }

    /// A Moments ad runs at most 30 days.
    pub fn too_long(&self) -> bool {
        self.ends_at - self.starts_at > Duration::days(MAX_RUN_DAYS)
    }

    pub fn within(&self, starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> bool {
        self.starts_at >= starts_at && self.ends_at <= ends_at
    }
}

/// The largest amount of fen accepted: 2^53 − 1, the largest integer that every JSON client
/// (a browser's `Number` among them) reads exactly. Far above any real budget.
pub const MAX_FEN: i64 = 9_007_199_254_740_991;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Total budget in fen (CNY minor units), > 0 and at most 2^53 − 1.
    #[schema(minimum = 1, maximum = 9_007_199_254_740_991_i64)]
    pub total_fen: i64,
    /// Optional daily cap in fen, at most the total.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 9_007_199_254_740_991_i64)]
    pub daily_cap_fen: Option<i64>,
    /// Bid per thousand impressions in fen, > 0 and at most 2^53 − 1.
    #[schema(minimum = 1, maximum = 9_007_199_254_740_991_i64)]
    pub cpm_bid_fen: i64,
}

impl Budget {
    pub fn check(&self, errs: &mut Errors) {
        let total = amount(self.total_fen, "budget.total_fen", errs);
        amount(self.cpm_bid_fen, "budget.cpm_bid_fen", errs);
        if let Some(cap) = self.daily_cap_fen
            && amount(cap, "budget.daily_cap_fen", errs)
            && total
        {
            errs.check(
                cap <= self.total_fen,
                "budget.daily_cap_fen",
                Code::ExceedsTotal,
                "The daily cap cannot exceed the total budget.",
            );
        }
    }
}

/// Whether an amount of fen is in (0, [`MAX_FEN`]]; if not, says why for `field`.
fn amount(fen: i64, field: &'static str, errs: &mut Errors) -> bool {
    if fen <= 0 {
        errs.push(FieldError::new(
            field,
            Code::MustBePositive,
            "Must be more than 0.",
        ));
        false
    } else if fen > MAX_FEN {
        errs.push(FieldError::new(
            field,
            Code::OutOfRange,
            format!("Must be at most {MAX_FEN} fen (2^53 − 1)."),
        ));
        false
    } else {
        true
    }
}

/// ISO 3166-2:CN subdivision codes.
pub const REGIONS: [&str; 34] = [
    "CN-AH", "CN-BJ", "CN-CQ", "CN-FJ", "CN-GD", "CN-GS", "CN-GX", "CN-GZ", "CN-HA", "CN-HB",
    "CN-HE", "CN-HI", "CN-HK", "CN-HL", "CN-HN", "CN-JL", "CN-JS", "CN-JX", "CN-LN", "CN-MO",
    "CN-NM", "CN-NX", "CN-QH", "CN-SC", "CN-SD", "CN-SH", "CN-SN", "CN-SX", "CN-TJ", "CN-TW",
    "CN-XJ", "CN-XZ", "CN-YN", "CN-ZJ",
];
pub const GENDERS: [&str; 2] = ["female", "male"];
pub const MAX_INTERESTS: usize = 50;

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
    #[schema(schema_with = schema::regions)]
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
    #[schema(schema_with = schema::genders)]
    pub genders: Vec<String>,
    #[serde(default)]
    #[schema(schema_with = schema::interests)]
    pub interests: Vec<String>,
}

/// Each of `items` is in `allowed` and given once; `field[i]` names a bad one.
fn check_set(
    errs: &mut Errors,
    field: &str,
    items: &[String],
    allowed: &[&str],
    (code, message): (Code, &str),
) {
    let mut seen = std::collections::HashSet::new();
    for (i, item) in items.iter().enumerate() {
        errs.check(
            allowed.contains(&item.as_str()) && seen.insert(item),
            format!("{field}[{i}]"),
            code,
            message,
        );
    }
}

impl Targeting {
    pub fn check(&self, errs: &mut Errors) {
        check_set(
            errs,
            "targeting.regions",
            &self.regions,
            &REGIONS,
            (
                Code::InvalidRegion,
                "Use each ISO 3166-2:CN code (e.g. CN-SH) once.",
            ),
        );
        errs.check(
            (18..=65).contains(&self.age_min)
                && (18..=65).contains(&self.age_max)
                && self.age_min <= self.age_max,
            "targeting.age_min",
            Code::InvalidAgeRange,
            "Ages run 18 ≤ age_min ≤ age_max ≤ 65.",
        );
        check_set(
            errs,
            "targeting.genders",
            &self.genders,
            &GENDERS,
            (
                Code::InvalidGender,
                "Use \"female\" and/or \"male\", each once.",
            ),
        );
        errs.check(
            self.interests.len() <= MAX_INTERESTS,
            "targeting.interests",
            Code::InvalidCount,
            "At most 50 interests.",
        );
        for (i, s) in self.interests.iter().enumerate() {
            check_len(errs, &format!("targeting.interests[{i}]"), s, (1, 50));
        }
    }
}

/// The parts of an application that may be missing in a draft, as received or stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parts {
    pub creative: Option<Creative>,
    pub landing: Option<Landing>,
    pub requested_window: Option<Window>,
    pub budget: Option<Budget>,
    pub targeting: Option<Targeting>,
}

/// Parts whose every present part passed its format rules.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidParts(Parts);

impl ValidParts {
    pub fn get(&self) -> &Parts {
        &self.0
    }
}

/// Everything review and approval need, each part present and valid (targeting may be
/// absent: it then targets everyone).
#[derive(Debug, Clone, PartialEq)]
pub struct Complete {
    pub creative: Creative,
    pub landing: Landing,
    pub window: Window,
    pub budget: Budget,
    pub targeting: Option<Targeting>,
}

impl Parts {
    /// Format errors of the parts that are present.
    pub fn check(&self, errs: &mut Errors) {
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

    /// The parts, when every present one is valid; errors go to `errs`.
    pub fn parse(self, errs: &mut Errors) -> Option<ValidParts> {
        let mut mine = Errors::new();
        self.check(&mut mine);
        let ok = mine.is_empty();
        errs.extend(mine);
        ok.then(|| ValidParts(self.normalised()))
    }

    /// Every https address in its normal form (lower-case host, default port dropped, a
    /// path of at least `/`, percent-encoding as the URL standard writes it), so that one
    /// address is stored one way. Called on valid parts only: an address that does not
    /// parse is left as it is.
    fn normalised(mut self) -> Self {
        let norm = |u: &mut String| {
            if let Some(p) = url::parse(u) {
                *u = p.as_str().to_owned();
            }
        };
        if let Some(c) = &mut self.creative {
            norm(&mut c.logo_url);
            c.image_urls.iter_mut().for_each(norm);
        }
        if let Some(l) = &mut self.landing {
            norm(&mut l.web_url);
        }
        self
    }

    /// SPEC §3 completeness: each required part present and valid, listing every missing
    /// or invalid one (422 `validation_failed`, `required` for a missing part).
    pub fn complete(&self) -> Result<Complete, Rejection> {
        let mut errs = Errors::new();
        let missing = "Required before submitting.";
        errs.check(self.creative.is_some(), "creative", Code::Required, missing);
        errs.check(self.landing.is_some(), "landing", Code::Required, missing);
        errs.check(
            self.requested_window.is_some(),
            "requested_window",
            Code::Required,
            missing,
        );
        errs.check(self.budget.is_some(), "budget", Code::Required, missing);
        self.check(&mut errs);
        errs.finish(())?;
        match (
            &self.creative,
            &self.landing,
            self.requested_window,
            self.budget,
        ) {
            (Some(creative), Some(landing), Some(window), Some(budget)) => Ok(Complete {
                creative: creative.clone(),
                landing: landing.clone(),
                window,
                budget,
                targeting: self.targeting.clone(),
            }),
            // Unreachable: each missing part was recorded above.
            _ => Err(Rejection::invalid(Vec::new())),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn window(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> Window {
        Window { starts_at, ends_at }
    }

    pub(crate) fn complete_parts() -> Parts {
        let t0 = Utc::now();
        Parts {
            creative: Some(creative()),
            landing: Some(Landing {
                app_url: "tmall://page.tm/shop?id=1".into(),
                web_url: "https://brand.tmall.com/shop".into(),
            }),
            requested_window: Some(window(t0, t0 + Duration::days(10))),
            budget: Some(Budget {
                total_fen: 100,
                daily_cap_fen: None,
                cpm_bid_fen: 1,
            }),
            targeting: None,
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

    fn errors_of(f: impl Fn(&mut Errors)) -> Vec<String> {
        let mut e = Errors::new();
        f(&mut e);
        e.fields().map(str::to_owned).collect()
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
        for app in [
            "https://brand.tmall.com",
            "tmall://",
            "tmall:// x",
            "tmall://\u{dd}\u{a1}",
            "tmall://shop\u{7f}",
        ] {
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
        let top = Budget {
            total_fen: MAX_FEN,
            daily_cap_fen: Some(MAX_FEN),
            cpm_bid_fen: MAX_FEN,
        };
        assert!(errors_of(|e| top.check(e)).is_empty());
        let past = Budget {
            total_fen: MAX_FEN + 1,
            daily_cap_fen: Some(i64::MAX),
            cpm_bid_fen: MAX_FEN + 1,
        };
        let mut errs = Errors::new();
        past.check(&mut errs);
        let got: Vec<_> = errs
            .into_vec()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        assert_eq!(
            got,
            [
                ("budget.total_fen".to_owned(), Code::OutOfRange),
                ("budget.cpm_bid_fen".to_owned(), Code::OutOfRange),
                ("budget.daily_cap_fen".to_owned(), Code::OutOfRange),
            ]
        );

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
        let fields: Vec<String> = p
            .complete()
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["landing", "requested_window", "budget"]);
        let all = complete_parts();
        let c = all.complete().unwrap();
        assert_eq!(Some(c.window), all.requested_window);
        let mut bad = complete_parts();
        bad.budget = Some(Budget {
            total_fen: 0,
            daily_cap_fen: None,
            cpm_bid_fen: 1,
        });
        assert_eq!(
            bad.complete().unwrap_err().errors[0].field,
            "budget.total_fen"
        );
    }

    #[test]
    fn valid_parts_keep_their_addresses_in_normal_form() {
        let mut c = creative();
        c.logo_url = " HTTPS://IMG.Alicdn.com:443/logo.png ".into();
        c.image_urls = vec![
            "https://img.alicdn.com".into(),
            "https://img.alicdn.com/a b.png".into(),
        ];
        let parts = Parts {
            creative: Some(c),
            landing: Some(Landing {
                app_url: "tmall://page.tm/shop?shopId=1".into(),
                web_url: "https://LiNing.TMALL.com".into(),
            }),
            ..Parts::default()
        };
        let valid = parts.parse(&mut Errors::new()).unwrap();
        let (c, l) = (
            valid.get().creative.as_ref().unwrap(),
            valid.get().landing.as_ref().unwrap(),
        );
        assert_eq!(c.logo_url, "https://img.alicdn.com/logo.png");
        assert_eq!(
            c.image_urls,
            [
                "https://img.alicdn.com/",
                "https://img.alicdn.com/a%20b.png"
            ]
        );
        assert_eq!(l.web_url, "https://lining.tmall.com/");
        assert_eq!(l.app_url, "tmall://page.tm/shop?shopId=1");
    }

    #[test]
    fn parse_keeps_only_valid_parts() {
        let mut errs = Errors::new();
        assert!(complete_parts().parse(&mut errs).is_some());
        assert!(errs.is_empty());
        let mut bad = complete_parts();
        bad.landing.as_mut().unwrap().web_url = "https://x.tmall.com:8443/".into();
        assert!(bad.parse(&mut errs).is_none());
        assert_eq!(errs.fields().collect::<Vec<_>>(), ["landing.web_url"]);
    }

    #[test]
    fn titles() {
        assert_eq!(Title::parse("  618 deals ").unwrap().as_str(), "618 deals");
        assert!(Title::parse(" ").is_err());
        assert!(Title::parse(&"x".repeat(201)).is_err());
        assert_eq!(
            Title::parse("a\u{0}b").unwrap_err().code,
            Code::InvalidLength
        );
    }
}
