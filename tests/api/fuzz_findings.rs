//! What schemathesis found (tests/schemathesis/run.sh), each replayed: the server's answer,
//! and that the OpenAPI document now says what the server accepts — a value the document
//! admits is taken, one it refuses is refused, nothing changed by a refusal, and the service
//! still up.

use crate::fixtures;
use crate::helpers::{TestApp, assert_problem, spawn};
use regex::Regex;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn still_up(app: &TestApp) {
    let res = app.req(Method::GET, "/healthz", None).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

async fn document(app: &TestApp) -> Value {
    let res = app
        .req(Method::GET, "/openapi.json", None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// The schema of `Component.property` in the document.
fn property<'a>(doc: &'a Value, component: &str, property: &str) -> &'a Value {
    &doc["components"]["schemas"][component]["properties"][property]
}

fn pattern(schema: &Value) -> Regex {
    let p = schema["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("no pattern in {schema}"));
    Regex::new(p).unwrap()
}

/// The schema of query parameter `name` of `GET path`.
fn query_param<'a>(doc: &'a Value, path: &str, name: &str) -> &'a Value {
    doc["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["in"] == "query" && p["name"] == name)
        .map(|p| &p["schema"])
        .unwrap_or_else(|| panic!("no query parameter {name} on {path}"))
}

/// st sent `"total_fen": 56923.0`, which `type: integer` admits (JSON Schema reads a number
/// by its value), and got 422 `invalid_type`. A whole number written with a fraction is now
/// the integer it equals; a real fraction is still refused, and changes nothing.
#[tokio::test]
async fn whole_number_floats_are_taken_as_integers() {
    let app = spawn().await;
    let owner = app.marketer().await;
    let brand = fixtures::brand(&app, &owner, "Acme").await;
    let season = fixtures::season(&app, "618-2027").await;
    let budget = json!({ "total_fen": 500000.0, "daily_cap_fen": 1e4, "cpm_bid_fen": 3500.0 });
    let res = app
        .post(
            "/v1/applications",
            Some(&owner.token),
            json!({ "brand_id": brand, "season_id": season, "title": "Floats",
                    "budget": budget,
                    "targeting": { "age_min": 18.0, "age_max": 35.0 } }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(
        created["budget"],
        json!({ "total_fen": 500000, "daily_cap_fen": 10000, "cpm_bid_fen": 3500 })
    );
    assert_eq!(created["targeting"]["age_min"], json!(18));

    let before = app.count("SELECT count(*) FROM applications").await;
    let res = app
        .post(
            "/v1/applications",
            Some(&owner.token),
            json!({ "brand_id": brand, "season_id": season, "title": "Fraction",
                    "budget": { "total_fen": 500000.5, "cpm_bid_fen": 3500 } }),
        )
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "budget.total_fen");
    assert_eq!(body["errors"][0]["code"], "invalid_type");
    assert_eq!(app.count("SELECT count(*) FROM applications").await, before);
    still_up(&app).await;
}

/// st sent `"total_fen": 1821690277606369.0`, a whole number, and got 422 `invalid_type`:
/// serde_json's quick float parse read it as `…368.8`. Floats are now read exactly, and an
/// amount is bounded by 2^53 − 1 (which the document states), the largest integer a browser
/// reads exactly; past it the answer is 422 `out_of_range` and nothing is written.
#[tokio::test]
async fn amounts_are_read_exactly_up_to_the_documented_bound() {
    let app = spawn().await;
    let owner = app.marketer().await;
    let brand = fixtures::brand(&app, &owner, "Acme").await;
    let season = fixtures::season(&app, "618-2027").await;
    let doc = document(&app).await;
    for field in ["total_fen", "daily_cap_fen", "cpm_bid_fen"] {
        let schema = property(&doc, "Budget", field);
        assert_eq!(
            schema["maximum"],
            json!(9007199254740991_i64),
            "{field}: {schema}"
        );
    }

    // Raw text, so the literal is exactly what st sent.
    let body = format!(
        r#"{{"brand_id":"{brand}","season_id":"{season}","title":"Big",
            "budget":{{"total_fen":1821690277606369.0,"daily_cap_fen":1821690277606369,
            "cpm_bid_fen":5000}}}}"#
    );
    let res = app
        .req(Method::POST, "/v1/applications", Some(&owner.token))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["budget"]["total_fen"], json!(1821690277606369_i64));

    let before = app.count("SELECT count(*) FROM applications").await;
    for (total, cap, code) in [
        (json!(9007199254740992_i64), json!(null), "out_of_range"),
        (json!(i64::MAX), json!(null), "out_of_range"),
        (json!(100), json!(9007199254740992_i64), "out_of_range"),
        (json!(9007199254740992.0), json!(null), "invalid_type"),
    ] {
        let res = app
            .post(
                "/v1/applications",
                Some(&owner.token),
                json!({ "brand_id": brand, "season_id": season, "title": "Too big",
                        "budget": { "total_fen": total, "daily_cap_fen": cap,
                                    "cpm_bid_fen": 5000 } }),
            )
            .await;
        let body = assert_problem(res, 422, "validation_failed").await;
        let field = if cap.is_null() {
            "budget.total_fen"
        } else {
            "budget.daily_cap_fen"
        };
        assert_eq!(body["errors"][0]["field"], field, "{body}");
        assert_eq!(body["errors"][0]["code"], code, "{body}");
    }
    assert_eq!(app.count("SELECT count(*) FROM applications").await, before);
    still_up(&app).await;
}

