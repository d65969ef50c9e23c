//! Seasons: creation, reading by id or code, state filters, and changes with If-Match.

use crate::helpers::{TestApp, User, assert_problem, spawn};
use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

const SEASONS: &str = "SELECT count(*) FROM seasons";
const SEASON_EVENTS: &str = "SELECT count(*) FROM audit_events WHERE entity_type = 'season'";

/// `days` from one fixed "now" (whole seconds, so values round-trip exactly): two calls
/// for the same day agree even when a second ticks over between them.
fn at(days: i64) -> DateTime<Utc> {
    static NOW: std::sync::LazyLock<i64> = std::sync::LazyLock::new(|| Utc::now().timestamp());
    DateTime::from_timestamp(*NOW, 0).unwrap() + Duration::days(days)
}

/// A season whose applications open `open` days from now, close at `close`, running
/// from `start` to `end`.
pub fn body(code: &str, open: i64, close: i64, start: i64, end: i64) -> Value {
    json!({
        "code": code,
        "name": format!("Season {code}"),
        "applications_open_at": at(open),
        "applications_close_at": at(close),
        "starts_at": at(start),
        "ends_at": at(end),
    })
}

async fn create(app: &TestApp, admin: &User, b: Value) -> Value {
    let res = app.post("/v1/seasons", Some(&admin.token), b).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn patch(app: &TestApp, who: &User, id: &str, if_match: Option<&str>, b: Value) -> Response {
    let mut r = app.req(
        Method::PATCH,
        &format!("/v1/seasons/{id}"),
        Some(&who.token),
    );
    if let Some(m) = if_match {
        r = r.header("If-Match", m);
    }
    r.json(&b).send().await.unwrap()
}

async fn counts(app: &TestApp) -> (i64, i64) {
    (app.count(SEASONS).await, app.count(SEASON_EVENTS).await)
}

fn codes(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn admin_creates_a_season_read_by_id_or_code() {
    let app = spawn().await;
    let admin = app.admin().await;
    let m = app.marketer().await;
    let mut b = body("618-2027", -1, 10, 5, 30);
    b["phases"] = json!([
        {"name": "warm-up", "starts_at": at(5), "ends_at": at(15)},
        {"name": "peak", "starts_at": at(15), "ends_at": at(30)},
    ]);
    let res = app.post("/v1/seasons", Some(&admin.token), b).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["etag"], "\"1\"");
    let s: Value = res.json().await.unwrap();
    let mut keys: Vec<&String> = s.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "applications_close_at",
            "applications_open_at",
            "code",
            "ends_at",
            "id",
            "name",
            "phases",
            "starts_at",
            "state",
            "timezone",
            "version"
        ]
    );
    assert_eq!(s["timezone"], "Asia/Shanghai");
    assert_eq!(s["state"], "accepting");
    assert_eq!(s["version"], 1);
    assert_eq!(s["phases"][1]["name"], "peak");
    assert_eq!(
        s["starts_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        at(5)
    );
    let id = s["id"].as_str().unwrap();
    let (action, actor): (String, Uuid) =
        sqlx::query_as("SELECT action, actor_id FROM audit_events WHERE entity_type = 'season'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((action.as_str(), actor), ("create", admin.id));

    for key in [id, "618-2027"] {
        let res = app.get(&format!("/v1/seasons/{key}"), &m.token).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["etag"], "\"1\"");
        assert_eq!(res.json::<Value>().await.unwrap(), s);
    }
    for key in [
        "nope".to_owned(),
        Uuid::new_v4().to_string(),
        "NOT A CODE".into(),
    ] {
        let res = app.get(&format!("/v1/seasons/{key}"), &m.token).await;
        assert_problem(res, 404, "not_found").await;
    }
    let mut b = body("d11-2027", 1, 10, 5, 30);
    b["timezone"] = json!("Europe/Berlin");
    let s = create(&app, &admin, b).await;
    assert_eq!(s["timezone"], "Europe/Berlin");
    assert_eq!(s["state"], "upcoming");
}

