//! The serving gate: may this campaign serve at time T?
//!
//! Answers come from memory, never from a query per check. The cache holds campaigns,
//! whitelist entries by (brand, season), which brands are verified and the active API
//! keys. It is kept exact by the database's own change notifications: triggers announce
//! `<table>:<id>` on the `gate_changes` channel for every change to those tables, and a
//! background task re-reads that one row.
//!
//! The change feed has a connection of its own, outside the request pool, so a busy pool
//! never starves it. Every `HEARTBEAT_EVERY` it sends `SELECT 1` through that connection:
//! PostgreSQL delivers every notification committed before the query ahead of its answer,
//! so once those are applied the state is confirmed current as of the moment the
//! heartbeat was sent. The age of the state is the time since that moment; every answer
//! carries it, and past `max_staleness` the gate refuses to answer (503
//! `gate_state_stale`) rather than guess. Notifications sent while the feed is down are
//! lost, so after every (re)connect everything is reloaded — and only then: on a live
//! connection PostgreSQL delivers every notification of every committed change, so no
//! periodic full reload is needed to stay exact (a bulk change of more than
//! `MAX_ROW_RELOADS` rows is applied as one reload). A failed heartbeat or connect also
//! tells the rest of the service that the database is away (`database_up`), so requests
//! can be refused at once.
//!
//! The first load is never cut short: the server waits `START_WAIT` for it, and if the
//! data set is larger than that allows, it goes on in the background while `/readyz`
//! answers 503 until it is done.

mod cache;
pub mod decision;

use crate::db::Db;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::store::api_keys;
use cache::{Change, KeyHash, State};
use chrono::{DateTime, Utc};
use decision::{CampaignFacts, Reason};
use futures_util::FutureExt;
use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Acquire, PgPool};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::time::Duration;
use tokio::time::Instant;
use utoipa::ToSchema;
use uuid::Uuid;

pub const CHANNEL: &str = "gate_changes";
/// How long `start` waits for the first load before the server starts anyway (not ready).
const START_WAIT: Duration = Duration::from_secs(2);
/// Loading everything: far more than the largest data set needs (1.85 M campaigns load in
/// about 6 s here), and each of its statements is bounded by the feed's `statement_timeout`.
const LOAD_WAIT: Duration = Duration::from_secs(60);
/// Reconnects start at 100 ms apart and back off to this, so the feed is back within
/// about a second of the database.
const MAX_BACKOFF: Duration = Duration::from_millis(800);
pub const HEARTBEAT_EVERY: Duration = Duration::from_millis(250);
/// A heartbeat that takes longer means the connection is gone (or the database is
/// hanging): reconnect.
const HEARTBEAT_WAIT: Duration = Duration::from_secs(1);
/// Connecting and listening.
const CONNECT_WAIT: Duration = Duration::from_secs(5);
/// Applying a batch of changes on a live connection. Past that the connection is taken to
/// be silent: the database is marked away and the feed reconnects.
const STEP_WAIT: Duration = Duration::from_secs(2);
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
    /// Milliseconds after `epoch` at which the state was last confirmed current, plus
    /// one (0: never).
    confirmed: AtomicU64,
    epoch: std::time::Instant,
    /// What the feed last saw of the database: false after a failed heartbeat or connect.
    db_up: AtomicBool,
    max_staleness: Duration,
}

impl Gate {
    /// Starts the task that loads the cache and keeps it fresh, on connections of its own
    /// made from `pool`'s options, and waits up to `START_WAIT` for the first load. With
    /// the database away, or a load that takes longer, it returns with the cache empty
    /// (and stale: the gate answers 503, `/readyz` too) while the task goes on.
    pub async fn start(pool: &PgPool, metrics: Arc<Metrics>, max_staleness: Duration) -> Arc<Self> {
        let gate = Arc::new(Self {
            state: RwLock::default(),
            generation: AtomicU64::new(0),
            metrics,
            confirmed: AtomicU64::new(0),
            epoch: std::time::Instant::now(),
            db_up: AtomicBool::new(true),
            max_staleness,
        });
        let options = feed_options(&pool.connect_options());
        tokio::spawn(run(Arc::downgrade(&gate), options));
        let deadline = Instant::now() + START_WAIT;
        while !gate.loaded() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if !gate.loaded() {
            tracing::warn!(
                waited = ?START_WAIT,
                "gate: state not loaded yet; starting, not ready until it is"
            );
        }
        gate
    }

