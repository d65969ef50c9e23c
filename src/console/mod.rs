//! The review console: a single-page app (sources in `web/`, built output in `web/dist/`)
//! embedded in the binary and served under `/console/`. It talks only to the public
//! `/v1` API, so it adds no endpoint of its own.
//!
//! - `/console/assets/*`: Vite's content-hashed files, cached for a year (`immutable`);
//!   an unknown asset is a 404, never the page.
//! - `/console/` and every other path under it: `index.html`, revalidated on each load,
//!   so client-side routes such as `/console/applications/{id}` survive a reload.
//! - Every answer carries a strict Content-Security-Policy (no inline script or style),
//!   `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.

use crate::error::ApiError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

#[derive(rust_embed::Embed)]
#[folder = "web/dist/"]
struct Dist;

/// Images may come from the brands' https CDNs (the ad card preview); everything else
/// only from this origin.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' https: data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
    base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/console",
        web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/console/"))
                .finish()
        }),
    )
    .route("/console/assets/{file:.*}", web::get().to(asset))
    .route("/console/{route:.*}", web::get().to(page));
}

async fn asset(req: HttpRequest) -> actix_web::Result<HttpResponse> {
    let file = req.match_info().query("file");
    let Some(found) = Dist::get(&format!("assets/{file}")) else {
        return Err(ApiError::not_found().into());
    };
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, content_type(file)))
        .insert_header((header::CACHE_CONTROL, IMMUTABLE));
    secure(&mut res);
    Ok(res.body(found.data.into_owned()))
}

async fn page() -> actix_web::Result<HttpResponse> {
    let Some(index) = Dist::get("index.html") else {
        return Err(ApiError::not_found().into());
    };
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    secure(&mut res);
    Ok(res.body(index.data.into_owned()))
}

fn secure(res: &mut actix_web::HttpResponseBuilder) {
    res.insert_header((
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    ))
    .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
    .insert_header((header::REFERRER_POLICY, "no-referrer"))
    .insert_header((header::X_FRAME_OPTIONS, "DENY"));
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_page_loads_only_hashed_assets_and_no_inline_script() {
        let index = Dist::get("index.html").expect("web/dist/index.html is committed");
        let html = std::str::from_utf8(&index.data).expect("utf-8");
        assert!(html.contains("/console/assets/"), "{html}");
        for tag in html.split("<script").skip(1) {
            assert!(
                tag.contains("src=\"/console/assets/"),
                "inline script: {tag}"
            );
        }
        assert!(!html.contains("<style"), "inline style");
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(
            content_type("index-abc.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("index-abc.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("x"), "application/octet-stream");
    }
}
