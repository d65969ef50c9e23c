//! Campaigns: derived state, visibility, pause and resume.

use crate::fixtures::{World, audit_count, brand, campaign, season, whitelist_entry, world};
use crate::helpers::{TestApp, all_pages, assert_problem, spawn};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

async fn paused_of(app: &TestApp, id: Uuid) -> bool {
    sqlx::query_scalar("SELECT paused FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn ids(body: &Value) -> Vec<String> {
    let mut v: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

fn sorted(mut v: Vec<Uuid>) -> Vec<String> {
    v.sort();
    let mut s: Vec<String> = v.iter().map(Uuid::to_string).collect();
    s.sort();
    s
}

/// A live campaign of the world's first brand.
async fn live(app: &TestApp, w: &World) -> Uuid {
    let now = Utc::now();
    campaign(
        app,
        w.brand,
        w.season,
        w.owner.id,
        now - Duration::days(1),
        now + Duration::days(5),
        false,
    )
    .await
}

/// POST /v1/campaigns/{id}/{action} (pause or resume) as the holder of `token`.
async fn act(app: &TestApp, id: Uuid, action: &str, token: &str) -> reqwest::Response {
    app.post(
        &format!("/v1/campaigns/{id}/{action}"),
        Some(token),
        json!({}),
    )
    .await
}

async fn state_of(app: &TestApp, id: Uuid, token: &str) -> String {
    let res = app.get(&format!("/v1/campaigns/{id}"), token).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn state_is_derived_with_precedence_and_filters_in_lists() {
    let app = spawn().await;
    let w = world(&app).await;
    let now = Utc::now();
    let (d, h) = (Duration::days(1), Duration::hours(1));
    let live = live(&app, &w).await;
    // A campaign of one of the owner's brands in the world's season.
    let make = |brand, starts_at, ends_at, paused| {
        campaign(
            &app, brand, w.season, w.owner.id, starts_at, ends_at, paused,
        )
    };
    let scheduled = make(w.brand, now + d, now + d * 3, false).await;
    let paused = make(w.brand, now - d, now + d, true).await;
    let paused_scheduled = make(w.brand, now + d, now + d * 2, true).await;
    let ended = make(w.brand, now - d * 2, now - h, true).await;
    // A brand whose entry is suspended, and one with no entry at all: halted, even when
    // paused or not yet started.
    let suspended_brand = brand(&app, &w.owner, "Suspended").await;
    whitelist_entry(&app, suspended_brand, w.season, "suspended", w.admin.id).await;
    let halted1 = make(suspended_brand, now - d, now + d, true).await;
    let bare_brand = brand(&app, &w.owner, "Bare").await;
    let halted2 = make(bare_brand, now + d, now + d * 2, false).await;
    let revoked_brand = brand(&app, &w.owner, "Revoked").await;
    whitelist_entry(&app, revoked_brand, w.season, "revoked", w.admin.id).await;
    let halted3 = make(revoked_brand, now - d, now + d, false).await;
    let ended_halted = make(bare_brand, now - d * 2, now - h, false).await;

    for (id, want) in [
        (live, "live"),
        (scheduled, "scheduled"),
        (paused, "paused"),
        (paused_scheduled, "paused"),
        (ended, "ended"),
        (halted1, "halted"),
        (halted2, "halted"),
        (halted3, "halted"),
        (ended_halted, "ended"),
    ] {
        assert_eq!(state_of(&app, id, &w.owner.token).await, want, "{want}");
    }
    let res = app
        .get(&format!("/v1/campaigns/{live}"), &w.owner.token)
        .await;
    let c: Value = res.json().await.unwrap();
    assert_eq!(c["application_id"].as_str().unwrap().len(), 36);
    assert_eq!(c["brand_id"], w.brand.to_string());
    assert_eq!(c["season_id"], w.season.to_string());
    assert_eq!(c["title"], "Spring sale");
    assert_eq!(c["paused"], false);
    assert!(c["starts_at"].is_string() && c["ends_at"].is_string() && c["created_at"].is_string());

    for (state, want) in [
        ("live", vec![live]),
        ("scheduled", vec![scheduled]),
        ("paused", vec![paused, paused_scheduled]),
        ("ended", vec![ended, ended_halted]),
        ("halted", vec![halted1, halted2, halted3]),
    ] {
        let res = app
            .get(&format!("/v1/campaigns?state={state}"), &w.owner.token)
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(ids(&res.json().await.unwrap()), sorted(want), "{state}");
    }
    let res = app.get("/v1/campaigns?state=running", &w.owner.token).await;
    assert_problem(res, 422, "invalid_query").await;
}

#[tokio::test]
async fn whitelist_changes_halt_and_release_campaigns() {
    let app = spawn().await;
    let w = world(&app).await;
    let c = live(&app, &w).await;
    assert_eq!(state_of(&app, c, &w.owner.token).await, "live");
    let res = app
        .post(
            &format!("/v1/whitelist/{}/suspend", w.entry),
            Some(&w.reviewer.token),
            json!({"reason": "check"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(state_of(&app, c, &w.owner.token).await, "halted");
    let res = app
        .get(
            &format!("/v1/campaigns?state=halted&brand_id={}", w.brand),
            &w.owner.token,
        )
        .await;
    assert_eq!(ids(&res.json().await.unwrap()), sorted(vec![c]));
    app.post(
        &format!("/v1/whitelist/{}/reinstate", w.entry),
        Some(&w.reviewer.token),
        json!({"reason": "ok"}),
    )
    .await;
    assert_eq!(state_of(&app, c, &w.owner.token).await, "live");
}

#[tokio::test]
async fn campaigns_of_other_brands_are_invisible_to_marketers() {
    let app = spawn().await;
    let w = world(&app).await;
    let now = Utc::now();
    let mine = live(&app, &w).await;
    let theirs = campaign(
        &app,
        w.other_brand,
        w.season,
        w.stranger.id,
        now - Duration::days(1),
        now + Duration::days(1),
        false,
    )
    .await;

    let res = app.get("/v1/campaigns", &w.owner.token).await;
    assert_eq!(ids(&res.json().await.unwrap()), sorted(vec![mine]));
    let res = app
        .get(
            &format!("/v1/campaigns?brand_id={}", w.other_brand),
            &w.owner.token,
        )
        .await;
    assert!(ids(&res.json().await.unwrap()).is_empty());
    let res = app
        .get(&format!("/v1/campaigns/{theirs}"), &w.owner.token)
        .await;
    assert_problem(res, 404, "not_found").await;
    for action in ["pause", "resume"] {
        let res = act(&app, theirs, action, &w.owner.token).await;
        assert_problem(res, 404, "not_found").await;
    }
    assert!(!paused_of(&app, theirs).await);
    assert_eq!(audit_count(&app, theirs).await, 0);

    // Staff see all; filters and paging apply.
    let res = app.get("/v1/campaigns", &w.reviewer.token).await;
    assert_eq!(ids(&res.json().await.unwrap()), sorted(vec![mine, theirs]));
    let res = app
        .get(
            &format!("/v1/campaigns?brand_id={}", w.other_brand),
            &w.admin.token,
        )
        .await;
    assert_eq!(ids(&res.json().await.unwrap()), sorted(vec![theirs]));
    let res = app
        .get(
            &format!("/v1/campaigns?season_id={}", Uuid::new_v4()),
            &w.admin.token,
        )
        .await;
    assert!(ids(&res.json().await.unwrap()).is_empty());
    let page1: Value = app
        .get("/v1/campaigns?limit=1", &w.admin.token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page1["items"][0]["id"], theirs.to_string()); // newest first
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: Value = app
        .get(
            &format!("/v1/campaigns?limit=1&cursor={cursor}"),
            &w.admin.token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page2["items"][0]["id"], mine.to_string());
    assert!(page2["next_cursor"].is_null());

    let res = app
        .get(&format!("/v1/campaigns/{}", Uuid::new_v4()), &w.admin.token)
        .await;
    assert_problem(res, 404, "not_found").await;
    let res = app.get("/v1/campaigns/nope", &w.admin.token).await;
    assert_problem(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_member_pauses_and_resumes() {
    let app = spawn().await;
    let w = world(&app).await;
    let c = live(&app, &w).await;

    let res = act(&app, c, "pause", &w.owner.token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["paused"], true);
    assert_eq!(body["state"], "paused");
    let ev: (String, String, Option<String>, Option<String>, Option<Uuid>) = sqlx::query_as(
        "SELECT entity_type, action, from_status, to_status, actor_id FROM audit_events \
         WHERE entity_id = $1",
    )
    .bind(c)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        ev,
        (
            "campaign".into(),
            "pause".into(),
            Some("running".into()),
            Some("paused".into()),
            Some(w.owner.id)
        )
    );

    let res = act(&app, c, "pause", &w.owner.token).await;
    assert_problem(res, 409, "invalid_transition").await;
    assert!(paused_of(&app, c).await);
    assert_eq!(audit_count(&app, c).await, 1);

    let res = act(&app, c, "resume", &w.owner.token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["paused"], false);
    assert_eq!(body["state"], "live");
    let last: (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT from_status, to_status FROM audit_events WHERE entity_id = $1 AND action = 'resume'",
    )
    .bind(c)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(last, (Some("paused".into()), Some("running".into())));

    let res = act(&app, c, "resume", &w.owner.token).await;
    assert_problem(res, 409, "invalid_transition").await;
    assert!(!paused_of(&app, c).await);
    assert_eq!(audit_count(&app, c).await, 2);
}

#[tokio::test]
async fn reviewers_pause_but_only_members_and_admins_resume() {
    let app = spawn().await;
    let w = world(&app).await;
    let c = live(&app, &w).await;

    let res = act(&app, c, "pause", &w.reviewer.token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = act(&app, c, "resume", &w.reviewer.token).await;
    assert_problem(res, 403, "forbidden").await;
    assert!(paused_of(&app, c).await);
    assert_eq!(audit_count(&app, c).await, 1);
    // Another brand's marketer: not found either way.
    let res = act(&app, c, "resume", &w.stranger.token).await;
    assert_problem(res, 404, "not_found").await;
    let res = act(&app, c, "resume", &w.admin.token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!paused_of(&app, c).await);
    let res = act(&app, c, "pause", &w.admin.token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(audit_count(&app, c).await, 3);

    let res = act(&app, Uuid::new_v4(), "pause", &w.admin.token).await;
    assert_problem(res, 404, "not_found").await;
    let res = act(&app, Uuid::new_v4(), "resume", &w.reviewer.token).await;
    assert_problem(res, 404, "not_found").await;
    let res = app
        .post(&format!("/v1/campaigns/{c}/pause"), None, json!({}))
        .await;
    assert_problem(res, 401, "unauthorized").await;
}

#[tokio::test]
async fn an_ended_campaign_cannot_be_paused_or_resumed() {
    let app = spawn().await;
    let w = world(&app).await;
    let now = Utc::now();
    let running = campaign(
        &app,
        w.brand,
        w.season,
        w.owner.id,
        now - Duration::days(2),
        now - Duration::hours(1),
        false,
    )
    .await;
    let paused = campaign(
        &app,
        w.brand,
        w.season,
        w.owner.id,
        now - Duration::days(2),
        now - Duration::hours(1),
        true,
    )
    .await;
    let res = act(&app, running, "pause", &w.owner.token).await;
    assert_problem(res, 409, "invalid_transition").await;
    let res = act(&app, paused, "resume", &w.owner.token).await;
    assert_problem(res, 409, "invalid_transition").await;
    assert!(!paused_of(&app, running).await);
    assert!(paused_of(&app, paused).await);
    assert_eq!(
        audit_count(&app, running).await + audit_count(&app, paused).await,
        0
    );
}

#[tokio::test]
async fn a_halted_campaign_can_still_be_paused() {
    let app = spawn().await;
    let w = world(&app).await;
    let c = live(&app, &w).await;
    sqlx::query("UPDATE whitelist_entries SET status = 'suspended' WHERE id = $1")
        .bind(w.entry)
        .execute(&app.pool)
        .await
        .unwrap();
    let res = act(&app, c, "pause", &w.owner.token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["paused"].as_bool(), body["state"].as_str()),
        (Some(true), Some("halted"))
    );
}

/// `campaigns.whitelisted` (what `halted` is read from) is kept by the database whoever
/// writes: an entry added after the campaign, a status change, a change of the campaign's
/// brand, and a hand-written value are all set right.
#[tokio::test]
async fn the_whitelisted_flag_is_kept_by_the_database() {
    let app = spawn().await;
    let w = world(&app).await;
    let now = Utc::now();
    let d = Duration::days(1);
    let flag = |id: Uuid| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, bool>("SELECT whitelisted FROM campaigns WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let late = brand(&app, &w.owner, "Late").await;
    let c = campaign(&app, late, w.season, w.owner.id, now - d, now + d, false).await;
    assert!(!flag(c).await, "no entry yet");
    let entry = whitelist_entry(&app, late, w.season, "active", w.admin.id).await;
    assert!(flag(c).await, "entry added after the campaign");
    for (status, want) in [("suspended", false), ("active", true), ("revoked", false)] {
        sqlx::query("UPDATE whitelist_entries SET status = $2 WHERE id = $1")
            .bind(entry)
            .bind(status)
            .execute(&app.pool)
            .await
            .unwrap();
        assert_eq!(flag(c).await, want, "{status}");
    }
    // Moved to the world's brand (whose entry is active), then set by hand.
    sqlx::query("UPDATE campaigns SET brand_id = $2 WHERE id = $1")
        .bind(c)
        .bind(w.brand)
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(flag(c).await, "moved to a whitelisted brand");
    sqlx::query("UPDATE campaigns SET whitelisted = false WHERE id = $1")
        .bind(c)
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(flag(c).await, "a hand-written value is corrected");
    assert_eq!(state_of(&app, c, &w.owner.token).await, "live");
}

/// A state filter reads the page's ids first (from an index where one covers the state),
/// then their rows: each state's campaigns in page order, each once, across cursors, with a
/// season filter, and within a marketer's scope.
#[tokio::test]
async fn a_state_filter_pages_in_order_across_cursors() {
    let app = spawn().await;
    let w = world(&app).await;
    let now = Utc::now();
    let (day, week) = (Duration::days(1), Duration::days(7));
    let later = season(&app, "1111-2027").await;
    whitelist_entry(&app, w.brand, later, "active", w.reviewer.id).await;
    // Interleaved in creation order, over two brands and two seasons: live, scheduled,
    // paused and ended ones.
    for i in 0..4 {
        let (brand, by) = if i % 2 == 0 {
            (w.brand, w.owner.id)
        } else {
            (w.other_brand, w.stranger.id)
        };
        let season_of = if i == 2 { later } else { w.season };
        campaign(&app, brand, season_of, by, now - day, now + week, false).await;
        campaign(&app, brand, season_of, by, now + day, now + week, false).await;
        campaign(&app, brand, season_of, by, now - week, now - day, false).await;
        if i % 2 == 0 {
            campaign(&app, brand, season_of, by, now - day, now + week, true).await;
        }
    }
    // The other brand's entry suspended: its running campaigns are halted.
    let res = app
        .post(
            &format!("/v1/whitelist/{}/suspend", w.other_entry),
            Some(&w.reviewer.token),
            json!({"reason": "check"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let res = app.get("/v1/campaigns?limit=100", &w.admin.token).await;
    let all: Value = res.json().await.unwrap();
    let all = all["items"].as_array().unwrap().clone();
    assert_eq!(all.len(), 14);
    let want = |state: &str, keep: &dyn Fn(&Value) -> bool| -> Vec<String> {
        all.iter()
            .filter(|c| c["state"] == state && keep(c))
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (acme, other, first) = (
        w.brand.to_string(),
        w.other_brand.to_string(),
        w.season.to_string(),
    );
    for (state, n) in [
        ("live", 2),
        ("scheduled", 2),
        ("paused", 2),
        ("ended", 4),
        ("halted", 4),
    ] {
        assert_eq!(want(state, &|_| true).len(), n, "{state}");
        let cases: [(&str, String, Vec<String>); 4] = [
            (
                &w.admin.token,
                format!("state={state}"),
                want(state, &|_| true),
            ),
            (
                &w.admin.token,
                format!("state={state}&season_id={}", w.season),
                want(state, &|c| c["season_id"] == first),
            ),
            (
                &w.owner.token,
                format!("state={state}"),
                want(state, &|c| c["brand_id"] == acme),
            ),
            (
                &w.stranger.token,
                format!("state={state}"),
                want(state, &|c| c["brand_id"] == other),
            ),
        ];
        for (token, query, expected) in cases {
            for limit in [1, 50] {
                let got = all_pages(&app, "/v1/campaigns", token, &query, limit).await;
                assert_eq!(got, expected, "{query}, pages of {limit}");
            }
        }
    }
    // The filters do narrow: the season filter and each scope leave some out.
    assert!(want("live", &|c| c["season_id"] == first).len() < 2);
    assert!(!want("halted", &|c| c["brand_id"] == other).is_empty());
    assert!(want("halted", &|c| c["brand_id"] == acme).is_empty());
}
