//! GET /v1/audit: filters, newest-first paging without gaps or duplicates, refusals.

use crate::applications::world;
use crate::helpers::{TestApp, all_pages, assert_problem, spawn};
use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;
use uuid::Uuid;

/// Events recorded straight into the trail at known times, about `entity`.
async fn insert_event(
    app: &TestApp,
    at: DateTime<Utc>,
    entity_type: &str,
    entity: Uuid,
    actor: Option<Uuid>,
) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO audit_events (id, at, actor_id, actor_role, entity_type, entity_id, action) \
         VALUES ($1, $2, $3, 'admin', $4, $5, 'update')",
    )
    .bind(id)
    .bind(at)
    .bind(actor)
    .bind(entity_type)
    .bind(entity)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

/// The first page for `query` (with the default limit).
async fn page(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let res = app.get(&format!("/v1/audit?{query}"), token).await;
    assert_eq!(res.status(), StatusCode::OK, "{query}");
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The ids of events matching `cond` (SQL over the table), newest first.
async fn expected(app: &TestApp, cond: &'static str, bind: Option<Uuid>) -> Vec<String> {
    let sql = match cond {
        "true" => "SELECT id::text FROM audit_events ORDER BY at DESC, id DESC",
        "type_brand" => {
            "SELECT id::text FROM audit_events WHERE entity_type = 'brand' ORDER BY at DESC, id DESC"
        }
        "type_user" => {
            "SELECT id::text FROM audit_events WHERE entity_type = 'user' ORDER BY at DESC, id DESC"
        }
        "entity" => {
            "SELECT id::text FROM audit_events WHERE entity_id = $1 ORDER BY at DESC, id DESC"
        }
        "actor" => {
            "SELECT id::text FROM audit_events WHERE actor_id = $1 ORDER BY at DESC, id DESC"
        }
        _ => unreachable!(),
    };
    let mut q = sqlx::query_scalar(sql);
    if let Some(b) = bind {
        q = q.bind(b);
    }
    q.fetch_all(&app.pool).await.unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap()
}

#[tokio::test]
async fn each_filter_narrows_the_trail() {
    // Users, a season, a brand created by its marketer and verified by a reviewer.
    let w = world().await;
    let app = &w.app;
    let token = &w.admin.token;
    let brand: Uuid = w.brand_id.parse().unwrap();
    let season: Uuid = w.season_id.parse().unwrap();
    let key = app
        .post("/v1/api-keys", Some(token), json!({"name": "ads"}))
        .await;
    assert_eq!(key.status(), StatusCode::CREATED);

    let all = all_pages(app, "/v1/audit", token, "", 200).await;
    assert_eq!(
        all,
        expected(app, "true", None).await,
        "everything, newest first"
    );
    assert!(all.len() >= 7, "{}", all.len());

    // By entity type.
    let got = ids(&page(app, token, "entity_type=brand").await);
    assert_eq!(got, expected(app, "type_brand", None).await);
    assert_eq!(got.len(), 2, "the brand's create and verify");
    let got = ids(&page(app, token, "entity_type=user").await);
    assert_eq!(got, expected(app, "type_user", None).await);
    assert!(got.len() >= 4 && got.len() < all.len(), "{}", got.len());
    let items = page(app, token, "entity_type=api_key").await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["action"], "create");
    assert_eq!(items[0]["actor_id"], w.admin.id.to_string());
    assert!(page(app, token, "entity_type=campaign").await.is_empty());

    // By entity: the brand's events, newest first, with every field of an event.
    let items = page(app, token, &format!("entity_id={brand}")).await;
    assert_eq!(ids(&items), expected(app, "entity", Some(brand)).await);
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["verify", "create"]);
    let verify = &items[0];
    assert_eq!(verify["entity_type"], "brand");
    assert_eq!(verify["entity_id"], brand.to_string());
    assert_eq!(verify["actor_id"], w.reviewer.id.to_string());
    assert_eq!(verify["actor_role"], "reviewer");
    assert_eq!(verify["from_status"], "pending");
    assert_eq!(verify["to_status"], "verified");
    assert_eq!(verify["note"], "checked the business licence");
    assert!(
        verify["at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .is_ok()
    );
    let season_events = page(
        app,
        token,
        &format!("entity_type=season&entity_id={season}"),
    )
    .await;
    assert_eq!(season_events.len(), 1);
    assert_eq!(season_events[0]["action"], "create");
    // The right id with the wrong type matches nothing.
    assert!(
        page(app, token, &format!("entity_type=season&entity_id={brand}"))
            .await
            .is_empty()
    );

    // By actor.
    let got = ids(&page(app, token, &format!("actor_id={}", w.reviewer.id)).await);
    assert_eq!(got, expected(app, "actor", Some(w.reviewer.id)).await);
    assert_eq!(got, [verify["id"].as_str().unwrap()]);
    let got = ids(&page(app, token, &format!("actor_id={}", w.admin.id)).await);
    assert_eq!(got, expected(app, "actor", Some(w.admin.id)).await);
    assert!(got.len() >= 4, "two reviewers, a season, a key");
    let items = page(
        app,
        token,
        &format!("actor_id={}&entity_type=brand", w.marketer.id),
    )
    .await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["action"], "create");
    assert!(
        page(app, token, &format!("actor_id={}", Uuid::new_v4()))
            .await
            .is_empty()
    );

    // By time: five events an hour apart from t0, long before everything else.
    let entity = Uuid::new_v4();
    let mut at = Vec::new();
    for k in 0..5 {
        at.push(insert_event(app, t0() + Duration::hours(k), "campaign", entity, None).await);
    }
    let s = |d: DateTime<Utc>| d.to_rfc3339();
    let enc = |d: DateTime<Utc>| {
        url::form_urlencoded::byte_serialize(s(d).as_bytes()).collect::<String>()
    };
    let h = Duration::hours(1);
    // since inclusive, until exclusive.
    let got = ids(&page(
        app,
        token,
        &format!("since={}&until={}", enc(t0() + h), enc(t0() + h * 3)),
    )
    .await);
    assert_eq!(got, [at[2].to_string(), at[1].to_string()]);
    // The same instants written in another offset, and with an unencoded `+`.
    let got = ids(&page(
        app,
        token,
        "since=2020-01-01T09:00:00%2B08:00&until=2020-01-01T11:00:00+08:00",
    )
    .await);
    assert_eq!(got, [at[2].to_string(), at[1].to_string()]);
    let got = ids(&page(app, token, &format!("until={}", enc(t0() + h))).await);
    assert_eq!(got, [at[0].to_string()]);
    let got = ids(&page(app, token, &format!("since={}", enc(t0() + h * 3))).await);
    assert_eq!(
        got.len(),
        all.len() + 2,
        "everything of now, plus the last two"
    );
    assert_eq!(got[got.len() - 2..], [at[4].to_string(), at[3].to_string()]);
    let t = enc(t0() + h * 2);
    assert!(
        page(app, token, &format!("since={t}&until={t}"))
            .await
            .is_empty()
    );
    // Combined with the other filters.
    let got = ids(&page(
        app,
        token,
        &format!(
            "entity_type=campaign&entity_id={entity}&since={}",
            enc(t0() + h * 4)
        ),
    )
    .await);
    assert_eq!(got, [at[4].to_string()]);
}

