//! Abuse limits (SPEC §7): the anonymous endpoints per client address, password changes
//! per account. GCRA buckets (`governor`) in each instance's memory: a limit per instance
//! is enough to bound the CPU a client can take (each sign-in costs ~30 ms of argon2),
//! and the per-account login lockout that must hold across instances is in PostgreSQL.

use crate::domain::error::Code;
use crate::error::ApiError;
use actix_web::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
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

/// The client's address: the peer of the connection (a proxy in front would need its
/// own trusted header; none is trusted here).
pub fn client(req: &actix_web::HttpRequest) -> IpAddr {
    req.peer_addr()
        .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_says_when_to_return() {
        let l = Limits::new(3, 1);
        let ip = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..3 {
            assert!(l.anonymous.check(&ip).is_ok());
        }
        let e = l.anonymous.check(&ip).unwrap_err();
        assert_eq!(e.code(), "too_many_requests");
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
        // another address has its own bucket
        assert!(l.anonymous.check(&IpAddr::from([10, 0, 0, 2])).is_ok());
        let u = Uuid::new_v4();
        assert!(l.password_change.check(&u).is_ok());
        assert!(l.password_change.check(&u).is_err());
        assert_eq!(l.anonymous.policy(), "\"anonymous\";q=3;w=60");
    }
}
