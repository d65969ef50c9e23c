//! SPEC §7 and issue 8: no usable secret is ever readable from the database. Every way a
//! token, a key or a password enters the service is used here — with `Idempotency-Key`s, so
//! that stored answers are made and replayed too — and then a `pg_dump` of the whole database
//! is searched for each of them.

use crate::helpers::{PASSWORD, TestApp, spawn};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// Sends `body` to `path` with `key`, expects `status`, returns the answer's body.
async fn keyed(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    key: &str,
    body: Value,
    status: StatusCode,
) -> Value {
    let res = app
        .req(Method::POST, path, token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), status, "{path}");
    if status == StatusCode::NO_CONTENT {
        return Value::Null;
    }
    res.json().await.unwrap()
}

fn text(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
        .to_owned()
}

/// The whole database as `pg_dump` writes it (schema and data, as plain SQL).
fn dump(database_url: &str) -> String {
    // Beside the initdb the tests' cluster came from, or else on PATH.
    let pg_dump = moments_gate::pgboot::find_bin_dir()
        .map(|d| d.join("pg_dump"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| "pg_dump".into());
    let out = std::process::Command::new(pg_dump)
        .args(["--no-owner", "--dbname", database_url])
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("a UTF-8 dump")
}

#[tokio::test]
async fn a_dump_of_the_database_holds_none_of_the_secrets_handed_out() {
    let app = spawn().await;
    let admin = app.admin().await;
    let mut secrets: Vec<String> = vec![admin.token.clone(), PASSWORD.to_owned()];

    // Sign-up and sign-in of a marketer, each with a key (not kept: they carry a password).
    let email = format!("m-{}@brand.example", Uuid::new_v4().simple());
    let reg = json!({"email": email, "password": PASSWORD, "display_name": "Li Na"});
    keyed(
        &app,
        "/v1/auth/register",
        None,
        "reg",
        reg,
        StatusCode::CREATED,
    )
    .await;
    let login = json!({"email": email, "password": PASSWORD});
    let m = keyed(&app, "/v1/auth/login", None, "in", login, StatusCode::OK).await;
    let marketer = text(&m, "token");
    secrets.push(marketer.clone());

    // A reviewer made by the admin, with a password of the admin's choosing.
    let reviewer_password = "lantern moss under a quiet bridge";
    let r = json!({"email": format!("r-{}@platform.example", Uuid::new_v4().simple()),
        "password": reviewer_password, "display_name": "Reviewer", "role": "reviewer"});
    keyed(
        &app,
        "/v1/users",
        Some(&admin.token),
        "user",
        r,
        StatusCode::CREATED,
    )
    .await;
    secrets.push(reviewer_password.to_owned());

    // Two API keys, the first one's creation replayed with its key.
    let create = json!({"name": "ad server"});
    let first = keyed(
        &app,
        "/v1/api-keys",
        Some(&admin.token),
        "key-1",
        create.clone(),
        StatusCode::CREATED,
    )
    .await;
    let replay = app
        .req(Method::POST, "/v1/api-keys", Some(&admin.token))
        .header("idempotency-key", "key-1")
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap()["key"], first["key"]);
    let second = keyed(
        &app,
        "/v1/api-keys",
        Some(&admin.token),
        "key-2",
        json!({"name": "backup"}),
        StatusCode::CREATED,
    )
    .await;
    let api_key = text(&first, "key");
    secrets.extend([api_key.clone(), text(&second, "key")]);
    // The key is used, so whatever the gate records of its use is in the dump too.
    let res = app
        .get(&format!("/v1/gate/campaigns/{}", Uuid::new_v4()), &api_key)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The marketer changes their password (with a key), signs in with it, and signs out.
    let new_password = "copper kites drift past the harbour";
    let change = json!({"current_password": PASSWORD, "new_password": new_password});
    keyed(
        &app,
        "/v1/me/password",
        Some(&marketer),
        "pw",
        change,
        StatusCode::NO_CONTENT,
    )
    .await;
    secrets.push(new_password.to_owned());
    let login = json!({"email": email, "password": new_password});
    let again = keyed(&app, "/v1/auth/login", None, "in-2", login, StatusCode::OK).await;
    let marketer = text(&again, "token");
    secrets.push(marketer.clone());
    keyed(
        &app,
        "/v1/auth/logout",
        Some(&marketer),
        "out",
        json!({}),
        StatusCode::NO_CONTENT,
    )
    .await;

    // Stored answers were made: the check below is not vacuous.
    assert!(app.count("SELECT count(*) FROM idempotency_keys").await >= 3);
    let dump = dump(&app.database_url);
    assert!(dump.contains("COPY public.api_keys"), "a real dump");
    for secret in &secrets {
        assert!(!dump.contains(secret.as_str()), "{secret} is in the dump");
        // Nor the part after the prefix, nor a readable piece of it.
        let body = secret.trim_start_matches("mgs_").trim_start_matches("mgk_");
        assert!(
            !dump.contains(&body[..16]),
            "part of {secret} is in the dump"
        );
    }
    for prefix in ["mgs_", "mgk_"] {
        for (at, _) in dump.match_indices(prefix) {
            let tail: String = dump[at + 4..].chars().take(43).collect();
            assert!(
                !tail
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "something shaped like a secret is in the dump: {prefix}{tail}"
            );
        }
    }
}
