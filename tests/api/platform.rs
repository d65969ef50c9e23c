use crate::helpers::{assert_problem, spawn, spawn_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;

#[tokio::test]
async fn probes_metrics_and_docs() {
    let app = spawn().await;
    let res = app.req(Method::GET, "/healthz", None).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.req(Method::GET, "/readyz", None).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.req(Method::GET, "/metrics", None).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"),
        "{text}"
    );

    let doc: Value = app
        .req(Method::GET, "/openapi.json", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/v1/auth/login",
        "/v1/auth/register",
        "/v1/me",
        "/v1/users/{id}/disable",
        "/v1/api-keys/{id}",
        "/readyz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    let res = app.req(Method::GET, "/docs", None).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    let res = app.req(Method::GET, "/docs/", None).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger"), "offline Swagger UI page");
    assert!(!html.contains("cdn."), "no CDN scripts");
}

#[tokio::test]
async fn readyz_reports_a_missing_database_and_requests_get_503_quickly() {
    let settings = moments_gate::config::Settings {
        bind: "127.0.0.1:0".into(),
        workers: 1,
        db_acquire_timeout: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let pool = moments_gate::app::pool(&settings, "postgres://nobody:x@127.0.0.1:1/none").unwrap();
    let dead = moments_gate::app::Application::build(settings, pool)
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", dead.port);
    tokio::spawn(dead.run());
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    let res = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 503, "unavailable").await;
    let res = client
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": "a@b.example", "password": "whatever whatever"}))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    assert_problem(res, 503, "unavailable").await;
    let res = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn framework_errors_are_problem_json() {
    let app = spawn().await;
    let m = app.marketer().await;
    // Malformed JSON.
    let res = app
        .req(Method::POST, "/v1/auth/login", None)
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "malformed_body").await;
    // Wrong type.
    let res = app
        .post("/v1/auth/login", None, json!({"email": 5, "password": "x"}))
        .await;
    assert_problem(res, 422, "validation_failed").await;
    // Oversized body.
    let big = "x".repeat(1024 * 1024 + 10);
    let res = app
        .req(Method::POST, "/v1/auth/register", None)
        .header("content-type", "application/json")
        .body(format!("{{\"email\":\"{big}\"}}"))
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload_too_large").await;
    // Unknown path, wrong method.
    assert_problem(
        app.get("/v1/nothing-here", &m.token).await,
        404,
        "not_found",
    )
    .await;
    let res = app
        .req(Method::DELETE, "/v1/me", Some(&m.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["allow"], "GET");
    assert_problem(res, 405, "method_not_allowed").await;
    let res = app
        .req(Method::GET, "/v1/auth/login", None)
        .send()
        .await
        .unwrap();
    assert_problem(res, 405, "method_not_allowed").await;
    // Wrong content type.
    let res = app
        .req(Method::POST, "/v1/auth/login", None)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(res, 415, "unsupported_media_type").await;
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
}

#[tokio::test]
async fn idempotency_keys_replay_refuse_reuse_and_do_not_run_twice() {
    let app = spawn().await;
    let admin = app.admin().await;
    let send = |name: &'static str, key: &'static str| {
        app.req(Method::POST, "/v1/api-keys", Some(&admin.token))
            .header("idempotency-key", key)
            .json(&json!({ "name": name }))
            .send()
    };
    let first = send("ad server", "k-1").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send("ad server", "k-1").await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 1);

    assert_problem(
        send("other", "k-1").await.unwrap(),
        422,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 1);

    // Concurrent duplicates: exactly one runs.
    let results = futures_util::future::join_all((0..8).map(|_| send("parallel", "k-2"))).await;
    let bodies: Vec<Value> = futures_util::future::join_all(results.into_iter().map(|r| async {
        let r = r.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()
    }))
    .await;
    assert!(bodies.iter().all(|b| b == &bodies[0]));
    assert_eq!(
        app.count("SELECT count(*) FROM api_keys WHERE name = 'parallel'")
            .await,
        1
    );
}