/// A review of the document against the server (after st found the Idempotency-Key one)
/// found rules that trimmed before they counted or screened, so a value the document
/// refuses was taken: a season code with spaces around it, a verification note of 1000
/// characters plus a space, a decision note starting with a tab. Each is now taken as
/// sent, refused, and changes nothing. And `GET /v1/seasons/{id-or-code}` with a NUL in
/// it reached the database, whose refusal came back as an undocumented 422: now 404.
#[tokio::test]
async fn text_is_counted_and_screened_as_sent() {
    let w = crate::applications::world().await;
    let app = &w.app;

    let res = app
        .post(
            "/v1/seasons",
            Some(&w.admin.token),
            crate::seasons::body(" 11-11-x ", -5, 5, 10, 20),
        )
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "code", "{body}");
    assert_eq!(body["errors"][0]["code"], "invalid_code", "{body}");
    assert_eq!(app.count("SELECT count(*) FROM seasons").await, 1);
    for path in ["a%00b", "618-2027%00", "%20618-2027", "618-2027%20"] {
        let res = app
            .get(&format!("/v1/seasons/{path}"), &w.admin.token)
            .await;
        assert_problem(res, 404, "not_found").await;
    }
    let res = app.get("/v1/seasons/618-2027", &w.admin.token).await;
    assert_eq!(res.status(), StatusCode::OK);

    let brand = &w.brand_id;
    let padded = format!(" {}", "x".repeat(1000));
    let res = app
        .post(
            &format!("/v1/brands/{brand}/verification"),
            Some(&w.reviewer.token),
            json!({ "decision": "rejected", "note": padded }),
        )
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "note", "{body}");
    assert_eq!(body["errors"][0]["code"], "too_long", "{body}");
    assert_eq!(
        app.count("SELECT count(*) FROM brands WHERE verification = 'verified'")
            .await,
        1
    );

    let id = w.in_review().await;
    let events = app.count("SELECT count(*) FROM audit_events").await;
    let long = format!("{} ", "x".repeat(2000));
    for note in ["\tok", "ok\t", long.as_str()] {
        let res = w
            .act(
                &id,
                "decision",
                &w.reviewer,
                json!({ "decision": "approve", "note": note }),
            )
            .await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "note", "{body}");
        assert_eq!(body["errors"][0]["code"], "invalid_length", "{body}");
    }
    assert_eq!(w.status(&id).await, "in_review");
    assert_eq!(app.count("SELECT count(*) FROM audit_events").await, events);
    still_up(app).await;
}

/// st sent `cursor=` (and other strings) and got 422 `invalid_cursor`: the document said
/// any string. It now says what a page gives out, and an empty one is refused as before.
#[tokio::test]
async fn the_cursor_is_documented_as_what_pages_give_out() {
    let app = spawn().await;
    let admin = app.admin().await;
    let doc = document(&app).await;
    let cursor = query_param(&doc, "/v1/users", "cursor");
    assert_eq!(cursor["minLength"], 1);
    assert_eq!(cursor["maxLength"], 512);
    let re = pattern(cursor);
    assert!(!re.is_match(""));

    // A real cursor matches the documented pattern.
    let _ = app.user_with_role(&admin, "reviewer").await;
    let page: Value = app
        .get("/v1/users?limit=1", &admin.token)
        .await
        .json()
        .await
        .unwrap();
    let next = page["next_cursor"].as_str().expect("a second page");
    assert!(re.is_match(next), "{next}");

    let res = app.get("/v1/users?cursor=", &admin.token).await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "invalid_cursor");
    still_up(&app).await;
}