    /// How old the state is: the time since it was last confirmed current (`None`: never).
    pub fn age(&self) -> Option<Duration> {
        match self.confirmed.load(Ordering::SeqCst) {
            0 => None,
            at => Some(
                self.epoch
                    .elapsed()
                    .saturating_sub(Duration::from_millis(at - 1)),
            ),
        }
    }

    /// The age of the state, or 503 `gate_state_stale` when it is past the bound.
    pub fn fresh(&self) -> Result<Duration, ApiError> {
        match self.age() {
            Some(age) if age <= self.max_staleness => Ok(age),
            age => Err(ApiError::gate_state_stale(age)),
        }
    }

    /// False while the change feed cannot reach the database (set within about a
    /// heartbeat of it going away, cleared as soon as it answers again).
    pub fn database_up(&self) -> bool {
        self.db_up.load(Ordering::SeqCst)
    }

    fn confirm(&self, sent: u64) {
        self.confirmed.fetch_max(sent, Ordering::SeqCst);
        self.db_up.store(true, Ordering::SeqCst);
    }

    fn now_mark(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    /// The id of the active API key with this hash, held to the same freshness bound as
    /// the gate's answers (a revoked key must not keep working on a cut-off instance).
    /// Answered from memory; a key the cache does not hold (made a moment ago) is looked
    /// up once and then kept.
    pub async fn api_key(&self, db: &Db, hash: &[u8]) -> Result<Option<Uuid>, ApiError> {
        self.fresh()?;
        let Ok(h) = KeyHash::try_from(hash) else {
            return Ok(None);
        };
        if let Some(id) = self.read().keys.get(&h) {
            return Ok(Some(*id));
        }
        if !self.database_up() {
            return Err(ApiError::unavailable());
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let found = api_keys::active_by_hash(&mut *db.acquire().await?, hash).await?;
        if let Some(id) = found {
            let mut s = self.write();
            if self.generation.load(Ordering::SeqCst) == generation {
                s.put_key(id, h);
            }
        }
        Ok(found)
    }

    /// Answers one check, with the age of the state behind it: from memory when the
    /// cache knows the campaign (the hot path: one read lock, no allocation), else as
    /// `check_many` does.
    pub async fn check(
        &self,
        db: &Db,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(Verdict, Duration), ApiError> {
        // The age is read before the state: the answer is at least as fresh as it says.
        let age = self.fresh()?;
        let known = self.read().verdict(id, at);
        if let Some(v) = known {
            self.metrics.gate_checks.fetch_add(1, Ordering::Relaxed);
            return Ok((v, age));
        }
        let (mut answers, age) = self.check_many(db, &[(id, at)]).await?;
        let v = answers
            .pop()
            .unwrap_or_else(|| Verdict::new(id, None, at, Reason::NotFound));
        Ok((v, age))
    }

    /// Answers each check, in order, with the age of the state behind them. Only campaign
    /// ids the cache has never seen reach the database (one query for all of them).
    ///
    /// One pass under one read lock answers every campaign the cache holds (three table
    /// lookups a check) and notes the rest; a batch of known campaigns touches nothing else.
    pub async fn check_many(
        &self,
        db: &Db,
        checks: &[(Uuid, DateTime<Utc>)],
    ) -> Result<(Vec<Verdict>, Duration), ApiError> {
        let age = self.fresh()?;
        self.metrics
            .gate_checks
            .fetch_add(checks.len() as u64, Ordering::Relaxed);
        // Indexes of checks whose campaign the cache neither holds nor knows to be absent.
        let mut gaps = Vec::new();
        let mut answers: Vec<Verdict> = {
            let s = self.read();
            checks
                .iter()
                .enumerate()
                .map(|(i, &(id, at))| {
                    s.verdict(id, at).unwrap_or_else(|| {
                        if !s.unknown.contains(&id) {
                            gaps.push(i);
                        }
                        Verdict::new(id, None, at, Reason::NotFound)
                    })
                })
                .collect()
        };
        if gaps.is_empty() {
            return Ok((answers, age));
        }
        if !self.database_up() {
            return Err(ApiError::unavailable());
        }
        let mut missing: Vec<Uuid> = gaps.iter().map(|&i| checks[i].0).collect();
        missing.sort_unstable();
        missing.dedup();
        let generation = self.generation.load(Ordering::SeqCst);
        let fetched = State::load_campaigns(&mut *db.acquire().await?, &missing).await?;
        for i in gaps {
            let (id, at) = checks[i];
            if let Some(v) = fetched.verdict(id, at) {
                answers[i] = v;
            }
        }
        let mut s = self.write();
        if self.generation.load(Ordering::SeqCst) == generation {
            s.merge_missing(fetched);
        }
        Ok((answers, age))
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A new feed connection (a pool of one, never the request pool), listening, with
    /// everything loaded through it.
    /// A connection that cannot be made marks the database away; a load that fails because
    /// the database is busy (a lock, a slow statement, the load's own bound) does not:
    /// requests that do not need the gate go on being served meanwhile.
    async fn connect_and_load(&self, options: &PgConnectOptions) -> sqlx::Result<PgListener> {
        let connected = tokio::time::timeout(CONNECT_WAIT, Self::connect(options))
            .await
            .unwrap_or_else(|_| Err(timed_out("connecting the feed")));
        let mut listener = connected.inspect_err(|_| self.db_up.store(false, Ordering::SeqCst))?;
        // Listening first, then loading: nothing committed in between is missed.
        let sent = self.now_mark();
        match tokio::time::timeout(LOAD_WAIT, self.reload(&mut listener)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                if is_down(&e) {
                    self.db_up.store(false, Ordering::SeqCst);
                }
                return Err(e);
            }
            Err(_) => return Err(timed_out("loading the gate's state")),
        }
        self.confirm(sent);
        Ok(listener)
    }

    async fn connect(options: &PgConnectOptions) -> sqlx::Result<PgListener> {
        let feed = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(CONNECT_WAIT)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_lazy_with(options.clone());
        let mut listener = PgListener::connect_with(&feed).await?;
        listener.ignore_pool_close_event(true);
        // A lost connection is reported at once; `run` makes a fresh one and reloads.
        listener.eager_reconnect(false);
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }

    async fn reload(&self, l: &mut PgListener) -> sqlx::Result<()> {
        let started = std::time::Instant::now();
        let conn = l.acquire().await?;
        let sizes = self.read().sizes();
        let fresh = State::load(conn, sizes).await?;
        // The old state is freed after the lock is released, not while the gate waits.
        let old = std::mem::replace(&mut *self.write(), fresh);
        drop(old);
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
    async fn apply(&self, l: &mut PgListener, payloads: &[String]) -> sqlx::Result<()> {
        let conn = l.acquire().await?;
        let mut seen = HashSet::new();
        for payload in payloads.iter().filter(|p| seen.insert(p.as_str())) {
            let change =
                Change::read(conn, payload, |id| self.read().entry_keys.get(&id).copied()).await?;
            let mut s = self.write();
            change.apply(&mut s);
            self.generation.fetch_add(1, Ordering::SeqCst);
            self.metrics.gate_refreshed();
        }
        Ok(())
    }

    /// Handles one step of the feed: a heartbeat (one round trip: every notification
    /// committed before it was sent has arrived by its answer, so once they are applied
    /// the state is current as of the moment it was sent) or a notification. Pending
    /// changes are applied row by row within `STEP_WAIT`, or — when there are too many —
    /// as one full reload, allowed three times as long as the last one took, plus a
    /// second. Past either bound the connection is taken to be silent.
    async fn step(&self, l: &mut PgListener, step: Step) -> sqlx::Result<()> {
        let (sent, pending) = match step {
            Step::Beat => {
                let sent = self.now_mark();
                let beat = sqlx::query("SELECT 1").execute(&mut *l);
                match tokio::time::timeout(HEARTBEAT_WAIT, beat).await {
                    Ok(r) => r?,
                    Err(_) => return Err(timed_out("heartbeat")),
                };
                (Some(sent), buffered(l))
            }
            Step::Notified(first) => (None, drain(l, first)?),
            Step::Failed(e) => return Err(e),
        };
        match pending {
            Some(p) if p.is_empty() => {}
            Some(p) => tokio::time::timeout(STEP_WAIT, self.apply(l, &p))
                .await
                .unwrap_or_else(|_| Err(timed_out("catching up")))?,
            None => {
                let last =
                    Duration::from_micros(self.metrics.gate_reload_us.load(Ordering::Relaxed));
                let wait = (last * 3 + Duration::from_secs(1)).max(STEP_WAIT);
                tokio::time::timeout(wait, self.reload(l))
                    .await
                    .unwrap_or_else(|_| Err(timed_out("reloading after a bulk change")))?
            }
        }
        if let Some(sent) = sent {
            self.confirm(sent);
        }
        Ok(())
    }
}

/// The request pool's connection settings, with a longer statement timeout: a full
/// reload reads every campaign.
fn feed_options(request: &PgConnectOptions) -> PgConnectOptions {
    request
        .clone()
        .options([("statement_timeout", "30s")])
        .application_name("moments-gate feed")
}

/// The feed connection closed under us (a restart, a terminated backend): reconnect at
/// once; only if that fails is the database taken to be away.
fn lost() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "the feed connection was lost",
    ))
}

/// A round trip that did not come back in time: the network or the database is not
/// answering, so the database is taken to be away until a reconnect succeeds.
fn is_timeout(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

/// The database could not be reached or answer — not merely busy: a lock wait
/// (`lock_timeout`, 55P03) or a statement past `statement_timeout` (57014) is the database
/// answering, slowly. A lost connection is retried at once before anything is concluded.
fn is_down(e: &sqlx::Error) -> bool {
    let busy = matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("55P03" | "57014")));
    !busy && !is_lost(e) && crate::error::is_unavailable(e)
}

