//! Brands: creation, visibility, members and verification.

use crate::helpers::{TestApp, User, assert_problem, spawn};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

const BRANDS: &str = "SELECT count(*) FROM brands";
const MEMBERS: &str = "SELECT count(*) FROM brand_members";
const BRAND_EVENTS: &str = "SELECT count(*) FROM audit_events WHERE entity_type = 'brand'";

async fn create(app: &TestApp, user: &User, name: &str, kind: &str) -> Value {
    let res = app
        .post(
            "/v1/brands",
            Some(&user.token),
            json!({"name": name, "kind": kind, "tmall_store_url": "https://nike.tmall.com/shop"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn counts(app: &TestApp) -> (i64, i64, i64) {
    (
        app.count(BRANDS).await,
        app.count(MEMBERS).await,
        app.count(BRAND_EVENTS).await,
    )
}

async fn add(app: &TestApp, by: &User, brand: &str, email: &str, role: &str) -> reqwest::Response {
    app.post(
        &format!("/v1/brands/{brand}/members"),
        Some(&by.token),
        json!({"email": email, "role": role}),
    )
    .await
}

async fn delete(app: &TestApp, by: &User, brand: &str, user: Uuid) -> reqwest::Response {
    app.req(
        Method::DELETE,
        &format!("/v1/brands/{brand}/members/{user}"),
        Some(&by.token),
    )
    .send()
    .await
    .unwrap()
}

fn names(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn marketer_creates_a_brand_and_becomes_its_owner() {
    let app = spawn().await;
    let m = app.marketer().await;
    let b = create(&app, &m, "  Nike  ", "brand").await;
    let mut keys: Vec<&String> = b.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "created_at",
            "id",
            "kind",
            "name",
            "tmall_store_url",
            "verification",
            "verification_note"
        ]
    );
    assert_eq!(b["name"], "Nike");
    assert_eq!(b["kind"], "brand");
    assert_eq!(b["verification"], "pending");
    assert!(b["verification_note"].is_null());
    let id: Uuid = b["id"].as_str().unwrap().parse().unwrap();
    let (role, user): (String, Uuid) =
        sqlx::query_as("SELECT role, user_id FROM brand_members WHERE brand_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((role.as_str(), user), ("owner", m.id));
    let (action, actor, to): (String, Uuid, String) =
        sqlx::query_as("SELECT action, actor_id, to_status FROM audit_events WHERE entity_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (action.as_str(), actor, to.as_str()),
        ("create", m.id, "pending")
    );
    let me: Value = app.get("/v1/me", &m.token).await.json().await.unwrap();
    assert_eq!(me["memberships"][0]["role"], "owner");
}

#[tokio::test]
async fn staff_create_brands_without_membership() {
    let app = spawn().await;
    let admin = app.admin().await;
    let reviewer = app.user_with_role(&admin, "reviewer").await;
    create(&app, &admin, "A", "independent_retailer").await;
    create(&app, &reviewer, "R", "brand").await;
    assert_eq!(counts(&app).await, (2, 0, 2));
}

#[tokio::test]
async fn create_refuses_bad_input_and_changes_nothing() {
    let app = spawn().await;
    let m = app.marketer().await;
    for url in [
        "https://tmall.com.evil.example",
        "http://x.tmall.com",
        "https://eviltmall.com",
        "https://tmall.com@evil.example",
        "https://u:p@shop.tmall.com",
        "not a url",
        "https://evil.example/?u=https://tmall.com",
    ] {
        let res = app
            .post(
                "/v1/brands",
                Some(&m.token),
                json!({"name": "X", "kind": "brand", "tmall_store_url": url}),
            )
            .await;
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "tmall_store_url", "{url}");
        assert_eq!(body["errors"][0]["code"], "invalid_store_url", "{url}");
    }
    let long = "x".repeat(201);
    for (body, field) in [
        (
            json!({"name": "", "kind": "brand", "tmall_store_url": "https://tmall.com"}),
            "name",
        ),
        (
            json!({"name": long, "kind": "brand", "tmall_store_url": "https://tmall.com"}),
            "name",
        ),
        (
            json!({"name": "X", "kind": "shop", "tmall_store_url": "https://tmall.com"}),
            "kind",
        ),
        (json!({"name": "X", "kind": "brand"}), "tmall_store_url"),
        (
            json!({"name": "X", "kind": "brand", "tmall_store_url": "https://tmall.com", "verification": "verified"}),
            "verification",
        ),
    ] {
        let res = app.post("/v1/brands", Some(&m.token), body).await;
        let p = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(p["errors"][0]["field"], field);
    }
    // Both bad fields are listed at once.
    let res = app
        .post(
            "/v1/brands",
            Some(&m.token),
            json!({"name": " ", "kind": "brand", "tmall_store_url": "http://tmall.com"}),
        )
        .await;
    let p = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(p["errors"].as_array().unwrap().len(), 2);
    let res = app
        .post(
            "/v1/brands",
            None,
            json!({"name": "X", "kind": "brand", "tmall_store_url": "https://tmall.com"}),
        )
        .await;
    assert_problem(res, 401, "unauthorized").await;
    assert_eq!(counts(&app).await, (0, 0, 0));
}

#[tokio::test]
async fn marketers_see_only_their_own_brands() {
    let app = spawn().await;
    let a = app.marketer().await;
    let b = app.marketer().await;
    let admin = app.admin().await;
    let reviewer = app.user_with_role(&admin, "reviewer").await;
    let nike = create(&app, &a, "Nike", "brand").await;
    create(&app, &a, "Nike Outlet", "independent_retailer").await;
    let li = create(&app, &b, "Li-Ning", "brand").await;
    let nike_id = nike["id"].as_str().unwrap();

    let res = app.get(&format!("/v1/brands/{nike_id}"), &b.token).await;
    assert_problem(res, 404, "not_found").await;
    let res = app
        .get(&format!("/v1/brands/{}", Uuid::new_v4()), &a.token)
        .await;
    assert_problem(res, 404, "not_found").await;
    let res = app.get("/v1/brands/not-a-uuid", &a.token).await;
    assert_problem(res, 404, "not_found").await;
    let res = app.get(&format!("/v1/brands/{nike_id}"), &a.token).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), nike);
    let res = app
        .get(&format!("/v1/brands/{nike_id}"), &reviewer.token)
        .await;
    assert_eq!(res.status(), 200);

    let list: Value = app.get("/v1/brands", &b.token).await.json().await.unwrap();
    assert_eq!(names(&list), vec!["Li-Ning"]);
    assert!(list["next_cursor"].is_null());
    let list: Value = app
        .get("/v1/brands?q=nike", &b.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(names(&list).is_empty());
    let list: Value = app.get("/v1/brands", &a.token).await.json().await.unwrap();
    assert_eq!(names(&list), vec!["Nike Outlet", "Nike"]);
    let list: Value = app
        .get("/v1/brands", &reviewer.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&list), vec!["Li-Ning", "Nike Outlet", "Nike"]);

    // Filters.
    let list: Value = app
        .get("/v1/brands?kind=brand", &admin.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&list), vec!["Li-Ning", "Nike"]);
    let list: Value = app
        .get("/v1/brands?q=OUTLET", &admin.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&list), vec!["Nike Outlet"]);
    let list: Value = app
        .get("/v1/brands?q=%25", &admin.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(names(&list).is_empty());
    let res = app
        .post(
            &format!("/v1/brands/{}/verification", li["id"].as_str().unwrap()),
            Some(&reviewer.token),
            json!({"decision": "verified"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let list: Value = app
        .get("/v1/brands?verification=verified", &admin.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&list), vec!["Li-Ning"]);
    let res = app.get("/v1/brands?verification=maybe", &admin.token).await;
    assert_problem(res, 422, "invalid_query").await;
    let res = app.get("/v1/brands?limit=0", &admin.token).await;
    assert_problem(res, 422, "validation_failed").await;

    // Paging, newest first, no gaps.
    let p1: Value = app
        .get("/v1/brands?limit=2", &admin.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&p1), vec!["Li-Ning", "Nike Outlet"]);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let p2: Value = app
        .get(&format!("/v1/brands?limit=2&cursor={cursor}"), &admin.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&p2), vec!["Nike"]);
    assert!(p2["next_cursor"].is_null());
}

