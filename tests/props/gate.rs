//! The batch gate's fast paths against the general ones they stand in for: the one-pass body
//! parse gives exactly what the screening parse gives, and the hand-written answer is byte
//! for byte what serde writes.

use chrono::{DateTime, Utc};
use moments_gate::api::gate::{BatchAnswer, BatchBody, answer_json};
use moments_gate::api::json::{parse, parse_strict};
use moments_gate::gate::Verdict;
use moments_gate::gate::decision::Reason;
use proptest::prelude::*;
use uuid::Uuid;

/// Some control characters (raw or escaped), and characters a lenient parser might skip:
/// chrono's time parser skips white space, and U+000B, U+000C and U+0085 are both.
const ODD: &[&str] = &[
    "\u{0}", "\\u0000", "\\u0001", "\u{1f}", "\\u001f", "\\u007f", "\u{7f}", "\\u0085", "\u{85}",
    "\\u000b", "\u{b}", "\\u000c", "\\t", "\t", "\\n", "\\r", " ", "\\u00a0", "\u{a0}", "\\u2028",
    "\u{2028}", "\\u3000", "\\\"", "\\\\", "\\ud800",
];

/// A string's contents (already escaped for JSON): a good id or time, one of them with
/// something odd put in somewhere, or a near miss.
fn text() -> BoxedStrategy<String> {
    let good = prop_oneof![
        any::<u128>().prop_map(|n| Uuid::from_u128(n).to_string()),
        any::<u128>().prop_map(|n| Uuid::from_u128(n).simple().to_string().to_uppercase()),
        any::<u128>().prop_map(|n| Uuid::from_u128(n).braced().to_string()),
        any::<u128>().prop_map(|n| Uuid::from_u128(n).urn().to_string()),
        Just("2027-06-18T12:00:00Z".to_owned()),
        Just("2027-06-18T12:00:00.123456789+08:00".to_owned()),
        Just("2027-06-18t12:00:00z".to_owned()),
        Just("2027-06-18 12:00:00-05:30".to_owned()),
        Just("0001-01-01T00:00:00Z".to_owned()),
        Just("+12027-06-18T12:00:00Z".to_owned()),
        Just(String::new()),
    ];
    (good, 0..40usize, prop::sample::select(ODD), any::<bool>())
        .prop_map(|(s, at, odd, spoil)| {
            if !spoil {
                return s;
            }
            let at = (0..=s.len())
                .rev()
                .find(|i| *i <= at && s.is_char_boundary(*i));
            let at = at.unwrap_or(0);
            format!("{}{}{}", &s[..at], odd, &s[at..])
        })
        .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::sample::select(vec!["checks", "campaign_id", "at"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["other", "Checks", "at\\u0000", "campaign\u{1}_id", ""])
            .prop_map(str::to_owned),
    ]
    .boxed()
}

/// Any JSON value, as text, mostly shaped like a batch; duplicates and bad text included.
fn value() -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        6 => text().prop_map(|s| format!("\"{s}\"")),
        1 => prop::sample::select(vec![
            "null", "true", "1", "1.0", "1e3", "-0", "\"", "[", "{}", "[]", "1e400",
        ])
        .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(24, 200, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((key(), inner), 0..4).prop_map(|v| {
                let fields: Vec<String> =
                    v.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
    .boxed()
}

fn check() -> BoxedStrategy<String> {
    (text(), prop::option::of(value()), prop::option::of(key()))
        .prop_map(|(id, at, extra)| {
            let mut fields = vec![format!("\"campaign_id\":\"{id}\"")];
            if let Some(at) = at {
                fields.push(format!("\"at\":{at}"));
            }
            if let Some(k) = extra {
                fields.push(format!("\"{k}\":null"));
            }
            format!("{{{}}}", fields.join(","))
        })
        .boxed()
}

fn body() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::collection::vec(prop_oneof![4 => check(), 1 => value()], 0..5)
            .prop_map(|v| format!("{{\"checks\":[{}]}}", v.join(","))),
        1 => (prop::collection::vec(check(), 0..3), value())
            .prop_map(|(v, x)| format!("{{\"checks\":[{}],\"checks\":{x}}}", v.join(","))),
        1 => value(),
    ]
    .boxed()
}