#[tokio::test]
async fn paging_has_no_gaps_or_duplicates() {
    let app = spawn().await;
    let admin = app.admin().await;
    // 53 events, four to each instant (so the id breaks the ties), two kinds.
    let entity = Uuid::new_v4();
    for i in 0..53 {
        let kind = if i % 3 == 0 { "season" } else { "campaign" };
        insert_event(
            &app,
            t0() + Duration::minutes(i / 4),
            kind,
            entity,
            Some(admin.id),
        )
        .await;
    }
    let want = expected(&app, "true", None).await;
    assert!(want.len() > 50, "more than the default page");

    for limit in [1, 3, 5, 7, 50] {
        let got = all_pages(&app, "/v1/audit", &admin.token, "", limit).await;
        assert_eq!(
            got.len(),
            got.iter().collect::<HashSet<_>>().len(),
            "no duplicates"
        );
        assert_eq!(got, want, "limit {limit}: every event once, newest first");
    }

    // Paging a filtered list.
    let want: Vec<String> = sqlx::query_scalar(
        "SELECT id::text FROM audit_events WHERE entity_type = 'campaign' \
         ORDER BY at DESC, id DESC",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(want.len(), 35);
    for limit in [2, 4, 35, 200] {
        let got = all_pages(
            &app,
            "/v1/audit",
            &admin.token,
            "entity_type=campaign",
            limit,
        )
        .await;
        assert_eq!(got, want, "limit {limit}");
    }
    let got = all_pages(
        &app,
        "/v1/audit",
        &admin.token,
        &format!("entity_id={entity}&since=2020-01-01T00:02:00Z&until=2020-01-01T00:08:00Z"),
        3,
    )
    .await;
    assert_eq!(got.len(), 24, "minutes 2 to 7, four each");

    // The default page is 50.
    let res = app.get("/v1/audit", &admin.token).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 50);
    assert!(body["next_cursor"].is_string());
}

