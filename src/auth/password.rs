//! Password policy and hashing. Hashing is CPU-bound (argon2id, ~30 ms a hash), so it
//! runs on the blocking pool behind a semaphore: a storm of logins queues there instead
//! of stalling the async workers that serve the gate.

use crate::domain::error::Code;
use crate::error::{ApiError, Result};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock};
use tokio::sync::Semaphore;

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
});

/// How many passwords the shipped list holds.
pub fn common_list_len() -> usize {
    COMMON.len()
}

/// A password that meets the policy. Never truncated; any Unicode.
pub struct NewPassword(String);

impl NewPassword {
    /// Checks the policy for the password in `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
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
        if is_common(raw) {
            return Err(ApiError::invalid_field(
                field,
                Code::PasswordTooCommon,
                "This password is among the most common ones; choose another.",
            ));
        }
        Ok(Self(raw.to_owned()))
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

fn argon2() -> Argon2<'static> {
    // The OWASP parameters: m = 19456 KiB, t = 2, p = 1.
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Runs password hashing off the async workers, at most `permits` at once.
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

/// A job for the hashing threads.
type Job = Box<dyn FnOnce() + Send>;

/// Threads that live as long as the hasher and run one hash at a time each, so hashing
/// never creates threads of its own. (Argon2 takes 19 MiB per hash; the bench still shows
/// resident memory growing during a login storm, see README "Benchmarks".)
struct Threads {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
}

impl Threads {
    fn start(n: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..n {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // The hasher is gone.
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Self {
            jobs: std::sync::Mutex::new(tx),
        }
    }

    fn send(&self, job: Job) -> bool {
        self.jobs.lock().is_ok_and(|tx| tx.send(job).is_ok())
    }
}

#[derive(Clone)]
pub struct Hasher {
    threads: Arc<Threads>,
    permits: Arc<Semaphore>,
    dummy_hash: Arc<str>,
    /// Where the queue is reported (`password_hashes_running`/`_waiting`), when it is.
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl Hasher {
    pub fn new(concurrency: usize) -> Self {
        // Verifying against this hash costs the same as against a real one, so an unknown
        // email takes as long as a wrong password.
        let dummy = argon2()
            .hash_password(b"no user has this password, it only costs time")
            .expect("hashing works")
            .to_string();
        Self {
            threads: Arc::new(Threads::start(concurrency.max(1))),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
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
        let waiting = Mark::new(self.metrics.as_deref().map(|m| &m.hash_waiting));
        let permit = self.permits.acquire().await;
        drop(waiting);
        let _permit = permit.map_err(|_| ApiError::internal("hasher closed"))?;
        let _running = Mark::new(self.metrics.as_deref().map(|m| &m.hash_running));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        if !self.threads.send(job) {
            return Err(ApiError::internal("the password hashing threads are gone"));
        }
        rx.await
            .map_err(|_| ApiError::internal("a password hashing thread failed"))
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
    fn list_is_large_enough() {
        assert!(common_list_len() >= 10_000);
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
        assert!(NewPassword::parse("p", &format!("{}Zq9", &long[..250])).is_ok());
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
