//! Abuse limits (SPEC §7): the anonymous endpoints per client address, password changes
//! per account. GCRA buckets (`governor`) in each instance's memory: a limit per instance
//! is enough to bound the CPU a client can take (each sign-in costs ~30 ms of argon2),
//! and the per-account login lockout that must hold across instances is in PostgreSQL.

use crate::domain::error::Code;
use crate::error::ApiError;
use actix_web::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::{IpNet, Ipv6Net};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub struct Limiter<K: Hash + Eq + Clone> {
    name: &'static str,
    per: &'static str,
    limit: u32,
    window: Duration,
    buckets: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn new(name: &'static str, per: &'static str, limit: u32, window: Duration) -> Self {
        let n = NonZeroU32::new(limit.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(window / n.get())
            .unwrap_or_else(|| Quota::per_second(n))
            .allow_burst(n);
        Self {
            name,
            per,
            limit: n.get(),
            window,
            buckets: RateLimiter::keyed(quota),
        }
    }

    /// Takes one request from `key`'s bucket, or the 429 that says when to come back.
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        self.buckets.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                Code::TooManyRequests,
                format!("Too many requests {}; retry in {secs} s.", self.per),
            )
            .with_retry_after(secs.max(1))
            .with_header("ratelimit-policy", self.policy())
            .with_header(
                "ratelimit",
                format!("\"{}\";r=0;t={}", self.name, secs.max(1)),
            )
        })
    }

    /// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers).
    pub fn policy(&self) -> String {
        format!(
            "\"{}\";q={};w={}",
            self.name,
            self.limit,
            self.window.as_secs()
        )
    }

    /// Forgets buckets that are full again, so the map's size follows recent clients.
    pub fn shrink(&self) {
        self.buckets.retain_recent();
        self.buckets.shrink_to_fit();
    }
}

pub struct Limits {
    pub anonymous: Limiter<IpAddr>,
    pub password_change: Limiter<Uuid>,
}

impl Limits {
    pub fn new(anon_per_minute: u32, password_changes_per_hour: u32) -> Arc<Self> {
        Arc::new(Self {
            anonymous: Limiter::new(
                "anonymous",
                "from this address",
                anon_per_minute,
                Duration::from_secs(60),
            ),
            password_change: Limiter::new(
                "password",
                "for this account",
                password_changes_per_hour,
                Duration::from_secs(3600),
            ),
        })
    }

    /// Keeps the buckets' memory bounded; run every minute.
    pub fn spawn_shrinking(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(l) = weak.upgrade() else { return };
                l.anonymous.shrink();
                l.password_change.shrink();
            }
        });
    }
}

/// Who a request comes from, for the per-address limits: the connection's peer, or — when
/// the peer is one of `trusted` proxies — the nearest address in `X-Forwarded-For` that is
/// not itself a trusted proxy (what the outermost trusted proxy saw). An IPv6 client is
/// keyed by its /64, which one subscriber holds whole: rotating addresses inside it
/// buys nothing.
pub fn client(req: &actix_web::HttpRequest, trusted: &[IpNet]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::from([0, 0, 0, 0]), |a| canonical(a.ip()));
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut ip = peer;
    if is_trusted(&peer) {
        // Right to left: each entry was added by the proxy after it; a malformed entry
        // ends the walk (everything left of it is the client's to forge).
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        for entry in forwarded.iter().rev() {
            let Ok(hop) = entry.trim().parse::<IpAddr>().map(canonical) else {
                break;
            };
            ip = hop;
            if !is_trusted(&hop) {
                break;
            }
        }
    }
    match ip {
        IpAddr::V6(v6) => IpNet::V6(Ipv6Net::new_assert(v6, 64)).network(),
        v4 => v4,
    }
}

/// An IPv4 address seen through IPv6 (`::ffff:a.b.c.d`) as itself.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `TRUSTED_PROXIES`: addresses or networks, comma-separated (`10.0.0.0/8, 192.0.2.7`).
pub fn parse_trusted(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an IP address or network"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn from(peer: &str, xff: &[&str], trusted: &str) -> String {
        let mut req = TestRequest::default().peer_addr(peer.parse().unwrap());
        for v in xff {
            req = req.append_header(("x-forwarded-for", *v));
        }
        client(&req.to_http_request(), &parse_trusted(trusted).unwrap()).to_string()
    }

    #[test]
    fn the_client_behind_trusted_proxies() {
        // No trusted proxy: the header is the client's to forge, and ignored.
        assert_eq!(
            from("203.0.113.9:5000", &["198.51.100.1"], ""),
            "203.0.113.9"
        );
        // One trusted proxy: the address it saw.
        let lb = "10.0.0.0/8";
        assert_eq!(from("10.0.0.2:5000", &["198.51.100.1"], lb), "198.51.100.1");
        // A forged entry left of the one the proxy added does not count.
        assert_eq!(
            from("10.0.0.2:5000", &["1.1.1.1, 198.51.100.1"], lb),
            "198.51.100.1"
        );
        // Two trusted hops (also over two header lines).
        assert_eq!(
            from("10.0.0.2:5000", &["198.51.100.1", "10.1.1.1"], lb),
            "198.51.100.1"
        );
        // Garbage ends the walk at the last good hop.
        assert_eq!(from("10.0.0.2:5000", &["junk"], lb), "10.0.0.2");
        assert_eq!(from("10.0.0.2:5000", &[], lb), "10.0.0.2");
        // IPv6 by its /64; IPv4 seen through IPv6 as IPv4.
        assert_eq!(
            from("[2001:db8:1:2:aaaa::1]:5000", &[], ""),
            "2001:db8:1:2::"
        );
        assert_eq!(from("[::ffff:203.0.113.9]:5000", &[], ""), "203.0.113.9");
        assert!(parse_trusted("10.0.0.0/8, 192.0.2.7,::1").is_ok());
        assert!(parse_trusted("10.0.0.0/33").is_err());
        assert!(parse_trusted("proxy.internal").is_err());
    }
}
