//! Hostile input and abuse (issue 8): each finding replayed, answered with a clean 4xx,
//! nothing changed, and the service still up.

use crate::helpers::{TestApp, assert_problem, spawn};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn still_up(app: &TestApp) {
    let res = app.req(Method::GET, "/healthz", None).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// A row of the idempotency table: request hash, sealed answer, kept headers.
type StoredRow = (Vec<u8>, Option<Vec<u8>>, Option<Value>);

/// Every byte string of the idempotency table, for looking for secrets in it.
async fn idempotency_dump(app: &TestApp) -> String {
    let rows: Vec<StoredRow> = sqlx::query_as(
        "SELECT request_hash, response_body, response_headers FROM idempotency_keys",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(h, b, hd)| {
            format!(
                "{}{}{}",
                String::from_utf8_lossy(&h),
                String::from_utf8_lossy(&b.unwrap_or_default()),
                hd.unwrap_or_default()
            )
        })
        .collect()
}

#[tokio::test]
async fn a_replay_goes_only_to_a_credential_that_still_works() {
    let app = spawn().await;
    let admin = app.admin().await;
    let send = || {
        app.req(Method::POST, "/v1/api-keys", Some(&admin.token))
            .header("idempotency-key", "k-logout")
            .json(&json!({ "name": "ad server" }))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let secret = first.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    // The secret is nowhere in the table of stored answers.
    assert!(!idempotency_dump(&app).await.contains(&secret));
    assert!(!idempotency_dump(&app).await.contains("mgk_"));

    let res = app
        .req(Method::POST, "/v1/auth/logout", Some(&admin.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = send().await.unwrap();
    assert!(res.headers().get("idempotent-replayed").is_none());
    let body = assert_problem(res, 401, "unauthorized").await;
    assert!(!body.to_string().contains(&secret));
    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 1);
    still_up(&app).await;
}

#[tokio::test]
async fn a_login_with_a_key_keeps_no_readable_token() {
    let app = spawn().await;
    let admin = app.admin().await;
    let login = || {
        app.req(Method::POST, "/v1/auth/login", None)
            .header("idempotency-key", "login-1")
            .json(&json!({ "email": admin.email, "password": crate::helpers::PASSWORD }))
            .send()
    };
    let first = login().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let token = first.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!idempotency_dump(&app).await.contains(&token));
    assert!(!idempotency_dump(&app).await.contains("mgs_"));
    // The same request again gets the same answer, and no second session.
    let sessions = app.count("SELECT count(*) FROM sessions").await;
    let again = login().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["token"], token);
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, sessions);
}

#[tokio::test]
async fn anonymous_callers_are_refused_before_any_replay_and_share_no_keys() {
    let app = spawn().await;
    for name in ["One", "Two"] {
        let res = app
            .req(Method::POST, "/v1/brands", None)
            .header("idempotency-key", "shared")
            .json(&json!({ "name": name, "kind": "brand", "tmall_store_url": "https://x.tmall.com/" }))
            .send()
            .await
            .unwrap();
        assert!(res.headers().get("idempotent-replayed").is_none());
        assert_problem(res, 401, "unauthorized").await;
    }
    let res = app
        .req(Method::POST, "/v1/brands", Some("mgs_not-a-token"))
        .header("idempotency-key", "shared")
        .json(&json!({ "name": "One", "kind": "brand", "tmall_store_url": "https://x.tmall.com/" }))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM brands").await, 0);
}

#[tokio::test]
async fn a_refusal_is_not_kept_so_the_corrected_request_runs() {
    let app = spawn().await;
    let m = app.marketer().await;
    let send = |url: &'static str| {
        app.req(Method::POST, "/v1/brands", Some(&m.token))
            .header("idempotency-key", "fix-and-retry")
            .json(&json!({ "name": "Jade", "kind": "brand", "tmall_store_url": url }))
            .send()
    };
    assert_problem(
        send("http://x.tmall.com/").await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys").await, 0);
    let res = send("https://jade.tmall.com/").await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = send("https://jade.tmall.com/").await.unwrap();
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    assert_eq!(app.count("SELECT count(*) FROM brands").await, 1);
}
