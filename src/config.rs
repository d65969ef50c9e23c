//! Typed settings, read once from the environment. Secrets are never printed.

use std::fmt;
use std::time::Duration;

#[derive(Clone)]
pub struct Settings {
    /// `None` means: start a local PostgreSQL of our own.
    pub database_url: Option<String>,
    pub bind: String,
    pub bootstrap_admin: Option<(String, String)>,
    pub session_ttl: Duration,
    /// Origins allowed by CORS; empty means CORS is off.
    pub cors_origins: Vec<String>,
    /// How many password hashes may run at once.
    pub hash_concurrency: usize,
    /// How many more may wait for a turn; past that a request is answered 503 `overloaded`.
    pub hash_queue: usize,
    pub db_max_connections: u32,
    pub db_acquire_timeout: Duration,
    pub workers: usize,
    pub log_json: bool,
    /// How long a repeat of a POST waits for the first request with its `Idempotency-Key`
    /// before it is answered 409 `idempotency_in_progress`.
    pub idempotency_wait: Duration,
    /// Requests to the anonymous endpoints (register, login) per client address and
    /// minute, as a burst that refills evenly.
    pub anon_per_minute: u32,
    /// Proxies whose `X-Forwarded-For` names the client for those limits; none by default.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Password changes (attempts, right or wrong) per account and hour.
    pub password_changes_per_hour: u32,
    /// Past this age (time since the change feed last confirmed the gate's state current)
    /// the gate and API keys answer 503 `gate_state_stale` instead of guessing.
    pub gate_max_staleness: Duration,
    /// `statement_timeout` and `lock_timeout` of every request connection.
    pub db_statement_timeout: Duration,
    pub db_lock_timeout: Duration,
    /// A request still unanswered after this (headers not yet sent) is answered 503
    /// `unavailable`: the last guard against a database that stops answering silently.
    pub request_timeout: Duration,
    /// On SIGTERM: how long to keep serving (with `Connection: close` and `/readyz` 503)
    /// before closing the listener, and then how long in-flight requests may take.
    pub shutdown_drain: Duration,
    pub shutdown_grace: Duration,
    /// How often each instance tries to sweep expired sessions and old idempotency rows.
    pub housekeeping_every: Duration,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .field("bind", &self.bind)
            .field(
                "bootstrap_admin",
                &self.bootstrap_admin.as_ref().map(|(e, _)| e),
            )
            .field("session_ttl", &self.session_ttl)
            .field("cors_origins", &self.cors_origins)
            .field("hash_concurrency", &self.hash_concurrency)
            .field("hash_queue", &self.hash_queue)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("db_max_connections", &self.db_max_connections)
            .field("gate_max_staleness", &self.gate_max_staleness)
            .field("db_statement_timeout", &self.db_statement_timeout)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: None,
            bind: "127.0.0.1:8080".into(),
            bootstrap_admin: None,
            session_ttl: Duration::from_secs(12 * 3600),
            cors_origins: Vec::new(),
            hash_concurrency: 2,
            hash_queue: crate::auth::password::DEFAULT_QUEUE,
            db_max_connections: 20,
            // Under the 3 s every answer must come within, with room for the query.
            db_acquire_timeout: Duration::from_secs(2),
            workers: 0,
            log_json: false,
            idempotency_wait: Duration::from_secs(2),
            // Generous for tests, which sign in many users from one address;
            // `from_env` sets the production defaults.
            anon_per_minute: 1000,
            trusted_proxies: Vec::new(),
            password_changes_per_hour: 1000,
            gate_max_staleness: Duration::from_millis(3000),
            db_statement_timeout: Duration::from_millis(2000),
            db_lock_timeout: Duration::from_millis(1000),
            request_timeout: Duration::from_millis(2500),
            shutdown_drain: Duration::from_millis(1000),
            shutdown_grace: Duration::from_secs(20),
            housekeeping_every: Duration::from_secs(60),
        }
    }
}

/// Password-hashing threads when `HASH_CONCURRENCY` is not set. On Linux, where they run
/// at low priority (see `auth::password`), one for each CPU this process may use, at most 4
/// (each holds a 19 MiB argon2 block): hashing then takes the CPU requests leave idle. But
/// priority orders threads only on a shared CPU: under a container's CPU quota, hashing on
/// the host's idle cores would spend the quota and get the whole process throttled, gate
/// included. So where the process may use fewer CPUs than the machine has (a quota or an
/// affinity mask), and off Linux, half of them, as ever.
fn default_hash_concurrency() -> usize {
    let usable = std::thread::available_parallelism().map_or(2, |n| n.get());
    let online = online_cpus();
    if cfg!(target_os = "linux") && online == Some(usable) {
        usable.clamp(1, 4)
    } else {
        (usable / 2).max(1)
    }
}

