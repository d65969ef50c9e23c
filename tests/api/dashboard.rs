//! GET /v1/dashboard/summary: exact figures for a known mix, season filtering, roles.
//!
//! Applications that move through the lifecycle are made through the API; decided ones
//! are inserted with exact `submitted_at` / `decided_at` so the timings are known.

use crate::applications::{World, complete_parts, world};
use crate::fixtures::{brand, campaign_of, entry, season};
use crate::helpers::{TestApp, User, assert_problem, spawn};
use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

// ---- fixtures ----

/// An application in `status` (approved, rejected or changes_requested) decided `secs`
/// seconds after its latest submit.
async fn decided(
    app: &TestApp,
    (brand, season): (Uuid, Uuid),
    by: Uuid,
    status: &str,
    submitted_at: DateTime<Utc>,
    secs: i64,
) -> Uuid {
    let decision = match status {
        "approved" => "approve",
        "rejected" => "reject",
        _ => "request_changes",
    };
    let id = Uuid::new_v4();
    sqlx::query(concat!(
        "INSERT INTO applications (id, brand_id, season_id, title, status, created_by, \
             submitted_at, decision, decided_by, decided_at, ",
        parts_columns!(),
        ") VALUES ($1, $2, $3, 'Fixture', $4, $5, $6, $7, $5, $8, ",
        parts_values!(),
        ")"
    ))
    .bind(id)
    .bind(brand)
    .bind(season)
    .bind(status)
    .bind(by)
    .bind(submitted_at)
    .bind(decision)
    .bind(submitted_at + Duration::seconds(secs))
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

/// An undecided application in `status`, submitted at `submitted_at` (if ever).
async fn undecided(
    app: &TestApp,
    (brand, season): (Uuid, Uuid),
    by: Uuid,
    status: &str,
    submitted_at: Option<DateTime<Utc>>,
) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(concat!(
        "INSERT INTO applications (id, brand_id, season_id, title, status, created_by, \
             submitted_at, ",
        parts_columns!(),
        ") VALUES ($1, $2, $3, 'Fixture', $4, $5, $6, ",
        parts_values!(),
        ")"
    ))
    .bind(id)
    .bind(brand)
    .bind(season)
    .bind(status)
    .bind(by)
    .bind(submitted_at)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

// ---- reading ----

async fn summary(app: &TestApp, token: &str, query: &str) -> Value {
    let res = app
        .get(&format!("/v1/dashboard/summary{query}"), token)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    res.json().await.unwrap()
}

/// How many items a list answers (every list here fits in one page).
async fn listed(app: &TestApp, token: &str, path: &str) -> i64 {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let body: Value = res.json().await.unwrap();
    assert!(body["next_cursor"].is_null(), "{path} fits in one page");
    body["items"].as_array().unwrap().len() as i64
}

fn assert_close(got: &Value, want: f64, what: &str) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is a number: {got}"));
    assert!((got - want).abs() < 1e-6, "{what}: {got} != {want}");
}

/// `oldest_pending_seconds`, which runs on while the test runs: between `secs` and `secs`
/// plus the seconds elapsed since `t0`.
fn assert_oldest(review: &Value, secs: i64, t0: DateTime<Utc>) {
    let got = review["oldest_pending_seconds"]
        .as_i64()
        .unwrap_or_else(|| panic!("an integer: {review}"));
    let slack = (Utc::now() - t0).num_seconds() + 1;
    assert!(
        (secs..=secs + slack).contains(&got),
        "oldest_pending_seconds {got} not in {secs}..={}",
        secs + slack
    );
}

fn empty(season_id: Value) -> Value {
    json!({
        "season_id": season_id,
        "applications": {"draft": 0, "submitted": 0, "in_review": 0, "changes_requested": 0,
                         "approved": 0, "rejected": 0, "withdrawn": 0},
        "whitelist": {"active": 0, "suspended": 0, "revoked": 0},
        "campaigns": {"scheduled": 0, "live": 0, "paused": 0, "halted": 0, "ended": 0},
        "review": {"pending": 0, "oldest_pending_seconds": null, "median_decision_seconds": null,
                   "p90_decision_seconds": null, "approval_rate": null},
    })
}

