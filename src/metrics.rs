//! Prometheus counters kept by hand: a handful of atomics and one map, so building the
//! app many times (as the tests do) needs no process-wide recorder.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    /// (method, route template, status) → count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    pub gate_checks: AtomicU64,
    pub gate_reloads: AtomicU64,
    pub logins_failed: AtomicU64,
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
    }

    pub fn render(&self, pool: &sqlx::PgPool) -> String {
        let mut out = String::new();
        out.push_str("# HELP http_requests_total HTTP requests answered, by route template.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((method, route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    route.replace('\\', "\\\\").replace('"', "\\\"")
                );
            }
        }
        let counters = [
            (
                "gate_checks_total",
                "Gate checks answered (a batch counts each check).",
                &self.gate_checks,
            ),
            (
                "gate_cache_reloads_total",
                "Full reloads of the gate's cache.",
                &self.gate_reloads,
            ),
            (
                "login_failures_total",
                "Failed logins.",
                &self.logins_failed,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP db_pool_connections Open database connections.\n# TYPE db_pool_connections gauge\ndb_pool_connections {}\n# HELP db_pool_idle Idle database connections.\n# TYPE db_pool_idle gauge\ndb_pool_idle {}",
            pool.size(),
            pool.num_idle()
        );
        out
    }
}
