//! The serving gate: may this campaign serve at time T?
//!
//! Answers come from memory, never from a query per check. The cache holds campaigns,
//! whitelist entries by (brand, season), which brands are verified and the active API
//! keys. It is kept exact by the database's own change notifications: triggers announce
//! `<table>:<id>` on the `gate_changes` channel for every change to those tables, and a
//! background task re-reads that one row. Notifications sent while the listener is
//! disconnected are lost, so everything is reloaded after every (re)connect, and every
//! 30 s as a safety net. When the database is away the last snapshot keeps serving.

mod cache;
pub mod decision;

use crate::metrics::Metrics;
use crate::store::api_keys;
use cache::{Change, KeyHash, State};
use chrono::{DateTime, Utc};
use decision::{CampaignFacts, Reason};
use futures_util::FutureExt;
use serde::Serialize;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Duration;
use tokio::time::Instant;
use utoipa::ToSchema;
use uuid::Uuid;

pub const CHANNEL: &str = "gate_changes";
const FULL_RELOAD_EVERY: Duration = Duration::from_secs(30);
const START_WAIT: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Above this many pending notifications, one full reload replaces row-by-row reloads.
const MAX_ROW_RELOADS: usize = 200;

/// One answer of the gate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verdict {
    pub campaign_id: Uuid,
    /// Null when the campaign does not exist.
    pub brand_id: Option<Uuid>,
    pub season_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub eligible: bool,
    pub reason: Reason,
}

impl Verdict {
    fn new(id: Uuid, c: Option<&CampaignFacts>, at: DateTime<Utc>, reason: Reason) -> Self {
        Self {
            campaign_id: id,
            brand_id: c.map(|c| c.brand_id),
            season_id: c.map(|c| c.season_id),
            at,
            eligible: reason.eligible(),
            reason,
        }
    }
}

pub struct Gate {
    state: RwLock<State>,
    /// Bumped on every change the listener applies. A lookup made on a cache miss is
    /// cached only if no change landed meanwhile, so a stale read never hides a
    /// revocation or a pause.
    generation: AtomicU64,
    metrics: Arc<Metrics>,
}

