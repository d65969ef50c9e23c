//! Building the server from settings: the pool, the routes, the middleware, the docs.

use crate::api;
use crate::auth::password::Hasher;
use crate::config::Settings;
use crate::domain::error::Code;
use crate::error::ApiError;
use crate::gate::Gate;
use crate::metrics::Metrics;
use crate::openapi::ApiDoc;
use crate::state::AppState;
use actix_web::dev::{ResourceDef, Server};
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpServer, web};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::SwaggerUi;

/// Connects lazily, so the server starts (and `/readyz` reports) while the database is
/// away; a request waits at most `db_acquire_timeout` for a connection, then gets 503.
///
/// JIT is off for the pool's sessions: PostgreSQL compiles any query whose estimated cost
/// passes `jit_above_cost`, such as the dashboard's aggregates over a season, and at this
/// size the compiling took up to half a second for a query that runs in milliseconds.
pub fn pool(settings: &Settings, url: &str) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url.parse()?;
    let options = options.options([("jit", "off")]);
    Ok(PgPoolOptions::new()
        .max_connections(settings.db_max_connections)
        .min_connections(0)
        .acquire_timeout(settings.db_acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .test_before_acquire(true)
        .connect_lazy_with(options))
}

pub struct Application {
    pub port: u16,
    pub state: AppState,
    server: Server,
}

impl Application {
    /// Binds `settings.bind` (port 0 picks a free port) and builds the server.
    pub async fn build(settings: Settings, pool: PgPool) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let metrics = Arc::new(Metrics::default());
        let gate = Gate::start(pool.clone(), metrics.clone()).await;
        let state = AppState {
            pool,
            hasher: Hasher::new(settings.hash_concurrency).with_metrics(metrics.clone()),
            gate,
            metrics,
            settings: Arc::new(settings),
        };
        let data = web::Data::new(state.clone());
        let workers = state.settings.workers;
        let cors = state.settings.cors_origins.clone();
        let mut server = HttpServer::new(move || {
            let (app, openapi) = App::new()
                .into_utoipa_app()
                .openapi(ApiDoc::openapi())
                .app_data(data.clone())
                .service(api::health::healthz)
                .service(api::health::readyz)
                .service(api::health::metrics)
                .service(scope::scope("/v1").configure(api::configure))
                .split_for_parts();
            let openapi = crate::openapi::finish(openapi);
            let routes = Arc::new(route_table(&openapi));
            data.metrics.routes(served_routes(&openapi));
            app.app_data(web::PayloadConfig::new(api::json::BODY_LIMIT))
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()),
                )
                .app_data(web::QueryConfig::default().error_handler(|e, _| {
                    ApiError::unprocessable(
                        Code::InvalidQuery,
                        format!("The query string is invalid: {e}"),
                    )
                    .into()
                }))
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi))
                .route(
                    "/docs",
                    web::get().to(|| async {
                        actix_web::HttpResponse::PermanentRedirect()
                            .insert_header((header::LOCATION, "/docs/"))
                            .finish()
                    }),
                )
                .default_service(web::to(move |req: HttpRequest| {
                    let routes = routes.clone();
                    async move { unmatched(&routes, &req) }
                }))
                .wrap(from_fn(crate::idempotency::middleware))
                .wrap(from_fn(crate::observe::middleware))
                .wrap(cors_layer(&cors))
        })
        .listen(listener)?
        .shutdown_timeout(30);
        if workers > 0 {
            server = server.workers(workers);
        }
        Ok(Self {
            port,
            state,
            server: server.run(),
        })
    }

    /// Runs until the server stops (SIGTERM/SIGINT: stop accepting, finish in-flight
    /// requests, exit).
    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn cors_layer(origins: &[String]) -> actix_cors::Cors {
    if origins.is_empty() {
        // No CORS headers at all: browsers on other origins are refused.
        return actix_cors::Cors::default();
    }
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::ACCEPT,
        ])
        .allowed_header("idempotency-key")
        .expose_headers([header::ETAG, header::RETRY_AFTER, header::LOCATION])
        .max_age(600);
    for o in origins {
        cors = cors.allowed_origin(o);
    }
    cors
}

/// Each documented path with the methods it answers, for 405 with `Allow`.
fn route_table(openapi: &utoipa::openapi::OpenApi) -> Vec<(ResourceDef, String)> {
    openapi
        .paths
        .paths
        .iter()
        .map(|(path, item)| {
            let json = serde_json::to_value(item).unwrap_or_default();
            let methods: Vec<String> = ["get", "post", "put", "patch", "delete"]
                .iter()
                .filter(|m| json.get(**m).is_some())
                .map(|m| m.to_ascii_uppercase())
                .collect();
            (ResourceDef::new(path.as_str()), methods.join(", "))
        })
        .collect()
}

/// Each documented (method, path), for the metrics' per-route handles.
fn served_routes(openapi: &utoipa::openapi::OpenApi) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    for (path, item) in &openapi.paths.paths {
        let json = serde_json::to_value(item).unwrap_or_default();
        for (key, method) in [
            ("get", "GET"),
            ("post", "POST"),
            ("put", "PUT"),
            ("patch", "PATCH"),
            ("delete", "DELETE"),
        ] {
            if json.get(key).is_some() {
                out.push((method, path.as_str()));
            }
        }
    }
    out
}

fn unmatched(
    routes: &[(ResourceDef, String)],
    req: &HttpRequest,
) -> actix_web::Result<actix_web::HttpResponse> {
    let path = req.path();
    match routes.iter().find(|(def, _)| def.is_match(path)) {
        Some((_, allow)) => Err(ApiError::method_not_allowed(allow.as_str()).into()),
        None => Err(ApiError::not_found().into()),
    }
}
