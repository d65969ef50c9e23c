//! Prometheus metrics with `prometheus-client`: one registry per app (the tests build
//! many), rendered in the OpenMetrics text format.
//!
//! The hot path takes no lock: each documented (method, route) gets its request counters
//! and latency histogram made once at start (`Metrics::routes`), and recording one request
//! is a read of an immutable map and three atomic adds. Gate checks are counted by reason
//! in an array of atomics. What costs more (process figures, the pool) is read only when
//! `/metrics` is scraped.

use crate::gate::decision::Reason;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::TypedMetric;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: &'static str,
    pub route: String,
}

/// Upper bounds of the latency buckets, in seconds: 250 µs to about 8 s.
const BUCKETS: [f64; 16] = [
    0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024,
    2.048, 4.096, 8.192,
];

/// A latency histogram of atomics (prometheus-client's own takes a lock per observation).
#[derive(Debug, Default)]
pub struct Latency {
    /// One per bound in `BUCKETS`, then one for slower answers (`+Inf`).
    buckets: [AtomicU64; BUCKETS.len() + 1],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Latency {
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns
            .fetch_add(d.as_nanos().min(u64::MAX as u128) as u64, Ordering::Relaxed);
    }
}

/// Shared so the family and the per-route handles point at the same atomics.
#[derive(Debug, Default, Clone)]
pub struct SharedLatency(Arc<Latency>);

impl TypedMetric for SharedLatency {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for SharedLatency {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        // Per-bucket counts: the encoder writes them cumulative, as the format wants.
        let buckets: Vec<(f64, u64)> = BUCKETS
            .iter()
            .chain([&f64::MAX])
            .zip(&self.0.buckets)
            .map(|(b, n)| (*b, n.load(Ordering::Relaxed)))
            .collect();
        let count = self.0.count.load(Ordering::Relaxed);
        let sum = self.0.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// Statuses whose counters are made up front for every route; others are made on first
/// use (behind the family's lock).
const COMMON_STATUSES: [u16; 14] = [
    200, 201, 204, 400, 401, 403, 404, 405, 409, 412, 413, 422, 429, 503,
];

/// One (method, route)'s handles, made at start.
struct RouteHandles {
    latency: SharedLatency,
    statuses: [(u16, Counter); COMMON_STATUSES.len()],
}

/// What the app reports. Fields that other modules bump directly are plain atomics.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, SharedLatency>,
    /// Route template → its methods' handles; read without a lock or an allocation.
    routes: OnceLock<HashMap<String, Vec<(&'static str, RouteHandles)>>>,
    /// Gate checks answered (a batch counts each check).
    pub gate_checks: AtomicU64,
    /// Gate checks by reason, indexed as `Reason::ALL`.
    gate_reasons: [AtomicU64; Reason::ALL.len()],
    /// Full reloads of the gate's cache.
    pub gate_reloads: AtomicU64,
    /// Unix time (ms) at which the gate last loaded or applied a change: its state's age.
    pub gate_refreshed_ms: AtomicI64,
    /// How long the last full reload took (µs).
    pub gate_reload_us: AtomicU64,
    pub logins_failed: AtomicU64,
    /// Password hashes running now, and waiting for a turn (see `auth::password::Hasher`).
    pub hash_running: AtomicI64,
    pub hash_waiting: AtomicI64,
    started: SystemTime,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, SharedLatency>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by route template and method",
            Unit::Seconds,
            latency.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            requests,
            latency,
            routes: OnceLock::new(),
            gate_checks: AtomicU64::new(0),
            gate_reasons: Default::default(),
            gate_reloads: AtomicU64::new(0),
            gate_refreshed_ms: AtomicI64::new(0),
            gate_reload_us: AtomicU64::new(0),
            logins_failed: AtomicU64::new(0),
            hash_running: AtomicI64::new(0),
            hash_waiting: AtomicI64::new(0),
            started: SystemTime::now(),
        }
    }
}

