//! The subcommands: `serve` (default), `migrate`, `create-admin`, `seed-demo`.

use crate::app::{self, Application};
use crate::auth::password::{Hasher, NewPassword};
use crate::config::Settings;
use crate::demo;
use crate::domain::user::{DisplayName, Email, Role};
use crate::pgboot::{self, Durability, LocalPg};
use crate::store::audit::{self, Author, Event};
use crate::store::users::{self, NewUser};
use anyhow::Context;
use sqlx::{Connection, PgConnection, PgPool};
use std::time::Duration;

/// What `seed-demo` needs to run against a database given by `DATABASE_URL`.
const KNOWN_PASSWORDS_FLAG: &str = "--with-known-passwords";

/// Every setting read from the environment, shown under each command's `--help`.
pub const ENVIRONMENT: &str = "\
Environment:
  DATABASE_URL                 PostgreSQL to use; unset: start a local one under .pgdata/
                               (`serve` then loads the demo data into it once)
  BIND                         address to listen on [default: 127.0.0.1:8080]
  BOOTSTRAP_ADMIN_EMAIL, BOOTSTRAP_ADMIN_PASSWORD
                               create this admin on start if missing (both or neither)
  ADMIN_PASSWORD               create-admin: the new admin's password (else read from stdin)
  SESSION_TTL_SECONDS          session lifetime [default: 43200 = 12 hours]
  CORS_ORIGINS                 comma-separated origins allowed by CORS [default: none]
  HASH_CONCURRENCY             password hashes running at once (nice +10 on Linux) [default: the CPUs, at most 4; half of them under a CPU quota or off Linux]
  HASH_QUEUE                   password hashes that may wait; past that 503 overloaded [default: 64]
  ANON_RATE_PER_MINUTE         sign-ups and sign-ins per client address and minute [default: 30]
  TRUSTED_PROXIES              proxies (addresses or networks, comma-separated) whose
                               X-Forwarded-For names the client address [default: none]
  PASSWORD_CHANGES_PER_HOUR    password changes per account and hour [default: 6]
  DB_MAX_CONNECTIONS           database pool size [default: 20]
  DB_ACQUIRE_TIMEOUT_SECONDS   wait for a pooled connection before answering 503 [default: 2]
  DB_STATEMENT_TIMEOUT_MS      statement_timeout of request connections [default: 2000]
  DB_LOCK_TIMEOUT_MS           lock_timeout of request connections [default: 1000]
  REQUEST_TIMEOUT_MS           a request unanswered by then gets 503 [default: 2500]
  GATE_MAX_STALENESS_MS        past this age of its state the gate answers 503
                               gate_state_stale [default: 3000]
  SHUTDOWN_DRAIN_MS            on SIGTERM, serve with /readyz 503 this long [default: 1000]
  SHUTDOWN_GRACE_SECONDS       then give requests in flight this long [default: 20]
  HOUSEKEEPING_SECONDS         how often to sweep expired rows [default: 60]
  WORKERS                      HTTP worker threads [default: CPU count]
  LOG_FORMAT=json              JSON logs, one object a line [default: readable]
  RUST_LOG                     log filter [default: info,sqlx=warn,actix_server=warn]
  PGBOOT_DIR, PG_BIN           where the local cluster lives [default: .pgdata/]; where its
                               programs are [default: found on PATH or /usr/lib/postgresql]
";

/// Whitelist, approval flow and serving gate for WeChat Moments ads that lead into Tmall
/// stores.
#[derive(Debug, clap::Parser)]
#[command(name = "moments-gate", version, propagate_version = true, after_help = ENVIRONMENT)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run the API (the default when no command is given)
    #[command(after_help = ENVIRONMENT)]
    Serve,
    /// Apply database migrations and exit
    #[command(after_help = ENVIRONMENT)]
    Migrate,
    /// Create an admin; the password is read from ADMIN_PASSWORD or the first line of
    /// standard input. Changes nothing when a user with this email exists.
    #[command(after_help = ENVIRONMENT)]
    CreateAdmin {
        /// The admin's email (their login)
        email: String,
        /// The admin's display name
        #[arg(default_value = "Administrator")]
        name: String,
    },
    /// Load demo data: 618 and Double 11 seasons, brands, users of every role,
    /// applications in every status (adds only what is missing; safe to run again)
    #[command(after_help = ENVIRONMENT)]
    SeedDemo {
        /// Its logins share a published password: required when DATABASE_URL is set
        #[arg(long)]
        with_known_passwords: bool,
    },
    /// Print how many argon2 password hashes per second this machine makes (bench/)
    #[command(hide = true)]
    HashBench {
        /// How long to hash for
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Threads hashing at once [default: every CPU the process may use]
        #[arg(long)]
        threads: Option<usize>,
    },
}

pub const LOCAL_DATABASE: &str = "moments_gate";

pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,actix_server=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if json {
        // One object a line, the event's fields at the top level (method, route, status,
        // ms, …) and the request's span (request_id) beside them.
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.compact().try_init()
    };
}

/// The database to use: `DATABASE_URL`, or a local cluster started for us.
pub async fn database(settings: &Settings) -> anyhow::Result<(String, Option<LocalPg>)> {
    if let Some(url) = &settings.database_url {
        return Ok((url.clone(), None));
    }
    let root = pgboot::default_dev_root();
    let pg =
        tokio::task::spawn_blocking(move || pgboot::ensure(&root, Durability::Durable)).await??;
    let mut conn = PgConnection::connect(&pg.url("postgres")).await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(LOCAL_DATABASE)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        sqlx::query("CREATE DATABASE moments_gate")
            .execute(&mut conn)
            .await?;
    }
    Ok((pg.url(LOCAL_DATABASE), Some(pg)))
}

