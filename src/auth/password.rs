//! Password policy and hashing. Hashing is CPU-bound (argon2id, ~30 ms a hash), so it
//! runs on a few threads of its own behind a semaphore: a storm of logins queues there
//! instead of stalling the async workers that serve the gate.
//!
//! Each hash needs 19 MiB of working memory. Allocated per hash (as `hash_password`
//! does), glibc keeps the freed blocks in the arena of whichever thread ran it, and a
//! login storm over the blocking pool's many threads left the process at 1 GB resident.
//! So each hashing thread allocates its block once and reuses it for every hash, and there
//! are only as many hashing threads as hashes may run at once: the memory for hashing is
//! `HASH_CONCURRENCY` × 19 MiB, held for good.

use crate::domain::error::Code;
use crate::error::{ApiError, Result};
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, LazyLock, Mutex};
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

thread_local! {
    /// This thread's argon2 working memory: allocated by its first hash, reused by every
    /// later one (argon2 overwrites every block before it reads it, so what a previous hash
    /// left there does not matter).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on `blocks` blocks of this thread's argon2 memory, growing it only for a
/// stored hash with a larger memory cost than ours.
fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with_borrow_mut(|m| {
        if m.len() < blocks {
            m.resize(blocks, Block::new());
        }
        f(&mut m[..blocks])
    })
}

/// A new argon2id hash of `password` (PHC string), with a random salt, computed in this
/// thread's reused memory.
fn hash_phc(password: &[u8]) -> std::result::Result<String, String> {
    let salt = argon2::password_hash::try_generate_salt().map_err(|e| e.to_string())?;
    hash_phc_with_salt(password, &salt)
}

fn hash_phc_with_salt(password: &[u8], salt: &[u8]) -> std::result::Result<String, String> {
    let ctx = argon2();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_memory(ctx.params().block_count(), |m| {
        ctx.hash_password_into_with_memory(password, salt, &mut out, m)
    })
    .map_err(|e| e.to_string())?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(ctx.params()).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `phc` (with the algorithm, version and
/// parameters it records), computed in this thread's reused memory; the outputs are
/// compared in constant time (`Output`'s `PartialEq`).
fn verify_phc(password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm.as_str()) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let ctx = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let hashed = with_memory(ctx.params().block_count(), |m| {
        ctx.hash_password_into_with_memory(password, salt, &mut out, m)
    });
    hashed.is_ok() && Output::new(&out).is_ok_and(|o| o == *expected)
}

/// Verifying against this hash costs the same as against a real one, so an unknown email
/// takes as long as a wrong password. Computed once, on a hashing thread (see `Pool::new`).
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_phc(b"no user has this password, it only costs time").expect("hashing works")
});

type Job = Box<dyn FnOnce() + Send>;

/// How much nicer than the server the hashing threads run.
pub const HASH_NICENESS: i32 = 10;

/// Lowers the calling thread's priority by [`HASH_NICENESS`] (on Linux nice is per thread):
/// hashing then takes only the CPU that requests leave idle. Every core may hash when
/// nothing else runs, yet a flood of sign-ins cannot slow the gate — under contention the
/// scheduler gives a thread at nice 10 about a tenth of the share of one at nice 0.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let raised = getpriority_process(None)
            .and_then(|now| setpriority_process(None, (now + HASH_NICENESS).min(19)));
        if let Err(e) = raised {
            tracing::warn!(error = %e, "password hashing: could not lower the thread's priority");
        }
    }
}

/// The hashing threads: a fixed number, each with its own reused argon2 memory. They end
/// when the last `Hasher` clone is dropped (the channel closes).
struct Pool {
    jobs: mpsc::Sender<Job>,
}

impl Pool {
    fn new(threads: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    yield_to_requests();
                    loop {
                        // The lock is held only while taking a job, not while running it.
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // A job that panics (none should) loses its answer, not the thread.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })
                .expect("spawning a hashing thread");
        }
        let pool = Self { jobs };
        // The dummy hash, made on a hashing thread (so its memory is that thread's reused
        // block) before the first unknown email needs it.
        let _ = pool.jobs.send(Box::new(|| {
            LazyLock::force(&DUMMY_HASH);
        }));
        pool
    }
}

