//! The demo data: it loads twice without a change, reaches every status with consistent
//! rows, follows the season rules, and each demo login sees what its role may see.

use crate::helpers::{TestApp, assert_problem, spawn};
use chrono::{DateTime, Utc};
use moments_gate::auth::password::Hasher;
use moments_gate::demo::{self, PASSWORD};
use moments_gate::domain::season::{Phase, SeasonSpec};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

/// Every table the demo writes to (sessions only come from logging in).
const TABLES: [&str; 8] = [
    "users",
    "brands",
    "brand_members",
    "seasons",
    "applications",
    "whitelist_entries",
    "campaigns",
    "audit_events",
];

const STATUSES: [&str; 7] = [
    "draft",
    "submitted",
    "in_review",
    "changes_requested",
    "approved",
    "rejected",
    "withdrawn",
];

async fn seed(app: &TestApp) -> demo::Report {
    demo::seed(&app.pool, &Hasher::new(1), Utc::now())
        .await
        .expect("the demo data loads")
}

/// Every row of every table, as text.
async fn rows(app: &TestApp) -> BTreeMap<&'static str, Vec<String>> {
    let mut all = BTreeMap::new();
    for t in TABLES {
        let r: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT t::text FROM {t} t ORDER BY 1"
        )))
        .fetch_all(&app.pool)
        .await
        .unwrap();
        all.insert(t, r);
    }
    all
}

async fn login(app: &TestApp, email: &str) -> String {
    let res = app.login(email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK, "login of {email}");
    res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn items(app: &TestApp, path: &str, token: &str) -> Vec<Value> {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), StatusCode::OK, "GET {path}");
    res.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn brand_id(app: &TestApp, name: &str) -> Uuid {
    sqlx::query_scalar(
        "SELECT b.id FROM brands b JOIN users u ON u.id = b.created_by \
         WHERE b.name = $1 AND u.email LIKE '%@demo.example'",
    )
    .bind(name)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

fn brand_ids(list: &[Value]) -> HashSet<Uuid> {
    list.iter()
        .map(|a| a["brand_id"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn seeding_twice_changes_nothing() {
    let app = spawn().await;
    let first = seed(&app).await;
    // 9 users, 2 seasons, 5 brands, 12 applications.
    assert_eq!(first.created.len(), 28, "{:#?}", first.created);
    let before = rows(&app).await;
    for (t, r) in &before {
        assert!(!r.is_empty(), "the demo wrote nothing into {t}");
    }
    let second = seed(&app).await;
    assert!(second.created.is_empty(), "{:#?}", second.created);
    let after = rows(&app).await;
    for t in TABLES {
        assert_eq!(before[t].len(), after[t].len(), "rows of {t}");
        assert_eq!(before[t], after[t], "contents of {t}");
    }
}

#[tokio::test]
async fn every_status_is_there_with_consistent_rows_and_audit_events() {
    let app = spawn().await;
    seed(&app).await;
    for s in STATUSES {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM applications WHERE status = $1")
            .bind(s)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert!(n >= 1, "no demo application is {s}");
    }
    // Approved: a campaign with the requested window, and a whitelist entry over the
    // season's run window.
    let broken = app
        .count(
            "SELECT count(*) FROM applications a JOIN seasons s ON s.id = a.season_id \
             WHERE a.status = 'approved' AND (NOT EXISTS (SELECT 1 FROM campaigns c \
               WHERE c.application_id = a.id AND c.brand_id = a.brand_id \
               AND c.season_id = a.season_id AND c.starts_at = a.requested_starts_at \
               AND c.ends_at = a.requested_ends_at) \
             OR NOT EXISTS (SELECT 1 FROM whitelist_entries w WHERE w.brand_id = a.brand_id \
               AND w.season_id = a.season_id AND w.status <> 'revoked' \
               AND w.valid_from = s.starts_at AND w.valid_until = s.ends_at))",
        )
        .await;
    assert_eq!(broken, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM campaigns").await,
        app.count("SELECT count(*) FROM applications WHERE status = 'approved'")
            .await
    );
    assert_eq!(
        app.count("SELECT count(*) FROM whitelist_entries WHERE status = 'suspended'")
            .await,
        1
    );
    // Decided ones carry a decision; rejections and change requests a reason code.
    assert_eq!(
        app.count(
            "SELECT count(*) FROM applications WHERE status IN ('rejected', 'changes_requested') \
             AND (decision_reason_code NOT IN ('brand_ineligible', 'creative_policy', \
             'landing_page', 'targeting', 'budget', 'other') OR decision_reason_code IS NULL \
             OR decision_note IS NULL OR decided_by IS NULL)"
        )
        .await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM applications WHERE status = 'in_review' AND reviewer_id IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM applications WHERE status = 'submitted' AND appeal \
             AND rejected_by IS NOT NULL"
        )
        .await,
        1
    );
    // Exactly one creation event for every object, as the API writes them.
    for (t, entity) in [
        ("users", "user"),
        ("brands", "brand"),
        ("seasons", "season"),
        ("applications", "application"),
        ("whitelist_entries", "whitelist_entry"),
        ("campaigns", "campaign"),
    ] {
        let bad: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {t} x WHERE (SELECT count(*) FROM audit_events e \
             WHERE e.entity_type = '{entity}' AND e.entity_id = x.id AND e.action = 'create') <> 1"
        )))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(bad, 0, "{t} without exactly one create event");
    }
    // Each application's trail ends in its status.
    assert_eq!(
        app.count(
            "SELECT count(*) FROM applications a WHERE a.status IS DISTINCT FROM \
             (SELECT e.to_status FROM audit_events e WHERE e.entity_type = 'application' \
              AND e.entity_id = a.id AND e.to_status IS NOT NULL ORDER BY e.at DESC, e.id DESC \
              LIMIT 1)"
        )
        .await,
        0
    );
    // The trail of the appeal through the API, as its brand member sees it.
    let token = login(&app, "lumiere@demo.example").await;
    let appeal: Uuid = sqlx::query_scalar("SELECT id FROM applications WHERE appeal")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let events = items(&app, &format!("/v1/applications/{appeal}/events"), &token).await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "submit", "claim", "reject", "appeal"]);
}

