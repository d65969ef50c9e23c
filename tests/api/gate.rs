//! The gate: every reason, batches, who may ask, and how fast changes made in the
//! database reach the in-memory cache (of this instance and of another one).

use crate::helpers::{TestApp, User, assert_problem, spawn};
use moments_gate::app::Application;
use moments_gate::config::Settings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Campaign runs [06-10, 06-20) 2027, inside a season [06-01, 06-30); the brand's entry is
/// valid [06-05, 06-18).
const IN_WINDOW: &str = "2027-06-12T00:00:00Z";

struct Fx {
    brand: Uuid,
    season: Uuid,
    entry: Option<Uuid>,
    campaign: Uuid,
}

struct Opts {
    verification: &'static str,
    /// None: no whitelist entry at all.
    entry_status: Option<&'static str>,
    paused: bool,
}

const OK: Opts = Opts {
    verification: "verified",
    entry_status: Some("active"),
    paused: false,
};

async fn fixture(app: &TestApp, admin: &User, o: Opts) -> Fx {
    let brand = Uuid::new_v4();
    let season = Uuid::new_v4();
    let application = Uuid::new_v4();
    let campaign = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO brands (id, name, kind, tmall_store_url, verification, created_by) \
         VALUES ($1, 'Gate brand', 'brand', 'https://b.tmall.com', $2, $3)",
    )
    .bind(brand)
    .bind(o.verification)
    .bind(admin.id)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO seasons (id, code, name, applications_open_at, applications_close_at, \
         starts_at, ends_at) VALUES ($1, $2, 'Season', \
         '2027-05-01Z', '2027-05-20Z', '2027-06-01Z', '2027-06-30Z')",
    )
    .bind(season)
    .bind(format!("g-{}", &season.simple().to_string()[..12]))
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(concat!(
        "INSERT INTO applications (id, brand_id, season_id, title, status, submitted_at, \
             decided_at, created_by, ",
        parts_columns!(),
        ") VALUES ($1, $2, $3, 'Ad', 'approved', now(), now(), $4, ",
        parts_values!(),
        ")"
    ))
    .bind(application)
    .bind(brand)
    .bind(season)
    .bind(admin.id)
    .execute(&app.pool)
    .await
    .unwrap();
    let entry = match o.entry_status {
        None => None,
        Some(status) => {
            let id = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO whitelist_entries (id, brand_id, season_id, status, valid_from, \
                 valid_until, source_application_id, granted_by) \
                 VALUES ($1, $2, $3, $4, '2027-06-05Z', '2027-06-18Z', $5, $6)",
            )
            .bind(id)
            .bind(brand)
            .bind(season)
            .bind(status)
            .bind(application)
            .bind(admin.id)
            .execute(&app.pool)
            .await
            .unwrap();
            Some(id)
        }
    };
    sqlx::query(
        "INSERT INTO campaigns (id, application_id, brand_id, season_id, title, starts_at, \
         ends_at, paused) VALUES ($1, $2, $3, $4, 'Ad', '2027-06-10Z', '2027-06-20Z', $5)",
    )
    .bind(campaign)
    .bind(application)
    .bind(brand)
    .bind(season)
    .bind(o.paused)
    .execute(&app.pool)
    .await
    .unwrap();
    Fx {
        brand,
        season,
        entry,
        campaign,
    }
}