/// Applies the migrations, waiting up to 30 s for the database to come up.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    let mut waited = Duration::ZERO;
    loop {
        match crate::MIGRATOR.run(pool).await {
            Ok(()) => return Ok(()),
            Err(sqlx::migrate::MigrateError::Execute(e)) if crate::error::is_unavailable(&e) => {
                if waited >= Duration::from_secs(30) {
                    return Err(e).context("the database did not come up within 30 s");
                }
                tracing::warn!(error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                waited += Duration::from_secs(1);
            }
            Err(e) => return Err(e).context("migrations failed"),
        }
    }
}

/// Creates an admin unless a user with this email exists; true when created.
pub async fn ensure_admin(
    pool: &PgPool,
    hasher: &Hasher,
    email: &str,
    password: &str,
    name: &str,
) -> anyhow::Result<bool> {
    let email = Email::parse("email", email).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    if users::by_email(pool, email.as_str()).await?.is_some() {
        return Ok(false);
    }
    let password = NewPassword::parse("password", password)
        .map_err(|e| anyhow::anyhow!("the admin password is refused: {e}"))?;
    let name =
        DisplayName::parse("display_name", name).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let hash = hasher.hash(&password).await?;
    let mut tx = pool.begin().await?;
    let user = users::insert(
        &mut tx,
        NewUser {
            email: &email,
            display_name: &name,
            role: Role::Admin,
            password_hash: &hash,
        },
    )
    .await;
    let user = match user {
        Ok(u) => u,
        // Another instance created it at the same moment.
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("users_email_key") => {
            return Ok(false);
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &mut tx,
        Author::SYSTEM,
        Event::new("user", user.id, "create").status(None, "active"),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Migrate => {
            let settings = Settings::from_env()?;
            init_tracing(settings.log_json);
            let (url, _pg) = database(&settings).await?;
            let pool = app::migration_pool(&url)?;
            migrate(&pool).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::CreateAdmin { email, name } => {
            let settings = Settings::from_env()?;
            init_tracing(settings.log_json);
            let (email, name) = (&email, name.as_str());
            let password = match std::env::var("ADMIN_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let (url, _pg) = database(&settings).await?;
            let pool = app::pool(&settings, &url)?;
            migrate(&app::migration_pool(&url)?).await?;
            let created = ensure_admin(&pool, &Hasher::new(1), email, &password, name).await?;
            println!(
                "{}",
                if created {
                    "admin created"
                } else {
                    "a user with this email already exists; nothing changed"
                }
            );
            Ok(())
        }
        Command::SeedDemo {
            with_known_passwords,
        } => {
            let settings = Settings::from_env()?;
            init_tracing(settings.log_json);
            let allowed = with_known_passwords;
            if settings.database_url.is_some() && !allowed {
                anyhow::bail!(
                    "seed-demo creates an admin and reviewers whose password is published \
                     (moments-gate-demo). Against DATABASE_URL it runs only with \
                     `seed-demo {KNOWN_PASSWORDS_FLAG}`; never on a deployment others can reach."
                );
            }
            let (url, _pg) = database(&settings).await?;
            let pool = app::pool(&settings, &url)?;
            migrate(&app::migration_pool(&url)?).await?;
            demo::seed(&pool, &Hasher::new(1), chrono::Utc::now())
                .await
                .context("loading the demo data failed; nothing was changed")?
                .print();
            demo::print_logins(&demo::present_logins(&pool).await?);
            Ok(())
        }
        Command::HashBench { seconds, threads } => {
            let threads = threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            let rate = tokio::task::spawn_blocking(move || Hasher::rate(threads, seconds)).await?;
            println!("{rate:.1}");
            Ok(())
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    init_tracing(settings.log_json);
    let (url, local) = database(&settings).await?;
    // Migrations run without the request timeouts: instances started together wait for
    // each other's migration lock.
    let migrations = app::migration_pool(&url)?;
    migrate(&migrations).await?;
    migrations.close().await;
    let pool = app::pool(&settings, &url)?;
    if let Some((email, password)) = &settings.bootstrap_admin
        && ensure_admin(&pool, &Hasher::new(1), email, password, "Administrator").await?
    {
        tracing::info!(%email, "bootstrap admin created");
    }
    let loopback = settings
        .bind
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback());
    if local.is_some() && !loopback {
        tracing::warn!(
            bind = %settings.bind,
            "not loading the demo data: its logins share a published password, and BIND is \
             not a loopback address; run `seed-demo` yourself if you mean it"
        );
    }
    if local.is_some() && loopback {
        // Only in local mode: a database named by DATABASE_URL never gets demo data
        // unless someone runs `seed-demo` against it.
        match demo::load_once(&pool, &Hasher::new(1), chrono::Utc::now()).await {
            Ok(Some(report)) => report.print(),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "could not load the demo data"),
        }
    }
    let application = Application::build(settings.clone(), pool).await?;
    let host = settings
        .bind
        .rsplit_once(':')
        .map_or("127.0.0.1", |(h, _)| h);
    println!(
        "\nmoments-gate is listening on http://{host}:{}",
        application.port
    );
    println!("  API docs:  http://{host}:{}/docs/", application.port);
    if let Some(pg) = &local {
        println!(
            "  database:  local PostgreSQL in {} (port {})",
            pg.root.display(),
            pg.port
        );
        let present = demo::present_logins(application.state.pool.uncounted()).await;
        demo::print_logins(&present.unwrap_or_default());
    }
    let result = application.run().await;
    if let Some(pg) = local.filter(|pg| pg.started_here)
        && let Err(e) = tokio::task::spawn_blocking(move || pg.stop()).await?
    {
        tracing::warn!(error = %e, "could not stop the local PostgreSQL");
    }
    Ok(result?)
}