#[tokio::test]
async fn create_refuses_bad_seasons_and_changes_nothing() {
    let app = spawn().await;
    let admin = app.admin().await;
    let m = app.marketer().await;
    let reviewer = app.user_with_role(&admin, "reviewer").await;
    create(&app, &admin, body("618-2027", 1, 10, 5, 30)).await;
    let before = counts(&app).await;

    for who in [&m, &reviewer] {
        let res = app
            .post("/v1/seasons", Some(&who.token), body("x-1", 1, 10, 5, 30))
            .await;
        assert_problem(res, 403, "forbidden").await;
    }
    let res = app
        .post(
            "/v1/seasons",
            Some(&admin.token),
            body("618-2027", 1, 10, 5, 30),
        )
        .await;
    assert_problem(res, 409, "season_code_taken").await;

    // Every violation is listed at once.
    let mut b = body("Bad_Code", 10, 10, 30, 5);
    b["timezone"] = json!("Mars/Olympus");
    b["name"] = json!("");
    b["phases"] = json!([
        {"name": "", "starts_at": at(1), "ends_at": at(2)},
        {"name": "b", "starts_at": at(3), "ends_at": at(3)},
    ]);
    let res = app.post("/v1/seasons", Some(&admin.token), b).await;
    let p = assert_problem(res, 422, "validation_failed").await;
    let mut got: Vec<String> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["field"].as_str().unwrap(),
                e["code"].as_str().unwrap()
            )
        })
        .collect();
    got.sort();
    for want in [
        "code:invalid_code",
        "name:invalid_name",
        "timezone:invalid_timezone",
        "applications_close_at:out_of_order",
        "ends_at:out_of_order",
        "phases[0].name:invalid_name",
        "phases[1].ends_at:out_of_order",
    ] {
        assert!(got.iter().any(|g| g == want), "{want} in {got:?}");
    }

    // One rule at a time.
    let cases: Vec<(Value, &str, &str)> = vec![
        (body("a", 1, 10, 5, 30), "code", "invalid_code"),
        (body(&"a".repeat(41), 1, 10, 5, 30), "code", "invalid_code"),
        (
            body("ok-1", 1, 31, 5, 30),
            "applications_close_at",
            "after_season_end",
        ),
        (
            body("ok-1", 5, 4, 5, 30),
            "applications_close_at",
            "out_of_order",
        ),
        (body("ok-1", 1, 10, 30, 30), "ends_at", "out_of_order"),
        (
            {
                let mut b = body("ok-1", 1, 10, 5, 30);
                b["phases"] = json!([{"name": "x", "starts_at": at(4), "ends_at": at(6)}]);
                b
            },
            "phases[0].starts_at",
            "outside_season",
        ),
        (
            {
                let mut b = body("ok-1", 1, 10, 5, 30);
                b["phases"] = json!([
                    {"name": "a", "starts_at": at(5), "ends_at": at(10)},
                    {"name": "b", "starts_at": at(9), "ends_at": at(12)},
                ]);
                b
            },
            "phases[1].starts_at",
            "overlaps",
        ),
        (
            {
                let mut b = body("ok-1", 1, 10, 5, 30);
                b["phases"] = json!([
                    {"name": "a", "starts_at": at(10), "ends_at": at(12)},
                    {"name": "b", "starts_at": at(5), "ends_at": at(6)},
                ]);
                b
            },
            "phases[1].starts_at",
            "out_of_order",
        ),
        (
            {
                let mut b = body("ok-1", 1, 10, 5, 30);
                b["state"] = json!("running");
                b
            },
            "state",
            "unknown_field",
        ),
        (
            {
                let mut b = body("ok-1", 1, 10, 5, 30);
                b["version"] = json!(7);
                b
            },
            "version",
            "unknown_field",
        ),
        (
            {
                let mut b = body("ok-1", 1, 10, 5, 30);
                b["starts_at"] = json!("tomorrow");
                b
            },
            "starts_at",
            "invalid_type",
        ),
    ];
    for (b, field, code) in cases {
        let res = app.post("/v1/seasons", Some(&admin.token), b).await;
        let p = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(p["errors"][0]["field"], field, "{p}");
        assert_eq!(p["errors"][0]["code"], code, "{p}");
        assert_eq!(p["errors"].as_array().unwrap().len(), 1, "{p}");
    }
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn list_filters_by_state_computed_now() {
    let app = spawn().await;
    let admin = app.admin().await;
    let m = app.marketer().await;
    create(&app, &admin, body("upcoming", 1, 10, 5, 30)).await;
    create(&app, &admin, body("accepting", -1, 10, 5, 30)).await;
    create(&app, &admin, body("running", -10, -1, -5, 30)).await;
    create(&app, &admin, body("ended", -30, -20, -25, -1)).await;

    let all: Value = app.get("/v1/seasons", &m.token).await.json().await.unwrap();
    assert_eq!(
        codes(&all),
        vec!["ended", "running", "accepting", "upcoming"]
    );
    for item in all["items"].as_array().unwrap() {
        assert_eq!(item["state"], item["code"]);
    }
    for state in ["upcoming", "accepting", "running", "ended"] {
        let l: Value = app
            .get(&format!("/v1/seasons?state={state}"), &m.token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(codes(&l), vec![state]);
    }
    let res = app.get("/v1/seasons?state=open", &m.token).await;
    assert_problem(res, 422, "invalid_query").await;
    let res = app.get("/v1/seasons?limit=201", &m.token).await;
    assert_problem(res, 422, "validation_failed").await;
    let p1: Value = app
        .get("/v1/seasons?limit=3", &m.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(codes(&p1), vec!["ended", "running", "accepting"]);
    let c = p1["next_cursor"].as_str().unwrap();
    let p2: Value = app
        .get(&format!("/v1/seasons?limit=3&cursor={c}"), &m.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(codes(&p2), vec!["upcoming"]);
    assert!(p2["next_cursor"].is_null());
    let res = app
        .req(Method::GET, "/v1/seasons", None)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
}

#[tokio::test]
async fn patch_needs_if_match_and_bumps_the_version() {
    let app = spawn().await;
    let admin = app.admin().await;
    let m = app.marketer().await;
    let s = create(&app, &admin, body("618-2027", 1, 10, 5, 30)).await;
    let id = s["id"].as_str().unwrap();
    create(&app, &admin, body("d11-2027", 1, 10, 5, 30)).await;
    let before = counts(&app).await;
    let snapshot = || async {
        app.get(&format!("/v1/seasons/{id}"), &admin.token)
            .await
            .json::<Value>()
            .await
            .unwrap()
    };
    let original = snapshot().await;

    let res = patch(&app, &admin, id, None, json!({"name": "x"})).await;
    assert_problem(res, 428, "precondition_required").await;
    let res = patch(&app, &admin, id, Some("\"2\""), json!({"name": "x"})).await;
    assert_problem(res, 412, "precondition_failed").await;
    let res = patch(&app, &admin, id, Some("garbage"), json!({"name": "x"})).await;
    assert_problem(res, 412, "precondition_failed").await;
    let res = patch(&app, &m, id, Some("\"1\""), json!({"name": "x"})).await;
    assert_problem(res, 403, "forbidden").await;
    let res = patch(
        &app,
        &admin,
        &Uuid::new_v4().to_string(),
        Some("\"1\""),
        json!({"name": "x"}),
    )
    .await;
    assert_problem(res, 404, "not_found").await;
    let res = patch(&app, &admin, id, Some("\"1\""), json!({"code": "d11-2027"})).await;
    assert_problem(res, 409, "season_code_taken").await;
    let res = patch(&app, &admin, id, Some("\"1\""), json!({"version": 5})).await;
    assert_problem(res, 422, "validation_failed").await;
    let res = patch(&app, &admin, id, Some("\"1\""), json!({"state": "ended"})).await;
    assert_problem(res, 422, "validation_failed").await;
    // The merged season is checked again: closing after the (unchanged) end is refused.
    let res = patch(
        &app,
        &admin,
        id,
        Some("\"1\""),
        json!({"applications_close_at": at(31)}),
    )
    .await;
    let p = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["code"], "after_season_end");
    let res = patch(&app, &admin, id, Some("\"1\""), json!({"ends_at": at(4)})).await;
    let p = assert_problem(res, 422, "validation_failed").await;
    assert!(p["errors"].as_array().unwrap().len() >= 2);
    let res = patch(
        &app,
        &admin,
        id,
        Some("\"1\""),
        json!({"timezone": "UTC+8"}),
    )
    .await;
    assert_problem(res, 422, "validation_failed").await;
    assert_eq!(counts(&app).await, before);
    assert_eq!(snapshot().await, original);

    let res = patch(
        &app,
        &admin,
        id,
        Some("\"1\""),
        json!({"name": "618 (2027)", "phases": [{"name": "peak", "starts_at": at(20), "ends_at": at(30)}]}),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"2\"");
    let s: Value = res.json().await.unwrap();
    assert_eq!(s["version"], 2);
    assert_eq!(s["name"], "618 (2027)");
    assert_eq!(s["code"], "618-2027");
    assert_eq!(s["phases"][0]["name"], "peak");
    // Unquoted If-Match works too; the old version is now stale.
    let res = patch(&app, &admin, id, Some("1"), json!({"name": "again"})).await;
    assert_problem(res, 412, "precondition_failed").await;
    let res = patch(
        &app,
        &admin,
        id,
        Some("2"),
        json!({"applications_open_at": at(-1)}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let s: Value = res.json().await.unwrap();
    assert_eq!(s["version"], 3);
    assert_eq!(s["state"], "accepting");
    let notes: Vec<String> = sqlx::query_scalar(
        "SELECT note FROM audit_events WHERE entity_type = 'season' AND action = 'update' ORDER BY at",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(notes.len(), 2);
    assert!(notes[0].contains("name") && notes[0].contains("phases"));
    assert!(notes[1].contains("applications_open_at"));
}

/// Inserts a brand, an application, a campaign over `[c_from, c_to)` days and a whitelist
/// entry over `[w_from, w_to)` days in the season.
async fn occupy(
    app: &TestApp,
    by: &User,
    season: Uuid,
    campaign: (i64, i64),
    entry: (i64, i64),
    status: &str,
) {
    let brand = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO brands (id, name, kind, tmall_store_url, verification, created_by) \
         VALUES ($1, 'B', 'brand', 'https://b.tmall.com', 'verified', $2)",
    )
    .bind(brand)
    .bind(by.id)
    .execute(&app.pool)
    .await
    .unwrap();
    let application = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO applications (id, brand_id, season_id, title, created_by) \
         VALUES ($1, $2, $3, 'T', $4)",
    )
    .bind(application)
    .bind(brand)
    .bind(season)
    .bind(by.id)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO campaigns (id, application_id, brand_id, season_id, title, starts_at, ends_at) \
         VALUES ($1, $2, $3, $4, 'T', $5, $6)",
    )
    .bind(Uuid::new_v4())
    .bind(application)
    .bind(brand)
    .bind(season)
    .bind(at(campaign.0))
    .bind(at(campaign.1))
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO whitelist_entries (id, brand_id, season_id, status, valid_from, valid_until, granted_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::new_v4())
    .bind(brand)
    .bind(season)
    .bind(status)
    .bind(at(entry.0))
    .bind(at(entry.1))
    .bind(by.id)
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn patch_refuses_to_strand_campaigns_or_whitelist_entries() {
    let app = spawn().await;
    let admin = app.admin().await;
    let a = create(&app, &admin, body("a-season", 1, 10, 5, 30)).await;
    let a_id = a["id"].as_str().unwrap();
    let b = create(&app, &admin, body("b-season", 1, 10, 5, 30)).await;
    let b_id = b["id"].as_str().unwrap();
    // Season a: campaign over days 10..20, whitelist entry over the whole run window.
    occupy(
        &app,
        &admin,
        a_id.parse().unwrap(),
        (10, 20),
        (5, 30),
        "active",
    )
    .await;
    // Season b: campaign over days 10..20, a revoked entry over the whole window.
    occupy(
        &app,
        &admin,
        b_id.parse().unwrap(),
        (10, 20),
        (5, 30),
        "revoked",
    )
    .await;
    let before = counts(&app).await;

    // The whitelist entry would start before the season / end after it.
    for change in [json!({"starts_at": at(6)}), json!({"ends_at": at(29)})] {
        let res = patch(&app, &admin, a_id, Some("\"1\""), change).await;
        assert_problem(res, 409, "season_in_use").await;
    }
    // In b the revoked entry does not count, but the campaign does.
    let res = patch(
        &app,
        &admin,
        b_id,
        Some("\"1\""),
        json!({"ends_at": at(19)}),
    )
    .await;
    assert_problem(res, 409, "season_in_use").await;
    let res = patch(
        &app,
        &admin,
        b_id,
        Some("\"1\""),
        json!({"starts_at": at(11)}),
    )
    .await;
    assert_problem(res, 409, "season_in_use").await;
    assert_eq!(counts(&app).await, before);
    let v: i32 = sqlx::query_scalar("SELECT max(version) FROM seasons")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(v, 1);

    // Shrinking b to exactly the campaign's window is fine (the bounds are inclusive).
    let res = patch(
        &app,
        &admin,
        b_id,
        Some("\"1\""),
        json!({"starts_at": at(10), "ends_at": at(20), "applications_close_at": at(10)}),
    )
    .await;
    assert_eq!(res.status(), 200);
    // Widening a is always fine.
    let res = patch(
        &app,
        &admin,
        a_id,
        Some("\"1\""),
        json!({"ends_at": at(40)}),
    )
    .await;
    assert_eq!(res.status(), 200);
}