fn is_lost(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::BrokenPipe
        ),
        // 57P01 admin_shutdown: a terminated backend, or a server shutting down (then the
        // reconnect fails and says so).
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c == "57P01"),
        _ => false,
    }
}

fn timed_out(what: &str) -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("{what} took too long"),
    ))
}

/// The notifications already received, without waiting. More than `MAX_ROW_RELOADS` of
/// them (a bulk change) are cheaper as one full reload: `None`.
fn buffered(l: &mut PgListener) -> Option<Vec<String>> {
    let mut payloads = Vec::new();
    while let Some(n) = l.next_buffered() {
        payloads.push(n.payload().to_owned());
    }
    (payloads.len() <= MAX_ROW_RELOADS).then_some(payloads)
}

/// `first` and the notifications already received after it, without waiting; `None`
/// when a full reload is due instead.
fn drain(l: &mut PgListener, first: String) -> sqlx::Result<Option<Vec<String>>> {
    let mut payloads = vec![first];
    while let Some(next) = l.try_recv().now_or_never() {
        match next? {
            Some(n) => payloads.push(n.payload().to_owned()),
            // Lost and reconnected: what was announced meanwhile is lost.
            None => return Err(lost()),
        }
        if payloads.len() > MAX_ROW_RELOADS {
            // Received and not yet applied: all committed, so a full reload covers them.
            while let Some(r) = l.try_recv().now_or_never() {
                if r?.is_none() {
                    return Err(lost());
                }
            }
            return Ok(None);
        }
    }
    Ok(Some(payloads))
}

