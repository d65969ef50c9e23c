//! Real processes on a real, private PostgreSQL: the cluster (which a scenario may stop and
//! start), instances of the built binary (which it may SIGTERM or kill -9), a client that
//! records every answer, and the data a scenario needs, made through the API.

use chrono::{Duration as Days, Utc};
use moments_gate::pgboot::{self, Durability, LocalPg};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const PASSWORD: &str = "a long enough faults passphrase";
pub const ADMIN: &str = "faults-admin@platform.example";

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Scenarios measure time on a 2-core machine: they run one after another even when the
/// test runner starts them together.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

/// `FAULTS_SCALE=full` runs the sizes the README quotes; anything else, the short CI runs.
pub fn full() -> bool {
    std::env::var("FAULTS_SCALE").is_ok_and(|v| v == "full")
}

pub fn pick<T>(ci: T, full_size: T) -> T {
    if full() { full_size } else { ci }
}

/// A private cluster for one scenario, removed at the end.
pub struct Cluster {
    root: PathBuf,
    pub pg: LocalPg,
}

impl Cluster {
    pub async fn start(name: &str) -> Self {
        let root = PathBuf::from(format!(
            "/var/tmp/moments-gate-faults-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        let r = root.clone();
        let pg = tokio::task::spawn_blocking(move || pgboot::ensure(&r, Durability::Throwaway))
            .await
            .unwrap()
            .expect("a private PostgreSQL");
        Self { root, pg }
    }

    pub fn url(&self) -> String {
        self.pg.url("postgres")
    }

    pub fn stop(&self) {
        tokio::task::block_in_place(|| self.pg.stop().expect("stop PostgreSQL"));
    }

    /// Starts it again on the same port.
    pub async fn restart(&self) {
        let root = self.root.clone();
        let port = self.pg.port;
        let pg = tokio::task::spawn_blocking(move || pgboot::ensure(&root, Durability::Throwaway))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pg.port, port, "PostgreSQL came back on another port");
    }

    pub async fn pool(&self) -> PgPool {
        PgPool::connect(&self.url()).await.unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One running `moments-gate serve`.
pub struct Instance {
    pub base: String,
    pub port: u16,
    child: Option<Child>,
    log: PathBuf,
    url: String,
    env: Vec<(String, String)>,
}

impl Instance {
    /// Starts the binary (without waiting for it to answer).
    pub fn launch(url: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut i = Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            child: None,
            log: std::env::temp_dir().join(format!(
                "moments-gate-faults-{}-{port}.log",
                std::process::id()
            )),
            url: url.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        i.spawn();
        i
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_moments-gate"));
        cmd.arg("serve")
            .env("DATABASE_URL", &self.url)
            .env("BIND", format!("127.0.0.1:{}", self.port))
            .env("BOOTSTRAP_ADMIN_EMAIL", ADMIN)
            .env("BOOTSTRAP_ADMIN_PASSWORD", PASSWORD)
            .env("WORKERS", "2")
            .env("HASH_CONCURRENCY", "2")
            .env("RUST_LOG", "warn,moments_gate=info")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("start the binary"));
    }

    pub async fn start(url: &str, env: &[(&str, &str)]) -> Self {
        let i = Self::launch(url, env);
        i.wait_healthy().await;
        i
    }

    pub async fn wait_healthy(&self) {
        let c = Client::new();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(60) {
            if let Ok(r) = c.get(format!("{}/readyz", self.base)).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "instance on {} did not start; log:\n{}",
            self.base,
            self.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    /// Waits for the process to end; its exit status, or `None` past `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let t = Instant::now();
        while t.elapsed() < limit {
            if let Some(s) = self.child.as_mut().unwrap().try_wait().unwrap() {
                return Some(s);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// Starts the same instance again (same port, same settings).
    pub async fn restart(&mut self) {
        self.spawn();
        self.wait_healthy().await;
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// One answer as a client saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `"200"`, `"503 unavailable"`, … or `"error: …"` when no answer came.
    pub what: String,
    pub status: Option<u16>,
    pub took: Duration,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Seen {
    pub fn ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub async fn call(
    c: &Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
    idempotency_key: Option<&str>,
) -> Seen {
    let mut r = c.request(method, url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(b);
    }
    if let Some(k) = idempotency_key {
        r = r.header("idempotency-key", k);
    }
    let t = Instant::now();
    match r.send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let headers = res.headers().clone();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            let took = t.elapsed();
            let what = match body["code"].as_str() {
                Some(code) if status >= 400 => format!("{status} {code}"),
                _ => status.to_string(),
            };
            Seen {
                what,
                status: Some(status),
                took,
                body,
                headers,
            }
        }
        Err(e) => {
            let kind = if e.is_connect() {
                "refused"
            } else if e.is_timeout() {
                "timeout"
            } else {
                eprintln!("no answer from {url}: {e:?}");
                "reset or no answer"
            };
            Seen {
                what: format!("error: {kind}"),
                status: None,
                took: t.elapsed(),
                body: Value::Null,
                headers: Default::default(),
            }
        }
    }
}

/// Counts answers by kind, for printing.
#[derive(Default)]
pub struct Tally {
    pub by_kind: BTreeMap<String, u64>,
    pub longest: Duration,
}

impl Tally {
    pub fn add(&mut self, s: &Seen) {
        *self.by_kind.entry(s.what.clone()).or_default() += 1;
        self.longest = self.longest.max(s.took);
    }
    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }
    pub fn count(&self, pred: impl Fn(&str) -> bool) -> u64 {
        self.by_kind
            .iter()
            .filter(|(k, _)| pred(k))
            .map(|(_, v)| v)
            .sum()
    }
    pub fn show(&self) -> String {
        let parts: Vec<String> = self
            .by_kind
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        format!(
            "{} requests ({}), longest {} ms",
            self.total(),
            parts.join(", "),
            self.longest.as_millis()
        )
    }
}

pub fn median_max(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    if v.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    (v[v.len() / 2], v[v.len() - 1])
}

/// The people and objects a scenario works with, made through the API of `base`.
pub struct World {
    pub base: String,
    pub admin: String,
    pub reviewer: String,
    pub reviewer2: String,
    pub marketer: String,
    pub brand: String,
    pub season: String,
    pub api_key: String,
    pub c: Client,
}

async fn ok(s: Seen, what: &str) -> Value {
    assert!(s.ok(), "{what}: {} {}", s.what, s.body);
    s.body
}

pub async fn login(c: &Client, base: &str, email: &str) -> String {
    let s = call(
        c,
        Method::POST,
        &format!("{base}/v1/auth/login"),
        None,
        Some(&json!({"email": email, "password": PASSWORD})),
        None,
    )
    .await;
    ok(s, "login").await["token"].as_str().unwrap().to_owned()
}

impl World {
    pub async fn make(base: &str) -> Self {
        let c = client();
        let admin = login(&c, base, ADMIN).await;
        let mut w = Self {
            base: base.to_owned(),
            admin,
            reviewer: String::new(),
            reviewer2: String::new(),
            marketer: String::new(),
            brand: String::new(),
            season: String::new(),
            api_key: String::new(),
            c,
        };
        w.reviewer = w.user("reviewer").await;
        w.reviewer2 = w.user("reviewer").await;
        let email = format!("m-{}@brand.example", Uuid::new_v4().simple());
        w.post_ok(
            "/v1/auth/register",
            None,
            json!({"email": email, "password": PASSWORD, "display_name": "Marketer"}),
        )
        .await;
        w.marketer = login(&w.c, base, &email).await;
        let now = Utc::now();
        let admin = w.admin.clone();
        w.season = w
            .post_ok(
                "/v1/seasons",
                Some(&admin),
                json!({
                    "code": format!("s-{}", &Uuid::new_v4().simple().to_string()[..8]),
                    "name": "Faults season",
                    "applications_open_at": now - Days::days(1),
                    "applications_close_at": now + Days::days(10),
                    "starts_at": now + Days::days(1),
                    "ends_at": now + Days::days(60),
                }),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        w.brand = w.new_brand().await;
        w.api_key = w
            .post_ok("/v1/api-keys", Some(&admin), json!({"name": "faults"}))
            .await["key"]
            .as_str()
            .unwrap()
            .to_owned();
        w
    }

    pub async fn new_brand(&self) -> String {
        let marketer = self.marketer.clone();
        let brand = self
            .post_ok(
                "/v1/brands",
                Some(&marketer),
                json!({"name": "Lumen Beauty", "kind": "brand", "tmall_store_url": "https://lumen.tmall.com"}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let reviewer = self.reviewer.clone();
        self.post_ok(
            &format!("/v1/brands/{brand}/verification"),
            Some(&reviewer),
            json!({"decision": "verified", "note": "checked"}),
        )
        .await;
        brand
    }

    async fn user(&self, role: &str) -> String {
        let email = format!("{role}-{}@platform.example", Uuid::new_v4().simple());
        let admin = self.admin.clone();
        self.post_ok(
            "/v1/users",
            Some(&admin),
            json!({"email": email, "password": PASSWORD, "display_name": role, "role": role}),
        )
        .await;
        login(&self.c, &self.base, &email).await
    }

    pub async fn post_ok(&self, path: &str, token: Option<&str>, body: Value) -> Value {
        let s = call(
            &self.c,
            Method::POST,
            &format!("{}{path}", self.base),
            token,
            Some(&body),
            None,
        )
        .await;
        ok(s, path).await
    }

    pub fn draft_body(&self, brand: &str, title: &str) -> Value {
        let now = Utc::now();
        json!({
            "brand_id": brand, "season_id": self.season, "title": title,
            "creative": {
                "headline": "618: 20% off serums",
                "body": "Only in our flagship store.",
                "card_label": "Tmall flagship store",
                "logo_url": "https://img.lumen.example/logo.png",
                "image_urls": ["https://img.lumen.example/1.png"]
            },
            "landing": {"app_url": "tmall://page.tm/shop?shopId=42", "web_url": "https://lumen.tmall.com/"},
            "requested_window": {"starts_at": now + Days::days(2), "ends_at": now + Days::days(20)},
            "budget": {"total_fen": 50_000_000, "daily_cap_fen": 5_000_000, "cpm_bid_fen": 3_500},
            "targeting": {"regions": ["CN-SH"], "age_min": 20, "age_max": 40, "genders": ["female"], "interests": ["skincare"]}
        })
    }

    /// A submitted application of `brand` (claimed by the first reviewer when `claim`).
    pub async fn submitted(&self, brand: &str, claim: bool) -> String {
        let marketer = self.marketer.clone();
        let id = self
            .post_ok(
                "/v1/applications",
                Some(&marketer),
                self.draft_body(brand, "Faults ad"),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.post_ok(
            &format!("/v1/applications/{id}/submit"),
            Some(&marketer),
            json!({}),
        )
        .await;
        if claim {
            let reviewer = self.reviewer.clone();
            self.post_ok(
                &format!("/v1/applications/{id}/claim"),
                Some(&reviewer),
                json!({}),
            )
            .await;
        }
        id
    }

    /// An approved application of `brand`: its campaign's id.
    pub async fn campaign(&self, pool: &PgPool, brand: &str) -> Uuid {
        let id = self.submitted(brand, true).await;
        let reviewer = self.reviewer.clone();
        self.post_ok(
            &format!("/v1/applications/{id}/decision"),
            Some(&reviewer),
            json!({"decision": "approve"}),
        )
        .await;
        sqlx::query_scalar("SELECT id FROM campaigns WHERE application_id = $1::uuid")
            .bind(&id)
            .fetch_one(pool)
            .await
            .unwrap()
    }

    /// A time inside the campaigns' window, for gate checks.
    pub fn in_window() -> String {
        (Utc::now() + Days::days(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

/// A TCP proxy on loopback in front of PostgreSQL that can be cut silently: while cut,
/// bytes stop flowing both ways (and new connections hang), but nothing is closed — the
/// way a dropped network looks from both ends.
pub struct Cut {
    pub port: u16,
    cut: Arc<AtomicBool>,
}

impl Cut {
    pub async fn start(target_port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let flag = flag.clone();
                tokio::spawn(async move {
                    while flag.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    let Ok(server) =
                        tokio::net::TcpStream::connect(("127.0.0.1", target_port)).await
                    else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::spawn(pump(cr, sw, flag.clone()));
                    tokio::spawn(pump(sr, cw, flag));
                });
            }
        });
        Self { port, cut }
    }

    pub fn set(&self, cut: bool) {
        self.cut.store(cut, Ordering::SeqCst);
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    cut: Arc<AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while cut.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // Read just before the cut: hold it until the cut is over.
        while cut.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
