//! Prometheus counters kept by hand: a handful of atomics and one map, so building the
//! app many times (as the tests do) needs no process-wide recorder.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Per route template: (method, status, count).
type RouteCounts = HashMap<String, Vec<(String, u16, u64)>>;

#[derive(Default)]
pub struct Metrics {
    /// route template → [(method, status, count)]: counting a request allocates nothing
    /// once its route, method and status have been seen.
    requests: Mutex<RouteCounts>,
    pub gate_checks: AtomicU64,
    pub gate_reloads: AtomicU64,
    pub logins_failed: AtomicU64,
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16) {
        let Ok(mut m) = self.requests.lock() else {
            return;
        };
        let seen = match m.get_mut(route) {
            Some(seen) => seen,
            None => m.entry(route.to_owned()).or_default(),
        };
        match seen
            .iter_mut()
            .find(|(m, s, _)| m == method && *s == status)
        {
            Some((_, _, n)) => *n += 1,
            None => seen.push((method.to_owned(), status, 1)),
        }
    }

    pub fn render(&self, pool: &sqlx::PgPool) -> String {
        let mut out = String::new();
        out.push_str("# HELP http_requests_total HTTP requests answered, by route template.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        let mut rows: Vec<(&str, &str, u16, u64)> = Vec::new();
        let requests = self.requests.lock();
        if let Ok(m) = &requests {
            for (route, seen) in m.iter() {
                rows.extend(
                    seen.iter()
                        .map(|(method, status, n)| (method.as_str(), route.as_str(), *status, *n)),
                );
            }
            rows.sort_unstable();
            for (method, route, status, n) in rows {
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
