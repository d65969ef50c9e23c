//! Spawns the app on a free port against its own fresh database, and makes users.
//!
//! The PostgreSQL comes from `TEST_DATABASE_URL` (a role that may create databases) or,
//! by default, a private cluster this harness starts (or finds running) under the system
//! temp folder. Migrations run once per test process into a template database; each test
//! gets a copy of it.

use moments_gate::app::{self, Application};
use moments_gate::auth::password::Hasher;
use moments_gate::config::Settings;
use moments_gate::pgboot::{self, Durability};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, PgPool};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::OnceCell;
use uuid::Uuid;

pub const PASSWORD: &str = "a long enough test passphrase";

struct Cluster {
    /// URL of a database to connect to for CREATE DATABASE, with `{db}` to fill in.
    base: String,
    template: String,
}

impl Cluster {
    fn url(&self, db: &str) -> String {
        self.base.replace("{db}", db)
    }
}

static CLUSTER: OnceCell<Cluster> = OnceCell::const_new();

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn cluster() -> &'static Cluster {
    CLUSTER
        .get_or_init(|| async {
            let base = match std::env::var("TEST_DATABASE_URL") {
                Ok(url) => {
                    let mut u = url::Url::parse(&url).expect("TEST_DATABASE_URL is a URL");
                    u.set_path("/{db}");
                    u.to_string().replace("%7Bdb%7D", "{db}")
                }
                Err(_) => {
                    let root = std::env::temp_dir().join("moments-gate-test-pg");
                    let pg = tokio::task::spawn_blocking(move || {
                        pgboot::ensure(&root, Durability::Throwaway)
                    })
                    .await
                    .unwrap()
                    .expect("a local PostgreSQL for the tests");
                    pg.url("{db}")
                }
            };
            let mut admin = PgConnection::connect(&base.replace("{db}", "postgres"))
                .await
                .expect("connect to the test cluster");
            // Left-overs of earlier runs: a test's database after 10 minutes (no test runs
            // that long; each is a copy of the template, and hundreds a run fill a disk), a
            // template after an hour (a whole run).
            let old: Vec<String> = sqlx::query_scalar(
                "SELECT datname FROM pg_database WHERE datname ~ '^mgt_[0-9]+_'",
            )
            .fetch_all(&mut admin)
            .await
            .unwrap();
            for name in old {
                let ts: u64 = name
                    .split('_')
                    .nth(1)
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                let keep = if name.contains("_tmpl_") { 3600 } else { 600 };
                if ts + keep < now_secs() {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            }
            let template = format!("mgt_{}_tmpl_{}", now_secs(), std::process::id());
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE \"{template}\""
            )))
            .execute(&mut admin)
            .await
            .unwrap();
            let pool = PgPool::connect(&base.replace("{db}", &template))
                .await
                .unwrap();
            moments_gate::MIGRATOR
                .run(&pool)
                .await
                .expect("migrations apply");
            pool.close().await;
            Cluster { base, template }
        })
        .await
}

static SEQ: AtomicU64 = AtomicU64::new(0);

pub async fn fresh_database() -> String {
    let c = cluster().await;
    let name = format!(
        "mgt_{}_{}_{}",
        now_secs(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = PgConnection::connect(&c.url("postgres")).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE \"{name}\" TEMPLATE \"{}\"",
        c.template
    )))
    .execute(&mut admin)
    .await
    .expect("create a test database");
    c.url(&name)
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
    /// The test's own database, for running the binary against it.
    pub database_url: String,
}

pub struct User {
    pub id: Uuid,
    pub email: String,
    pub token: String,
}

pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        moments_gate::cli::init_tracing(false);
    }
    let url = fresh_database().await;
    let mut settings = Settings {
        database_url: Some(url.clone()),
        bind: "127.0.0.1:0".into(),
        workers: 2,
        db_max_connections: 8,
        ..Settings::default()
    };
    tweak(&mut settings);
    let pool = app::pool(&settings, &url).unwrap();
    let application = Application::build(settings, pool.clone()).await.unwrap();
    let base = format!("http://127.0.0.1:{}", application.port);
    tokio::spawn(application.run());
    TestApp {
        database_url: url,
        base,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        pool,
    }
}

impl TestApp {
    pub fn req(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut r = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.req(Method::GET, path, Some(token))
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.req(Method::POST, path, token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/v1/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn token_for(&self, email: &str) -> String {
        let res = self.login(email, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {email}");
        res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn marketer(&self) -> User {
        let email = format!("m-{}@brand.example", Uuid::new_v4().simple());
        let res = self
            .post(
                "/v1/auth/register",
                None,
                json!({"email": email, "password": PASSWORD, "display_name": "Marketer"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let id = res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let token = self.token_for(&email).await;
        User { id, email, token }
    }

    pub async fn admin(&self) -> User {
        let email = format!("a-{}@platform.example", Uuid::new_v4().simple());
        moments_gate::cli::ensure_admin(&self.pool, &Hasher::new(1), &email, PASSWORD, "Admin")
            .await
            .unwrap();
        let id = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(&email)
            .fetch_one(&self.pool)
            .await
            .unwrap();
        let token = self.token_for(&email).await;
        User { id, email, token }
    }

    /// A user of `role` made by an admin through the API.
    pub async fn user_with_role(&self, admin: &User, role: &str) -> User {
        let email = format!("{role}-{}@platform.example", Uuid::new_v4().simple());
        let res = self
            .post(
                "/v1/users",
                Some(&admin.token),
                json!({"email": email, "password": PASSWORD, "display_name": role, "role": role}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let id = res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let token = self.token_for(&email).await;
        User { id, email, token }
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    /// The value of `series` in `/metrics` now.
    pub async fn metric(&self, series: &str) -> f64 {
        let res = self
            .req(Method::GET, "/metrics", None)
            .send()
            .await
            .unwrap();
        metric(&res.text().await.unwrap(), series)
    }
}

/// The value of `series` (a name, with its labels if it has any) in a `/metrics` text.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} missing in\n{text}"))
        .split(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{series}: not a number in\n{text}"))
}

/// Asserts a problem+json answer with `status` and `code`; returns the body.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert_eq!(ct, "application/problem+json", "content type");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "code in {body}");
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string());
    body
}

/// Every id the list at `path` gives for `query`, in order, following `next_cursor` with
/// pages of `limit` (each full but the last).
pub async fn all_pages(
    app: &TestApp,
    path: &str,
    token: &str,
    query: &str,
    limit: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut url = url::Url::parse(&format!("{}{path}", app.base)).unwrap();
        url.set_query(Some(query));
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string());
        if let Some(c) = &cursor {
            url.query_pairs_mut().append_pair("cursor", c);
        }
        let res = app.client.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{query}");
        let body: Value = res.json().await.unwrap();
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        ids.extend(items.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match body["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(items.len(), limit, "only a full page has a next one");
                cursor = Some(c.to_owned());
            }
            None => return ids,
        }
    }
    panic!("paging did not end");
}