/// Methods are counted from a fixed set: actix accepts any token, and counting each one
/// seen would let anyone grow the label set.
pub fn method_label(m: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    /// Makes the handles of every (method, route) the app serves. Called once, at start;
    /// a route not named here is still counted, through the families.
    pub fn routes<'a>(&self, routes: impl IntoIterator<Item = (&'static str, &'a str)>) {
        let mut map: HashMap<String, Vec<(&'static str, RouteHandles)>> = HashMap::new();
        for (method, route) in routes {
            let labels = RouteLabels {
                method,
                route: route.to_owned(),
            };
            let handles = RouteHandles {
                latency: self.latency.get_or_create(&labels).clone(),
                statuses: COMMON_STATUSES.map(|status| {
                    let c = self
                        .requests
                        .get_or_create(&RequestLabels {
                            method,
                            route: route.to_owned(),
                            status,
                        })
                        .clone();
                    (status, c)
                }),
            };
            map.entry(route.to_owned())
                .or_default()
                .push((method, handles));
        }
        let _ = self.routes.set(map);
    }

    /// Counts one answered request and its latency when `route` is a template the app
    /// serves with `method` (the hot path: no lock, no allocation); false otherwise.
    pub fn record_served(
        &self,
        method: &'static str,
        route: &str,
        status: u16,
        d: Duration,
    ) -> bool {
        let Some(h) = self
            .routes
            .get()
            .and_then(|m| m.get(route))
            .and_then(|v| v.iter().find(|(m, _)| *m == method))
            .map(|(_, h)| h)
        else {
            return false;
        };
        h.latency.0.observe(d);
        match h.statuses.iter().find(|(s, _)| *s == status) {
            Some((_, c)) => {
                c.inc();
            }
            None => {
                self.requests
                    .get_or_create(&RequestLabels {
                        method,
                        route: route.to_owned(),
                        status,
                    })
                    .inc();
            }
        }
        true
    }

    /// Counts one answered request and its latency. `route` is a template the app serves,
    /// or another label from a bounded set ("unmatched", a pattern of the router).
    pub fn record_request(&self, method: &'static str, route: &str, status: u16, d: Duration) {
        if self.record_served(method, route, status, d) {
            return;
        }
        self.latency
            .get_or_create(&RouteLabels {
                method,
                route: route.to_owned(),
            })
            .0
            .observe(d);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_owned(),
                status,
            })
            .inc();
    }

    pub fn count_reason(&self, r: Reason) {
        self.gate_reasons[r.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a batch's reasons: one atomic add per reason seen, not per check.
    pub fn count_reasons(&self, reasons: impl Iterator<Item = Reason>) {
        let mut n = [0u64; Reason::ALL.len()];
        for r in reasons {
            n[r.index()] += 1;
        }
        for (i, k) in n.into_iter().enumerate() {
            if k > 0 {
                self.gate_reasons[i].fetch_add(k, Ordering::Relaxed);
            }
        }
    }

    /// Marks the gate's state as confirmed current now.
    pub fn gate_refreshed(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.gate_refreshed_ms.store(now, Ordering::Relaxed);
    }

    /// The OpenMetrics text of everything, with the pool's and the password hasher's
    /// figures as they are now.
    pub fn render(&self, db: &crate::db::Db) -> String {
        let pool = db.uncounted();
        let snapshot = Snapshot {
            m: self,
            pool_waits: db.wait_figures(),
            pool_size: pool.size(),
            pool_idle: pool.num_idle() as u64,
            pool_max: pool.options().get_max_connections(),
            hash_running: self.hash_running.load(Ordering::Relaxed),
            hash_waiting: self.hash_waiting.load(Ordering::Relaxed),
        };
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = String::new();
        let _ = prometheus_client::encoding::text::encode_registry(&mut text, &registry);
        out.push_str(text.trim_end());
        out.push('\n');
        let _ = snapshot.write(&mut out);
        // The OpenMetrics text ends with one "# EOF".
        out.push_str("# EOF\n");
        out
    }
}

/// The figures read at scrape time, written after the registry's.
struct Snapshot<'a> {
    m: &'a Metrics,
    pool_waits: crate::db::WaitFigures,
    pool_size: u32,
    pool_idle: u64,
    pool_max: u32,
    hash_running: i64,
    hash_waiting: i64,
}

