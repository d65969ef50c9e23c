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
use actix_web::ResponseError;
use actix_web::body::BoxBody;
use actix_web::body::MessageBody;
use actix_web::dev::{ResourceDef, Server, ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;

use actix_web::http::header;
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpRequest, HttpServer, web};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::SwaggerUi;

/// Connects lazily, so the server starts (and `/readyz` reports) while the database is
/// away; a request waits at most `db_acquire_timeout` for a connection (which bounds
/// connecting too), then gets 503. Each connection is told to give up on a statement
/// after `db_statement_timeout`, on a lock after `db_lock_timeout`, and to end a
/// transaction left idle for 10 s; the server probes an idle connection with TCP
/// keepalives (10 s idle, then every 5 s, dropped after 3 misses), so a vanished client
/// does not hold locks. Our own side of a silent connection is bounded by the request
/// deadline (`request_timeout`) and the gate's heartbeat.
pub fn pool(settings: &Settings, url: &str) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url.parse()?;
    let options = options.options([
        (
            "statement_timeout",
            format!("{}ms", settings.db_statement_timeout.as_millis()),
        ),
        (
            "lock_timeout",
            format!("{}ms", settings.db_lock_timeout.as_millis()),
        ),
        ("idle_in_transaction_session_timeout", "10s".to_owned()),
        ("tcp_keepalives_idle", "10".to_owned()),
        ("tcp_keepalives_interval", "5".to_owned()),
        ("tcp_keepalives_count", "3".to_owned()),
        // JIT off: PostgreSQL compiles any query whose estimated cost passes
        // `jit_above_cost`, such as the dashboard's aggregates over a season, and at scale
        // the compiling took up to half a second for a query that runs in milliseconds.
        ("jit", "off".to_owned()),
    ]);
    Ok(PgPoolOptions::new()
        .max_connections(settings.db_max_connections)
        .min_connections(0)
        .acquire_timeout(settings.db_acquire_timeout)
        .idle_timeout(Duration::from_secs(300))
        .test_before_acquire(true)
        .connect_lazy_with(options))
}

/// For migrations: no statement or lock timeout, since a migration may rightly take long
/// and instances starting together wait for each other's migration lock.
pub fn migration_pool(url: &str) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(2)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy(url)?)
}

/// Where the instance is in its life: once draining (SIGTERM received), `/readyz` says
/// 503 and every answer closes its connection, so clients and balancers move away
/// before the listener closes.
#[derive(Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

pub struct Application {
    pub port: u16,
    pub state: AppState,
    pub lifecycle: web::Data<Lifecycle>,
    server: Server,
}

impl Application {
    /// Binds `settings.bind` (port 0 picks a free port) and builds the server.
    pub async fn build(settings: Settings, pool: PgPool) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let metrics = Arc::new(Metrics::default());
        let gate = Gate::start(&pool, metrics.clone(), settings.gate_max_staleness).await;
        crate::housekeeping::start(pool.clone(), settings.housekeeping_every);
        let limits = crate::api::limits::Limits::new(
            settings.anon_per_minute,
            settings.password_changes_per_hour,
        );
        limits.spawn_shrinking();
        let state = AppState {
            limits,
            pool: crate::db::Db::new(pool),
            hasher: Hasher::with_queue(settings.hash_concurrency, settings.hash_queue)
                .with_metrics(metrics.clone()),
            gate,
            metrics,
            settings: Arc::new(settings),
        };
        let data = web::Data::new(state.clone());
        let lifecycle = web::Data::new(Lifecycle::default());
        let life = lifecycle.clone();
        let workers = state.settings.workers;
        let cors = state.settings.cors_origins.clone();
        let mut server = HttpServer::new(move || {
            let (app, openapi) = App::new()
                .into_utoipa_app()
                .openapi(ApiDoc::openapi())
                .app_data(data.clone())
                .app_data(life.clone())
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
                .configure(crate::console::configure)
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
                // The deadline covers the idempotency layer too: its claim wait
                // (`idempotency_wait`, 2 s) is shorter than the deadline (2.5 s).
                .wrap(from_fn(crate::idempotency::middleware))
                .wrap(from_fn(deadline))
                .wrap(from_fn(api::screen::query))
                .wrap(from_fn(guard))
                .wrap(from_fn(crate::observe::middleware))
                .wrap(cors_layer(&cors))
        })
        .listen(listener)?
        // SIGTERM/SIGINT are handled in `run`, which drains before stopping.
        .disable_signals()
        .shutdown_timeout(state.settings.shutdown_grace.as_secs().max(1));
        if workers > 0 {
            server = server.workers(workers);
        }
        Ok(Self {
            port,
            state,
            lifecycle,
            server: server.run(),
        })
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully (see `run_until`).
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then: drains for `shutdown_drain` (`/readyz` 503,
    /// `Connection: close` on every answer, still serving), stops accepting, lets every
    /// request already accepted finish (up to `shutdown_grace`), and only then closes the
    /// database pool.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let handle = self.server.handle();
        let lifecycle = self.lifecycle.clone();
        let drain = self.state.settings.shutdown_drain;
        tokio::spawn(async move {
            stop.await;
            lifecycle.draining.store(true, Ordering::SeqCst);
            tracing::info!(
                drain_ms = drain.as_millis() as u64,
                "shutting down: draining"
            );
            tokio::time::sleep(drain).await;
            tracing::info!("shutting down: no longer accepting; finishing requests in flight");
            // Pause first: actix drops connections still queued for a worker when it stops,
            // so give the workers a moment to take up every connection already accepted.
            handle.pause().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            handle.stop(true).await;
        });
        let result = self.server.await;
        self.state.pool.uncounted().close().await;
        tracing::info!("stopped");
        result
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot listen for signals; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// While the gate's feed knows the database is away, a request that needs it is answered
/// 503 `unavailable` at once instead of waiting for a connection that cannot come. The
/// gate itself, asked with an API key, goes on answering from memory (within its bound).
/// While draining, every answer closes its connection.
async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> actix_web::Result<ServiceResponse<BoxBody>> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let draining = req
        .app_data::<web::Data<Lifecycle>>()
        .is_some_and(|l| l.draining());
    let mut res = match state {
        Some(s) if !s.gate.database_up() && needs_database(&req) => {
            req.into_response(ApiError::unavailable().error_response())
        }
        _ => next.call(req).await?.map_into_boxed_body(),
    };
    if draining {
        res.response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}

fn needs_database(req: &ServiceRequest) -> bool {
    if !req.path().starts_with("/v1/") {
        return false;
    }
    let from_memory = req.path().starts_with("/v1/gate/")
        && !req.headers().contains_key(crate::idempotency::HEADER)
        && req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .is_some_and(|(_, t)| t.trim().starts_with(crate::auth::tokens::API_KEY_PREFIX));
    !from_memory
}

/// Every request is answered within `request_timeout`: past it, 503 `unavailable`
/// (whatever was under way is dropped, its transaction rolled back).
async fn deadline(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> actix_web::Result<ServiceResponse<BoxBody>> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.request_timeout);
    let Some(limit) = limit else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let path = req.path().to_owned();
    match tokio::time::timeout(limit, next.call(req)).await {
        Ok(res) => Ok(res?.map_into_boxed_body()),
        Err(_) => {
            // An error, not a response: a response needs the request, which must not be
            // cloned while the router still holds it.
            tracing::warn!(path, "request deadline passed");
            Err(ApiError::unavailable().into())
        }
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