#[tokio::test]
async fn bad_queries_are_refused_naming_the_field() {
    let app = spawn().await;
    let admin = app.admin().await;
    let before = app.count("SELECT count(*) FROM audit_events").await;

    for (query, field, code) in [
        ("entity_type=nope", "entity_type", "invalid_entity_type"),
        ("entity_type=Brand", "entity_type", "invalid_entity_type"),
        ("entity_type=", "entity_type", "invalid_entity_type"),
        ("entity_id=42", "entity_id", "invalid_uuid"),
        ("actor_id=admin", "actor_id", "invalid_uuid"),
        ("since=yesterday", "since", "invalid_datetime"),
        ("until=2027-06-18", "until", "invalid_datetime"),
        (
            "since=2027-06-18T12:00:01Z&until=2027-06-18T12:00:00Z",
            "since",
            "invalid_range",
        ),
        ("limit=0", "limit", "out_of_range"),
        ("limit=201", "limit", "out_of_range"),
        ("limit=ten", "limit", "out_of_range"),
        ("cursor=not-a-cursor", "cursor", "invalid_cursor"),
    ] {
        let res = app.get(&format!("/v1/audit?{query}"), &admin.token).await;
        let p = assert_problem(res, 422, "validation_failed").await;
        let errors = p["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{query}: {p}");
        assert_eq!(errors[0]["field"], field, "{query}");
        assert_eq!(errors[0]["code"], code, "{query}");
    }

    // Every problem at once.
    let res = app
        .get("/v1/audit?entity_type=nope&since=x&limit=0", &admin.token)
        .await;
    let p = assert_problem(res, 422, "validation_failed").await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["entity_type", "since", "limit"]);
    // A field given twice.
    let res = app
        .get("/v1/audit?entity_type=brand&entity_type=user", &admin.token)
        .await;
    assert_problem(res, 422, "invalid_query").await;

    assert_eq!(
        app.count("SELECT count(*) FROM audit_events").await,
        before,
        "reading changes nothing"
    );
}

#[tokio::test]
async fn only_admins_may_read_the_trail() {
    let app = spawn().await;
    let admin = app.admin().await;
    let reviewer = app.user_with_role(&admin, "reviewer").await;
    let marketer = app.marketer().await;

    let res = app
        .req(Method::GET, "/v1/audit", None)
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthorized").await;
    let res = app.get("/v1/audit", "mgs_not-a-real-token").await;
    assert_problem(res, 401, "unauthorized").await;
    for user in [&reviewer, &marketer] {
        let res = app.get("/v1/audit", &user.token).await;
        assert_problem(res, 403, "forbidden").await;
        // The role is refused before the query is read.
        let res = app
            .get("/v1/audit?entity_type=nope&limit=0", &user.token)
            .await;
        assert_problem(res, 403, "forbidden").await;
    }
    let key = app
        .post("/v1/api-keys", Some(&admin.token), json!({"name": "ads"}))
        .await;
    let key: Value = key.json().await.unwrap();
    let res = app.get("/v1/audit", key["key"].as_str().unwrap()).await;
    assert_problem(res, 403, "forbidden").await;

    let res = app.get("/v1/audit", &admin.token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
}
