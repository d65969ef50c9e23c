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
async fn a_sign_in_with_a_key_keeps_nothing_that_could_reveal_the_token_or_password() {
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
    // A request without a credential carries a password: nothing of it is kept, so no
    // hash of it can be guessed from the table and no token read from it.
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys").await, 0);
    let again = login().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.headers().get("idempotent-replayed").is_none());
    assert_ne!(again.json::<Value>().await.unwrap()["token"], token);
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys").await, 0);
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

/// Sends `body` raw (it may hold what `json!` cannot say) and returns the answer.
async fn post_raw(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: String,
) -> reqwest::Response {
    app.req(Method::POST, path, token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_huge_array_of_bad_items_gets_a_small_answer_and_changes_nothing() {
    let w = crate::applications::world().await;
    let regions = vec!["\"\""; 300_000].join(",");
    let body = format!(
        r#"{{"brand_id":"{}","season_id":"{}","title":"t","targeting":{{"regions":[{regions}]}}}}"#,
        w.brand_id, w.season_id
    );
    assert!(body.len() < 1024 * 1024);
    let res = post_raw(&w.app, "/v1/applications", Some(&w.marketer.token), body).await;
    let text = res.bytes().await.unwrap();
    assert!(text.len() < 64 * 1024, "{} bytes", text.len());
    let v: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(v["status"], 422);
    assert_eq!(v["code"], "validation_failed");
    assert!(v["errors"].as_array().unwrap().len() <= 20);
    assert_eq!(w.app.count("SELECT count(*) FROM applications").await, 0);
    still_up(&w.app).await;
}

#[tokio::test]
async fn control_characters_are_refused_everywhere_without_a_500() {
    let w = crate::applications::world().await;
    let app = &w.app;
    // Anonymous: a NUL in the login email.
    let res = post_raw(
        app,
        "/v1/auth/login",
        None,
        r#"{"email":"a\u0000@b.example","password":"whatever whatever"}"#.into(),
    )
    .await;
    let p = assert_problem(res, 422, "control_character").await;
    assert_eq!(p["errors"][0]["field"], "email");
    // In a search.
    for path in ["/v1/brands?q=a%00b", "/v1/users?q=%00"] {
        let token = if path.contains("users") {
            &w.admin.token
        } else {
            &w.marketer.token
        };
        let res = app
            .req(Method::GET, path, Some(token))
            .send()
            .await
            .unwrap();
        assert_problem(res, 422, "invalid_query").await;
    }
    // In a URL inside a creative, and in a deep link that is not visible ASCII.
    let before = app.count("SELECT count(*) FROM applications").await;
    let body = format!(
        r#"{{"brand_id":"{}","season_id":"{}","title":"t","creative":{{"headline":"h","card_label":"c","logo_url":"https://a.example/\u0000","image_urls":["https://a.example/1.png"]}}}}"#,
        w.brand_id, w.season_id
    );
    let res = post_raw(app, "/v1/applications", Some(&w.marketer.token), body).await;
    assert_problem(res, 422, "control_character").await;
    let res = app
        .post(
            "/v1/applications",
            Some(&w.marketer.token),
            json!({"brand_id": w.brand_id, "season_id": w.season_id, "title": "t",
                   "landing": {"app_url": "tmall://\u{dd}\u{a1}", "web_url": "https://x.tmall.com/"}}),
        )
        .await;
    let p = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["code"], "invalid_deep_link");
    assert_eq!(app.count("SELECT count(*) FROM applications").await, before);
    // In a decision note.
    let id = w.in_review().await;
    let res = post_raw(
        app,
        &format!("/v1/applications/{id}/decision"),
        Some(&w.reviewer.token),
        r#"{"decision":"reject","reason_code":"other","note":"no\u0000"}"#.into(),
    )
    .await;
    assert_problem(res, 422, "control_character").await;
    assert_eq!(w.status(&id).await, "in_review");
    still_up(app).await;
}

#[tokio::test]
async fn times_out_of_range_are_refused() {
    let w = crate::applications::world().await;
    let app = &w.app;
    let far = "-100000-01-01T00:00:00Z";
    // A cursor naming such a time.
    use base64::Engine as _;
    let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        r#"{{"t":"{far}","id":"00000000-0000-0000-0000-000000000000"}}"#
    ));
    let res = app
        .req(
            Method::GET,
            &format!("/v1/brands?cursor={cursor}"),
            Some(&w.marketer.token),
        )
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "validation_failed").await;
    // A gate check at such a time: refused, and not echoed back.
    let res = app
        .post(
            "/v1/gate/batch",
            Some(&w.reviewer.token),
            json!({"checks": [{"campaign_id": uuid::Uuid::new_v4(), "at": far}]}),
        )
        .await;
    let p = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["field"], "checks[0].at");
    assert!(!p.to_string().contains("-100000"));
    // A window of an application.
    let res = app
        .post(
            "/v1/applications",
            Some(&w.marketer.token),
            json!({"brand_id": w.brand_id, "season_id": w.season_id, "title": "t",
                   "requested_window": {"starts_at": far, "ends_at": "2027-06-01T00:00:00Z"}}),
        )
        .await;
    assert_problem(res, 422, "validation_failed").await;
    assert_eq!(app.count("SELECT count(*) FROM applications").await, 0);
    still_up(app).await;
}