/// Runs password hashing off the async workers, on `concurrency` threads of its own (at
/// most that many at once), with at most `max_waiting` more queued: past that a request is
/// told 503 `overloaded` at once rather than queued without bound.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
    pool: Arc<Pool>,
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
        let concurrency = concurrency.max(1);
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting,
            pool: Arc::new(Pool::new(concurrency)),
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
                            let _ = hash_phc(b"a fine long passphrase");
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
        let permit = match self.permits.clone().try_acquire_owned() {
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
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| ApiError::internal("hasher closed"))?
            }
        };
        let _running = Mark::new(self.metrics.as_deref().map(|m| &m.hash_running));
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.pool
            .jobs
            .send(Box::new(move || {
                // The permit goes with the hash: a request dropped meanwhile does not free
                // its turn before the hash is done.
                let out = f();
                // Free before answering: the turn is free by the time the caller hears.
                drop(permit);
                let _ = answer.send(out);
            }))
            .map_err(|_| ApiError::internal("hasher closed"))?;
        answered
            .await
            .map_err(|_| ApiError::internal("hashing failed"))
    }

    pub async fn hash(&self, password: &NewPassword) -> Result<String> {
        let pw = password.expose().to_owned();
        self.blocking(move || hash_phc(pw.as_bytes()).map_err(ApiError::internal))
            .await?
    }

    /// Whether `password` matches `hash`; with no hash (unknown user) it checks a dummy
    /// hash and answers false, taking the same time.
    pub async fn verify(&self, password: &str, hash: Option<String>) -> Result<bool> {
        let known = hash.is_some();
        let pw = password.to_owned();
        let ok = self
            .blocking(move || verify_phc(pw.as_bytes(), hash.as_deref().unwrap_or(&DUMMY_HASH)))
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

    #[test]
    fn reused_memory_gives_argon2s_own_hashes() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = b"0123456789abcdef";
        let theirs = argon2()
            .hash_password_with_salt(b"a fine long passphrase", salt)
            .unwrap()
            .to_string();
        // Twice on one thread: the second runs in memory the first left dirty.
        for _ in 0..2 {
            let ours = hash_phc_with_salt(b"a fine long passphrase", salt).unwrap();
            assert_eq!(ours, theirs);
        }
        let ours = hash_phc(b"another fine passphrase").unwrap();
        assert!(
            argon2()
                .verify_password(b"another fine passphrase", ours.as_str())
                .is_ok()
        );
        assert!(verify_phc(b"a fine long passphrase", &theirs));
        assert!(!verify_phc(b"a fine long passphrasE", &theirs));
        assert!(!verify_phc(b"a fine long passphrase", "not a hash"));
        // A stored hash with stronger parameters than ours still verifies.
        let stronger = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(24_576, 3, 1, None).unwrap(),
        )
        .hash_password_with_salt(b"a fine long passphrase", salt)
        .unwrap()
        .to_string();
        assert!(verify_phc(b"a fine long passphrase", &stronger));
        assert!(!verify_phc(b"a fine long passphrasE", &stronger));
    }

    /// A thread's nice value, from its `stat` (field 19, counted from the state, field 3,
    /// after the name's parenthesis).
    #[cfg(target_os = "linux")]
    fn nice_in(stat: &str) -> Option<i32> {
        let rest = stat.rsplit_once(')')?.1;
        rest.split_whitespace().nth(16)?.parse().ok()
    }

    /// The nice value of each thread of this process whose name starts with `prefix` (a
    /// thread that ends while it is read is left out).
    #[cfg(target_os = "linux")]
    fn nice_of_threads(prefix: &str) -> Vec<i32> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| {
                let dir = t.ok()?.path();
                let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
                if !comm.starts_with(prefix) {
                    return None;
                }
                nice_in(&std::fs::read_to_string(dir.join("stat")).ok()?)
            })
            .collect()
    }

    #[cfg(target_os = "linux")]
    fn own_nice() -> i32 {
        nice_in(&std::fs::read_to_string("/proc/thread-self/stat").unwrap()).unwrap()
    }

    /// Only the hashing threads are lowered: the thread that made the pool keeps its
    /// priority, and each hashing thread is nicer by `HASH_NICENESS` (up to 19).
    #[cfg(target_os = "linux")]
    #[test]
    fn hashing_threads_run_nicer_than_the_server() {
        let before = own_nice();
        let want = (before + HASH_NICENESS).min(19);
        assert!(want > before, "this test needs a thread below nice 19");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let h = Hasher::new(2);
        assert!(!rt.block_on(h.verify("whatever", None)).unwrap());
        assert_eq!(own_nice(), before, "the caller's thread keeps its priority");
        // A thread (this test's or another's) may not have run its first line yet.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let hashing = nice_of_threads("argon2-");
            if hashing.len() >= 2 && hashing.iter().all(|n| *n == want) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{hashing:?}, not {want}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
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
