//! The request pool. Every request takes its connections through [`Db`], so it can say how
//! many are waiting for one (`db_pool_waiting` in `/metrics`): sqlx reports the connections
//! open and idle, not the requests queued for them. A request that waits is the first sign
//! of a pool too small or a database too slow.

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres, Transaction};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Clone, Debug)]
pub struct Db {
    pool: PgPool,
    waiting: Arc<AtomicI64>,
}

/// Counts one waiter while it lives: a request given up while it waits (its future dropped)
/// stops counting too.
struct Waiting<'a>(&'a AtomicI64);

impl<'a> Waiting<'a> {
    fn new(n: &'a AtomicI64) -> Self {
        n.fetch_add(1, Ordering::Relaxed);
        Self(n)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Db {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            waiting: Arc::default(),
        }
    }

    /// A connection, counted as waiting until it is handed over.
    pub async fn acquire(&self) -> sqlx::Result<PoolConnection<Postgres>> {
        let _waiting = Waiting::new(&self.waiting);
        self.pool.acquire().await
    }

    /// A transaction, counted as waiting until its connection has begun it (the `BEGIN`
    /// round trip, well under a millisecond, is counted with the wait).
    pub async fn begin(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        let _waiting = Waiting::new(&self.waiting);
        self.pool.begin().await
    }

    /// A transaction begun with `statement` (as `begin`).
    pub async fn begin_with(
        &self,
        statement: &'static str,
    ) -> sqlx::Result<Transaction<'static, Postgres>> {
        let _waiting = Waiting::new(&self.waiting);
        self.pool.begin_with(statement).await
    }

    /// Requests waiting for a connection now.
    pub fn waiting(&self) -> i64 {
        self.waiting.load(Ordering::Relaxed).max(0)
    }

    /// The pool itself, uncounted: for its sizes, for closing it, and for the gate, which
    /// reaches the database only for a campaign or key it has not seen (and whose hot path
    /// must not take a connection).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}
