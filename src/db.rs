//! The request pool. Requests take their connections through [`Db`], so it can say how many
//! are waiting for one and how long they waited (`db_pool_waiting`, `db_pool_waits_total`,
//! `db_pool_wait_seconds_total` in `/metrics`): sqlx reports the connections open and idle,
//! not the requests queued for them. A request that waits is the first sign of a pool too
//! small or a database too slow.

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres, Transaction};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct Db {
    pool: PgPool,
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    waiting: AtomicI64,
    waits: AtomicU64,
    waited_us: AtomicU64,
}

/// Counts one waiter while it lives, and its wait when it ends: a request given up while
/// it waits (its future dropped) stops counting too.
struct Waiting<'a> {
    counts: &'a Counts,
    since: Instant,
}

impl<'a> Waiting<'a> {
    fn new(counts: &'a Counts) -> Self {
        counts.waiting.fetch_add(1, Ordering::Relaxed);
        Self {
            counts,
            since: Instant::now(),
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let c = self.counts;
        c.waiting.fetch_sub(1, Ordering::Relaxed);
        c.waits.fetch_add(1, Ordering::Relaxed);
        c.waited_us
            .fetch_add(self.since.elapsed().as_micros() as u64, Ordering::Relaxed);
    }
}

/// What the pool says of its waiters, for `/metrics`.
pub struct WaitFigures {
    pub waiting: i64,
    pub waits: u64,
    pub waited_seconds: f64,
}

impl Db {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            counts: Arc::default(),
        }
    }

    /// Counted as a wait only when every connection is in use as it asks (none idle, the
    /// pool at its size limit): not the idle connection's liveness check, nor a new
    /// connection opening below the limit. A snapshot, so a request asking just as a
    /// connection comes back may count for that instant.
    fn waiting(&self) -> Option<Waiting<'_>> {
        let exhausted = self.pool.num_idle() == 0
            && self.pool.size() >= self.pool.options().get_max_connections();
        exhausted.then(|| Waiting::new(&self.counts))
    }

    /// A connection; counted as waiting until it is handed over when none was free.
    pub async fn acquire(&self) -> sqlx::Result<PoolConnection<Postgres>> {
        let _waiting = self.waiting();
        self.pool.acquire().await
    }

    /// A transaction, as [`Db::acquire`] (the `BEGIN` round trip is counted with a wait).
    pub async fn begin(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        let _waiting = self.waiting();
        self.pool.begin().await
    }

    /// A transaction begun with `statement`, as [`Db::begin`].
    pub async fn begin_with(
        &self,
        statement: &'static str,
    ) -> sqlx::Result<Transaction<'static, Postgres>> {
        let _waiting = self.waiting();
        self.pool.begin_with(statement).await
    }

    /// Requests waiting for a connection now, waits so far and their total time.
    pub fn wait_figures(&self) -> WaitFigures {
        let waiting = self.counts.waiting.load(Ordering::Relaxed);
        debug_assert!(waiting >= 0, "more waits ended than began");
        WaitFigures {
            waiting,
            waits: self.counts.waits.load(Ordering::Relaxed),
            waited_seconds: self.counts.waited_us.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }

    /// The pool itself, uncounted: for its sizes, for closing it, for cleanup after a
    /// request has gone (a login attempt given back), and for the demo seed.
    pub fn uncounted(&self) -> &PgPool {
        &self.pool
    }
}
