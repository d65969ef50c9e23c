use crate::helpers::{PASSWORD, assert_problem, spawn};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn register_login_me_logout() {
    let app = spawn().await;
    let res = app
        .post(
            "/v1/auth/register",
            None,
            json!({"email": "Ann@Brand.example", "password": PASSWORD, "display_name": "Ann"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["role"], "marketer");
    assert_eq!(user["disabled"], false);
    assert!(user.get("password_hash").is_none());

    // Email is compared case-insensitively.
    let res = app.login("ann@brand.EXAMPLE", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("mgs_") && token.len() >= 26);
    assert!(body["expires_at"].is_string());

    // Only the SHA-256 of the token is stored.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert_ne!(stored, token.as_bytes());

    let me: Value = app.get("/v1/me", &token).await.json().await.unwrap();
    assert_eq!(me["email"], "Ann@Brand.example");
    assert_eq!(me["memberships"], json!([]));

    let res = app.post("/v1/auth/logout", Some(&token), json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(app.get("/v1/me", &token).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn register_refuses_duplicates_and_bad_fields_and_changes_nothing() {
    let app = spawn().await;
    let m = app.marketer().await;
    let res = app
        .post(
            "/v1/auth/register",
            None,
            json!({"email": m.email.to_uppercase(), "password": PASSWORD, "display_name": "X"}),
        )
        .await;
    assert_problem(res, 409, "email_taken").await;

    let cases = [
        (
            json!({"email": "x@y.example", "password": "short", "display_name": "X"}),
            "password_too_short",
        ),
        (
            json!({"email": "x@y.example", "password": "x".repeat(129), "display_name": "X"}),
            "password_too_long",
        ),
        (
            json!({"email": "x@y.example", "password": "1qaz2wsx3edc", "display_name": "X"}),
            "password_too_common",
        ),
        (
            json!({"email": "not-an-email", "password": PASSWORD, "display_name": "X"}),
            "validation_failed",
        ),
        (
            json!({"email": "x@y.example", "password": PASSWORD, "display_name": ""}),
            "validation_failed",
        ),
        (
            json!({"email": "x@y.example", "password": PASSWORD, "display_name": "X", "role": "admin"}),
            "validation_failed",
        ),
        (
            json!({"email": "x@y.example", "password": PASSWORD}),
            "validation_failed",
        ),
    ];
    for (body, code) in cases {
        let res = app.post("/v1/auth/register", None, body.clone()).await;
        let problem = assert_problem(res, 422, code).await;
        assert!(
            problem["errors"].as_array().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }
    // The unknown `role` field is named.
    let res = app
        .post(
            "/v1/auth/register",
            None,
            json!({"email": "x@y.example", "password": PASSWORD, "display_name": "X", "role": "admin"}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "role");
    assert_eq!(problem["errors"][0]["code"], "unknown_field");
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE entity_type = 'user'")
            .await,
        1
    );
}

#[tokio::test]
async fn unicode_passwords_are_counted_in_characters_and_never_truncated() {
    let app = spawn().await;
    let pw = "我的密码很长而且不常见啊"; // 12 characters, 36 bytes
    let res = app
        .post(
            "/v1/auth/register",
            None,
            json!({"email": "u@y.example", "password": pw, "display_name": "U"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(app.login("u@y.example", pw).await.status(), StatusCode::OK);
    // A 128-character password differs from one with a 129th character: not truncated.
    // (Varied characters, so that the guessability check has nothing to say.)
    let long: String = (0..127u32)
        .filter_map(|i| char::from_u32(0x4E00 + (i * 7919 + i * i * 31) % 20000))
        .collect::<String>()
        + "x";
    assert_eq!(long.chars().count(), 128);
    let res = app
        .post(
            "/v1/auth/register",
            None,
            json!({"email": "v@y.example", "password": long, "display_name": "V"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        app.login("v@y.example", &long).await.status(),
        StatusCode::OK
    );
    let res = app.login("v@y.example", &format!("{long}y")).await;
    assert_problem(res, 401, "invalid_credentials").await;
}

#[tokio::test]
async fn unknown_email_and_wrong_password_answer_alike() {
    let app = spawn().await;
    let m = app.marketer().await;
    let a = assert_problem(
        app.login("nobody@y.example", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    let b = assert_problem(
        app.login(&m.email, "wrong password here").await,
        401,
        "invalid_credentials",
    )
    .await;
    // Alike but for the request each answers.
    let (mut a, mut b) = (a, b);
    assert_ne!(a["instance"], b["instance"]);
    a["instance"].take();
    b["instance"].take();
    assert_eq!(a, b);
}

#[tokio::test]
async fn ten_failures_lock_the_account_even_for_the_right_password() {
    let app = spawn().await;
    let m = app.marketer().await;
    for _ in 0..10 {
        let res = app.login(&m.email, "wrong password here").await;
        assert_problem(res, 401, "invalid_credentials").await;
    }
    let res = app.login(&m.email, PASSWORD).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_problem(res, 429, "too_many_attempts").await;
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, 1); // the one from sign-up
    // Failures older than the window no longer count.
    sqlx::query("UPDATE login_failures SET at = at - interval '16 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.login(&m.email, PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn concurrent_wrong_logins_get_no_more_than_ten_tries() {
    let app = spawn().await;
    let m = app.marketer().await;
    let results =
        futures_util::future::join_all((0..25).map(|_| app.login(&m.email, "wrong password here")))
            .await;
    let mut statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [vec![401; 10], vec![429; 15]].concat());
    assert_eq!(app.count("SELECT count(*) FROM login_failures").await, 10);
    // The right password is refused too until the window has passed.
    assert_eq!(
        app.login(&m.email, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn tokens_only_in_the_authorization_header() {
    let app = spawn().await;
    let m = app.marketer().await;
    for auth in [
        None,
        Some("Bearer"),
        Some("Bearer mgs_nonsense"),
        Some("Basic abc"),
        Some("Bearer mgk_nonsense"),
    ] {
        let mut r = app.req(Method::GET, "/v1/me", None);
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        assert_problem(r.send().await.unwrap(), 401, "unauthorized").await;
    }
    let res = app
        .req(
            Method::GET,
            &format!("/v1/me?access_token={}", m.token),
            None,
        )
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
}

#[tokio::test]
async fn expired_sessions_stop_working() {
    let app = spawn().await;
    let m = app.marketer().await;
    sqlx::query("UPDATE sessions SET created_at = now() - interval '13 hours', expires_at = now() - interval '1 hour'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_problem(app.get("/v1/me", &m.token).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn password_change_needs_the_current_one_and_ends_other_sessions() {
    let app = spawn().await;
    let m = app.marketer().await;
    let other = app.token_for(&m.email).await;
    let new = "another fine passphrase";

    let res = app
        .post(
            "/v1/me/password",
            Some(&m.token),
            json!({"current_password": "wrong one entirely", "new_password": new}),
        )
        .await;
    assert_problem(res, 422, "wrong_password").await;
    let res = app
        .post(
            "/v1/me/password",
            Some(&m.token),
            json!({"current_password": PASSWORD, "new_password": "password1234"}),
        )
        .await;
    assert_problem(res, 422, "password_too_common").await;
    assert_eq!(app.get("/v1/me", &other).await.status(), StatusCode::OK);
    assert_problem(app.login(&m.email, new).await, 401, "invalid_credentials").await;

    let res = app
        .post(
            "/v1/me/password",
            Some(&m.token),
            json!({"current_password": PASSWORD, "new_password": new}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get("/v1/me", &m.token).await.status(), StatusCode::OK);
    assert_problem(app.get("/v1/me", &other).await, 401, "unauthorized").await;
    assert_eq!(app.login(&m.email, new).await.status(), StatusCode::OK);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'change_password'")
            .await,
        1
    );
}

#[tokio::test]
async fn admin_manages_users_and_disabling_ends_sessions() {
    let app = spawn().await;
    let admin = app.admin().await;
    let m = app.marketer().await;
    let reviewer = app.user_with_role(&admin, "reviewer").await;

    // Only admins.
    for token in [&m.token, &reviewer.token] {
        assert_problem(app.get("/v1/users", token).await, 403, "forbidden").await;
        let res = app
            .post("/v1/users", Some(token), json!({"email": "z@y.example", "password": PASSWORD, "display_name": "Z", "role": "admin"}))
            .await;
        assert_problem(res, 403, "forbidden").await;
        let res = app
            .post(
                &format!("/v1/users/{}/disable", m.id),
                Some(token),
                json!({}),
            )
            .await;
        assert_problem(res, 403, "forbidden").await;
    }
    let res = app
        .post("/v1/users", Some(&admin.token), json!({"email": "z@y.example", "password": PASSWORD, "display_name": "Z", "role": "superuser"}))
        .await;
    assert_problem(res, 422, "validation_failed").await;
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'z@y.example'")
            .await,
        0
    );

    let list: Value = app
        .get("/v1/users?role=reviewer", &admin.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["email"], reviewer.email);
    assert!(list["next_cursor"].is_null());

    let res = app
        .post(
            &format!("/v1/users/{}/disable", m.id),
            Some(&admin.token),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["disabled"], true);
    assert_problem(app.get("/v1/me", &m.token).await, 401, "unauthorized").await;
    assert_problem(
        app.login(&m.email, PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;

    let res = app
        .post(
            &format!("/v1/users/{}/disable", admin.id),
            Some(&admin.token),
            json!({}),
        )
        .await;
    assert_problem(res, 409, "cannot_disable_self").await;
    let res = app
        .post(
            &format!("/v1/users/{}/disable", uuid::Uuid::new_v4()),
            Some(&admin.token),
            json!({}),
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    let res = app
        .post(
            "/v1/users/not-a-uuid/disable",
            Some(&admin.token),
            json!({}),
        )
        .await;
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn users_list_pages_without_gaps_or_duplicates() {
    let app = spawn().await;
    let admin = app.admin().await;
    for _ in 0..4 {
        app.marketer().await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/users?limit=2&cursor={c}"),
            None => "/v1/users?limit=2".to_owned(),
        };
        let page: Value = app.get(&path, &admin.token).await.json().await.unwrap();
        for u in page["items"].as_array().unwrap() {
            seen.push(u["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 5);
    for bad in ["limit=0", "limit=201", "cursor=garbage"] {
        assert_problem(
            app.get(&format!("/v1/users?{bad}"), &admin.token).await,
            422,
            "validation_failed",
        )
        .await;
    }
}

#[tokio::test]
async fn api_keys_are_shown_once_stored_hashed_and_revocable() {
    let app = spawn().await;
    let admin = app.admin().await;
    let m = app.marketer().await;
    let res = app
        .post("/v1/api-keys", Some(&m.token), json!({"name": "ad server"}))
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .post("/v1/api-keys", Some(&admin.token), json!({"name": ""}))
        .await;
    assert_problem(res, 422, "validation_failed").await;
    assert_eq!(app.count("SELECT count(*) FROM api_keys").await, 0);

    let res = app
        .post(
            "/v1/api-keys",
            Some(&admin.token),
            json!({"name": "ad server"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("mgk_"));

    let list: Value = app
        .get("/v1/api-keys", &admin.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0].get("key").is_none());
    assert!(!list.to_string().contains(&key[4..]));

    // A service key may not use anything but the gate.
    assert_problem(app.get("/v1/me", &key).await, 403, "forbidden").await;
    assert_problem(app.get("/v1/users", &key).await, 403, "forbidden").await;

    let id = created["id"].as_str().unwrap();
    let res = app
        .req(
            Method::DELETE,
            &format!("/v1/api-keys/{id}"),
            Some(&m.token),
        )
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .req(
            Method::DELETE,
            &format!("/v1/api-keys/{id}"),
            Some(&admin.token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // The gate keeps keys in memory; a revocation reaches every instance within a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while app.get("/v1/me", &key).await.status() != StatusCode::UNAUTHORIZED {
        assert!(
            std::time::Instant::now() < deadline,
            "revoked key still accepted after 1 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_problem(app.get("/v1/me", &key).await, 401, "unauthorized").await;
    let res = app
        .req(
            Method::DELETE,
            &format!("/v1/api-keys/{}", uuid::Uuid::new_v4()),
            Some(&admin.token),
        )
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE entity_type = 'api_key'")
            .await,
        2
    );
}
