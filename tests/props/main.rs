//! Property tests for every parser of the domain and the paging cursor: whatever they are
//! given, they never panic, and what they accept keeps the rule they stand for.

use chrono::{DateTime, Utc};
use moments_gate::domain::application::parts::{GENDERS, MAX_IMAGES, MAX_INTERESTS, REGIONS};
use moments_gate::domain::application::{
    Budget, Creative, Decision, DecisionKind, Landing, Parts, ReasonCode, Targeting, Title, Window,
};
use moments_gate::domain::brand::{BrandName, StoreUrl};
use moments_gate::domain::error::Errors;
use moments_gate::domain::page::{Cursor, PageParams};
use moments_gate::domain::season::{Phase, SeasonSpec};
use moments_gate::domain::time;
use moments_gate::domain::url;
use moments_gate::domain::user::{DisplayName, Email, Role};
use moments_gate::domain::version::IfMatch;
use moments_gate::domain::whitelist::Reason;
use proptest::prelude::*;

mod gate;

fn no_control(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// Any instant chrono can hold within ±28,000 years: far outside the accepted range too.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        (-900_000_000_000i64..900_000_000_000)
            .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
        (946_684_800i64..4_102_444_800).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
    ]
}

/// Mostly what `good` makes, sometimes anything at all: so that both what is accepted and
/// what is refused are tried often.
fn mostly(
    good: impl Strategy<Value = String> + 'static,
    any: &'static str,
) -> BoxedStrategy<String> {
    prop_oneof![5 => good, 1 => any].boxed()
}

fn image_url() -> BoxedStrategy<String> {
    mostly(
        "https://(IMG|img|cdn)\\.(alicdn|Lumen)\\.(com|example)(:443)?(/[a-z0-9 %.]{0,20})?",
        "(https?|tmall|ftp)://[ -~]{0,40}",
    )
}

fn web_url() -> BoxedStrategy<String> {
    mostly(
        "https://([a-z0-9]{1,10}\\.)?(tmall|TMALL|taobao)\\.com\\.?(/[a-z0-9?=&]{0,20})?",
        "(https?|tmall)://[ -~]{0,40}",
    )
}

/// A sane instant, mostly; sometimes any.
fn when() -> BoxedStrategy<DateTime<Utc>> {
    prop_oneof![
        5 => (946_684_800i64..4_000_000_000).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
        1 => instant(),
    ]
    .boxed()
}

/// Mostly a valid subset of `valid` (each once), sometimes repeats or anything.
fn subset(valid: &'static [&'static str], max: usize) -> BoxedStrategy<Vec<String>> {
    prop_oneof![
        5 => proptest::sample::subsequence(valid, 0..=valid.len().min(max))
            .prop_map(|v| v.into_iter().map(str::to_owned).collect()),
        1 => proptest::collection::vec(
            prop_oneof![proptest::sample::select(valid).prop_map(str::to_owned), ".{0,8}".boxed()],
            0..max + 5,
        ),
    ]
    .boxed()
}

