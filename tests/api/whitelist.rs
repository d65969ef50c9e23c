//! Whitelist entries: visibility, CSV export, suspend / reinstate / revoke.

use crate::fixtures::{approved_application, audit_count, brand, season, whitelist_entry, world};
use crate::helpers::{TestApp, assert_problem, spawn};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

async fn status_of(app: &TestApp, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM whitelist_entries WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn csv(app: &TestApp, query: &str, token: &str) -> String {
    let res = app
        .req(Method::GET, &format!("/v1/whitelist{query}"), Some(token))
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    res.text().await.unwrap()
}

const HEADER: &str = "id,brand_id,brand_name,season_id,season_code,status,valid_from,\
     valid_until,source_application_id,granted_by,granted_at,status_reason";

// ---- reading ----

#[tokio::test]
async fn entries_are_listed_and_read_by_whoever_may_see_them() {
    let app = spawn().await;
    let w = world(&app).await;

    for staff in [&w.admin, &w.reviewer] {
        let body: Value = app
            .get("/v1/whitelist", &staff.token)
            .await
            .json()
            .await
            .unwrap();
        let got = ids(&body);
        // Newest grant first.
        assert_eq!(got, vec![w.other_entry.to_string(), w.entry.to_string()]);
        assert!(body["next_cursor"].is_null());
    }

    let res = app.get("/v1/whitelist", &w.owner.token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(ids(&body), vec![w.entry.to_string()]);
    let item = &body["items"][0];
    assert_eq!(item["brand_id"], w.brand.to_string());
    assert_eq!(item["season_id"], w.season.to_string());
    assert_eq!(item["status"], "active");
    assert_eq!(item["granted_by"], w.reviewer.id.to_string());
    assert!(item["source_application_id"].is_string());
    assert!(item["valid_from"].is_string() && item["valid_until"].is_string());
    assert!(item["granted_at"].is_string());
    assert!(item["status_reason"].is_null());

    // A marketer never sees another brand's entry, even when asking for that brand.
    let q = format!("/v1/whitelist?brand_id={}", w.other_brand);
    let body: Value = app.get(&q, &w.owner.token).await.json().await.unwrap();
    assert!(ids(&body).is_empty());
    let res = app
        .get(&format!("/v1/whitelist/{}", w.other_entry), &w.owner.token)
        .await;
    assert_problem(res, 404, "not_found").await;

    let res = app
        .get(&format!("/v1/whitelist/{}", w.entry), &w.owner.token)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let one: Value = res.json().await.unwrap();
    assert_eq!(one["id"], w.entry.to_string());
    let res = app
        .get(
            &format!("/v1/whitelist/{}", w.other_entry),
            &w.reviewer.token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let res = app
        .get(&format!("/v1/whitelist/{}", Uuid::new_v4()), &w.admin.token)
        .await;
    assert_problem(res, 404, "not_found").await;
    let res = app.get("/v1/whitelist/not-a-uuid", &w.admin.token).await;
    assert_problem(res, 404, "not_found").await;
    let res = app
        .req(Method::GET, "/v1/whitelist", None)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
}

#[tokio::test]
async fn list_filters_and_pages() {
    let app = spawn().await;
    let w = world(&app).await;
    let other_season = season(&app, "double11-2027").await;
    let suspended = whitelist_entry(&app, w.brand, other_season, "suspended", w.admin.id).await;

    let get = |q: String| {
        let app = &app;
        let token = w.admin.token.clone();
        async move {
            let res = app.get(&format!("/v1/whitelist{q}"), &token).await;
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Value>().await.unwrap()
        }
    };
    let b = get(format!("?season_id={other_season}")).await;
    assert_eq!(ids(&b), vec![suspended.to_string()]);
    let b = get(format!("?brand_id={}", w.brand)).await;
    assert_eq!(ids(&b), vec![suspended.to_string(), w.entry.to_string()]);
    let b = get("?status=suspended".into()).await;
    assert_eq!(ids(&b), vec![suspended.to_string()]);
    let b = get(format!("?status=active&brand_id={}", w.brand)).await;
    assert_eq!(ids(&b), vec![w.entry.to_string()]);
    let b = get("?status=revoked".into()).await;
    assert!(ids(&b).is_empty());

    // Paging: three entries, two per page.
    let first = get("?limit=2".into()).await;
    assert_eq!(ids(&first).len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = get(format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second).len(), 1);
    assert!(second["next_cursor"].is_null());
    let mut all = ids(&first);
    all.extend(ids(&second));
    all.sort();
    let mut want = vec![
        w.entry.to_string(),
        w.other_entry.to_string(),
        suspended.to_string(),
    ];
    want.sort();
    assert_eq!(all, want);

    let res = app.get("/v1/whitelist?status=paused", &w.admin.token).await;
    assert_problem(res, 422, "invalid_query").await;
    let res = app
        .get("/v1/whitelist?season_id=nope", &w.admin.token)
        .await;
    assert_problem(res, 422, "invalid_query").await;
    let res = app.get("/v1/whitelist?limit=0", &w.admin.token).await;
    assert_problem(res, 422, "validation_failed").await;
    let res = app.get("/v1/whitelist?limit=201", &w.admin.token).await;
    assert_problem(res, 422, "validation_failed").await;
}

#[tokio::test]
async fn csv_export_quotes_guards_and_respects_visibility() {
    let app = spawn().await;
    let w = world(&app).await;
    sqlx::query("UPDATE brands SET name = 'Acme, \"Best\" Store' WHERE id = $1")
        .bind(w.brand)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE whitelist_entries SET status_reason = '=HYPERLINK(\"x\")' WHERE id = $1")
        .bind(w.entry)
        .execute(&app.pool)
        .await
        .unwrap();

    let text = csv(&app, "", &w.admin.token).await;
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(lines[0], HEADER);
    assert_eq!(lines.len(), 4, "{text}"); // header, two rows, trailing empty
    assert_eq!(lines[3], "");
    assert!(lines[1].starts_with(&format!("{},{},Other,", w.other_entry, w.other_brand)));
    assert!(lines[1].contains(",618-2027,active,"));
    let acme = lines[2];
    assert!(
        acme.starts_with(&format!(
            "{},{},\"Acme, \"\"Best\"\" Store\",{},618-2027,active,",
            w.entry, w.brand, w.season
        )),
        "{acme}"
    );
    assert!(acme.ends_with(",\"'=HYPERLINK(\"\"x\"\")\""), "{acme}");
    assert!(acme.contains(&w.reviewer.id.to_string()));

    // The marketer's export holds their brand only.
    let text = csv(&app, "", &w.owner.token).await;
    assert!(text.starts_with(HEADER));
    assert!(text.contains(&w.entry.to_string()));
    assert!(!text.contains(&w.other_entry.to_string()));
    assert!(!text.contains("Other"));
    // Filters apply, and an empty export still has its header.
    let text = csv(
        &app,
        &format!("?brand_id={}", w.other_brand),
        &w.owner.token,
    )
    .await;
    assert_eq!(text, format!("{HEADER}\r\n"));
    let text = csv(&app, "?status=suspended", &w.admin.token).await;
    assert_eq!(text, format!("{HEADER}\r\n"));
    // Not paged: `limit` does not cut the export.
    let text = csv(&app, "?limit=1", &w.admin.token).await;
    assert_eq!(text.split("\r\n").count(), 4);
}

#[tokio::test]
async fn csv_export_streams_past_one_chunk() {
    let app = spawn().await;
    let admin = app.admin().await;
    let owner = app.marketer().await;
    let season = season(&app, "618-2027").await;
    let brand = brand(&app, &owner, "Many").await;
    let application = approved_application(&app, brand, season, admin.id).await;
    // 2,500 revoked entries (revoked ones do not count against the unique index).
    sqlx::query(
        "INSERT INTO whitelist_entries (id, brand_id, season_id, status, valid_from, \
         valid_until, source_application_id, granted_by, granted_at) \
         SELECT gen_random_uuid(), $1, $2, 'revoked', now(), now() + interval '1 day', $3, $4, \
         now() - make_interval(secs => g) FROM generate_series(1, 2500) g",
    )
    .bind(brand)
    .bind(season)
    .bind(application)
    .bind(admin.id)
    .execute(&app.pool)
    .await
    .unwrap();
    let text = csv(&app, "", &admin.token).await;
    let rows: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 2501);
    let mut seen: Vec<&str> = rows[1..].iter().map(|r| &r[..36]).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 2500);
}

// ---- status changes ----

async fn act(app: &TestApp, id: Uuid, action: &str, token: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/v1/whitelist/{id}/{action}"), Some(token), body)
        .await
}

#[tokio::test]
async fn suspend_reinstate_revoke_and_revoke_is_final() {
    let app = spawn().await;
    let w = world(&app).await;
    let e = w.entry;

    let res = act(
        &app,
        e,
        "suspend",
        &w.reviewer.token,
        json!({"reason": " fraud check "}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["id"], e.to_string());
    assert_eq!(body["status"], "suspended");
    assert_eq!(body["status_reason"], "fraud check");
    let ev: (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<Uuid>,
        String,
    ) = sqlx::query_as(
        "SELECT action, from_status, to_status, note, actor_id, entity_type \
             FROM audit_events WHERE entity_id = $1 ORDER BY at DESC LIMIT 1",
    )
    .bind(e)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        ev,
        (
            "suspend".into(),
            Some("active".into()),
            Some("suspended".into()),
            Some("fraud check".into()),
            Some(w.reviewer.id),
            "whitelist_entry".into()
        )
    );
    let updated_at_changed: bool =
        sqlx::query_scalar("SELECT updated_at > granted_at FROM whitelist_entries WHERE id = $1")
            .bind(e)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(updated_at_changed);

    let res = act(
        &app,
        e,
        "reinstate",
        &w.admin.token,
        json!({"reason": "cleared"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "active");
    assert_eq!(body["status_reason"], "cleared");

    let res = act(
        &app,
        e,
        "revoke",
        &w.reviewer.token,
        json!({"reason": "terms broken"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "revoked");
    assert_eq!(audit_count(&app, e).await, 3);

    // Revoked is final.
    for action in ["reinstate", "suspend", "revoke"] {
        let res = act(&app, e, action, &w.admin.token, json!({"reason": "again"})).await;
        assert_problem(res, 409, "invalid_transition").await;
    }
    assert_eq!(status_of(&app, e).await, "revoked");
    assert_eq!(audit_count(&app, e).await, 3);
    let reason: Option<String> =
        sqlx::query_scalar("SELECT status_reason FROM whitelist_entries WHERE id = $1")
            .bind(e)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(reason.as_deref(), Some("terms broken"));

    // A suspended entry may also be revoked directly.
    let s = w.other_entry;
    act(
        &app,
        s,
        "suspend",
        &w.reviewer.token,
        json!({"reason": "x"}),
    )
    .await;
    let res = act(&app, s, "revoke", &w.reviewer.token, json!({"reason": "y"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(status_of(&app, s).await, "revoked");
}

#[tokio::test]
async fn transitions_not_allowed_from_the_status_change_nothing() {
    let app = spawn().await;
    let w = world(&app).await;
    // Active: reinstate is refused.
    let res = act(
        &app,
        w.entry,
        "reinstate",
        &w.reviewer.token,
        json!({"reason": "r"}),
    )
    .await;
    assert_problem(res, 409, "invalid_transition").await;
    assert_eq!(status_of(&app, w.entry).await, "active");
    assert_eq!(audit_count(&app, w.entry).await, 0);
    // Suspended: suspend again is refused.
    let res = act(
        &app,
        w.entry,
        "suspend",
        &w.reviewer.token,
        json!({"reason": "r"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = act(
        &app,
        w.entry,
        "suspend",
        &w.reviewer.token,
        json!({"reason": "r2"}),
    )
    .await;
    assert_problem(res, 409, "invalid_transition").await;
    assert_eq!(status_of(&app, w.entry).await, "suspended");
    assert_eq!(audit_count(&app, w.entry).await, 1);
}

#[tokio::test]
async fn only_staff_change_entries_and_strangers_learn_nothing() {
    let app = spawn().await;
    let w = world(&app).await;
    let before = app.count("SELECT count(*) FROM audit_events").await;
    for action in ["suspend", "reinstate", "revoke"] {
        // The brand's own marketer sees the entry but may not change it.
        let res = act(
            &app,
            w.entry,
            action,
            &w.owner.token,
            json!({"reason": "r"}),
        )
        .await;
        assert_problem(res, 403, "forbidden").await;
        // Another brand's marketer is not told it exists.
        let res = act(
            &app,
            w.entry,
            action,
            &w.stranger.token,
            json!({"reason": "r"}),
        )
        .await;
        assert_problem(res, 404, "not_found").await;
        let res = act(
            &app,
            Uuid::new_v4(),
            action,
            &w.reviewer.token,
            json!({"reason": "r"}),
        )
        .await;
        assert_problem(res, 404, "not_found").await;
        let res = app
            .post(
                &format!("/v1/whitelist/bad-id/{action}"),
                Some(&w.reviewer.token),
                json!({"reason": "r"}),
            )
            .await;
        assert_problem(res, 404, "not_found").await;
        let res = app
            .post(
                &format!("/v1/whitelist/{}/{action}", w.entry),
                None,
                json!({"reason": "r"}),
            )
            .await;
        assert_problem(res, 401, "unauthorized").await;
    }
    assert_eq!(status_of(&app, w.entry).await, "active");
    assert_eq!(app.count("SELECT count(*) FROM audit_events").await, before);
}

#[tokio::test]
async fn a_reason_is_required_and_bounded() {
    let app = spawn().await;
    let w = world(&app).await;
    let too_long = "x".repeat(1001);
    for body in [
        json!({}),
        json!({"reason": ""}),
        json!({"reason": "   "}),
        json!({"reason": too_long}),
        json!({"reason": 5}),
        json!({"reason": "ok", "status": "active"}),
    ] {
        let res = act(&app, w.entry, "suspend", &w.reviewer.token, body.clone()).await;
        let p = assert_problem(res, 422, "validation_failed").await;
        assert!(
            ["reason", "status"].contains(&p["errors"][0]["field"].as_str().unwrap()),
            "{body} {p}"
        );
    }
    let res = app
        .req(
            Method::POST,
            &format!("/v1/whitelist/{}/suspend", w.entry),
            Some(&w.reviewer.token),
        )
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "malformed_body").await;
    assert_eq!(status_of(&app, w.entry).await, "active");
    assert_eq!(audit_count(&app, w.entry).await, 0);

    let res = act(
        &app,
        w.entry,
        "suspend",
        &w.reviewer.token,
        json!({"reason": "é".repeat(1000)}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}
