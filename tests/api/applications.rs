//! The application lifecycle of SPEC §3, through HTTP.

use crate::helpers::{TestApp, User, assert_problem, spawn};
use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub struct World {
    pub app: TestApp,
    pub admin: User,
    pub reviewer: User,
    pub reviewer2: User,
    pub marketer: User,
    pub brand_id: String,
    pub season_id: String,
}

pub async fn create_season(app: &TestApp, admin: &User, code: &str) -> String {
    let now = Utc::now();
    let res = app
        .post(
            "/v1/seasons",
            Some(&admin.token),
            json!({
                "code": code,
                "name": format!("Season {code}"),
                "applications_open_at": now - Duration::days(1),
                "applications_close_at": now + Duration::days(10),
                "starts_at": now + Duration::days(1),
                "ends_at": now + Duration::days(60),
            }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn create_brand(
    app: &TestApp,
    owner: &User,
    kind: &str,
    verifier: Option<&User>,
) -> String {
    let res = app
        .post(
            "/v1/brands",
            Some(&owner.token),
            json!({"name": "Lumen Beauty", "kind": kind, "tmall_store_url": "https://lumen.tmall.com"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    if let Some(r) = verifier {
        let res = app
            .post(
                &format!("/v1/brands/{id}/verification"),
                Some(&r.token),
                json!({"decision": "verified", "note": "checked the business licence"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    id
}

pub async fn world() -> World {
    let app = spawn().await;
    let admin = app.admin().await;
    let reviewer = app.user_with_role(&admin, "reviewer").await;
    let reviewer2 = app.user_with_role(&admin, "reviewer").await;
    let marketer = app.marketer().await;
    let season_id = create_season(&app, &admin, "618-2027").await;
    let brand_id = create_brand(&app, &marketer, "brand", Some(&reviewer)).await;
    World {
        app,
        admin,
        reviewer,
        reviewer2,
        marketer,
        brand_id,
        season_id,
    }
}

pub fn complete_parts() -> Value {
    let now = Utc::now();
    json!({
        "creative": {
            "headline": "618: 20% off serums",
            "body": "Only in our flagship store.",
            "card_label": "Tmall flagship store",
            "logo_url": "https://img.lumen.example/logo.png",
            "image_urls": ["https://img.lumen.example/1.png", "https://img.lumen.example/2.png"]
        },
        "landing": {"app_url": "tmall://page.tm/shop?shopId=42", "web_url": "https://lumen.tmall.com/"},
        "requested_window": {"starts_at": now + Duration::days(2), "ends_at": now + Duration::days(20)},
        "budget": {"total_fen": 50_000_000, "daily_cap_fen": 5_000_000, "cpm_bid_fen": 3_500},
        "targeting": {"regions": ["CN-SH", "CN-ZJ"], "age_min": 20, "age_max": 40, "genders": ["female"], "interests": ["skincare"]}
    })
}

impl World {
    pub async fn draft(&self, extra: Value) -> Value {
        let mut body = json!({"brand_id": self.brand_id, "season_id": self.season_id, "title": "618 serum push"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = self
            .app
            .post("/v1/applications", Some(&self.marketer.token), body)
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert!(res.headers().get("etag").is_some());
        res.json().await.unwrap()
    }

    pub async fn act(&self, id: &str, action: &str, who: &User, body: Value) -> reqwest::Response {
        self.app
            .post(
                &format!("/v1/applications/{id}/{action}"),
                Some(&who.token),
                body,
            )
            .await
    }

    pub async fn ok(&self, id: &str, action: &str, who: &User, body: Value) -> Value {
        let res = self.act(id, action, who, body).await;
        assert_eq!(res.status(), StatusCode::OK, "{action}");
        res.json().await.unwrap()
    }

    pub async fn status(&self, id: &str) -> String {
        sqlx::query_scalar("SELECT status FROM applications WHERE id = $1::uuid")
            .bind(id)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    /// A submitted, claimed application ready for a decision.
    pub async fn in_review(&self) -> String {
        let a = self.draft(complete_parts()).await;
        let id = a["id"].as_str().unwrap().to_owned();
        self.ok(&id, "submit", &self.marketer, json!({})).await;
        self.ok(&id, "claim", &self.reviewer, json!({})).await;
        id
    }

    pub async fn approved(&self) -> Value {
        let id = self.in_review().await;
        self.ok(
            &id,
            "decision",
            &self.reviewer,
            json!({"decision": "approve"}),
        )
        .await
    }

    async fn events(&self) -> i64 {
        self.app.count("SELECT count(*) FROM audit_events").await
    }
}

#[tokio::test]
async fn the_whole_story() {
    let w = world().await;
    let a = w.draft(json!({})).await;
    let id = a["id"].as_str().unwrap();
    assert_eq!(a["status"], "draft");
    assert_eq!(a["version"], 1);

    // Incomplete: submit lists every missing part at once.
    let res = w.act(id, "submit", &w.marketer, json!({})).await;
    let p = assert_problem(res, 422, "validation_failed").await;
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["creative", "landing", "requested_window", "budget"]
    );

    let res = w
        .app
        .req(
            Method::PATCH,
            &format!("/v1/applications/{id}"),
            Some(&w.marketer.token),
        )
        .header("if-match", "\"1\"")
        .json(&complete_parts())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["etag"], "\"2\"");

    let a = w.ok(id, "submit", &w.marketer, json!({})).await;
    assert_eq!(a["status"], "submitted");
    assert!(a["submitted_at"].is_string());

    let a = w.ok(id, "claim", &w.reviewer, json!({})).await;
    assert_eq!(a["status"], "in_review");
    assert_eq!(a["reviewer_id"], w.reviewer.id.to_string());

    let a = w
        .ok(id, "decision", &w.reviewer, json!({"decision": "request_changes", "reason_code": "creative_policy", "note": "Drop the superlative."}))
        .await;
    assert_eq!(a["status"], "changes_requested");
    assert_eq!(a["decision"]["reason_code"], "creative_policy");

    let version = a["version"].as_i64().unwrap();
    let res = w
        .app
        .req(
            Method::PATCH,
            &format!("/v1/applications/{id}"),
            Some(&w.marketer.token),
        )
        .header("if-match", format!("\"{version}\""))
        .json(&json!({"title": "618 serum push, revised"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    w.ok(id, "submit", &w.marketer, json!({})).await;
    w.ok(id, "claim", &w.reviewer, json!({})).await;
    let a = w
        .ok(id, "decision", &w.reviewer, json!({"decision": "reject", "reason_code": "landing_page", "note": "The store page is empty."}))
        .await;
    assert_eq!(a["status"], "rejected");

    let a = w.ok(id, "appeal", &w.marketer, json!({})).await;
    assert_eq!(a["status"], "submitted");
    assert_eq!(a["appeal"], true);

    // The rejecting reviewer may not take the appeal.
    assert_problem(
        w.act(id, "claim", &w.reviewer, json!({})).await,
        403,
        "four_eyes_required",
    )
    .await;
    w.ok(id, "claim", &w.reviewer2, json!({})).await;
    let res = w
        .ok(id, "decision", &w.reviewer2, json!({"decision": "approve"}))
        .await;
    assert_eq!(res["application"]["status"], "approved");
    assert_eq!(res["whitelist_entry"]["status"], "active");
    assert_eq!(res["whitelist_entry"]["brand_id"], w.brand_id);
    assert_eq!(res["campaign"]["application_id"], id);
    assert_eq!(
        res["campaign"]["starts_at"],
        a["requested_window"]["starts_at"]
    );

    // The brand sees its whitelist entry and campaign.
    let wl: Value = w
        .app
        .get("/v1/whitelist", &w.marketer.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(wl["items"].as_array().unwrap().len(), 1);
    let c: Value = w
        .app
        .get("/v1/campaigns", &w.marketer.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(c["items"][0]["state"], "scheduled");

    // The trail, oldest first.
    let ev: Value = w
        .app
        .get(&format!("/v1/applications/{id}/events"), &w.marketer.token)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = ev["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "create",
            "update",
            "submit",
            "claim",
            "request_changes",
            "update",
            "submit",
            "claim",
            "reject",
            "appeal",
            "claim",
            "approve"
        ]
    );
}

#[tokio::test]
async fn submit_refusals_change_nothing() {
    let w = world().await;
    // Independent retailer.
    let retailer = create_brand(
        &w.app,
        &w.marketer,
        "independent_retailer",
        Some(&w.reviewer),
    )
    .await;
    let mut body = complete_parts();
    body["brand_id"] = json!(retailer);
    body["season_id"] = json!(w.season_id);
    body["title"] = json!("retailer ad");
    let res = w
        .app
        .post("/v1/applications", Some(&w.marketer.token), body)
        .await;
    let a: Value = res.json().await.unwrap();
    let id = a["id"].as_str().unwrap();
    let before = w.events().await;
    let p = assert_problem(
        w.act(id, "submit", &w.marketer, json!({})).await,
        422,
        "brand_not_eligible",
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("independent retailers")
    );
    assert_eq!(w.status(id).await, "draft");

    // Unverified brand.
    let pending = create_brand(&w.app, &w.marketer, "brand", None).await;
    let mut body = complete_parts();
    body["brand_id"] = json!(pending);
    body["season_id"] = json!(w.season_id);
    body["title"] = json!("pending ad");
    let a: Value = w
        .app
        .post("/v1/applications", Some(&w.marketer.token), body)
        .await
        .json()
        .await
        .unwrap();
    let pid = a["id"].as_str().unwrap();
    assert_problem(
        w.act(pid, "submit", &w.marketer, json!({})).await,
        422,
        "brand_not_eligible",
    )
    .await;

    // Window outside the season, and too long.
    let now = Utc::now();
    let outside = w
        .draft(json!({"creative": complete_parts()["creative"], "landing": complete_parts()["landing"], "budget": complete_parts()["budget"],
            "requested_window": {"starts_at": now + Duration::days(50), "ends_at": now + Duration::days(70)}}))
        .await;
    let oid = outside["id"].as_str().unwrap();
    assert_problem(
        w.act(oid, "submit", &w.marketer, json!({})).await,
        422,
        "window_outside_season",
    )
    .await;
    let long = w
        .draft(json!({"creative": complete_parts()["creative"], "landing": complete_parts()["landing"], "budget": complete_parts()["budget"],
            "requested_window": {"starts_at": now + Duration::days(2), "ends_at": now + Duration::days(33)}}))
        .await;
    let lid = long["id"].as_str().unwrap();
    assert_problem(
        w.act(lid, "submit", &w.marketer, json!({})).await,
        422,
        "window_too_long",
    )
    .await;

    // Season no longer accepting.
    let ok = w.draft(complete_parts()).await;
    let okid = ok["id"].as_str().unwrap();
    sqlx::query("UPDATE seasons SET applications_open_at = now() - interval '3 days', applications_close_at = now() - interval '1 day'")
        .execute(&w.app.pool)
        .await
        .unwrap();
    assert_problem(
        w.act(okid, "submit", &w.marketer, json!({})).await,
        422,
        "season_not_accepting",
    )
    .await;

    // Only the creations were recorded: one brand and four drafts.
    assert_eq!(w.events().await, before + 5);
    assert_eq!(
        w.app
            .count("SELECT count(*) FROM applications WHERE status <> 'draft'")
            .await,
        0
    );
}

#[tokio::test]
async fn drafts_validate_present_fields_and_refuse_forbidden_ones() {
    let w = world().await;
    let base = json!({"brand_id": w.brand_id, "season_id": w.season_id, "title": "x"});
    let bad_cases = [
        (
            "creative",
            json!({"headline": "", "card_label": "x", "logo_url": "http://no.example", "image_urls": []}),
        ),
        (
            "landing",
            json!({"app_url": "https://x", "web_url": "https://tmall.com.evil.example/"}),
        ),
        ("budget", json!({"total_fen": 0, "cpm_bid_fen": 10})),
        ("targeting", json!({"regions": ["CN-XX"], "age_min": 16})),
        ("status", json!("approved")),
        ("version", json!(7)),
    ];
    for (field, value) in bad_cases {
        let mut body = base.clone();
        body[field] = value;
        let res = w
            .app
            .post("/v1/applications", Some(&w.marketer.token), body)
            .await;
        let p = assert_problem(res, 422, "validation_failed").await;
        assert!(
            p["errors"][0]["field"].as_str().unwrap().starts_with(field),
            "{p}"
        );
    }
    let mut body = base.clone();
    body["budget"] = json!({"total_fen": 10.5, "cpm_bid_fen": 10});
    assert_problem(
        w.app
            .post("/v1/applications", Some(&w.marketer.token), body)
            .await,
        422,
        "validation_failed",
    )
    .await;
    // Another marketer's brand, an unknown season, staff.
    let other = w.app.marketer().await;
    assert_problem(
        w.app
            .post("/v1/applications", Some(&other.token), base.clone())
            .await,
        422,
        "validation_failed",
    )
    .await;
    let mut body = base.clone();
    body["season_id"] = json!(uuid::Uuid::new_v4());
    assert_problem(
        w.app
            .post("/v1/applications", Some(&w.marketer.token), body)
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        w.app
            .post("/v1/applications", Some(&w.reviewer.token), base)
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(w.app.count("SELECT count(*) FROM applications").await, 0);
}

#[tokio::test]
async fn patch_needs_if_match_and_a_fresh_version_and_an_editable_status() {
    let w = world().await;
    let a = w.draft(json!({})).await;
    let id = a["id"].as_str().unwrap();
    let path = format!("/v1/applications/{id}");
    let patch = |etag: Option<&'static str>, body: Value| {
        let mut r = w
            .app
            .req(Method::PATCH, &path, Some(&w.marketer.token))
            .json(&body);
        if let Some(e) = etag {
            r = r.header("if-match", e);
        }
        r.send()
    };
    assert_problem(
        patch(None, json!({"title": "y"})).await.unwrap(),
        428,
        "precondition_required",
    )
    .await;
    assert_problem(
        patch(Some("\"9\""), json!({"title": "y"})).await.unwrap(),
        412,
        "precondition_failed",
    )
    .await;
    assert_problem(
        patch(Some("\"1\""), json!({"brand_id": w.brand_id}))
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        patch(Some("\"1\""), json!({"status": "approved"}))
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        patch(
            Some("\"1\""),
            json!({"landing": {"app_url": "tmall://x", "web_url": "http://x.tmall.com"}}),
        )
        .await
        .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let title: String = sqlx::query_scalar("SELECT title FROM applications")
        .fetch_one(&w.app.pool)
        .await
        .unwrap();
    assert_eq!(title, "618 serum push");
    assert_eq!(
        w.app
            .count("SELECT max(version)::bigint FROM applications")
            .await,
        1
    );

    // Another brand's marketer cannot see it.
    let other = w.app.marketer().await;
    let res = w
        .app
        .req(Method::PATCH, &path, Some(&other.token))
        .header("if-match", "\"1\"")
        .json(&json!({"title": "z"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 404, "not_found").await;
    assert_problem(w.app.get(&path, &other.token).await, 404, "not_found").await;
    let list: Value = w
        .app
        .get("/v1/applications", &other.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]));

    // Null clears a part; then submitted: no more edits.
    w.ok(id, "withdraw", &w.marketer, json!({})).await;
    assert_problem(
        patch(Some("\"2\""), json!({"title": "y"})).await.unwrap(),
        409,
        "invalid_transition",
    )
    .await;
}

#[tokio::test]
async fn transitions_refused_by_role_status_and_claim() {
    let w = world().await;
    let a = w.draft(complete_parts()).await;
    let id = a["id"].as_str().unwrap();
    let before = w.events().await;
    // Wrong status.
    for action in ["claim", "release", "appeal"] {
        let who = if action == "appeal" {
            &w.marketer
        } else {
            &w.reviewer
        };
        assert_problem(
            w.act(id, action, who, json!({})).await,
            409,
            "invalid_transition",
        )
        .await;
    }
    // Wrong role.
    assert_problem(
        w.act(id, "submit", &w.reviewer, json!({})).await,
        403,
        "forbidden",
    )
    .await;
    w.ok(id, "submit", &w.marketer, json!({})).await;
    assert_problem(
        w.act(id, "claim", &w.marketer, json!({})).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        w.act(id, "decision", &w.reviewer, json!({"decision": "approve"}))
            .await,
        409,
        "invalid_transition",
    )
    .await;
    w.ok(id, "claim", &w.reviewer, json!({})).await;
    assert_problem(
        w.act(id, "claim", &w.reviewer2, json!({})).await,
        409,
        "invalid_transition",
    )
    .await;
    // Only the claimer (or an admin) decides or releases.
    assert_problem(
        w.act(id, "release", &w.reviewer2, json!({})).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        w.act(id, "decision", &w.reviewer2, json!({"decision": "approve"}))
            .await,
        403,
        "forbidden",
    )
    .await;
    // Reject and request_changes need a reason code and a note.
    for body in [
        json!({"decision": "reject"}),
        json!({"decision": "reject", "reason_code": "budget"}),
        json!({"decision": "reject", "reason_code": "nope", "note": "x"}),
        json!({"decision": "request_changes", "note": "x"}),
        json!({"decision": "maybe"}),
    ] {
        assert_problem(
            w.act(id, "decision", &w.reviewer, body).await,
            422,
            "validation_failed",
        )
        .await;
    }
    assert_eq!(w.status(id).await, "in_review");
    assert_eq!(w.events().await, before + 2);
    // An admin may release someone else's claim.
    let a = w.ok(id, "release", &w.admin, json!({})).await;
    assert_eq!(a["status"], "submitted");
    assert!(a["reviewer_id"].is_null());
    let a = w.ok(id, "withdraw", &w.marketer, json!({})).await;
    assert_eq!(a["status"], "withdrawn");
    assert_problem(
        w.act(id, "submit", &w.marketer, json!({})).await,
        409,
        "invalid_transition",
    )
    .await;
}

#[tokio::test]
async fn appeal_only_once() {
    let w = world().await;
    let id = w.in_review().await;
    let reject = json!({"decision": "reject", "reason_code": "other", "note": "No."});
    w.ok(&id, "decision", &w.reviewer, reject.clone()).await;
    w.ok(&id, "appeal", &w.marketer, json!({})).await;
    w.ok(&id, "claim", &w.reviewer2, json!({})).await;
    assert_problem(
        w.act(&id, "decision", &w.reviewer, json!({"decision": "approve"}))
            .await,
        403,
        "forbidden",
    )
    .await;
    w.ok(&id, "decision", &w.reviewer2, reject).await;
    assert_problem(
        w.act(&id, "appeal", &w.marketer, json!({})).await,
        409,
        "invalid_transition",
    )
    .await;
    assert_eq!(w.status(&id).await, "rejected");
}

#[tokio::test]
async fn approval_reuses_the_entry_and_a_suspended_one_blocks() {
    let w = world().await;
    let first = w.approved().await;
    let entry = first["whitelist_entry"]["id"].as_str().unwrap().to_owned();
    let second = w.approved().await;
    assert_eq!(second["whitelist_entry"]["id"], entry.as_str());
    assert_eq!(
        w.app.count("SELECT count(*) FROM whitelist_entries").await,
        1
    );
    assert_eq!(w.app.count("SELECT count(*) FROM campaigns").await, 2);

    let res = w
        .app
        .post(
            &format!("/v1/whitelist/{entry}/suspend"),
            Some(&w.reviewer.token),
            json!({"reason": "complaints"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let id = w.in_review().await;
    let before = w.events().await;
    assert_problem(
        w.act(&id, "decision", &w.reviewer, json!({"decision": "approve"}))
            .await,
        409,
        "whitelist_suspended",
    )
    .await;
    assert_eq!(w.status(&id).await, "in_review");
    assert_eq!(w.app.count("SELECT count(*) FROM campaigns").await, 2);
    assert_eq!(w.events().await, before);

    // The brand lost its verification meanwhile: approval re-checks it.
    w.app
        .post(
            &format!("/v1/whitelist/{entry}/reinstate"),
            Some(&w.reviewer.token),
            json!({"reason": "resolved"}),
        )
        .await;
    let res = w
        .app
        .post(
            &format!("/v1/brands/{}/verification", w.brand_id),
            Some(&w.reviewer.token),
            json!({"decision": "rejected", "note": "licence expired"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_problem(
        w.act(&id, "decision", &w.reviewer, json!({"decision": "approve"}))
            .await,
        422,
        "brand_not_eligible",
    )
    .await;
    assert_eq!(w.status(&id).await, "in_review");
}

#[tokio::test]
async fn ten_concurrent_approvals_give_one_success_and_one_campaign() {
    let w = world().await;
    let id = w.in_review().await;
    let results = futures_util::future::join_all(
        (0..10).map(|_| w.act(&id, "decision", &w.admin, json!({"decision": "approve"}))),
    )
    .await;
    let ok = results
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    let conflicts = results
        .iter()
        .filter(|r| r.status() == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, 9));
    assert_eq!(w.app.count("SELECT count(*) FROM campaigns").await, 1);
    assert_eq!(
        w.app.count("SELECT count(*) FROM whitelist_entries").await,
        1
    );
    assert_eq!(
        w.app
            .count("SELECT count(*) FROM audit_events WHERE action = 'approve'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_retried_approval_with_its_idempotency_key_replays_and_creates_nothing() {
    let w = world().await;
    let id = w.in_review().await;
    let send = || {
        w.app
            .req(
                Method::POST,
                &format!("/v1/applications/{id}/decision"),
                Some(&w.reviewer.token),
            )
            .header("idempotency-key", "approve-once")
            .json(&json!({"decision": "approve"}))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    let events = w.events().await;
    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(w.app.count("SELECT count(*) FROM campaigns").await, 1);
    assert_eq!(w.events().await, events);
    // Without the key, the same request is a second decision, refused by the lifecycle.
    assert_problem(
        w.act(&id, "decision", &w.reviewer, json!({"decision": "approve"}))
            .await,
        409,
        "invalid_transition",
    )
    .await;
}

#[tokio::test]
async fn concurrent_approvals_of_one_brand_share_one_whitelist_entry() {
    let w = world().await;
    let mut ids = Vec::new();
    for _ in 0..8 {
        ids.push(w.in_review().await);
    }
    let results = futures_util::future::join_all(
        ids.iter()
            .map(|id| w.act(id, "decision", &w.reviewer, json!({"decision": "approve"}))),
    )
    .await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, vec![200; 8]);
    let mut entries = Vec::new();
    for r in results {
        let body: Value = r.json().await.unwrap();
        entries.push(body["whitelist_entry"]["id"].as_str().unwrap().to_owned());
    }
    entries.dedup();
    assert_eq!(
        entries.len(),
        1,
        "every approval answers with the one entry"
    );
    assert_eq!(
        w.app.count("SELECT count(*) FROM whitelist_entries").await,
        1
    );
    assert_eq!(w.app.count("SELECT count(*) FROM campaigns").await, 8);
    assert_eq!(
        w.app
            .count("SELECT count(*) FROM audit_events WHERE entity_type = 'whitelist_entry'")
            .await,
        1
    );
}

#[tokio::test]
async fn queue_puts_appeals_first_then_oldest_and_reason_codes_explain() {
    let w = world().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let a = w.draft(complete_parts()).await;
        let id = a["id"].as_str().unwrap().to_owned();
        w.ok(&id, "submit", &w.marketer, json!({})).await;
        ids.push(id);
    }
    let rejected = w.in_review().await;
    w.ok(
        &rejected,
        "decision",
        &w.reviewer,
        json!({"decision": "reject", "reason_code": "other", "note": "No."}),
    )
    .await;
    w.ok(&rejected, "appeal", &w.marketer, json!({})).await;

    assert_problem(
        w.app.get("/v1/review/queue", &w.marketer.token).await,
        403,
        "forbidden",
    )
    .await;
    let mut seen = Vec::new();
    let mut path = "/v1/review/queue?limit=2".to_owned();
    loop {
        let page: Value = w
            .app
            .get(&path, &w.reviewer.token)
            .await
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            assert!(item["waiting_seconds"].as_i64().unwrap() >= 0);
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/review/queue?limit=2&cursor={c}"),
            None => break,
        }
    }
    let mut expected = vec![rejected];
    expected.extend(ids);
    assert_eq!(seen, expected);

    let codes: Value = w
        .app
        .get("/v1/reason-codes", &w.marketer.token)
        .await
        .json()
        .await
        .unwrap();
    let items = codes["items"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    assert!(
        items
            .iter()
            .all(|c| c["title"].is_string() && c["remediation"].is_string())
    );
    assert!(codes["next_cursor"].is_null());
    // Paged like every list: four pages of two give the same six codes, in order.
    let mut paged = Vec::new();
    let mut path = "/v1/reason-codes?limit=2".to_owned();
    loop {
        let page: Value = w
            .app
            .get(&path, &w.marketer.token)
            .await
            .json()
            .await
            .unwrap();
        paged.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/reason-codes?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(&paged, items);
    for bad in ["limit=0", "limit=201", "cursor=nonsense"] {
        assert_problem(
            w.app
                .get(&format!("/v1/reason-codes?{bad}"), &w.marketer.token)
                .await,
            422,
            "validation_failed",
        )
        .await;
    }
    // A cursor of another list is not a position in this one.
    let queue: Value = w
        .app
        .get("/v1/review/queue?limit=1", &w.reviewer.token)
        .await
        .json()
        .await
        .unwrap();
    let foreign = queue["next_cursor"].as_str().unwrap();
    assert_problem(
        w.app
            .get(
                &format!("/v1/reason-codes?cursor={foreign}"),
                &w.marketer.token,
            )
            .await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn the_database_keeps_an_application_complete_past_submit() {
    let w = world().await;
    let id = w.in_review().await;
    for column in [
        "creative",
        "landing",
        "requested_starts_at",
        "budget_total_fen",
    ] {
        let sql = format!("UPDATE applications SET {column} = NULL WHERE id = $1::uuid");
        let err = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&id)
            .execute(&w.app.pool)
            .await
            .expect_err(column);
        let db = err.as_database_error().expect("a database error");
        assert_eq!(db.code().as_deref(), Some("23514"), "{column}: {db}");
    }
    // A draft may lack any part.
    let draft = w.draft(json!({})).await;
    assert!(draft["creative"].is_null());
}