#[tokio::test]
async fn owners_manage_members() {
    let app = spawn().await;
    let owner = app.marketer().await;
    let agency = app.marketer().await;
    let b = create(&app, &owner, "Nike", "brand").await;
    let id = b["id"].as_str().unwrap();

    let res = add(&app, &owner, id, &agency.email.to_uppercase(), "member").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let m: Value = res.json().await.unwrap();
    assert_eq!(m["user_id"], agency.id.to_string());
    assert_eq!(m["email"], agency.email);
    assert_eq!(m["display_name"], "Marketer");
    assert_eq!(m["role"], "member");
    assert!(m["added_at"].is_string());
    // The new member now sees the brand.
    let res = app.get(&format!("/v1/brands/{id}"), &agency.token).await;
    assert_eq!(res.status(), 200);

    let list: Value = app
        .get(&format!("/v1/brands/{id}/members"), &owner.token)
        .await
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["user_id"], agency.id.to_string());
    assert_eq!(items[1]["role"], "owner");
    let p: Value = app
        .get(&format!("/v1/brands/{id}/members?limit=1"), &owner.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(p["next_cursor"].is_string());

    let (action, note): (String, String) = sqlx::query_as(
        "SELECT action, note FROM audit_events WHERE entity_id = $1 AND action = 'add_member'",
    )
    .bind(Uuid::parse_str(id).unwrap())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(action, "add_member");
    assert!(note.contains(&agency.id.to_string()) && note.contains(&agency.email));

    let res = delete(&app, &owner, id, agency.id).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.get(&format!("/v1/brands/{id}"), &agency.token).await;
    assert_problem(res, 404, "not_found").await;
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'remove_member'")
            .await,
        1
    );

    // An admin manages any brand's members, even where none is an owner yet.
    let admin = app.admin().await;
    let res = add(&app, &admin, id, &agency.email, "owner").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // With two owners, one of them may go.
    let res = delete(&app, &agency, id, owner.id).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .get(&format!("/v1/brands/{id}/members"), &admin.token)
        .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn member_changes_are_refused_with_the_right_answer() {
    let app = spawn().await;
    let owner = app.marketer().await;
    let plain = app.marketer().await;
    let stranger = app.marketer().await;
    let admin = app.admin().await;
    let reviewer = app.user_with_role(&admin, "reviewer").await;
    let b = create(&app, &owner, "Nike", "brand").await;
    let id = b["id"].as_str().unwrap();
    assert_eq!(
        add(&app, &owner, id, &plain.email, "member").await.status(),
        201
    );
    let before = counts(&app).await;

    let res = add(&app, &owner, id, "nobody@nowhere.example", "member").await;
    let p = assert_problem(res, 422, "user_not_found").await;
    assert_eq!(p["errors"][0]["field"], "email");
    // A staff account's email answers exactly as an unknown one (no enumeration).
    let res = add(&app, &owner, id, &reviewer.email, "member").await;
    let p = assert_problem(res, 422, "user_not_found").await;
    assert_eq!(p["errors"][0]["field"], "email");
    let res = add(&app, &owner, id, &plain.email, "owner").await;
    assert_problem(res, 409, "already_member").await;
    let res = add(&app, &owner, id, &stranger.email, "boss").await;
    assert_problem(res, 422, "validation_failed").await;
    let res = app
        .post(
            &format!("/v1/brands/{id}/members"),
            Some(&owner.token),
            json!({"email": stranger.email, "role": "member", "brand_id": id}),
        )
        .await;
    assert_problem(res, 422, "validation_failed").await;

    // A plain member: 403; another brand's marketer: 404; a reviewer: 403.
    for (who, status, code) in [
        (&plain, 403, "forbidden"),
        (&stranger, 404, "not_found"),
        (&reviewer, 403, "forbidden"),
    ] {
        let res = add(&app, who, id, &stranger.email, "member").await;
        assert_problem(res, status, code).await;
        let res = app
            .get(&format!("/v1/brands/{id}/members"), &who.token)
            .await;
        assert_problem(res, status, code).await;
        let res = delete(&app, who, id, plain.id).await;
        assert_problem(res, status, code).await;
    }
    let unknown = Uuid::new_v4();
    let res = add(
        &app,
        &admin,
        &unknown.to_string(),
        &stranger.email,
        "member",
    )
    .await;
    assert_problem(res, 404, "not_found").await;
    let res = app
        .get(&format!("/v1/brands/{unknown}/members"), &admin.token)
        .await;
    assert_problem(res, 404, "not_found").await;
    // Removing someone who is not a member.
    let res = delete(&app, &owner, id, stranger.id).await;
    assert_problem(res, 404, "not_found").await;
    // The last owner stays, even when they try to remove themselves or an admin does.
    let res = delete(&app, &owner, id, owner.id).await;
    assert_problem(res, 409, "last_owner").await;
    let res = delete(&app, &admin, id, owner.id).await;
    assert_problem(res, 409, "last_owner").await;

    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn reviewers_verify_reject_and_revoke() {
    let app = spawn().await;
    let m = app.marketer().await;
    let admin = app.admin().await;
    let reviewer = app.user_with_role(&admin, "reviewer").await;
    let b = create(&app, &m, "Nike", "brand").await;
    let id = b["id"].as_str().unwrap();
    let path = format!("/v1/brands/{id}/verification");
    let before = counts(&app).await;

    let res = app
        .post(&path, Some(&m.token), json!({"decision": "verified"}))
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .post(
            &path,
            Some(&reviewer.token),
            json!({"decision": "rejected"}),
        )
        .await;
    let p = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["field"], "note");
    assert_eq!(p["errors"][0]["code"], "required");
    let res = app
        .post(
            &path,
            Some(&reviewer.token),
            json!({"decision": "rejected", "note": "  "}),
        )
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = app
        .post(
            &path,
            Some(&reviewer.token),
            json!({"decision": "rejected", "note": "x".repeat(1001)}),
        )
        .await;
    let p = assert_problem(res, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["code"], "too_long");
    let res = app
        .post(&path, Some(&reviewer.token), json!({"decision": "pending"}))
        .await;
    assert_problem(res, 422, "validation_failed").await;
    let res = app
        .post(
            &format!("/v1/brands/{}/verification", Uuid::new_v4()),
            Some(&reviewer.token),
            json!({"decision": "verified"}),
        )
        .await;
    assert_problem(res, 404, "not_found").await;
    assert_eq!(counts(&app).await, before);
    let status: String = sqlx::query_scalar("SELECT verification FROM brands")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "pending");

    let res = app
        .post(
            &path,
            Some(&reviewer.token),
            json!({"decision": "verified", "note": "checked licence"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["verification"], "verified");
    assert_eq!(v["verification_note"], "checked licence");
    // Revoking: a verified brand is rejected later, by an admin.
    let res = app
        .post(
            &path,
            Some(&admin.token),
            json!({"decision": "rejected", "note": "store closed"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["verification"], "rejected");
    assert_eq!(v["verification_note"], "store closed");
    let by: Uuid =
        sqlx::query_scalar("SELECT verified_by FROM brands WHERE verified_at IS NOT NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(by, admin.id);

    let events: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT action, from_status, to_status FROM audit_events \
         WHERE entity_type = 'brand' AND action = 'verify' ORDER BY at",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![
            ("verify".into(), "pending".into(), "verified".into()),
            ("verify".into(), "verified".into(), "rejected".into()),
        ]
    );
    // The marketer sees the decision.
    let v: Value = app
        .get(&format!("/v1/brands/{id}"), &m.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["verification"], "rejected");
}