/// Loads the cache, then keeps it fresh until the gate is dropped.
async fn run(gate: Weak<Gate>, options: PgConnectOptions) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut l = {
            let Some(g) = gate.upgrade() else { return };
            let started = Instant::now();
            match g.connect_and_load(&options).await {
                Ok(l) => {
                    tracing::info!(loaded_in = ?started.elapsed(), "gate: state loaded; listening for changes");
                    backoff = Duration::from_millis(100);
                    l
                }
                Err(e) => {
                    drop(g);
                    tracing::warn!(error = %e, retry_in = ?backoff, "gate: cannot listen; serving the last snapshot while it is fresh enough");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            }
        };
        let mut next_beat = Instant::now() + HEARTBEAT_EVERY;
        loop {
            let step = if Instant::now() >= next_beat {
                next_beat = Instant::now() + HEARTBEAT_EVERY;
                Step::Beat
            } else {
                match tokio::time::timeout_at(next_beat, l.try_recv()).await {
                    Err(_) => continue,
                    Ok(Ok(Some(n))) => Step::Notified(n.payload().to_owned()),
                    // The connection was lost (and maybe re-made): start over cleanly.
                    Ok(Ok(None)) => Step::Failed(lost()),
                    Ok(Err(e)) => Step::Failed(e),
                }
            };
            let Some(g) = gate.upgrade() else { return };
            if let Err(e) = g.step(&mut l, step).await {
                if is_timeout(&e) || is_down(&e) {
                    g.db_up.store(false, Ordering::SeqCst);
                }
                tracing::warn!(error = %e, "gate: lost track of changes; reconnecting");
                break;
            }
        }
    }
}

enum Step {
    Beat,
    Notified(String),
    Failed(sqlx::Error),
}