#[tokio::test]
async fn sign_ins_and_sign_ups_are_limited_per_client_address() {
    let app = crate::helpers::spawn_with(|s| s.anon_per_minute = 3).await;
    let sessions = app.count("SELECT count(*) FROM sessions").await;
    for _ in 0..3 {
        let res = app.login("nobody@x.example", "wrong wrong wrong").await;
        assert_problem(res, 401, "invalid_credentials").await;
    }
    for res in [
        app.login("nobody@x.example", "wrong wrong wrong").await,
        app.post(
            "/v1/auth/register",
            None,
            json!({"email": "n@x.example", "password": crate::helpers::PASSWORD, "display_name": "N"}),
        )
        .await,
    ] {
        let retry: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry));
        assert!(res.headers().contains_key("ratelimit-policy"));
        assert_problem(res, 429, "too_many_requests").await;
    }
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, sessions);
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'n@x.example'")
            .await,
        0
    );
    still_up(&app).await;
}

#[tokio::test]
async fn password_changes_are_limited_per_account() {
    let app = crate::helpers::spawn_with(|s| s.password_changes_per_hour = 2).await;
    let m = app.marketer().await;
    let change = |current: &'static str| {
        app.post(
            "/v1/me/password",
            Some(&m.token),
            json!({"current_password": current, "new_password": "autumn moon over the calm lake"}),
        )
    };
    for _ in 0..2 {
        assert_problem(change("not my password").await, 422, "wrong_password").await;
    }
    // Even the right password is refused once the account's budget is spent.
    let res = change(crate::helpers::PASSWORD).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "too_many_requests").await;
    assert_eq!(
        app.login(&m.email, crate::helpers::PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn guessable_passwords_are_refused_at_sign_up() {
    let app = spawn().await;
    for pw in [
        "123456789012",
        "abcdefghijkl",
        "password1234",
        "qwertyuiopasdf",
        "momentsgate2027",
        "li.na@brand.example",
        // From the shipped list (data/common-passwords.txt) only: zxcvbn alone takes them.
        "adultsitesurfer",
        "VWRDN4bbaf3nh4i",
    ] {
        let res = app
            .post(
                "/v1/auth/register",
                None,
                json!({"email": "li.na@brand.example", "password": pw, "display_name": "Li Na"}),
            )
            .await;
        assert_problem(res, 422, "password_too_common").await;
    }
    assert_eq!(app.count("SELECT count(*) FROM users").await, 0);
}

#[tokio::test]
async fn a_full_password_hash_queue_answers_503_at_once_and_recovers() {
    // One hash at a time and none waiting: of sign-ins sent together, those that find the
    // hasher busy are told so at once instead of queueing behind it.
    let app = crate::helpers::spawn_with(|s| {
        s.hash_concurrency = 1;
        s.hash_queue = 0;
    })
    .await;
    let m = app.marketer().await;
    let sessions = "SELECT count(*) FROM sessions";
    let before = app.count(sessions).await;
    let answers = futures_util::future::join_all(
        (0..12).map(|_| app.login(&m.email, crate::helpers::PASSWORD)),
    )
    .await;
    let mut ok = 0;
    let mut overloaded = 0;
    for res in answers {
        if res.status() == StatusCode::OK {
            ok += 1;
            continue;
        }
        assert_eq!(res.headers()["retry-after"], "1");
        assert_problem(res, 503, "overloaded").await;
        overloaded += 1;
    }
    assert!(
        overloaded > 0,
        "12 sign-ins at once never found the hasher busy"
    );
    assert!(ok > 0, "the hasher stayed busy");
    // Only the sign-ins that were answered 200 made a session.
    assert_eq!(app.count(sessions).await, before + ok);
    // Nothing stays taken: a sign-in on its own works at once.
    assert_eq!(
        app.login(&m.email, crate::helpers::PASSWORD).await.status(),
        StatusCode::OK
    );
    still_up(&app).await;
}

#[tokio::test]
async fn racing_takeovers_of_an_expired_key_run_the_post_once() {
    let app = spawn().await;
    let m = app.marketer().await;
    let brand = |name: &str| json!({ "name": name, "kind": "brand", "tmall_store_url": format!("https://{}.tmall.com/", name.to_lowercase()) });
    let send = |body: Value| {
        app.req(Method::POST, "/v1/brands", Some(&m.token))
            .header("idempotency-key", "yesterday")
            .json(&body)
            .send()
    };
    assert_eq!(
        send(brand("First")).await.unwrap().status(),
        StatusCode::CREATED
    );
    // A day and an hour later the key is free again.
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
        .execute(&app.pool)
        .await
        .unwrap();
    let names = [
        "Alder", "Birch", "Cedar", "Daphne", "Elm", "Fir", "Gorse", "Hazel",
    ];
    let answers = futures_util::future::join_all(names.iter().map(|n| send(brand(n)))).await;
    let mut created = 0;
    for res in answers {
        let res = res.unwrap();
        if res.status() == StatusCode::CREATED {
            assert!(res.headers().get("idempotent-replayed").is_none());
            created += 1;
            continue;
        }
        // The others either found the takeover still running or found it done with
        // another body.
        let code = if res.status() == StatusCode::CONFLICT {
            "idempotency_in_progress"
        } else {
            "idempotency_key_reused"
        };
        let status = res.status().as_u16();
        assert_problem(res, status, code).await;
    }
    assert_eq!(created, 1, "exactly one racer took the expired key over");
    assert_eq!(app.count("SELECT count(*) FROM brands").await, 2);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM idempotency_keys WHERE created_at > now() - interval '1 hour'"
        )
        .await,
        1
    );
    still_up(&app).await;
}