/// st sent names of only whitespace (which `minLength: 1` admitted) and got 422
/// `invalid_name`; and names padded past `maxLength`, which the server takes (it trims
/// first). The document now gives the trimmed rule as a pattern; here the server and the
/// pattern agree on each sample.
#[tokio::test]
async fn trimmed_names_are_documented_as_the_server_reads_them() {
    let app = spawn().await;
    let admin = app.admin().await;
    let doc = document(&app).await;
    let name = property(&doc, "CreateKeyBody", "name");
    assert!(name.get("maxLength").is_none() && name.get("minLength").is_none());
    let re = pattern(name);
    let long = "k".repeat(100);
    let padded = format!("\u{a0}{long}\u{a0}\t");
    let too_long = "k".repeat(101);
    for (sample, taken) in [
        ("ad server", true),
        ("  ad server  ", true),
        (padded.as_str(), true),
        ("\u{3000}x", true),
        ("", false),
        ("   ", false),
        ("\u{a0}\u{2003}", false),
        ("ad\tserver", false),
        (too_long.as_str(), false),
    ] {
        assert_eq!(re.is_match(sample), taken, "pattern on {sample:?}");
        let before = app.count("SELECT count(*) FROM api_keys").await;
        let res = app
            .post(
                "/v1/api-keys",
                Some(&admin.token),
                json!({ "name": sample }),
            )
            .await;
        if taken {
            assert_eq!(res.status(), StatusCode::CREATED, "server on {sample:?}");
        } else {
            let body = assert_problem(res, 422, "validation_failed").await;
            assert_eq!(body["errors"][0]["field"], "name", "server on {sample:?}");
            assert_eq!(app.count("SELECT count(*) FROM api_keys").await, before);
        }
    }
    still_up(&app).await;
}

/// st sent text with control characters (`"\u0000&…"`, `%C2%92` in a query) and got 422
/// `control_character` / `invalid_query`: the document said any string. Every free-text
/// field and query parameter now carries the pattern of what the screen lets through.
#[tokio::test]
async fn control_characters_are_documented_where_they_are_refused() {
    let app = spawn().await;
    let owner = app.marketer().await;
    let doc = document(&app).await;
    // A JSON string: line breaks and tabs pass the screen, other control characters do not.
    let password = property(&doc, "RegisterBody", "password");
    let re = pattern(password);
    assert!(re.is_match("plum rain\tover the west lake"));
    assert!(!re.is_match("plum rain\u{0}over the west lake"));
    assert!(!re.is_match("plum rain\u{92}over the west lake"));
    // A query parameter: none at all.
    let re = pattern(query_param(&doc, "/v1/brands", "q"));
    assert!(re.is_match("李宁"));
    assert!(!re.is_match("a\nb"));
    let res = app.get("/v1/brands?q=a%C2%92b", &owner.token).await;
    assert_problem(res, 422, "invalid_query").await;
    // Multi-line text keeps its line breaks, not tabs.
    let re = pattern(property(&doc, "DecisionBody", "note"));
    assert!(re.is_match("line one\r\nline two"));
    assert!(!re.is_match("tab\there"));
    // Idempotency-Key: visible ASCII only.
    let key = doc["paths"]["/v1/brands"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Idempotency-Key")
        .unwrap();
    let re = pattern(&key["schema"]);
    assert!(re.is_match("9f0c7e0e-6f1d"));
    assert!(!re.is_match("clé"));
    let res = app
        .req(Method::POST, "/v1/brands", Some(&owner.token))
        .header("idempotency-key", "cl\u{e9}")
        .json(&json!({ "name": "Acme", "kind": "brand", "tmall_store_url": "https://acme.tmall.com" }))
        .send()
        .await
        .unwrap();
    assert_problem(res, 422, "invalid_idempotency_key").await;
    assert_eq!(app.count("SELECT count(*) FROM brands").await, 0);
    still_up(&app).await;
}

/// st created an application with `landing.app_url` `tmall://%_V`, which the server takes
/// (visible ASCII after `tmall://`), and then found it in answers whose schema said `format:
/// uri`, which that is not. The document now gives only the server's own rule.
#[tokio::test]
async fn the_deep_link_is_documented_as_the_server_takes_it() {
    let app = spawn().await;
    let owner = app.marketer().await;
    let brand = fixtures::brand(&app, &owner, "Acme").await;
    let season = fixtures::season(&app, "618-2027").await;
    let doc = document(&app).await;
    let app_url = property(&doc, "Landing", "app_url");
    assert!(app_url.get("format").is_none(), "{app_url}");
    let re = pattern(app_url);
    assert!(re.is_match("tmall://%_V"));
    assert!(!re.is_match("tmall://a b"));
    let res = app
        .post(
            "/v1/applications",
            Some(&owner.token),
            json!({ "brand_id": brand, "season_id": season, "title": "Deep link",
                    "landing": { "app_url": "tmall://%_V", "web_url": "https://acme.tmall.com/" } }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .post(
            "/v1/applications",
            Some(&owner.token),
            json!({ "brand_id": brand, "season_id": season, "title": "Deep link",
                    "landing": { "app_url": "tmall://a b", "web_url": "https://acme.tmall.com/" } }),
        )
        .await;
    let body = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "invalid_deep_link");
    assert_eq!(app.count("SELECT count(*) FROM applications").await, 1);
    still_up(&app).await;
}