impl Snapshot<'_> {
    fn write(&self, out: &mut String) -> fmt::Result {
        let mut reg = Registry::default();
        reg.register_collector(Box::new(Figures {
            gate_checks: self.m.gate_checks.load(Ordering::Relaxed),
            reasons: std::array::from_fn(|i| self.m.gate_reasons[i].load(Ordering::Relaxed)),
            gate_reloads: self.m.gate_reloads.load(Ordering::Relaxed),
            gate_refreshed_ms: self.m.gate_refreshed_ms.load(Ordering::Relaxed),
            gate_reload_us: self.m.gate_reload_us.load(Ordering::Relaxed),
            logins_failed: self.m.logins_failed.load(Ordering::Relaxed),
            pool_in_use: (self.pool_size as u64).saturating_sub(self.pool_idle),
            pool_idle: self.pool_idle,
            pool_max: self.pool_max,
            pool_waiting: self.pool_waits.waiting,
            pool_waits: self.pool_waits.waits,
            pool_waited_seconds: self.pool_waits.waited_seconds,
            hash_running: self.hash_running,
            hash_waiting: self.hash_waiting,
            started: self.m.started,
        }));
        let mut text = String::new();
        prometheus_client::encoding::text::encode_registry(&mut text, &reg)?;
        out.push_str(text.trim_end());
        out.push('\n');
        Ok(())
    }
}

#[derive(Debug)]
struct Figures {
    gate_checks: u64,
    reasons: [u64; Reason::ALL.len()],
    gate_reloads: u64,
    gate_refreshed_ms: i64,
    gate_reload_us: u64,
    logins_failed: u64,
    pool_in_use: u64,
    pool_idle: u64,
    pool_max: u32,
    pool_waiting: i64,
    pool_waits: u64,
    pool_waited_seconds: f64,
    hash_running: i64,
    hash_waiting: i64,
    started: SystemTime,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

fn counter<T>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    v: T,
) -> fmt::Result
where
    ConstCounter<T>: EncodeMetric,
{
    let c = ConstCounter::new(v);
    c.encode(e.encode_descriptor(name, help, unit, c.metric_type())?)
}

fn gauge<T>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    v: T,
) -> fmt::Result
where
    ConstGauge<T>: EncodeMetric,
{
    let g = ConstGauge::new(v);
    g.encode(e.encode_descriptor(name, help, unit, g.metric_type())?)
}