#[tokio::test]
async fn addresses_are_stored_in_one_normal_form() {
    let w = crate::applications::world().await;
    let mut creative = crate::applications::complete_parts()["creative"].clone();
    creative["logo_url"] = json!(" HTTPS://IMG.Lumen.Example:443/logo.png ");
    creative["image_urls"] = json!([
        "https://img.lumen.example",
        "https://img.lumen.example/a b.png"
    ]);
    let landing =
        json!({"app_url": "tmall://page.tm/shop?shopId=42", "web_url": "https://Lumen.TMALL.com"});
    let draft = w
        .draft(json!({"creative": creative, "landing": landing}))
        .await;
    let stored: Value = w
        .app
        .get(
            &format!("/v1/applications/{}", draft["id"].as_str().unwrap()),
            &w.marketer.token,
        )
        .await
        .json()
        .await
        .unwrap();
    for v in [&draft, &stored] {
        assert_eq!(
            v["creative"]["logo_url"],
            "https://img.lumen.example/logo.png"
        );
        assert_eq!(
            v["creative"]["image_urls"],
            json!([
                "https://img.lumen.example/",
                "https://img.lumen.example/a%20b.png"
            ])
        );
        assert_eq!(v["landing"]["web_url"], "https://lumen.tmall.com/");
    }
}