/// The machine's CPUs, from `/sys/devices/system/cpu/online` (`0-3,6-7`); `None` off Linux
/// or when it cannot be read.
fn online_cpus() -> Option<usize> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").ok()?;
    parse_cpu_list(text.trim())
}

fn parse_cpu_list(list: &str) -> Option<usize> {
    list.split(',').try_fold(0usize, |n, part| {
        let count = match part.split_once('-') {
            Some((a, b)) => b.parse::<usize>().ok()?.checked_sub(a.parse().ok()?)? + 1,
            None => part.parse::<usize>().map(|_| 1).ok()?,
        };
        Some(n + count)
    })
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_var<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match var(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{name} has an invalid value: {v:?}")),
    }
}

fn millis(name: &str, default: Duration) -> anyhow::Result<Duration> {
    Ok(parse_var::<u64>(name)?.map_or(default, Duration::from_millis))
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let d = Self::default();
        let bootstrap_admin = match (
            var("BOOTSTRAP_ADMIN_EMAIL"),
            var("BOOTSTRAP_ADMIN_PASSWORD"),
        ) {
            (Some(e), Some(p)) => Some((e, p)),
            (None, None) => None,
            _ => anyhow::bail!(
                "set both BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD, or neither"
            ),
        };
        Ok(Self {
            database_url: var("DATABASE_URL"),
            bind: var("BIND").unwrap_or(d.bind),
            bootstrap_admin,
            session_ttl: parse_var::<u64>("SESSION_TTL_SECONDS")?
                .map_or(d.session_ttl, Duration::from_secs),
            cors_origins: var("CORS_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            hash_concurrency: parse_var("HASH_CONCURRENCY")?
                .unwrap_or_else(default_hash_concurrency),
            hash_queue: parse_var("HASH_QUEUE")?.unwrap_or(d.hash_queue),
            db_max_connections: parse_var("DB_MAX_CONNECTIONS")?.unwrap_or(d.db_max_connections),
            db_acquire_timeout: parse_var::<u64>("DB_ACQUIRE_TIMEOUT_SECONDS")?
                .map_or(d.db_acquire_timeout, Duration::from_secs),
            workers: parse_var("WORKERS")?.unwrap_or(0),
            log_json: var("LOG_FORMAT").is_some_and(|v| v == "json"),
            idempotency_wait: d.idempotency_wait,
            anon_per_minute: parse_var("ANON_RATE_PER_MINUTE")?.unwrap_or(30),
            trusted_proxies: var("TRUSTED_PROXIES")
                .map(|v| crate::api::limits::parse_trusted(&v))
                .transpose()
                .map_err(|e| anyhow::anyhow!("TRUSTED_PROXIES: {e}"))?
                .unwrap_or_default(),
            password_changes_per_hour: parse_var("PASSWORD_CHANGES_PER_HOUR")?.unwrap_or(6),
            gate_max_staleness: millis("GATE_MAX_STALENESS_MS", d.gate_max_staleness)?,
            db_statement_timeout: millis("DB_STATEMENT_TIMEOUT_MS", d.db_statement_timeout)?,
            db_lock_timeout: millis("DB_LOCK_TIMEOUT_MS", d.db_lock_timeout)?,
            request_timeout: millis("REQUEST_TIMEOUT_MS", d.request_timeout)?,
            shutdown_drain: millis("SHUTDOWN_DRAIN_MS", d.shutdown_drain)?,
            shutdown_grace: parse_var::<u64>("SHUTDOWN_GRACE_SECONDS")?
                .map_or(d.shutdown_grace, Duration::from_secs),
            housekeeping_every: parse_var::<u64>("HOUSEKEEPING_SECONDS")?
                .map_or(d.housekeeping_every, Duration::from_secs)
                .max(Duration::from_secs(1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_are_counted() {
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0-1"), Some(2));
        assert_eq!(parse_cpu_list("0-3,6-7"), Some(6));
        assert_eq!(parse_cpu_list("0,2,4-5"), Some(4));
        for bad in ["", "x", "3-1", "0-", "-1"] {
            assert_eq!(parse_cpu_list(bad), None, "{bad}");
        }
    }

    #[test]
    fn hashing_defaults_to_at_most_four_threads_and_at_least_one() {
        let n = default_hash_concurrency();
        assert!((1..=4).contains(&n), "{n}");
        let usable = std::thread::available_parallelism().map_or(2, |n| n.get());
        if cfg!(target_os = "linux") && online_cpus() == Some(usable) {
            assert_eq!(n, usable.min(4));
        } else {
            assert_eq!(n, (usable / 2).max(1));
        }
    }
}
