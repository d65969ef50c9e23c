//! Property tests for every parser of the domain and the paging cursor: whatever they are
//! given, they never panic, and what they accept keeps the rule they stand for.

use moments_gate::domain::application::{Decision, DecisionKind, Title};
use moments_gate::domain::brand::{BrandName, StoreUrl};
use moments_gate::domain::page::{Cursor, PageParams};
use moments_gate::domain::url;
use moments_gate::domain::user::{DisplayName, Email};
use moments_gate::domain::version::IfMatch;
use moments_gate::domain::whitelist::Reason;
use proptest::prelude::*;

fn no_control(s: &str) -> bool {
    !s.chars().any(char::is_control)
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
}