prop_compose! {
    fn any_parts()(
        headline in mostly("[A-Za-z0-9 :%]{1,40}", ".{0,45}"),
        card_label in mostly("[A-Za-z ]{1,30}", ".{0,35}"),
        body in mostly("[A-Za-z0-9 .\n]{0,60}", ".{0,520}"),
        logo_url in image_url(),
        image_urls in prop_oneof![
            5 => proptest::collection::vec(image_url(), 1..=MAX_IMAGES),
            1 => proptest::collection::vec(image_url(), 0..12),
        ],
        app_url in mostly("tmall://[!-~]{1,30}", ".{0,30}"),
        web_url in web_url(),
        w in (when(), 1i64..40 * 86_400, any::<bool>()),
        b in prop_oneof![
            5 => (1i64..1_000_000_000, proptest::option::of(1i64..1_000_000_000), 1i64..100_000),
            1 => (any::<i64>(), proptest::option::of(any::<i64>()), any::<i64>()),
        ],
        regions in subset(&REGIONS, 34),
        ages in prop_oneof![5 => (18i32..=40, 40i32..=65), 1 => (any::<i32>(), any::<i32>())],
        genders in subset(&GENDERS, 2),
        interests in prop_oneof![
            5 => proptest::collection::vec("[a-z ]{1,50}", 0..8),
            1 => proptest::collection::vec(".{0,55}", 0..(MAX_INTERESTS + 3)),
        ],
        present in any::<[bool; 5]>(),
    ) -> Parts {
        let starts_at = w.0;
        // Mostly after its start; sometimes before it.
        let ends_at = if w.2 { starts_at + chrono::Duration::seconds(w.1) } else { starts_at - chrono::Duration::seconds(w.1) };
        Parts {
            creative: present[0].then_some(Creative { headline, body, card_label, logo_url, image_urls }),
            landing: present[1].then_some(Landing { app_url, web_url }),
            requested_window: present[2].then_some(Window { starts_at, ends_at }),
            budget: present[3].then_some(Budget { total_fen: b.0, daily_cap_fen: b.1, cpm_bid_fen: b.2 }),
            targeting: present[4].then_some(Targeting { regions, age_min: ages.0, age_max: ages.1, genders, interests }),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn text_parsers_accept_only_clean_bounded_text(raw in ".{0,300}") {
        if let Ok(n) = BrandName::parse(&raw) {
            let n = n.as_str();
            prop_assert!((1..=200).contains(&n.chars().count()) && no_control(n) && n.trim() == n);
        }
        if let Ok(n) = DisplayName::parse("f", &raw) {
            let n = n.as_str();
            prop_assert!((1..=100).contains(&n.chars().count()) && no_control(n));
        }
        if let Ok(t) = Title::parse(&raw) {
            prop_assert!((1..=200).contains(&t.as_str().chars().count()) && no_control(t.as_str()));
        }
        if let Ok(r) = Reason::parse(&raw) {
            let r = r.as_str();
            prop_assert!((1..=1000).contains(&r.chars().count()));
            prop_assert!(!r.chars().any(|c| c.is_control() && c != '\n' && c != '\r'));
        }
        if let Ok(e) = Email::parse("email", &raw) {
            let e = e.as_str();
            prop_assert!(e.len() <= 254 && e.contains('@') && no_control(e));
        }
    }

    #[test]
    fn urls_keep_the_host_rule(raw in "(https?://)?[a-zA-Z0-9.:@/_%?#\\[\\]-]{0,80}") {
        if let Some(u) = url::parse(&raw) {
            prop_assert!(u.as_str().starts_with("https://"));
            prop_assert!(!u.host().is_empty() && !u.host().split('.').any(str::is_empty));
            prop_assert!(u.host().parse::<std::net::IpAddr>().is_err());
        }
        if let Ok(s) = StoreUrl::parse(&raw) {
            let u = url::parse(s.as_str()).expect("a store URL parses again");
            prop_assert!(u.host() == "tmall.com" || u.host().ends_with(".tmall.com"));
        }
    }

    #[test]
    fn decisions_carry_what_their_kind_needs(
        kind in prop_oneof![Just(DecisionKind::Approve), Just(DecisionKind::Reject), Just(DecisionKind::RequestChanges)],
        reason in proptest::option::of("[a-z_]{0,20}"),
        note in proptest::option::of(".{0,2100}"),
    ) {
        if let Ok(d) = Decision::parse(kind, reason.as_deref(), note.as_deref()) {
            prop_assert_eq!(d.kind(), kind);
            match d {
                Decision::Approve { .. } => prop_assert!(reason.is_none()),
                Decision::Reject { note, .. } | Decision::RequestChanges { note, .. } => {
                    prop_assert!(!note.is_empty() && note.chars().count() <= 2000);
                }
            }
        }
    }

    #[test]
    fn cursors_and_pages_never_panic(raw in ".{0,600}", limit in any::<i64>()) {
        let _ = Cursor::decode(&raw);
        let _ = IfMatch::parse(&raw);
        if let Ok(p) = PageParams::parse(&format!("limit={limit}&cursor={raw}")) {
            prop_assert!((1..=200).contains(&p.limit));
        }
    }

    #[test]
    fn a_cursor_round_trips(secs in 946_684_800i64..4_102_444_800, id in any::<u128>()) {
        let t = chrono::DateTime::from_timestamp(secs, 0).unwrap();
        let c = Cursor::new(t, uuid::Uuid::from_u128(id));
        prop_assert_eq!(Cursor::decode(&c.encode()), Some(c));
    }

    #[test]
    fn accepted_parts_keep_every_format_rule(parts in any_parts()) {
        let _ = parts.complete();
        let mut errs = Errors::new();
        let Some(valid) = parts.clone().parse(&mut errs) else {
            prop_assert!(!errs.is_empty());
            return Ok(());
        };
        prop_assert!(errs.is_empty());
        let p = valid.get();
        let normal = |u: &str| url::parse(u).is_some_and(|p| p.as_str() == u);
        if let Some(c) = &p.creative {
            prop_assert!(normal(&c.logo_url), "{}", c.logo_url);
            prop_assert!((1..=MAX_IMAGES).contains(&c.image_urls.len()));
            prop_assert!(c.image_urls.iter().all(|u| normal(u)));
            prop_assert!((1..=40).contains(&c.headline.chars().count()) && no_control(&c.headline));
        }
        if let Some(l) = &p.landing {
            prop_assert!(normal(&l.web_url), "{}", l.web_url);
            prop_assert!(url::parse(&l.web_url).unwrap().is_within(url::TMALL_OR_TAOBAO));
            let deep = l.app_url.strip_prefix("tmall://").unwrap_or("");
            prop_assert!(!deep.is_empty() && deep.bytes().all(|b| b.is_ascii_graphic()));
        }
        if let Some(w) = &p.requested_window {
            prop_assert!(time::is_sane(w.starts_at) && time::is_sane(w.ends_at) && w.starts_at < w.ends_at);
        }
        if let Some(b) = &p.budget {
            prop_assert!(b.total_fen > 0 && b.cpm_bid_fen > 0);
            prop_assert!(b.daily_cap_fen.is_none_or(|c| c > 0 && c <= b.total_fen));
        }
        if let Some(t) = &p.targeting {
            prop_assert!(t.regions.iter().all(|r| REGIONS.contains(&r.as_str())));
            let mut r = t.regions.clone();
            r.sort();
            r.dedup();
            prop_assert_eq!(r.len(), t.regions.len());
            prop_assert!(18 <= t.age_min && t.age_min <= t.age_max && t.age_max <= 65);
            prop_assert!(t.genders.iter().all(|g| GENDERS.contains(&g.as_str())));
            prop_assert!(t.interests.len() <= MAX_INTERESTS);
        }
    }

    #[test]
    fn the_normal_form_of_an_address_is_stable(raw in prop_oneof![image_url(), web_url()]) {
        if let Some(u) = url::parse(&raw) {
            let again = url::parse(u.as_str()).expect("a normal form parses again");
            prop_assert_eq!(again.as_str(), u.as_str());
            prop_assert_eq!(again.host(), u.host());
        }
    }

    #[test]
    fn accepted_seasons_keep_their_rules(
        code in mostly("[a-z0-9-]{2,40}", ".{0,45}"),
        name in mostly(" ?[A-Za-z0-9 ]{1,30} ?", ".{0,210}"),
        timezone in mostly("(Asia/Shanghai|UTC|Europe/Paris|America/New_York)", ".{0,20}"),
        base in when(),
        gaps in (1i64..90 * 86_400, 0i64..90 * 86_400, 1i64..90 * 86_400, any::<u8>()),
        phases in proptest::collection::vec((" ?[a-z-]{1,20}", 0i64..90 * 86_400, -86_400i64..30 * 86_400), 0..6),
    ) {
        let secs = chrono::Duration::seconds;
        // Mostly in order; one time in eight the run starts before applications open.
        let (open, close) = (base, base + secs(gaps.0));
        let starts = if gaps.3 % 8 == 0 { base - secs(gaps.1 + 1) } else { base + secs(gaps.1) };
        let ends = starts + secs(gaps.2);
        let t = (open, close, starts, ends);
        let phases: Vec<(String, DateTime<Utc>, DateTime<Utc>)> = phases
            .into_iter()
            .map(|(n, from, len)| (n, starts + secs(from), starts + secs(from) + secs(len)))
            .collect();
        let spec = SeasonSpec {
            code, name, timezone,
            applications_open_at: t.0, applications_close_at: t.1, starts_at: t.2, ends_at: t.3,
            phases: phases.into_iter().map(|(name, starts_at, ends_at)| Phase { name, starts_at, ends_at }).collect(),
        };
        if let Ok(s) = spec.parse() {
            prop_assert_eq!(s.name.trim(), s.name.as_str());
            prop_assert!((2..=40).contains(&s.code.len()));
            prop_assert!(s.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            prop_assert!(s.timezone.parse::<chrono_tz::Tz>().is_ok());
            for t in [s.applications_open_at, s.applications_close_at, s.starts_at, s.ends_at] {
                prop_assert!(time::is_sane(t));
            }
            prop_assert!(s.applications_open_at < s.applications_close_at && s.starts_at < s.ends_at);
            for p in &s.phases {
                prop_assert!(p.starts_at < p.ends_at && s.starts_at <= p.starts_at && p.ends_at <= s.ends_at);
            }
        }
    }

    #[test]
    fn times_are_accepted_only_in_range(t in instant()) {
        prop_assert_eq!(time::check("t", t).is_ok(), t.format("%Y").to_string().parse::<i32>().is_ok_and(|y| (2000..2100).contains(&y)));
    }

    #[test]
    fn names_of_kinds_round_trip(raw in "[a-z_]{0,20}") {
        if let Some(c) = ReasonCode::parse(&raw) {
            prop_assert_eq!(c.as_str(), raw.as_str());
        }
        if let Some(r) = Role::parse(&raw) {
            prop_assert_eq!(r.as_str(), raw.as_str());
        }
        for c in ReasonCode::ALL {
            prop_assert_eq!(ReasonCode::parse(c.as_str()), Some(c));
        }
    }
}