#[tokio::test]
async fn seasons_follow_the_rules_and_618_accepts_applications() {
    let app = spawn().await;
    seed(&app).await;
    let year = demo::demo_year(Utc::now());
    let token = login(&app, "jadepeak@demo.example").await;
    let seasons = items(&app, "/v1/seasons", &token).await;
    assert_eq!(seasons.len(), 2);
    for (code, state) in [
        (format!("618-{year}"), "accepting"),
        (format!("double11-{year}"), "upcoming"),
    ] {
        let res = app.get(&format!("/v1/seasons/{code}"), &token).await;
        assert_eq!(res.status(), StatusCode::OK, "{code}");
        let s: Value = res.json().await.unwrap();
        assert_eq!(s["state"], state, "{code}");
        assert_eq!(s["timezone"], "Asia/Shanghai");
        let t = |f: &str| s[f].as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
        let phases: Vec<Phase> = serde_json::from_value(s["phases"].clone()).unwrap();
        assert_eq!(phases.len(), 3, "{code}");
        let spec = SeasonSpec {
            code: code.clone(),
            name: s["name"].as_str().unwrap().to_owned(),
            timezone: s["timezone"].as_str().unwrap().to_owned(),
            applications_open_at: t("applications_open_at"),
            applications_close_at: t("applications_close_at"),
            starts_at: t("starts_at"),
            ends_at: t("ends_at"),
            phases,
        };
        spec.clone().parse().expect("the season rules hold");
        assert!(spec.starts_at.to_rfc3339().starts_with(&year.to_string()));
    }
    // A demo marketer can take it on from here: the change request is fixed and sent again.
    let lumiere = login(&app, "lumiere@demo.example").await;
    let id: Uuid =
        sqlx::query_scalar("SELECT id FROM applications WHERE status = 'changes_requested'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let res = app
        .post(
            &format!("/v1/applications/{id}/submit"),
            Some(&lumiere),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "submitted");
}

#[tokio::test]
async fn the_reviewer_sees_the_queue_and_four_eyes_hold_for_the_appeal() {
    let app = spawn().await;
    seed(&app).await;
    let r1 = login(&app, "reviewer1@demo.example").await;
    let queue = items(&app, "/v1/review/queue", &r1).await;
    assert_eq!(queue.len(), 3);
    assert!(queue.iter().all(|a| a["status"] == "submitted"));
    assert_eq!(queue[0]["appeal"], true, "the appeal comes first");
    let appeal = queue[0]["id"].as_str().unwrap();
    let res = app
        .post(
            &format!("/v1/applications/{appeal}/claim"),
            Some(&r1),
            json!({}),
        )
        .await;
    assert_problem(res, 403, "four_eyes_required").await;
    let r2 = login(&app, "reviewer2@demo.example").await;
    let res = app
        .post(
            &format!("/v1/applications/{appeal}/claim"),
            Some(&r2),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "in_review");
}

#[tokio::test]
async fn a_brand_marketer_sees_only_their_own_brand() {
    let app = spawn().await;
    seed(&app).await;
    let jade = brand_id(&app, "Jade Peak Outdoor").await;
    let token = login(&app, "jadepeak@demo.example").await;
    let mine = items(&app, "/v1/applications?limit=200", &token).await;
    let expected: i64 = sqlx::query_scalar("SELECT count(*) FROM applications WHERE brand_id = $1")
        .bind(jade)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(mine.len() as i64, expected);
    assert_eq!(brand_ids(&mine), HashSet::from([jade]));
    let brands = items(&app, "/v1/brands", &token).await;
    assert_eq!(brands.len(), 1);
    assert_eq!(brands[0]["name"], "Jade Peak Outdoor");
    let other: Uuid =
        sqlx::query_scalar("SELECT id FROM applications WHERE brand_id <> $1 LIMIT 1")
            .bind(jade)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let res = app.get(&format!("/v1/applications/{other}"), &token).await;
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn the_agency_sees_both_of_its_brands() {
    let app = spawn().await;
    seed(&app).await;
    let jade = brand_id(&app, "Jade Peak Outdoor").await;
    let lumiere = brand_id(&app, "Lumière Skincare").await;
    let token = login(&app, "agency@demo.example").await;
    let seen = items(&app, "/v1/applications?limit=200", &token).await;
    assert_eq!(brand_ids(&seen), HashSet::from([jade, lumiere]));
    let expected: i64 =
        sqlx::query_scalar("SELECT count(*) FROM applications WHERE brand_id = ANY($1)")
            .bind([jade, lumiere])
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(seen.len() as i64, expected);
    let me: Value = app.get("/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me["memberships"].as_array().unwrap().len(), 2);
    let whitelist = items(&app, "/v1/whitelist", &token).await;
    assert_eq!(brand_ids(&whitelist), HashSet::from([jade]));
}

#[tokio::test]
async fn the_demo_admin_can_use_the_api() {
    let app = spawn().await;
    seed(&app).await;
    let token = login(&app, "admin@demo.example").await;
    let users = items(&app, "/v1/users?limit=200", &token).await;
    let emails: HashSet<&str> = users.iter().map(|u| u["email"].as_str().unwrap()).collect();
    for l in &demo::LOGINS {
        assert!(emails.contains(l.email), "{} is missing", l.email);
    }
    let all = items(&app, "/v1/applications?limit=200", &token).await;
    assert_eq!(all.len(), 12);
    let entries = items(&app, "/v1/whitelist", &token).await;
    let mut statuses: Vec<&str> = entries
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    statuses.sort();
    assert_eq!(statuses, ["active", "suspended"]);
    let campaigns = items(&app, "/v1/campaigns", &token).await;
    let mut states: Vec<&str> = campaigns
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    states.sort();
    assert_eq!(states, ["halted", "scheduled"]);
    let res = app
        .post("/v1/api-keys", Some(&token), json!({"name": "ad server"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn data_that_was_there_before_is_left_alone() {
    let app = spawn().await;
    let admin = app.admin().await;
    let marketer = app.marketer().await;
    // Someone else's brand with a demo store URL, and someone else's season.
    let res = app
        .post(
            "/v1/brands",
            Some(&marketer.token),
            json!({"name": "Jade Peak (reseller)", "kind": "brand",
                   "tmall_store_url": "https://jadepeak.tmall.com/"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let theirs: Uuid = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let res = app
        .post(
            "/v1/seasons",
            Some(&admin.token),
            json!({"code": "summer-2027", "name": "Summer", "applications_open_at": "2027-01-01T00:00:00Z",
                   "applications_close_at": "2027-06-01T00:00:00Z", "starts_at": "2027-06-01T00:00:00Z",
                   "ends_at": "2027-09-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let before = rows(&app).await;

    seed(&app).await;

    let after = rows(&app).await;
    for t in TABLES {
        let now: HashSet<&String> = after[t].iter().collect();
        for row in &before[t] {
            assert!(now.contains(row), "{t}: changed or gone: {row}");
        }
    }
    let on_theirs = |sql: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(theirs)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        on_theirs("SELECT count(*) FROM brand_members WHERE brand_id = $1").await,
        1
    );
    assert_eq!(
        on_theirs("SELECT count(*) FROM applications WHERE brand_id = $1").await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM brands WHERE tmall_store_url = 'https://jadepeak.tmall.com/'"
        )
        .await,
        2,
        "the demo made its own brand"
    );
}

#[tokio::test]
async fn a_demo_email_taken_by_another_role_stops_the_run_with_nothing_written() {
    let app = spawn().await;
    let res = app
        .post(
            "/v1/auth/register",
            None,
            json!({"email": "Reviewer1@demo.example", "password": crate::helpers::PASSWORD, "display_name": "Not staff"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let before = rows(&app).await;
    let err = demo::seed(&app.pool, &Hasher::new(1), Utc::now())
        .await
        .expect_err("a marketer cannot stand in for the demo reviewer");
    assert!(err.to_string().contains("eviewer1@demo.example"), "{err}");
    assert_eq!(rows(&app).await, before);
}

#[tokio::test]
async fn local_mode_loads_it_once() {
    let app = spawn().await;
    let hasher = Hasher::new(1);
    let first = demo::load_once(&app.pool, &hasher, Utc::now())
        .await
        .unwrap()
        .expect("loaded the first time");
    assert_eq!(first.created.len(), 28);
    // With a demo object gone, `load_once` still does nothing; `seed` puts it back.
    let gone = "618: noise-cancelling headphones";
    let deleted = sqlx::query("DELETE FROM applications WHERE title = $1")
        .bind(gone)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 1);
    let again = demo::load_once(&app.pool, &hasher, Utc::now())
        .await
        .unwrap();
    assert!(again.is_none());
    assert_eq!(app.count("SELECT count(*) FROM demo_seed").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM applications").await, 11);
    let back = seed(&app).await;
    assert_eq!(back.created.len(), 1, "{:?}", back.created);
    assert!(back.created[0].contains(gone));
    assert_eq!(demo::present_logins(&app.pool).await.unwrap().len(), 9);
}

#[tokio::test]
async fn seed_demo_against_a_database_url_needs_the_known_passwords_flag() {
    let app = spawn().await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_moments-gate"))
            .args(args)
            .env("DATABASE_URL", &app.database_url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&["seed-demo"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--with-known-passwords"));
    assert_eq!(app.count("SELECT count(*) FROM users").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM seasons").await, 0);

    let out = run(&["seed-demo", "--with-known-passwords"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'admin@demo.example'")
            .await,
        1
    );
}