#[tokio::test]
async fn with_no_data_every_figure_is_zero_or_null() {
    let app = spawn().await;
    let admin = app.admin().await;
    let reviewer = app.user_with_role(&admin, "reviewer").await;
    let marketer = app.marketer().await;

    for staff in [&admin, &reviewer] {
        assert_eq!(summary(&app, &staff.token, "").await, empty(Value::Null));
    }
    let s = season(&app, "618-2027").await;
    assert_eq!(
        summary(&app, &admin.token, &format!("?season_id={s}")).await,
        empty(json!(s.to_string()))
    );

    // Only a request for changes: decision times exist, the approval rate does not.
    let b = brand(&app, &marketer, "Acme").await;
    decided(
        &app,
        (b, s),
        marketer.id,
        "changes_requested",
        Utc::now() - Duration::days(1),
        90,
    )
    .await;
    let body = summary(&app, &reviewer.token, &format!("?season_id={s}")).await;
    assert_eq!(body["applications"]["changes_requested"], 1);
    let review = &body["review"];
    assert_eq!(review["pending"], 0);
    assert!(review["oldest_pending_seconds"].is_null());
    assert_close(&review["median_decision_seconds"], 90.0, "median");
    assert_close(&review["p90_decision_seconds"], 90.0, "p90");
    assert!(review["approval_rate"].is_null(), "{review}");
}

/// Season A of the mix: the world's season, with applications through the API and
/// decided ones, entries and campaigns as fixtures.
struct Mix {
    a: Uuid,
    b: Uuid,
    /// When the oldest pending application of each season was made to wait from.
    t0: DateTime<Utc>,
}