fn verdict() -> impl Strategy<Value = Verdict> {
    (
        any::<u128>(),
        prop::option::of((any::<u128>(), any::<u128>())),
        -62_000_000_000i64..250_000_000_000,
        prop_oneof![
            Just(0u32),
            0..1_000_000_000u32,
            (0..1000u32).prop_map(|m| m * 1_000_000)
        ],
        prop::sample::select(Reason::ALL.to_vec()),
    )
        .prop_map(|(id, ids, secs, nanos, reason)| Verdict {
            campaign_id: Uuid::from_u128(id),
            brand_id: ids.map(|(b, _)| Uuid::from_u128(b)),
            season_id: ids.map(|(_, s)| Uuid::from_u128(s)),
            at: DateTime::<Utc>::from_timestamp(secs, nanos).unwrap(),
            eligible: reason.eligible(),
            reason,
        })
}

/// One check with a good id and a good time with one odd character put in anywhere.
fn one_odd_time() -> BoxedStrategy<String> {
    let time = prop::sample::select(vec![
        "2027-06-18T12:00:00Z",
        "2027-06-18T12:00:00.5+08:00",
        "2027-06-18 12:00:00-05:30",
    ]);
    (any::<u128>(), time, 0..30usize, prop::sample::select(ODD))
        .prop_map(|(id, t, at, odd)| {
            let at = at.min(t.len());
            let id = Uuid::from_u128(id);
            format!(
                "{{\"checks\":[{{\"campaign_id\":\"{id}\",\"at\":\"{}{odd}{}\"}}]}}",
                &t[..at],
                &t[at..]
            )
        })
        .boxed()
}

fn same_both_ways(b: &str) -> Result<(), TestCaseError> {
    match (
        parse_strict::<BatchBody>(b.as_bytes()),
        parse::<BatchBody>(b.as_bytes()),
    ) {
        (Ok(fast), Ok(slow)) => prop_assert_eq!(fast, slow),
        (Err(fast), Err(slow)) => prop_assert_eq!(format!("{fast:?}"), format!("{slow:?}")),
        (fast, slow) => prop_assert!(false, "{b}: one pass {fast:?}, screening {slow:?}"),
    }
    Ok(())
}

/// The cases a review found the first version of the one-pass parse let through: white
/// space that is also a control character, which chrono skips around a time.
#[test]
fn control_characters_chrono_would_skip_are_refused_in_a_batch() {
    let id = Uuid::from_u128(7);
    for at in [
        "2027-06-18T12:00:00Z\\u000b",
        "\\u000b2027-06-18T12:00:00Z",
        "2027-06-18T\\u000c12:00:00Z",
        "2027-06-18T\u{85}12:00:00Z",
        "2027-06-18T12:00:00Z\u{85}",
        "2027-06-18T12:00:00\u{7f}Z",
    ] {
        let b = format!("{{\"checks\":[{{\"campaign_id\":\"{id}\",\"at\":\"{at}\"}}]}}");
        let e = parse_strict::<BatchBody>(b.as_bytes()).expect_err(&b);
        assert_eq!(e.code(), "control_character", "{b}");
        assert_eq!(e.field_errors()[0].field, "checks[0].at", "{b}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_time_with_anything_odd_in_it_is_read_the_same_both_ways(b in one_odd_time()) {
        same_both_ways(&b)?;
    }

    #[test]
    fn the_one_pass_batch_parse_gives_what_the_screening_parse_gives(b in body()) {
        same_both_ways(&b)?;
    }

    #[test]
    fn the_written_batch_answer_is_what_serde_writes(
        mut results in prop::collection::vec(verdict(), 0..8),
        same_at in any::<bool>(),
    ) {
        if same_at && let Some(at) = results.first().map(|v| v.at) {
            results.iter_mut().for_each(|v| v.at = at);
        }
        let serde = serde_json::to_vec(&BatchAnswer { results: results.clone() }).unwrap();
        prop_assert_eq!(String::from_utf8(answer_json(&results)).unwrap(), String::from_utf8(serde).unwrap());
    }
}