/// An API key made by `admin` through the API: (id, secret).
async fn api_key(app: &TestApp, admin: &User) -> (Uuid, String) {
    let res = app
        .post(
            "/v1/api-keys",
            Some(&admin.token),
            json!({"name": "ad server"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    (
        body["id"].as_str().unwrap().parse().unwrap(),
        body["key"].as_str().unwrap().to_owned(),
    )
}

async fn check_at(client: &reqwest::Client, base: &str, token: &str, id: Uuid, at: &str) -> Value {
    let res = client
        .get(format!("{base}/v1/gate/campaigns/{id}?at={at}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn reason(app: &TestApp, token: &str, id: Uuid, at: &str) -> String {
    let v = check_at(&app.client, &app.base, token, id, at).await;
    v["reason"].as_str().unwrap().to_owned()
}

/// Polls the gate at `base` every 20 ms until it gives `want`; fails after one second.
async fn seen_within_a_second(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    id: Uuid,
    want: &str,
) {
    let start = Instant::now();
    loop {
        let v = check_at(client, base, token, id, IN_WINDOW).await;
        if v["reason"] == want {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "the gate still says {} instead of {want} after 1 s",
            v["reason"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn exec(app: &TestApp, sql: &'static str, id: Uuid) {
    let n = sqlx::query(sql)
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(n, 1, "{sql}");
}

#[tokio::test]
async fn every_reason() {
    let app = spawn().await;
    let admin = app.admin().await;
    let (_, key) = api_key(&app, &admin).await;
    let ok = fixture(&app, &admin, OK).await;

    let v = check_at(&app.client, &app.base, &key, ok.campaign, IN_WINDOW).await;
    assert_eq!(
        v,
        json!({"campaign_id": ok.campaign, "brand_id": ok.brand, "season_id": ok.season,
               "at": IN_WINDOW, "eligible": true, "reason": "ok"})
    );
    // Any offset is accepted (an encoded `+`); the start is inclusive, the ends exclusive.
    let v = check_at(
        &app.client,
        &app.base,
        &key,
        ok.campaign,
        "2027-06-10T08:00:00%2B08:00",
    )
    .await;
    assert_eq!(v["reason"], "ok");
    assert_eq!(v["at"], "2027-06-10T00:00:00Z");
    for (at, want) in [
        ("2027-06-09T23:59:59Z", "not_started"),
        ("2027-06-20T00:00:00Z", "ended"),
        ("2027-07-01T00:00:00Z", "ended"),
        ("2027-06-18T00:00:00Z", "outside_whitelist_window"),
    ] {
        let v = check_at(&app.client, &app.base, &key, ok.campaign, at).await;
        assert_eq!(v["reason"], want, "at {at}");
        assert_eq!(v["eligible"], false);
    }

    let cases = [
        (Opts { paused: true, ..OK }, "paused"),
        (
            Opts {
                verification: "pending",
                ..OK
            },
            "brand_unverified",
        ),
        (
            Opts {
                entry_status: None,
                ..OK
            },
            "not_whitelisted",
        ),
        (
            Opts {
                entry_status: Some("suspended"),
                ..OK
            },
            "whitelist_suspended",
        ),
        (
            Opts {
                entry_status: Some("revoked"),
                ..OK
            },
            "whitelist_revoked",
        ),
        // Precedence: platform blocks before the brand's state before time.
        (
            Opts {
                verification: "rejected",
                entry_status: Some("suspended"),
                paused: true,
            },
            "whitelist_suspended",
        ),
        (
            Opts {
                verification: "rejected",
                entry_status: Some("active"),
                paused: true,
            },
            "brand_unverified",
        ),
    ];
    for (opts, want) in cases {
        let fx = fixture(&app, &admin, opts).await;
        let v = check_at(&app.client, &app.base, &key, fx.campaign, IN_WINDOW).await;
        assert_eq!(v["reason"], want);
        assert_eq!(v["eligible"], false);
        assert_eq!(v["brand_id"], json!(fx.brand));
    }

    // `at` defaults to now.
    let res = app
        .get(&format!("/v1/gate/campaigns/{}", ok.campaign), &key)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    let at: chrono::DateTime<chrono::Utc> = v["at"].as_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now() - at).num_seconds().abs() < 60);

    let res = app
        .get(&format!("/v1/gate/campaigns/{}", Uuid::new_v4()), &key)
        .await;
    assert_problem(res, 404, "not_found").await;
    let res = app.get("/v1/gate/campaigns/not-a-uuid", &key).await;
    assert_problem(res, 404, "not_found").await;
    for bad in ["yesterday", "2027-06-12", "2027-06-12T00:00:00"] {
        let res = app
            .get(
                &format!("/v1/gate/campaigns/{}?at={bad}", ok.campaign),
                &key,
            )
            .await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "at");
    }
}

#[tokio::test]
async fn batch_answers_in_order_with_not_found() {
    let app = spawn().await;
    let admin = app.admin().await;
    let (_, key) = api_key(&app, &admin).await;
    let ok = fixture(&app, &admin, OK).await;
    let paused = fixture(&app, &admin, Opts { paused: true, ..OK }).await;
    let unknown = Uuid::new_v4();
    let res = app
        .post(
            "/v1/gate/batch",
            Some(&key),
            json!({"checks": [
                {"campaign_id": paused.campaign, "at": IN_WINDOW},
                {"campaign_id": unknown, "at": IN_WINDOW},
                {"campaign_id": ok.campaign, "at": IN_WINDOW},
                {"campaign_id": ok.campaign, "at": "2027-06-25T00:00:00+08:00"},
                {"campaign_id": ok.campaign},
            ]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let r = body["results"].as_array().unwrap();
    assert_eq!(r.len(), 5);
    assert_eq!(r[0]["campaign_id"], json!(paused.campaign));
    assert_eq!(r[0]["reason"], "paused");
    assert_eq!(
        r[1],
        json!({"campaign_id": unknown, "brand_id": null, "season_id": null,
               "at": IN_WINDOW, "eligible": false, "reason": "not_found"})
    );
    assert_eq!(r[2]["reason"], "ok");
    assert_eq!(r[2]["eligible"], true);
    assert_eq!(r[3]["reason"], "ended");
    assert_eq!(r[3]["at"], "2027-06-24T16:00:00Z");
    assert!(r[4]["at"].is_string());

    // An id unknown at first that appears later is answered (no negative cached for good).
    let later = fixture(&app, &admin, OK).await;
    let res = app
        .post(
            "/v1/gate/batch",
            Some(&key),
            json!({"checks": [{"campaign_id": later.campaign, "at": IN_WINDOW}]}),
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["results"][0]["reason"], "ok");

    // Malformed checks are refused whole.
    let res = app
        .post(
            "/v1/gate/batch",
            Some(&key),
            json!({"checks": [{"campaign_id": ok.campaign, "at": "soon"}]}),
        )
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = app
        .post(
            "/v1/gate/batch",
            Some(&key),
            json!({"checks": [{"campaign_id": ok.campaign, "eligible": true}]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// A batch whose time holds a control character that a time parser would skip as white
/// space (escaped or raw) is refused as every other text with one, and no check is made.
#[tokio::test]
async fn a_batch_time_with_a_control_character_is_refused() {
    let app = spawn().await;
    let admin = app.admin().await;
    let (_, key) = api_key(&app, &admin).await;
    let ok = fixture(&app, &admin, OK).await;
    let before = app.metric("gate_checks_total").await;
    for at in [
        "2027-06-12T00:00:00Z\\u000b",
        "\\u000c2027-06-12T00:00:00Z",
        "2027-06-12T\u{85}00:00:00Z",
    ] {
        let body = format!(
            r#"{{"checks":[{{"campaign_id":"{}","at":"{at}"}}]}}"#,
            ok.campaign
        );
        let res = app
            .req(Method::POST, "/v1/gate/batch", Some(&key))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let p = assert_problem(res, 422, "control_character").await;
        assert_eq!(p["errors"][0]["field"], "checks[0].at", "{at}");
    }
    assert_eq!(app.metric("gate_checks_total").await, before);
}

#[tokio::test]
async fn batch_bounds() {
    let app = spawn().await;
    let admin = app.admin().await;
    let (_, key) = api_key(&app, &admin).await;
    let ok = fixture(&app, &admin, OK).await;
    for n in [0usize, 1001] {
        let checks: Vec<Value> = (0..n)
            .map(|_| json!({"campaign_id": ok.campaign}))
            .collect();
        let res = app
            .post("/v1/gate/batch", Some(&key), json!({ "checks": checks }))
            .await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "checks");
    }
    let res = app.post("/v1/gate/batch", Some(&key), json!({})).await;
    assert_problem(res, 422, "validation_failed").await;
    let checks: Vec<Value> = (0..1000)
        .map(|i| {
            let id = if i % 2 == 0 {
                ok.campaign
            } else {
                Uuid::new_v4()
            };
            json!({"campaign_id": id, "at": IN_WINDOW})
        })
        .collect();
    let res = app
        .post("/v1/gate/batch", Some(&key), json!({ "checks": checks }))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let r = body["results"].as_array().unwrap();
    assert_eq!(r.len(), 1000);
    assert_eq!(r[998]["reason"], "ok");
    assert_eq!(r[999]["reason"], "not_found");
}

#[tokio::test]
async fn who_may_ask() {
    let app = spawn().await;
    let admin = app.admin().await;
    let reviewer = app.user_with_role(&admin, "reviewer").await;
    let marketer = app.marketer().await;
    let (_, key) = api_key(&app, &admin).await;
    let ok = fixture(&app, &admin, OK).await;
    let path = format!("/v1/gate/campaigns/{}?at={IN_WINDOW}", ok.campaign);
    let batch = json!({"checks": [{"campaign_id": ok.campaign, "at": IN_WINDOW}]});

    for token in [&key, &admin.token, &reviewer.token] {
        assert_eq!(app.get(&path, token).await.status(), StatusCode::OK);
        let res = app.post("/v1/gate/batch", Some(token), batch.clone()).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_problem(app.get(&path, &marketer.token).await, 403, "forbidden").await;
    let res = app
        .post("/v1/gate/batch", Some(&marketer.token), batch.clone())
        .await;
    assert_problem(res, 403, "forbidden").await;

    let res = app.req(Method::GET, &path, None).send().await.unwrap();
    assert_problem(res, 401, "unauthorized").await;
    let res = app.post("/v1/gate/batch", None, batch.clone()).await;
    assert_problem(res, 401, "unauthorized").await;
    let forged = format!("mgk_{}", "A".repeat(43));
    assert_problem(app.get(&path, &forged).await, 401, "unauthorized").await;

    // A service key may call only the gate.
    let res = app.get("/v1/me", &key).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn changes_in_the_database_reach_the_gate_within_a_second() {
    let app = spawn().await;
    let admin = app.admin().await;
    let (key_id, key) = api_key(&app, &admin).await;
    let fx = fixture(&app, &admin, OK).await;
    let entry = fx.entry.unwrap();
    let (c, b) = (&app.client, app.base.as_str());
    assert_eq!(reason(&app, &key, fx.campaign, IN_WINDOW).await, "ok");

    let steps: [(&'static str, Uuid, &str); 8] = [
        (
            "UPDATE whitelist_entries SET status = 'suspended' WHERE id = $1",
            entry,
            "whitelist_suspended",
        ),
        (
            "UPDATE whitelist_entries SET status = 'active' WHERE id = $1",
            entry,
            "ok",
        ),
        (
            "UPDATE brands SET verification = 'rejected' WHERE id = $1",
            fx.brand,
            "brand_unverified",
        ),
        (
            "UPDATE brands SET verification = 'verified' WHERE id = $1",
            fx.brand,
            "ok",
        ),
        (
            "UPDATE campaigns SET paused = true WHERE id = $1",
            fx.campaign,
            "paused",
        ),
        (
            "UPDATE campaigns SET paused = false WHERE id = $1",
            fx.campaign,
            "ok",
        ),
        (
            "UPDATE campaigns SET ends_at = '2027-06-11Z' WHERE id = $1",
            fx.campaign,
            "ended",
        ),
        (
            "UPDATE whitelist_entries SET status = 'revoked' WHERE id = $1",
            entry,
            "whitelist_revoked",
        ),
    ];
    for (sql, id, want) in steps {
        exec(&app, sql, id).await;
        seen_within_a_second(c, b, &key, fx.campaign, want).await;
    }

    // Revoking the key by SQL: it stops working within a second.
    exec(
        &app,
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1",
        key_id,
    )
    .await;
    let path = format!("/v1/gate/campaigns/{}?at={IN_WINDOW}", fx.campaign);
    let start = Instant::now();
    loop {
        let status = app.get(&path, &key).await.status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(1), "key still works");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A second instance on the same database, as another process would be.
async fn second_instance(app: &TestApp) -> String {
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        workers: 1,
        db_max_connections: 4,
        ..Settings::default()
    };
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_lazy_with((*app.pool.connect_options()).clone());
    let b = Application::build(settings, pool).await.unwrap();
    let base = format!("http://127.0.0.1:{}", b.port);
    tokio::spawn(b.run());
    base
}

#[tokio::test]
async fn a_change_through_one_instance_reaches_another_within_a_second() {
    let app = spawn().await;
    let admin = app.admin().await;
    let (key_id, key) = api_key(&app, &admin).await;
    let fx = fixture(&app, &admin, OK).await;
    let b = second_instance(&app).await;
    let c = &app.client;
    seen_within_a_second(c, &b, &key, fx.campaign, "ok").await;

    exec(
        &app,
        "UPDATE campaigns SET paused = true WHERE id = $1",
        fx.campaign,
    )
    .await;
    seen_within_a_second(c, &b, &key, fx.campaign, "paused").await;

    // Revoked through instance A's API: instance B refuses the key within a second.
    let res = app
        .req(
            Method::DELETE,
            &format!("/v1/api-keys/{key_id}"),
            Some(&admin.token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let url = format!("{b}/v1/gate/campaigns/{}?at={IN_WINDOW}", fx.campaign);
    let start = Instant::now();
    loop {
        let res = c.get(&url).bearer_auth(&key).send().await.unwrap();
        if res.status() == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "instance B still accepts the key"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_bulk_change_is_seen_within_a_second() {
    let app = spawn().await;
    let admin = app.admin().await;
    let (_, key) = api_key(&app, &admin).await;
    let fx = fixture(&app, &admin, OK).await;
    // 300 more campaigns of the same brand and season.
    sqlx::query(concat!(
        "WITH apps AS (INSERT INTO applications (id, brand_id, season_id, title, status, \
             submitted_at, decided_at, created_by, ",
        parts_columns!(),
        ") SELECT gen_random_uuid(), $1, $2, 'Ad', 'approved', now(), now(), $3, ",
        parts_values!(),
        " FROM generate_series(1, 300) RETURNING id) \
             INSERT INTO campaigns (id, application_id, brand_id, season_id, title, starts_at, \
             ends_at) SELECT gen_random_uuid(), id, $1, $2, 'Ad', '2027-06-10Z', '2027-06-20Z' \
             FROM apps"
    ))
    .bind(fx.brand)
    .bind(fx.season)
    .bind(admin.id)
    .execute(&app.pool)
    .await
    .unwrap();
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM campaigns WHERE brand_id = $1")
        .bind(fx.brand)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(ids.len(), 301);
    let checks: Vec<Value> = ids
        .iter()
        .map(|id| json!({"campaign_id": id, "at": IN_WINDOW}))
        .collect();
    let reasons = || async {
        let res = app
            .post("/v1/gate/batch", Some(&key), json!({ "checks": checks }))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["reason"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(reasons().await.iter().all(|r| r == "ok"));

    // One statement, 301 notifications. Whether they are applied row by row or as one full
    // reload depends on how fast they arrive; either way every instance sees all of them.
    sqlx::query("UPDATE campaigns SET paused = true WHERE brand_id = $1")
        .bind(fx.brand)
        .execute(&app.pool)
        .await
        .unwrap();
    let start = Instant::now();
    loop {
        if reasons().await.iter().all(|r| r == "paused") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "not every campaign is paused after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    let text = text.text().await.unwrap();
    assert!(text.contains("gate_checks_total"));
    assert!(text.contains("gate_cache_reloads_total"));
}
