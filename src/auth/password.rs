//! Password policy and hashing. Hashing is CPU-bound (argon2id, ~30 ms a hash), so it
//! runs on the blocking pool behind a semaphore: a storm of logins queues there instead
//! of stalling the async workers that serve the gate.

use crate::domain::error::Code;
use crate::error::{ApiError, Result};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use tokio::sync::{Semaphore, TryAcquireError};

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        // The header is the leading comment; later lines may begin with '#' too.
        .skip_while(|l| l.starts_with("# "))
        .collect()
});

/// How many passwords the shipped list holds.
pub fn common_list_len() -> usize {
    COMMON.len()
}

/// Words anyone guessing a password here tries first.
const PRODUCT_WORDS: [&str; 10] = [
    "moments",
    "gate",
    "momentsgate",
    "moments-gate",
    "wechat",
    "weixin",
    "tmall",
    "taobao",
    "alibaba",
    "double11",
];

/// A password that meets the policy (NIST SP 800-63B §5.1.1.2). Never truncated; any
/// Unicode.
pub struct NewPassword(String);

impl NewPassword {
    /// Checks the policy for the password in `field`, without knowing whose it is.
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
        Self::parse_for(field, raw, &[])
    }

    /// Checks the policy for the password in `field` of the person described by `inputs`
    /// (their email, their name): 12 to 128 characters, not a common password, and not
    /// easily guessed — a common password padded with digits or repeated, a sequence, a
    /// keyboard walk, the person's own email or name, the product's words (zxcvbn's
    /// estimate below 10^10 guesses).
    pub fn parse_for(field: &str, raw: &str, inputs: &[&str]) -> Result<Self> {
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err(ApiError::invalid_field(
                field,
                Code::PasswordTooShort,
                format!("Use at least {MIN_CHARS} characters."),
            ));
        }
        if chars > MAX_CHARS {
            return Err(ApiError::invalid_field(
                field,
                Code::PasswordTooLong,
                format!("Use at most {MAX_CHARS} characters."),
            ));
        }
        if is_common(raw) || guessable(raw, inputs) {
            return Err(ApiError::invalid_field(
                field,
                Code::PasswordTooCommon,
                "This password is common or easy to guess; choose another (a few unrelated words work well).",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The demo accounts' password, which is published (README) and so refused by the
    /// policy: for the demo seed only, which never runs on a deployment others reach.
    pub fn published_demo(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// In the list of common passwords, or a short pattern repeated ("aaaaaaaaaaaa",
/// "abcabcabcabc").
fn is_common(raw: &str) -> bool {
    let lower = raw.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return true;
    }
    let chars: Vec<char> = lower.chars().collect();
    (1..=chars.len() / 3)
        .any(|n| chars.len().is_multiple_of(n) && chars.chunks(n).all(|c| c == &chars[..n]))
}

/// zxcvbn's estimate, with the person's own words and the product's among its dictionary.
fn guessable(raw: &str, inputs: &[&str]) -> bool {
    let mut words: Vec<&str> = PRODUCT_WORDS.to_vec();
    for i in inputs {
        words.push(i);
        words.extend(
            i.split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() >= 3),
        );
    }
    zxcvbn::zxcvbn(raw, &words).score() < zxcvbn::Score::Three
}

fn argon2() -> Argon2<'static> {
    // The OWASP parameters: m = 19456 KiB, t = 2, p = 1.
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Runs password hashing off the async workers, at most `permits` at once, with at most
/// `max_waiting` more queued: past that a request is told 503 `overloaded` at once rather
/// than queued without bound.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    dummy_hash: Arc<str>,
    /// Where the queue is reported (`password_hashes_running`/`_waiting`), when it is.
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// Counts one in a gauge while it lives (also when the request is dropped meanwhile).
struct Mark<'a>(Option<&'a AtomicI64>);

impl<'a> Mark<'a> {
    fn new(gauge: Option<&'a AtomicI64>) -> Self {
        if let Some(g) = gauge {
            g.fetch_add(1, Ordering::Relaxed);
        }
        Self(gauge)
    }
}

impl Drop for Mark<'_> {
    fn drop(&mut self) {
        if let Some(g) = self.0 {
            g.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Hashes that may wait for a turn, by default.
pub const DEFAULT_QUEUE: usize = 64;

/// Counts a waiting request for as long as it waits (also when it is cancelled).
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hasher {
    pub fn new(concurrency: usize) -> Self {
        Self::with_queue(concurrency, DEFAULT_QUEUE)
    }

    /// How many hashes wait for a turn now.
    pub fn queued(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    pub fn with_queue(concurrency: usize, max_waiting: usize) -> Self {
        // Verifying against this hash costs the same as against a real one, so an unknown
        // email takes as long as a wrong password.
        let dummy = argon2()
            .hash_password(b"no user has this password, it only costs time")
            .expect("hashing works")
            .to_string();
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
            dummy_hash: dummy.into(),
            metrics: None,
        }
    }

    /// Reports the hashing queue in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Argon2 hashes per second with `threads` hashing at once for `seconds`: what the
    /// machine can do, for comparing the login rate against (`moments-gate hash-bench`).
    pub fn rate(threads: usize, seconds: f64) -> f64 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(seconds);
        let start = std::time::Instant::now();
        let done: usize = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads.max(1))
                .map(|_| {
                    s.spawn(|| {
                        let mut n = 0;
                        while std::time::Instant::now() < deadline {
                            let _ = argon2().hash_password(b"a fine long passphrase");
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
        });
        done as f64 / start.elapsed().as_secs_f64()
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        // A free turn is taken at once; only a request that must wait counts against the
        // queue's bound.
        let _permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return Err(ApiError::internal("hasher closed")),
            Err(TryAcquireError::NoPermits) => {
                let ahead = self.waiting.fetch_add(1, Ordering::Relaxed);
                let _waiting = Waiting(self.waiting.clone());
                if ahead >= self.max_waiting {
                    return Err(ApiError::new(
                        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                        Code::Overloaded,
                        "Too many sign-ins at once; retry in a moment.",
                    )
                    .with_retry_after(1));
                }
                let _gauge = Mark::new(self.metrics.as_deref().map(|m| &m.hash_waiting));
                self.permits
                    .acquire()
                    .await
                    .map_err(|_| ApiError::internal("hasher closed"))?
            }
        };
        let _running = Mark::new(self.metrics.as_deref().map(|m| &m.hash_running));
        tokio::task::spawn_blocking(f)
            .await
            .map_err(ApiError::internal)
    }

    pub async fn hash(&self, password: &NewPassword) -> Result<String> {
        let pw = password.expose().to_owned();
        self.blocking(move || {
            argon2()
                .hash_password(pw.as_bytes())
                .map(|h| h.to_string())
                .map_err(ApiError::internal)
        })
        .await?
    }

    /// Whether `password` matches `hash`; with no hash (unknown user) it checks a dummy
    /// hash and answers false, taking the same time.
    pub async fn verify(&self, password: &str, hash: Option<String>) -> Result<bool> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        let pw = password.to_owned();
        let ok = self
            .blocking(move || {
                PasswordHash::new(&hash)
                    .is_ok_and(|h| argon2().verify_password(pw.as_bytes(), &h).is_ok())
            })
            .await?;
        Ok(known && ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guessable_passwords_are_refused() {
        for weak in [
            "123456789012",
            "abcdefghijkl",
            "password1234",
            "passwordpassword",
            "qwertyuiopasdf",
            "momentsgate2027",
            "iloveyou12345678",
        ] {
            let e = NewPassword::parse("p", weak).err().unwrap();
            assert_eq!(e.code(), "password_too_common", "{weak}");
        }
        let e = NewPassword::parse_for(
            "p",
            "li.na@brand.example",
            &["li.na@brand.example", "Li Na"],
        )
        .err()
        .unwrap();
        assert_eq!(e.code(), "password_too_common");
        for fine in [
            "plum rain over the west lake",
            "a long enough test passphrase",
        ] {
            assert!(NewPassword::parse("p", fine).is_ok(), "{fine}");
        }
    }

    #[tokio::test]
    async fn a_full_queue_answers_at_once() {
        // A free turn is taken even with no room to wait.
        let h = Hasher::with_queue(1, 0);
        assert!(!h.verify("whatever", None).await.unwrap());
        // With the only turn taken and no room to wait: 503 at once.
        let busy = h.permits.clone().try_acquire_owned().unwrap();
        let e = h.verify("whatever", None).await.unwrap_err();
        assert_eq!(e.code(), "overloaded");
        assert_eq!(h.queued(), 0);
        // With room for one: the first waits, the second is refused, and a waiter that
        // gives up (its request dropped) gives its place back.
        let h = Hasher::with_queue(1, 1);
        let busy2 = h.permits.clone().try_acquire_owned().unwrap();
        let waiter = tokio::spawn({
            let h = h.clone();
            async move { h.verify("whatever", None).await }
        });
        while h.queued() == 0 {
            tokio::task::yield_now().await;
        }
        let e = h.verify("whatever", None).await.unwrap_err();
        assert_eq!(e.code(), "overloaded");
        waiter.abort();
        assert!(waiter.await.unwrap_err().is_cancelled());
        assert_eq!(h.queued(), 0);
        drop((busy, busy2));
        assert!(!h.verify("whatever", None).await.unwrap());
    }

    #[test]
    fn the_shipped_list_holds_only_passwords_the_length_rule_would_accept() {
        assert_eq!(common_list_len(), 43_940);
        for pw in COMMON.iter() {
            let n = pw.chars().count();
            assert!((MIN_CHARS..=MAX_CHARS).contains(&n), "{pw}");
            assert_eq!(*pw, pw.to_lowercase(), "stored lower-cased");
        }
        // Common (they come from real leaks) yet random-looking enough to pass zxcvbn's
        // estimate: only the list refuses them, in any case.
        for pw in ["adultsitesurfer", "VWRDN4bbaf3nh4i", "vjqvfkmxbryfdtrb"] {
            assert!(!guessable(pw, &[]), "{pw} would pass the estimate alone");
            let e = NewPassword::parse("p", pw).err().expect(pw);
            assert_eq!(e.code(), "password_too_common", "{pw}");
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(NewPassword::parse("p", "我的密码很长而且不常见啊").is_ok());
        let e = NewPassword::parse("p", "我的密码很长而且不常见")
            .err()
            .unwrap();
        assert_eq!(e.code(), "password_too_short");
        let long: String = "é".repeat(MAX_CHARS);
        assert!(NewPassword::parse("p", &format!("{long}x")).is_err());
        // 128 characters (not bytes) is still a password: varied ones, so that it is not
        // refused as guessable.
        let varied: String = (0..125u32)
            .filter_map(|i| char::from_u32(0x4E00 + (i * 7919 + i * i * 31) % 20000))
            .collect();
        assert_eq!(varied.chars().count(), 125);
        assert!(NewPassword::parse("p", &format!("{varied}Zq9")).is_ok());
    }

    #[test]
    fn common_and_repeated_passwords_are_refused() {
        for pw in [
            "aaaaaaaaaaaa",
            "abcabcabcabc",
            "1QAZ2WSX3EDC",
            "123qweasdzxc",
        ] {
            let e = NewPassword::parse("p", pw).err().expect(pw);
            assert_eq!(e.code(), "password_too_common", "{pw}");
        }
        assert!(NewPassword::parse("p", "correct horse battery staple").is_ok());
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let h = Hasher::new(1);
        let pw = NewPassword::parse("p", "a fine long passphrase").unwrap();
        let hash = h.hash(&pw).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            h.verify("a fine long passphrase", Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !h.verify("a fine long passphrasE", Some(hash))
                .await
                .unwrap()
        );
        assert!(!h.verify("a fine long passphrase", None).await.unwrap());
    }
}
