//! Periodic clean-up that any instance may run: expired sessions, and idempotency rows
//! older than the 24 hours they are kept for.
//!
//! Every instance wakes up on its own schedule; a transaction-scoped advisory lock lets
//! one of them sweep at a time (the others skip that round), and each batch is a short
//! transaction that deletes at most `BATCH` rows with `FOR UPDATE SKIP LOCKED`, so a
//! sweep never waits for a row a request holds, and a request never waits long for one.

use sqlx::PgPool;
use std::time::Duration;

/// The advisory lock key of the sweep (any constant unique within the database).
const LOCK_KEY: i64 = 0x6d67_5f73_7765_6570; // "mg_sweep"
const BATCH: i64 = 500;

/// What one sweep removed; `None` from `sweep` when another instance held the lock.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    pub idempotency_keys: u64,
}

/// Sweeps every `every` (first after a short random delay, so instances started together
/// do not all try at once), until the process ends. Failures are logged and retried on
/// the next round.
pub fn start(pool: PgPool, every: Duration) {
    tokio::spawn(async move {
        let mut b = [0u8; 2];
        let _ = getrandom::fill(&mut b);
        let jitter = Duration::from_millis(u64::from(u16::from_le_bytes(b)) % 5000);
        tokio::time::sleep(Duration::from_secs(5) + jitter).await;
        loop {
            match sweep(&pool).await {
                Ok(Some(s)) if s != Swept::default() => {
                    tracing::info!(
                        sessions = s.sessions,
                        idempotency_keys = s.idempotency_keys,
                        "housekeeping: swept"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "housekeeping: sweep failed"),
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// One sweep, in batches. `None` when another instance is sweeping right now.
pub async fn sweep(pool: &PgPool) -> sqlx::Result<Option<Swept>> {
    let mut total = Swept::default();
    loop {
        let Some(n) = batch(
            pool,
            "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
             WHERE expires_at < now() LIMIT $1 FOR UPDATE SKIP LOCKED)",
        )
        .await?
        else {
            return Ok(None);
        };
        total.sessions += n;
        if n < BATCH as u64 {
            break;
        }
    }
    loop {
        let Some(n) = batch(
            pool,
            "DELETE FROM idempotency_keys WHERE (caller, key) IN (SELECT caller, key \
             FROM idempotency_keys WHERE created_at < now() - interval '24 hours' \
             LIMIT $1 FOR UPDATE SKIP LOCKED)",
        )
        .await?
        else {
            return Ok(None);
        };
        total.idempotency_keys += n;
        if n < BATCH as u64 {
            break;
        }
    }
    Ok(Some(total))
}

/// One short transaction: the lock (without waiting), then one bounded delete.
async fn batch(pool: &PgPool, delete: &'static str) -> sqlx::Result<Option<u64>> {
    let mut tx = pool.begin().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(None);
    }
    let n = sqlx::query(delete)
        .bind(BATCH)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(Some(n))
}
