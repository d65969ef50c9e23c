//! What an operator sees: request ids, /metrics, the CLI's help.

use crate::helpers::{TestApp, assert_problem, metric, spawn, spawn_with};
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn a_request_id_is_echoed_or_made_and_named_in_problems() {
    let app = spawn().await;
    let res = app
        .req(Method::GET, "/healthz", None)
        .header("x-request-id", "edge-7f3a:1.2_b")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "edge-7f3a:1.2_b");

    // Too long, or with characters a log line should not carry: replaced by one of ours.
    for bad in ["x".repeat(65), "a b".into(), "<script>".into(), "".into()] {
        let res = app
            .req(Method::GET, "/healthz", None)
            .header("x-request-id", bad.as_str())
            .send()
            .await
            .unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, bad);
        assert!(!id.is_empty() && id.len() <= 64, "{id}");
    }
    let a = app.req(Method::GET, "/healthz", None).send().await.unwrap();
    let b = app.req(Method::GET, "/healthz", None).send().await.unwrap();
    assert_ne!(a.headers()["x-request-id"], b.headers()["x-request-id"]);

    // A problem names the request it answers.
    let res = app
        .req(Method::GET, "/v1/me", None)
        .header("x-request-id", "trace-401")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-401");
    let body: Value = assert_problem(res, 401, "unauthorized").await;
    assert_eq!(body["instance"], "trace-401");
    let res = app
        .req(Method::GET, "/v1/nothing-here", None)
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = assert_problem(res, 404, "not_found").await;
    assert_eq!(body["instance"], id.as_str());
}

#[tokio::test]
async fn metrics_name_routes_by_template_with_latency_and_process_figures() {
    let app = spawn().await;
    let id = uuid::Uuid::new_v4();
    for _ in 0..3 {
        app.req(Method::GET, &format!("/v1/gate/campaigns/{id}"), None)
            .send()
            .await
            .unwrap();
    }
    app.req(Method::GET, &format!("/v1/no/such/{id}"), None)
        .send()
        .await
        .unwrap();
    let res = app.req(Method::GET, "/metrics", None).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    let value = |series: &str| metric(&text, series);
    let gate = r#"route="/v1/gate/campaigns/{id}""#;
    assert_eq!(
        value(&format!(
            r#"http_requests_total{{method="GET",{gate},status="401"}}"#
        )),
        3.0
    );
    assert_eq!(
        value(&format!(
            r#"http_request_duration_seconds_count{{method="GET",{gate}}}"#
        )),
        3.0
    );
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
    assert!(text.contains("http_request_duration_seconds_bucket{"));
    // An unknown path is one label, whatever the path.
    assert_eq!(
        value(r#"http_requests_total{method="GET",route="unmatched",status="404"}"#),
        1.0
    );
    assert!(!text.contains(&id.to_string()), "no raw path in a label");
    for series in [
        "gate_checks_total",
        r#"gate_check_reasons_total{reason="not_found"}"#,
        "gate_cache_reloads_total",
        "gate_state_age_seconds",
        "db_pool_connections_in_use",
        "db_pool_connections_idle",
        "db_pool_waiting",
        "db_pool_waits_total",
        "db_pool_wait_seconds_total",
        "password_hashes_waiting",
        "password_hashes_running",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
    ] {
        value(series);
    }
    assert!(value("gate_cache_reloads_total") >= 1.0);
    assert!(value("process_resident_memory_bytes") > 1e6);
    assert!(text.contains(&format!(
        "moments_gate_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(text.trim_end().ends_with("# EOF"));
    assert_eq!(text.matches("# EOF").count(), 1);
}

/// Polls `name` in `/metrics` until it reads `want`, for up to `within`.
async fn gauge_reaches(app: &TestApp, name: &str, want: f64, within: std::time::Duration) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let got = app.metric(name).await;
        if got == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{name} is {got}, not {want}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// With the pool's only connection held, a request waits for it and `/metrics` says so;
/// once it is handed over nothing waits, and the wait is counted with its time. A request
/// cut off by its deadline while it waits stops counting at once.
#[tokio::test]
async fn requests_waiting_for_a_database_connection_are_counted() {
    use std::time::Duration;
    let app = spawn_with(|s| {
        s.db_max_connections = 1;
        s.db_acquire_timeout = Duration::from_secs(10);
    })
    .await;
    let admin = app.admin().await;
    assert_eq!(app.metric("db_pool_waiting").await, 0.0);
    let waits_before = app.metric("db_pool_waits_total").await;
    // The test's pool is the server's: holding its only connection exhausts it.
    let held = app.pool.acquire().await.unwrap();
    let asked = tokio::spawn(
        app.req(Method::GET, "/v1/seasons", Some(&admin.token))
            .send(),
    );
    gauge_reaches(&app, "db_pool_waiting", 1.0, Duration::from_secs(2)).await;
    assert_eq!(app.metric("db_pool_connections_in_use").await, 1.0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(held);
    assert_eq!(asked.await.unwrap().unwrap().status(), StatusCode::OK);
    gauge_reaches(&app, "db_pool_waiting", 0.0, Duration::from_secs(2)).await;
    assert!(app.metric("db_pool_waits_total").await > waits_before);
    assert!(app.metric("db_pool_wait_seconds_total").await >= 0.2);

    // Cut off by the request deadline while waiting: the wait ends with it.
    let app = spawn_with(|s| {
        s.db_max_connections = 1;
        s.db_acquire_timeout = Duration::from_secs(10);
        s.request_timeout = Duration::from_millis(500);
    })
    .await;
    let admin = app.admin().await;
    let held = app.pool.acquire().await.unwrap();
    let res = app.get("/v1/seasons", &admin.token).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    gauge_reaches(&app, "db_pool_waiting", 0.0, Duration::from_secs(1)).await;
    assert!(app.metric("db_pool_waits_total").await >= 1.0);
    drop(held);
    let res = app.get("/v1/seasons", &admin.token).await;
    assert_eq!(res.status(), StatusCode::OK);
}

fn run(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_moments-gate"))
        .args(args)
        // Were a subcommand to run instead of printing help, it would fail at once.
        .env("DATABASE_URL", "postgres://nobody:x@127.0.0.1:1/none")
        .env("DB_ACQUIRE_TIMEOUT_SECONDS", "1")
        .output()
        .expect("the binary runs")
}

#[test]
fn every_subcommand_has_help_and_version_and_lists_the_environment() {
    for cmd in [
        &[][..],
        &["serve"],
        &["migrate"],
        &["create-admin"],
        &["seed-demo"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = run(&args);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(help.contains("Usage: moments-gate"), "{args:?}: {help}");
        // Every variable the settings read, and those read elsewhere.
        let config = include_str!("../../src/config.rs");
        let read: Vec<&str> = config
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|s| s.len() > 3 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .collect();
        assert!(
            read.contains(&"TRUSTED_PROXIES") && read.len() > 20,
            "{read:?}"
        );
        for var in read.into_iter().chain([
            "ADMIN_PASSWORD",
            "LOG_FORMAT",
            "RUST_LOG",
            "PGBOOT_DIR",
            "PG_BIN",
        ]) {
            assert!(help.contains(var), "{args:?} help lists {var}");
        }
        let mut args = cmd.to_vec();
        args.push("--version");
        let out = run(&args);
        assert!(out.status.success(), "{args:?}");
        let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(version.starts_with("moments-gate"), "{version}");
        assert!(
            version.ends_with(&format!(" {}", env!("CARGO_PKG_VERSION"))),
            "{version}"
        );
    }
    let out = run(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));
}