async fn build_mix(w: &World) -> Mix {
    let app = &w.app;
    let now = Utc::now();
    let (d, h) = (Duration::days(1), Duration::hours(1));
    let a: Uuid = w.season_id.parse().unwrap();
    let brand1: Uuid = w.brand_id.parse().unwrap();
    let by = w.marketer.id;

    // Through the API, in season A: a draft, a withdrawn draft, a submitted one, one in
    // review, one sent back for changes and submitted again, one rejected and appealed.
    // The last two were decided once, but their latest submit came after: pending.
    w.draft(json!({})).await;
    let withdrawn = w.draft(json!({})).await["id"].as_str().unwrap().to_owned();
    w.ok(&withdrawn, "withdraw", &w.marketer, json!({})).await;
    let submitted = w.draft(complete_parts()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.ok(&submitted, "submit", &w.marketer, json!({})).await;
    let in_review = w.in_review().await;
    let resubmitted = w.in_review().await;
    w.ok(
        &resubmitted,
        "decision",
        &w.reviewer,
        json!({"decision": "request_changes", "reason_code": "creative_policy", "note": "Smaller logo."}),
    )
    .await;
    w.ok(&resubmitted, "submit", &w.marketer, json!({})).await;
    let appealed = w.in_review().await;
    w.ok(
        &appealed,
        "decision",
        &w.reviewer,
        json!({"decision": "reject", "reason_code": "landing_page", "note": "Broken link."}),
    )
    .await;
    w.ok(&appealed, "appeal", &w.marketer, json!({})).await;
    // The one in review has waited longest.
    let t0 = Utc::now();
    sqlx::query("UPDATE applications SET submitted_at = $2 WHERE id = $1::uuid")
        .bind(&in_review)
        .bind(t0 - Duration::seconds(5000))
        .execute(&app.pool)
        .await
        .unwrap();

    // Brands: 1 and 5 active in A, 2 suspended, 3 revoked, 4 without an entry.
    let brand2 = brand(app, &w.marketer, "Suspended").await;
    let brand3 = brand(app, &w.marketer, "Revoked").await;
    let brand4 = brand(app, &w.marketer, "Bare").await;
    let brand5 = brand(app, &w.marketer, "Second").await;
    entry(app, (brand1, a), "active", w.admin.id, None).await;
    entry(app, (brand5, a), "active", w.admin.id, None).await;
    entry(app, (brand2, a), "suspended", w.admin.id, None).await;
    entry(app, (brand3, a), "revoked", w.admin.id, None).await;

    // Decided in A: 11 decision times, sorted 60 120 180 240 300 [600] 900 1200 1800
    // [3600] 7200: the median is the 6th, the 90th percentile exactly the 10th.
    let base = now - Duration::days(20);
    let mut i = 0;
    let mut next = || {
        i += 1;
        base + Duration::hours(i)
    };
    let mut approved = Vec::new();
    for (brand, secs) in [
        (brand1, 60),
        (brand1, 180),
        (brand5, 300),
        (brand1, 900),
        (brand2, 1800),
        (brand3, 7200),
    ] {
        approved.push(decided(app, (brand, a), by, "approved", next(), secs).await);
    }
    for secs in [120, 240, 600, 3600] {
        decided(app, (brand4, a), by, "rejected", next(), secs).await;
    }
    decided(app, (brand4, a), by, "changes_requested", next(), 1200).await;

    // Campaigns in A, one per approved application: scheduled, live (2), paused,
    // halted (paused too, but the entry is suspended), ended (and halted: ended wins).
    for (app_id, brand, starts, ends, paused) in [
        (approved[0], brand1, now + d, now + d * 5, false),
        (approved[1], brand1, now - d, now + d * 5, false),
        (approved[2], brand5, now - d, now + d * 5, false),
        (approved[3], brand1, now - d, now + d * 5, true),
        (approved[4], brand2, now - d, now + d * 5, true),
        (approved[5], brand3, now - d * 3, now - h, false),
    ] {
        campaign_of(app, app_id, (brand, a), starts, ends, paused).await;
    }

    // Season B: a draft, an old submitted one, an approval (its campaign live) and a
    // rejection; brand 1 active, brand 2 suspended.
    let b = season(app, "double11-2027").await;
    undecided(app, (brand1, b), by, "draft", None).await;
    undecided(
        app,
        (brand1, b),
        by,
        "submitted",
        Some(t0 - Duration::seconds(864_000)),
    )
    .await;
    let approved_b = decided(app, (brand1, b), by, "approved", next(), 50_000).await;
    decided(app, (brand2, b), by, "rejected", next(), 10).await;
    entry(app, (brand1, b), "active", w.admin.id, None).await;
    entry(app, (brand2, b), "suspended", w.admin.id, None).await;
    campaign_of(app, approved_b, (brand1, b), now - d, now + d, false).await;

    Mix { a, b, t0 }
}

#[tokio::test]
async fn a_known_mix_gives_exact_figures_per_season_and_overall() {
    let w = world().await;
    let mix = build_mix(&w).await;
    let app = &w.app;
    let token = &w.reviewer.token;

    // Season A.
    let s = summary(app, token, &format!("?season_id={}", mix.a)).await;
    assert_eq!(s["season_id"], mix.a.to_string());
    assert_eq!(
        s["applications"],
        json!({"draft": 1, "submitted": 3, "in_review": 1, "changes_requested": 1,
               "approved": 6, "rejected": 4, "withdrawn": 1})
    );
    assert_eq!(
        s["whitelist"],
        json!({"active": 2, "suspended": 1, "revoked": 1})
    );
    assert_eq!(
        s["campaigns"],
        json!({"scheduled": 1, "live": 2, "paused": 1, "halted": 1, "ended": 1})
    );
    let r = &s["review"];
    assert_eq!(r["pending"], 4);
    assert_oldest(r, 5000, mix.t0);
    assert_eq!(r["median_decision_seconds"], json!(600.0));
    assert_eq!(r["p90_decision_seconds"], json!(3600.0));
    assert_eq!(r["approval_rate"], json!(0.6));

    // Season B: none of A's data.
    let s = summary(app, token, &format!("?season_id={}", mix.b)).await;
    assert_eq!(s["season_id"], mix.b.to_string());
    assert_eq!(
        s["applications"],
        json!({"draft": 1, "submitted": 1, "in_review": 0, "changes_requested": 0,
               "approved": 1, "rejected": 1, "withdrawn": 0})
    );
    assert_eq!(
        s["whitelist"],
        json!({"active": 1, "suspended": 1, "revoked": 0})
    );
    assert_eq!(
        s["campaigns"],
        json!({"scheduled": 0, "live": 1, "paused": 0, "halted": 0, "ended": 0})
    );
    let r = &s["review"];
    assert_eq!(r["pending"], 1);
    assert_oldest(r, 864_000, mix.t0);
    assert_close(
        &r["median_decision_seconds"],
        25_005.0,
        "median of 10 and 50000",
    );
    assert_close(&r["p90_decision_seconds"], 45_001.0, "p90 of 10 and 50000");
    assert_eq!(r["approval_rate"], json!(0.5));

    // Every season: the sums, and the timings over all 13 decisions.
    let s = summary(app, &w.admin.token, "").await;
    assert!(s["season_id"].is_null());
    assert_eq!(
        s["applications"],
        json!({"draft": 2, "submitted": 4, "in_review": 1, "changes_requested": 1,
               "approved": 7, "rejected": 5, "withdrawn": 1})
    );
    assert_eq!(
        s["whitelist"],
        json!({"active": 3, "suspended": 2, "revoked": 1})
    );
    assert_eq!(
        s["campaigns"],
        json!({"scheduled": 1, "live": 3, "paused": 1, "halted": 1, "ended": 1})
    );
    let r = &s["review"];
    assert_eq!(r["pending"], 5);
    assert_oldest(r, 864_000, mix.t0);
    // 10 60 120 180 240 300 [600] 900 1200 1800 3600 | 7200 50000: p90 sits 0.8 of
    // the way from 3600 to 7200.
    assert_eq!(r["median_decision_seconds"], json!(600.0));
    assert_close(&r["p90_decision_seconds"], 6480.0, "p90");
    assert_close(&r["approval_rate"], 7.0 / 12.0, "approval rate");
}

#[tokio::test]
async fn the_counts_agree_with_the_lists() {
    let w = world().await;
    let mix = build_mix(&w).await;
    let app = &w.app;
    let token = &w.admin.token;

    for season in [Some(mix.a), Some(mix.b), None] {
        let (query, filter) = match season {
            Some(s) => (format!("?season_id={s}"), format!("&season_id={s}")),
            None => (String::new(), String::new()),
        };
        let s = summary(app, token, &query).await;
        for state in ["scheduled", "live", "paused", "halted", "ended"] {
            let n = listed(app, token, &format!("/v1/campaigns?state={state}{filter}")).await;
            assert_eq!(s["campaigns"][state], n, "campaigns {state} in {season:?}");
        }
        for status in [
            "draft",
            "submitted",
            "in_review",
            "changes_requested",
            "approved",
            "rejected",
            "withdrawn",
        ] {
            let n = listed(
                app,
                token,
                &format!("/v1/applications?status={status}{filter}"),
            )
            .await;
            assert_eq!(s["applications"][status], n, "applications {status}");
        }
        for status in ["active", "suspended", "revoked"] {
            let n = listed(
                app,
                token,
                &format!("/v1/whitelist?status={status}{filter}"),
            )
            .await;
            assert_eq!(s["whitelist"][status], n, "whitelist {status}");
        }
    }

    // A change of the whitelist moves campaigns between states in both at once.
    sqlx::query(
        "UPDATE whitelist_entries SET status = 'suspended' WHERE season_id = $1 \
         AND status = 'active' AND brand_id = $2",
    )
    .bind(mix.a)
    .bind(w.brand_id.parse::<Uuid>().unwrap())
    .execute(&app.pool)
    .await
    .unwrap();
    let s = summary(app, token, &format!("?season_id={}", mix.a)).await;
    assert_eq!(
        s["campaigns"],
        json!({"scheduled": 0, "live": 1, "paused": 0, "halted": 4, "ended": 1})
    );
    let halted = listed(
        app,
        token,
        &format!("/v1/campaigns?state=halted&season_id={}", mix.a),
    )
    .await;
    assert_eq!(halted, 4);
}

// ---- refusals ----

#[tokio::test]
async fn only_reviewers_and_admins_may_read_it() {
    let app = spawn().await;
    let admin = app.admin().await;
    let marketer = app.marketer().await;

    let res = app
        .req(Method::GET, "/v1/dashboard/summary", None)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
    let res = app
        .get("/v1/dashboard/summary", "mgs_not-a-real-token")
        .await;
    assert_problem(res, 401, "unauthorized").await;
    let res = app.get("/v1/dashboard/summary", &marketer.token).await;
    assert_problem(res, 403, "forbidden").await;

    let key = app
        .post("/v1/api-keys", Some(&admin.token), json!({"name": "ads"}))
        .await;
    assert_eq!(key.status(), StatusCode::CREATED);
    let key: Value = key.json().await.unwrap();
    let res = app
        .get("/v1/dashboard/summary", key["key"].as_str().unwrap())
        .await;
    assert_problem(res, 403, "forbidden").await;
}

#[tokio::test]
async fn an_unknown_season_is_404_and_a_malformed_one_422() {
    let app = spawn().await;
    let admin = app.admin().await;
    let reviewer: User = app.user_with_role(&admin, "reviewer").await;
    season(&app, "618-2027").await;

    let res = app
        .get(
            &format!("/v1/dashboard/summary?season_id={}", Uuid::new_v4()),
            &reviewer.token,
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    // Only an id, not a code.
    for bad in ["618-2027", "42", ""] {
        let res = app
            .get(
                &format!("/v1/dashboard/summary?season_id={bad}"),
                &reviewer.token,
            )
            .await;
        assert_problem(res, 422, "invalid_query").await;
    }
}

#[tokio::test]
async fn both_endpoints_are_documented() {
    let app = spawn().await;
    let doc: Value = app
        .req(Method::GET, "/openapi.json", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/v1/dashboard/summary"]["get"].is_object());
    assert!(doc["paths"]["/v1/audit"]["get"].is_object());
    let review = &doc["components"]["schemas"]["ReviewFigures"]["properties"];
    for (field, ty) in [
        ("oldest_pending_seconds", "integer"),
        ("median_decision_seconds", "number"),
        ("p90_decision_seconds", "number"),
        ("approval_rate", "number"),
    ] {
        assert_eq!(review[field]["type"], json!([ty, "null"]), "{field}");
    }
    assert_eq!(review["pending"]["type"], "integer");
}
