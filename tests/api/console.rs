//! The review console: the page, its deep links and hashed assets, with their headers.

use crate::helpers::{assert_problem, spawn};
use reqwest::Method;

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn assert_secure(res: &reqwest::Response) {
    let csp = header(res, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(header(res, "x-content-type-options"), "nosniff");
    assert_eq!(header(res, "referrer-policy"), "no-referrer");
}

#[tokio::test]
async fn the_page_and_every_client_route_get_the_same_uncached_page() {
    let app = spawn().await;
    let root = app
        .req(Method::GET, "/console/", None)
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), 200);
    assert_secure(&root);
    assert_eq!(header(&root, "cache-control"), "no-cache");
    assert!(header(&root, "content-type").starts_with("text/html"));
    let page = root.text().await.unwrap();
    assert!(page.contains("/console/assets/"), "{page}");

    for deep in [
        "/console/queue",
        "/console/applications/5b0e7a4e-8f0e-4d4e-9a57-0b5f5e0f3a11",
        "/console/seasons/618-2027/edit",
    ] {
        let res = app.req(Method::GET, deep, None).send().await.unwrap();
        assert_eq!(res.status(), 200, "{deep}");
        assert_secure(&res);
        assert_eq!(header(&res, "cache-control"), "no-cache");
        assert_eq!(res.text().await.unwrap(), page, "{deep}");
    }

    let bare = app.req(Method::GET, "/console", None).send().await.unwrap();
    assert_eq!(bare.status(), 308);
    assert_eq!(header(&bare, "location"), "/console/");
}

#[tokio::test]
async fn hashed_assets_are_cached_for_good_and_unknown_ones_are_404() {
    let app = spawn().await;
    let page = app
        .req(Method::GET, "/console/", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let script = page
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the page loads a script");
    assert!(script.starts_with("/console/assets/"), "{script}");

    let res = app.req(Method::GET, script, None).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_secure(&res);
    assert_eq!(
        header(&res, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert!(header(&res, "content-type").starts_with("text/javascript"));

    let missing = app
        .req(Method::GET, "/console/assets/index-00000000.js", None)
        .send()
        .await
        .unwrap();
    assert_problem(missing, 404, "not_found").await;
}

#[tokio::test]
async fn the_console_is_not_part_of_the_api() {
    let app = spawn().await;
    let doc: serde_json::Value = app
        .req(Method::GET, "/openapi.json", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.keys().all(|p| !p.starts_with("/console")));
    // A write to the console is not a route: 404 (it never reaches the page).
    let res = app
        .req(Method::POST, "/console/queue", None)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