#[tokio::test]
async fn oversized_or_too_many_headers_are_refused_before_any_work() {
    let app = spawn().await;
    let m = app.marketer().await;
    let big = app
        .req(Method::POST, "/v1/brands", Some(&m.token))
        .header("x-filler", "a".repeat(17 * 1024))
        .json(&json!({ "name": "Jade", "kind": "brand", "tmall_store_url": "https://jade.tmall.com/" }))
        .send()
        .await
        .unwrap();
    // Ours: 16 KiB of headers, answered as a problem.
    assert_problem(big, 431, "headers_too_large").await;
    // actix-http's: 96 headers, and a head of some MiB, refused before any of our code.
    // (it may close the connection while the client still writes)
    let huge = app
        .req(Method::POST, "/v1/brands", Some(&m.token))
        .header("x-filler", "a".repeat(4 * 1024 * 1024))
        .send()
        .await;
    match huge {
        Ok(res) => assert_eq!(res.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    let mut many = app.req(Method::POST, "/v1/brands", Some(&m.token));
    for i in 0..200 {
        many = many.header(format!("x-h{i}"), "1");
    }
    let many = many
        .json(&json!({ "name": "Jade", "kind": "brand", "tmall_store_url": "https://jade.tmall.com/" }))
        .send()
        .await
        .unwrap();
    assert_eq!(many.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(app.count("SELECT count(*) FROM brands").await, 0);
    still_up(&app).await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget() {
    let app = crate::helpers::spawn_with(|s| {
        s.anon_per_minute = 2;
        s.trusted_proxies = moments_gate::api::limits::parse_trusted("127.0.0.1").unwrap();
    })
    .await;
    let login_from = |client: &'static str| {
        app.req(Method::POST, "/v1/auth/login", None)
            .header("x-forwarded-for", client)
            .json(&json!({"email": "nobody@x.example", "password": "wrong wrong wrong"}))
            .send()
    };
    for _ in 0..2 {
        let res = login_from("198.51.100.1").await.unwrap();
        assert_problem(res, 401, "invalid_credentials").await;
    }
    let res = login_from("198.51.100.1").await.unwrap();
    assert_problem(res, 429, "too_many_requests").await;
    // Another client behind the same proxy is not held back by the first.
    let res = login_from("198.51.100.2").await.unwrap();
    assert_problem(res, 401, "invalid_credentials").await;
    // A forged entry left of what the proxy added changes nothing.
    let res = login_from("203.0.113.5, 198.51.100.1").await.unwrap();
    assert_problem(res, 429, "too_many_requests").await;
    still_up(&app).await;
}

#[tokio::test]
async fn an_address_whose_normal_form_passes_the_bound_is_refused() {
    // 2048 characters as sent; the stored normal form adds a `/` (found by schemathesis:
    // the answer then broke the documented maxLength).
    let w = crate::applications::world().await;
    let mut creative = crate::applications::complete_parts()["creative"].clone();
    let long = format!("https://{}.example", "a".repeat(2048 - 16));
    assert_eq!(long.len(), 2048);
    creative["logo_url"] = json!(long);
    let body = json!({"brand_id": w.brand_id, "season_id": w.season_id, "title": "t", "creative": creative});
    let res = w
        .app
        .post("/v1/applications", Some(&w.marketer.token), body)
        .await;
    let p = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["field"], "creative.logo_url");
    assert_eq!(p["errors"][0]["code"], "invalid_url");
    assert_eq!(w.app.count("SELECT count(*) FROM applications").await, 0);
    still_up(&w.app).await;
}