#[tokio::test]
async fn bad_idempotency_keys_are_refused_and_change_nothing() {
    let app = spawn().await;
    let admin = app.admin().await;
    let too_long = "k".repeat(256);
    // A space inside is not visible ASCII (the document's `^[!-~]+$`); schemathesis signed up
    // with such a key and a bearer token and was answered 201. Sign-up runs no claim, so
    // the key is checked before anything else, with or without a credential.
    let bad: [&[u8]; 5] = [
        b"",
        too_long.as_bytes(),
        "caf\u{e9}".as_bytes(),
        b"two words",
        b"tab\there",
    ];
    for key in bad {
        let res = app
            .req(Method::POST, "/v1/api-keys", Some(&admin.token))
            .header(
                "idempotency-key",
                reqwest::header::HeaderValue::from_bytes(key).unwrap(),
            )
            .json(&json!({ "name": "ad server" }))
            .send()
            .await
            .unwrap();
        assert_problem(res, 422, "invalid_idempotency_key").await;
        for token in [Some(admin.token.as_str()), None] {
            let res = app
                .req(Method::POST, "/v1/auth/register", token)
                .header(
                    "idempotency-key",
                    reqwest::header::HeaderValue::from_bytes(key).unwrap(),
                )
                .json(&json!({ "email": "new@example.com", "display_name": "New",
                               "password": "a long and unusual passphrase" }))
                .send()
                .await
                .unwrap();
            assert_problem(res, 422, "invalid_idempotency_key").await;
        }
    }
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'new@example.com'")
            .await,
        0
    );
    // 255 characters is still a key.
    let res = app
        .req(Method::POST, "/v1/api-keys", Some(&admin.token))
        .header("idempotency-key", "k".repeat(255))
        .json(&json!({ "name": "ad server" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys").await, 1);
}

/// The key space of a bearer token on POST /v1/api-keys, as `src/idempotency.rs` derives it.
fn caller(token: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    for part in [
        &b"moments-gate idempotency caller v2"[..],
        token.as_bytes(),
        b"POST",
        b"/v1/api-keys",
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().to_vec()
}

#[tokio::test]
async fn a_duplicate_of_a_request_still_running_waits_then_gets_409() {
    let app = spawn_with(|s| s.idempotency_wait = Duration::from_millis(300)).await;
    let admin = app.admin().await;
    let body = br#"{"name":"ad server"}"#;
    let send = |key: &'static str| {
        app.req(Method::POST, "/v1/api-keys", Some(&admin.token))
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
    };
    // A first request still running holds its claim in its uncommitted transaction.
    let mut first = app.pool.begin().await.unwrap();
    sqlx::query("INSERT INTO idempotency_keys (caller, key, request_hash) VALUES ($1, $2, $3)")
        .bind(caller(&admin.token))
        .bind("running")
        .bind(vec![0u8; 32])
        .execute(&mut *first)
        .await
        .unwrap();
    let res = send("running").await.unwrap();
    assert_eq!(res.headers()["retry-after"], "1");
    assert_problem(res, 409, "idempotency_in_progress").await;
    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 0);

    // The first request died: its transaction rolled back with its claim, so the
    // duplicate runs at once, and a repeat of it replays.
    first.rollback().await.unwrap();
    let res = send("running").await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 1);
    let res = send("running").await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 1);
}

#[tokio::test]
async fn a_first_load_slower_than_the_start_wait_finishes_and_only_then_is_ready() {
    use sqlx::Connection;
    if std::env::var("TEST_LOG").is_ok() {
        moments_gate::cli::init_tracing(false);
    }
    let url = crate::helpers::fresh_database().await;
    // Hold the campaigns table so the gate's first load waits (as a huge one would).
    let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut tx = holder.begin().await.unwrap();
    sqlx::query("LOCK TABLE campaigns IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let settings = moments_gate::config::Settings {
        database_url: Some(url.clone()),
        bind: "127.0.0.1:0".into(),
        workers: 1,
        ..Default::default()
    };
    let pool = moments_gate::app::pool(&settings, &url).unwrap();
    let started = std::time::Instant::now();
    let server = moments_gate::app::Application::build(settings, pool)
        .await
        .unwrap();
    // It starts after the start wait, not ready, and the gate refuses to guess.
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    let base = format!("http://127.0.0.1:{}", server.port);
    tokio::spawn(server.run());
    // No pooled connections: the server closes idle ones after 5 s, as the sleep below ends.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let res = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Past the feed's connect wait (5 s), the load that began at start is still the one
    // running: it is not cut short and begun again.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let res = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    // A slow load is not an outage: what does not need the gate is served meanwhile.
    let res = client
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": "nobody@x.example", "password": "whatever whatever"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "invalid_credentials").await;
    tx.rollback().await.unwrap();
    let mut ready = false;
    for _ in 0..40 {
        let res = client.get(format!("{base}/readyz")).send().await.unwrap();
        if res.status() == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "ready within 2 s of the load finishing");
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("gate_cache_reloads_total 1\n"),
        "loaded once, never begun again: {}",
        metrics
            .lines()
            .filter(|l| l.contains("reload"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