impl prometheus_client::collector::Collector for Figures {
    fn encode(&self, mut e: DescriptorEncoder) -> fmt::Result {
        counter(
            &mut e,
            "gate_checks",
            "Gate checks answered (a batch counts each check)",
            None,
            self.gate_checks,
        )?;
        {
            let mut m = e.encode_descriptor(
                "gate_check_reasons",
                "Gate checks answered, by the reason given",
                None,
                MetricType::Counter,
            )?;
            for (reason, n) in Reason::ALL.iter().map(|r| r.as_str()).zip(self.reasons) {
                ConstCounter::new(n).encode(m.encode_family(&ReasonLabel { reason })?)?;
            }
        }
        counter(
            &mut e,
            "gate_cache_reloads",
            "Full reloads of the gate's cache",
            None,
            self.gate_reloads,
        )?;
        gauge(
            &mut e,
            "gate_cache_last_reload_duration",
            "How long the gate's last full reload took",
            Some(&Unit::Seconds),
            self.gate_reload_us as f64 / 1e6,
        )?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let age = if self.gate_refreshed_ms > 0 {
            (now_ms - self.gate_refreshed_ms).max(0) as f64 / 1e3
        } else {
            f64::INFINITY
        };
        gauge(
            &mut e,
            "gate_state_age",
            "Time since the gate last loaded its state or applied a change (+Inf before the first load)",
            Some(&Unit::Seconds),
            age,
        )?;
        counter(
            &mut e,
            "login_failures",
            "Failed logins",
            None,
            self.logins_failed,
        )?;
        gauge(
            &mut e,
            "db_pool_connections_in_use",
            "Database connections lent to requests now",
            None,
            self.pool_in_use as i64,
        )?;
        gauge(
            &mut e,
            "db_pool_connections_idle",
            "Open database connections not in use",
            None,
            self.pool_idle as i64,
        )?;
        gauge(
            &mut e,
            "db_pool_connections_max",
            "The pool's size limit (DB_MAX_CONNECTIONS)",
            None,
            self.pool_max as i64,
        )?;
        gauge(
            &mut e,
            "db_pool_waiting",
            "Requests waiting for a database connection now: every connection was in use when they asked",
            None,
            self.pool_waiting,
        )?;
        counter(
            &mut e,
            "db_pool_waits",
            "Requests that found every database connection in use and waited for one",
            None,
            self.pool_waits,
        )?;
        counter(
            &mut e,
            "db_pool_wait",
            "Time requests spent waiting for a database connection (rate: the share of time lost to an exhausted pool)",
            Some(&Unit::Seconds),
            self.pool_waited_seconds,
        )?;
        gauge(
            &mut e,
            "password_hashes_running",
            "Password hashes running now (at most HASH_CONCURRENCY)",
            None,
            self.hash_running,
        )?;
        gauge(
            &mut e,
            "password_hashes_waiting",
            "Password hashes waiting for a turn",
            None,
            self.hash_waiting,
        )?;
        {
            let mut m = e.encode_descriptor(
                "moments_gate_build_info",
                "The running build (always 1)",
                None,
                MetricType::Gauge,
            )?;
            ConstGauge::new(1i64).encode(m.encode_family(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })?)?;
        }
        let start = self
            .started
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        gauge(
            &mut e,
            "process_start_time",
            "Start time of the process since the Unix epoch",
            Some(&Unit::Seconds),
            start,
        )?;
        let p = process();
        if let Some(cpu) = p.cpu_seconds {
            counter(
                &mut e,
                "process_cpu",
                "User and system CPU time spent",
                Some(&Unit::Seconds),
                cpu,
            )?;
        }
        if let Some(rss) = p.resident_bytes {
            gauge(
                &mut e,
                "process_resident_memory",
                "Resident memory size",
                Some(&Unit::Bytes),
                rss,
            )?;
        }
        if let Some(fds) = p.open_fds {
            gauge(
                &mut e,
                "process_open_fds",
                "Open file descriptors",
                None,
                fds,
            )?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Process {
    cpu_seconds: Option<f64>,
    resident_bytes: Option<i64>,
    open_fds: Option<i64>,
}

/// The process's own figures from /proc (Linux); absent elsewhere.
fn process() -> Process {
    let mut p = Process::default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
        && let Some((_, rest)) = stat.rsplit_once(')')
    {
        let f: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of stat (11 and 12 after the name and
        // state), in clock ticks: 100 per second on Linux.
        if let (Some(u), Some(s)) = (f.get(11), f.get(12))
            && let (Ok(u), Ok(s)) = (u.parse::<f64>(), s.parse::<f64>())
        {
            p.cpu_seconds = Some((u + s) / 100.0);
        }
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        p.resident_bytes = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
            .map(|kb| kb * 1024);
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        p.open_fds = Some(dir.count() as i64);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_buckets_are_cumulative_in_the_text() {
        let m = Metrics::default();
        m.routes([("GET", "/v1/things/{id}")]);
        m.record_request("GET", "/v1/things/{id}", 200, Duration::from_micros(700));
        m.record_request("GET", "/v1/things/{id}", 200, Duration::from_millis(3));
        m.record_request("GET", "/v1/things/{id}", 418, Duration::from_millis(3));
        m.record_request("GET", "unmatched", 404, Duration::from_millis(1));
        let mut out = String::new();
        let reg = m.registry.lock().unwrap();
        prometheus_client::encoding::text::encode_registry(&mut out, &reg).unwrap();
        let line = |needle: &str| {
            out.lines()
                .find(|l| l.starts_with(needle))
                .unwrap_or_else(|| panic!("{needle} missing in\n{out}"))
                .to_owned()
        };
        assert!(
            line(r#"http_requests_total{method="GET",route="/v1/things/{id}",status="200"}"#)
                .ends_with(" 2")
        );
        assert!(
            line(r#"http_requests_total{method="GET",route="/v1/things/{id}",status="418"}"#)
                .ends_with(" 1")
        );
        assert!(
            line(r#"http_request_duration_seconds_bucket{le="0.001",method="GET",route="/v1/things/{id}"}"#)
                .ends_with(" 1")
        );
        assert_eq!(
            line(
                r#"http_request_duration_seconds_bucket{le="0.004",method="GET",route="/v1/things/{id}"}"#
            ),
            r#"http_request_duration_seconds_bucket{le="0.004",method="GET",route="/v1/things/{id}"} 3"#
        );
        assert!(
            line(r#"http_request_duration_seconds_count{method="GET",route="/v1/things/{id}"}"#)
                .ends_with(" 3")
        );
        assert!(
            line(r#"http_requests_total{method="GET",route="unmatched",status="404"}"#)
                .ends_with(" 1")
        );
    }
}