impl Gate {
    /// Loads the cache (waiting at most a couple of seconds for the database) and starts
    /// the task that keeps it fresh. With the database away it starts empty and the task
    /// keeps trying.
    pub async fn start(pool: PgPool, metrics: Arc<Metrics>) -> Arc<Self> {
        let gate = Arc::new(Self {
            state: RwLock::default(),
            generation: AtomicU64::new(0),
            metrics,
        });
        let listener = match tokio::time::timeout(START_WAIT, gate.connect_and_load(&pool)).await {
            Ok(Ok(l)) => Some(l),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "gate: initial load failed; retrying in the background");
                None
            }
            Err(_) => {
                tracing::warn!("gate: initial load timed out; retrying in the background");
                None
            }
        };
        tokio::spawn(run(Arc::downgrade(&gate), pool, listener));
        gate
    }

    /// The id of the active API key with this hash. Answered from memory; a key the cache
    /// does not hold (made a moment ago) is looked up once and then kept.
    pub async fn api_key(&self, pool: &PgPool, hash: &[u8]) -> sqlx::Result<Option<Uuid>> {
        let Ok(h) = KeyHash::try_from(hash) else {
            return Ok(None);
        };
        if let Some(id) = self.read().keys.get(&h) {
            return Ok(Some(*id));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let found = api_keys::active_by_hash(pool, hash).await?;
        if let Some(id) = found {
            let mut s = self.write();
            if self.generation.load(Ordering::SeqCst) == generation {
                s.put_key(id, h);
            }
        }
        Ok(found)
    }

    /// Answers one check: from memory when the cache knows the campaign (the hot path:
    /// one read lock, no allocation), else as `check_many` does.
    pub async fn check(&self, pool: &PgPool, id: Uuid, at: DateTime<Utc>) -> sqlx::Result<Verdict> {
        let known = self.read().verdict(id, at);
        if let Some(v) = known {
            self.metrics.gate_checks.fetch_add(1, Ordering::Relaxed);
            return Ok(v);
        }
        let mut answers = self.check_many(pool, &[(id, at)]).await?;
        Ok(answers
            .pop()
            .unwrap_or_else(|| Verdict::new(id, None, at, Reason::NotFound)))
    }

    /// Answers each check, in order. Only campaign ids the cache has never seen reach
    /// the database (one query for all of them).
    pub async fn check_many(
        &self,
        pool: &PgPool,
        checks: &[(Uuid, DateTime<Utc>)],
    ) -> sqlx::Result<Vec<Verdict>> {
        self.metrics
            .gate_checks
            .fetch_add(checks.len() as u64, Ordering::Relaxed);
        let missing: Vec<Uuid> = {
            let s = self.read();
            let mut seen = HashSet::new();
            checks
                .iter()
                .map(|(id, _)| *id)
                .filter(|id| !s.knows(id) && seen.insert(*id))
                .collect()
        };
        if missing.is_empty() {
            return Ok(self.answer(checks, None));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let fetched = State::load_campaigns(pool, &missing).await?;
        let answers = self.answer(checks, Some(&fetched));
        let mut s = self.write();
        if self.generation.load(Ordering::SeqCst) == generation {
            s.merge_missing(fetched);
        }
        Ok(answers)
    }

    fn answer(&self, checks: &[(Uuid, DateTime<Utc>)], extra: Option<&State>) -> Vec<Verdict> {
        let s = self.read();
        checks
            .iter()
            .map(|&(id, at)| {
                s.verdict(id, at)
                    .or_else(|| extra.and_then(|x| x.verdict(id, at)))
                    .unwrap_or_else(|| Verdict::new(id, None, at, Reason::NotFound))
            })
            .collect()
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    async fn connect_and_load(&self, pool: &PgPool) -> sqlx::Result<PgListener> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        // Listening first, then loading: nothing committed in between is missed.
        self.reload(pool).await?;
        Ok(listener)
    }

    async fn reload(&self, pool: &PgPool) -> sqlx::Result<()> {
        let started = std::time::Instant::now();
        let fresh = State::load(pool).await?;
        *self.write() = fresh;
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.metrics.gate_reloads.fetch_add(1, Ordering::Relaxed);
        self.metrics
            .gate_reload_us
            .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.metrics.gate_refreshed();
        Ok(())
    }

    /// Whether the cache has been loaded whole at least once (`/readyz` waits for it).
    pub fn loaded(&self) -> bool {
        self.metrics.gate_reloads.load(Ordering::Relaxed) > 0
    }

    /// Re-reads the rows named by `payloads` (each once), applying each change as it is read.
    async fn apply(&self, pool: &PgPool, payloads: &[String]) -> sqlx::Result<()> {
        let mut conn = pool.acquire().await?;
        let mut seen = HashSet::new();
        for payload in payloads.iter().filter(|p| seen.insert(p.as_str())) {
            let change = Change::read(&mut conn, payload, |id| {
                self.read().entry_keys.get(&id).copied()
            })
            .await?;
            let mut s = self.write();
            change.apply(&mut s);
            self.generation.fetch_add(1, Ordering::SeqCst);
            self.metrics.gate_refreshed();
        }
        Ok(())
    }
}

/// Takes the notifications already received after `first`, without waiting. More than
/// `MAX_ROW_RELOADS` of them (a bulk change) are cheaper as one full reload: `None`.
fn drain(l: &mut PgListener, first: String) -> sqlx::Result<Option<Vec<String>>> {
    let mut payloads = vec![first];
    while let Some(next) = l.try_recv().now_or_never() {
        match next? {
            Some(n) => payloads.push(n.payload().to_owned()),
            // Lost and reconnected: what was announced meanwhile is lost.
            None => return Ok(None),
        }
        if payloads.len() > MAX_ROW_RELOADS {
            // Received and not yet applied: all committed, so a full reload covers them.
            while let Some(r) = l.try_recv().now_or_never() {
                if r?.is_none() {
                    break;
                }
            }
            return Ok(None);
        }
    }
    Ok(Some(payloads))
}

/// Keeps the cache fresh until the gate is dropped.
async fn run(gate: Weak<Gate>, pool: PgPool, mut listener: Option<PgListener>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut l = match listener.take() {
            Some(l) => l,
            None => {
                let Some(g) = gate.upgrade() else { return };
                match g.connect_and_load(&pool).await {
                    Ok(l) => {
                        tracing::info!("gate: listening for changes");
                        backoff = Duration::from_millis(100);
                        l
                    }
                    Err(e) => {
                        drop(g);
                        tracing::warn!(error = %e, retry_in = ?backoff, "gate: cannot listen; serving the last snapshot");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                }
            }
        };
        let mut next_reload = Instant::now() + FULL_RELOAD_EVERY;
        loop {
            let received = tokio::time::timeout_at(next_reload, l.try_recv()).await;
            let Some(g) = gate.upgrade() else { return };
            let outcome = match received {
                Err(_) => {
                    next_reload = Instant::now() + FULL_RELOAD_EVERY;
                    g.reload(&pool).await
                }
                Ok(Ok(Some(n))) => match drain(&mut l, n.payload().to_owned()) {
                    Ok(Some(payloads)) => g.apply(&pool, &payloads).await,
                    Ok(None) => {
                        next_reload = Instant::now() + FULL_RELOAD_EVERY;
                        g.reload(&pool).await
                    }
                    Err(e) => Err(e),
                },
                // The connection was lost and is back: what was announced meanwhile is lost.
                Ok(Ok(None)) => {
                    next_reload = Instant::now() + FULL_RELOAD_EVERY;
                    g.reload(&pool).await
                }
                Ok(Err(e)) => Err(e),
            };
            if let Err(e) = outcome {
                tracing::warn!(error = %e, "gate: lost track of changes; reconnecting");
                break;
            }
        }
    }
}
