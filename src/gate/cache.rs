//! What the gate keeps in memory, and the SQL that fills it.

use super::Verdict;
use super::decision::{CampaignFacts, WhitelistFacts, decide};
use crate::domain::whitelist::WhitelistStatus;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::PgConnection;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The hasher of the tables every check reads. Their keys are ids the server made
/// (random v4 UUIDs), never ones a caller chooses, so SipHash's protection buys nothing
/// there and costs a fifth of a batch; foldhash is still seeded at random per table.
/// Tables that hold what callers send (`unknown`) or credentials keep the standard one.
type Fast = foldhash::fast::RandomState;

/// Ids known not to be campaigns are remembered until the next full reload, up to this many.
const MAX_UNKNOWN: usize = 100_000;

pub type KeyHash = [u8; 32];

#[derive(Default)]
pub struct State {
    pub campaigns: HashMap<Uuid, CampaignFacts, Fast>,
    /// (brand_id, season_id) → that pair's entries.
    pub whitelist: HashMap<(Uuid, Uuid), WhitelistFacts, Fast>,
    /// Entry id → its (brand_id, season_id), to find the pair when an entry is deleted.
    pub entry_keys: HashMap<Uuid, (Uuid, Uuid), Fast>,
    pub verified_brands: HashSet<Uuid, Fast>,
    /// SHA-256 of an active API key → its id.
    pub keys: HashMap<KeyHash, Uuid>,
    pub key_hashes: HashMap<Uuid, KeyHash>,
    /// Ids looked up in the database and not found there.
    pub unknown: HashSet<Uuid>,
}

type CampaignRow = (Uuid, Uuid, Uuid, DateTime<Utc>, DateTime<Utc>, bool);
type EntryRow = (
    Uuid,
    Uuid,
    Uuid,
    WhitelistStatus,
    DateTime<Utc>,
    DateTime<Utc>,
);

fn facts((_, brand_id, season_id, starts_at, ends_at, paused): CampaignRow) -> CampaignFacts {
    CampaignFacts {
        brand_id,
        season_id,
        starts_at,
        ends_at,
        paused,
    }
}

impl State {
    /// The verdict for a campaign this state knows, else `None`.
    pub fn verdict(&self, id: Uuid, at: DateTime<Utc>) -> Option<Verdict> {
        let c = self.campaigns.get(&id)?;
        let reason = decide(
            Some(c),
            self.whitelist.get(&(c.brand_id, c.season_id)),
            self.verified_brands.contains(&c.brand_id),
            at,
        );
        Some(Verdict::new(id, Some(c), at, reason))
    }

    /// How many campaigns and whitelist entries this state holds: the sizes to reserve
    /// for the next full load.
    pub fn sizes(&self) -> (usize, usize) {
        (self.campaigns.len(), self.entry_keys.len())
    }

    /// Everything, read in one snapshot, on the change feed's own connection. `sizes`
    /// (the current state's) are reserved up front and the rows are streamed into place:
    /// the reload, which builds a second state while the first still serves, then
    /// allocates each table once instead of row lists, per-pair lists and every doubling
    /// on the way (at 200k campaigns those were ~40 MB more for each reload, every 30 s).
    pub async fn load(conn: &mut PgConnection, sizes: (usize, usize)) -> sqlx::Result<Self> {
        let mut tx = sqlx::Connection::begin(conn).await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let mut s = State::default();
        s.campaigns.reserve(sizes.0);
        let mut rows = sqlx::query_as::<_, CampaignRow>(
            "SELECT id, brand_id, season_id, starts_at, ends_at, paused FROM campaigns",
        )
        .fetch(&mut *tx);
        while let Some(r) = rows.try_next().await? {
            s.campaigns.insert(r.0, facts(r));
        }
        drop(rows);
        // Each entry folded into its pair's facts as it arrives (no list of rows, no
        // per-pair lists): the same facts `put_entries` makes.
        s.entry_keys.reserve(sizes.1);
        s.whitelist.reserve(sizes.1);
        let mut rows = sqlx::query_as::<_, EntryRow>(
            "SELECT id, brand_id, season_id, status, valid_from, valid_until FROM whitelist_entries",
        )
        .fetch(&mut *tx);
        while let Some((id, brand_id, season_id, status, from, until)) = rows.try_next().await? {
            s.entry_keys.insert(id, (brand_id, season_id));
            s.whitelist
                .entry((brand_id, season_id))
                .or_default()
                .add(status, from, until);
        }
        drop(rows);
        s.verified_brands =
            sqlx::query_scalar("SELECT id FROM brands WHERE verification = 'verified'")
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        let keys: Vec<(Uuid, Vec<u8>)> =
            sqlx::query_as("SELECT id, key_hash FROM api_keys WHERE revoked_at IS NULL")
                .fetch_all(&mut *tx)
                .await?;
        for (id, hash) in keys {
            if let Ok(h) = KeyHash::try_from(hash.as_slice()) {
                s.put_key(id, h);
            }
        }
        tx.commit().await?;
        Ok(s)
    }

    /// Campaigns `ids` with their brands and whitelist entries, for ids the cache lacks.
    pub async fn load_campaigns(conn: &mut PgConnection, ids: &[Uuid]) -> sqlx::Result<Self> {
        let mut s = State::default();
        let rows: Vec<CampaignRow> = sqlx::query_as(
            "SELECT id, brand_id, season_id, starts_at, ends_at, paused FROM campaigns \
             WHERE id = ANY($1)",
        )
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
        s.campaigns = rows.into_iter().map(|r| (r.0, facts(r))).collect();
        s.unknown = ids
            .iter()
            .filter(|id| !s.campaigns.contains_key(id))
            .copied()
            .collect();
        if s.campaigns.is_empty() {
            return Ok(s);
        }
        let (brands, seasons): (Vec<Uuid>, Vec<Uuid>) = s
            .campaigns
            .values()
            .map(|c| (c.brand_id, c.season_id))
            .unzip();
        let entries: Vec<EntryRow> = sqlx::query_as(
            "SELECT id, brand_id, season_id, status, valid_from, valid_until FROM whitelist_entries \
             WHERE (brand_id, season_id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))",
        )
        .bind(&brands)
        .bind(&seasons)
        .fetch_all(&mut *conn)
        .await?;
        s.put_entries(entries);
        s.verified_brands = sqlx::query_scalar(
            "SELECT id FROM brands WHERE id = ANY($1) AND verification = 'verified'",
        )
        .bind(&brands)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
        Ok(s)
    }

    /// Adds what `other` knows and this state does not (never overwrites: whatever this
    /// state holds came from a notification at least as recent).
    pub fn merge_missing(&mut self, other: State) {
        for (id, c) in other.campaigns {
            self.unknown.remove(&id);
            if let std::collections::hash_map::Entry::Vacant(e) = self.campaigns.entry(id) {
                e.insert(c);
                if other.verified_brands.contains(&c.brand_id) {
                    self.verified_brands.insert(c.brand_id);
                }
            }
        }
        for (key, w) in other.whitelist {
            self.whitelist.entry(key).or_insert(w);
        }
        for (id, key) in other.entry_keys {
            self.entry_keys.entry(id).or_insert(key);
        }
        if self.unknown.len() + other.unknown.len() > MAX_UNKNOWN {
            self.unknown.clear();
        }
        self.unknown.extend(other.unknown);
    }

    fn put_entries(&mut self, entries: Vec<EntryRow>) {
        self.entry_keys.reserve(entries.len());
        let mut by_key: HashMap<(Uuid, Uuid), Vec<_>, Fast> =
            HashMap::with_capacity_and_hasher(entries.len(), Fast::default());
        for (id, brand_id, season_id, status, from, until) in entries {
            self.entry_keys.insert(id, (brand_id, season_id));
            by_key
                .entry((brand_id, season_id))
                .or_default()
                .push((status, from, until));
        }
        for (key, list) in by_key {
            if let Some(f) = WhitelistFacts::from_entries(list) {
                self.whitelist.insert(key, f);
            }
        }
    }

    pub fn put_key(&mut self, id: Uuid, hash: KeyHash) {
        self.keys.insert(hash, id);
        self.key_hashes.insert(id, hash);
    }

    fn drop_key(&mut self, id: Uuid) {
        if let Some(h) = self.key_hashes.remove(&id) {
            self.keys.remove(&h);
        }
    }
}

/// One row's change, read from the database, ready to apply under the write lock.
pub enum Change {
    Campaign(Uuid, Option<CampaignFacts>),
    Brand(Uuid, bool),
    Key(Uuid, Option<KeyHash>),
    /// The entry, and each (brand, season) pair to replace with its entries.
    Whitelist(Uuid, Vec<((Uuid, Uuid), Vec<EntryRow>)>),
    None,
}

impl Change {
    /// Reads the current state of the row named by a `gate_changes` payload
    /// (`<table>:<id>`). `old_pair` gives the (brand, season) the cache holds for an entry
    /// id, which must be refreshed too if the entry moved or is gone.
    pub async fn read(
        conn: &mut PgConnection,
        payload: &str,
        old_pair: impl FnOnce(Uuid) -> Option<(Uuid, Uuid)>,
    ) -> sqlx::Result<Self> {
        let Some((table, id)) = payload.split_once(':') else {
            return Ok(Change::None);
        };
        let Ok(id) = id.parse::<Uuid>() else {
            return Ok(Change::None);
        };
        Ok(match table {
            "campaigns" => {
                let row: Option<CampaignRow> = sqlx::query_as(
                    "SELECT id, brand_id, season_id, starts_at, ends_at, paused FROM campaigns \
                     WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                Change::Campaign(id, row.map(facts))
            }
            "brands" => {
                let verified: Option<bool> = sqlx::query_scalar(
                    "SELECT verification = 'verified' FROM brands WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                Change::Brand(id, verified.unwrap_or(false))
            }
            "api_keys" => {
                let hash: Option<Vec<u8>> = sqlx::query_scalar(
                    "SELECT key_hash FROM api_keys WHERE id = $1 AND revoked_at IS NULL",
                )
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                Change::Key(id, hash.and_then(|h| KeyHash::try_from(h.as_slice()).ok()))
            }
            "whitelist_entries" => {
                let now: Option<(Uuid, Uuid)> = sqlx::query_as(
                    "SELECT brand_id, season_id FROM whitelist_entries WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                let mut pairs: Vec<(Uuid, Uuid)> = now.into_iter().collect();
                if let Some(old) = old_pair(id).filter(|p| !pairs.contains(p)) {
                    pairs.push(old);
                }
                let mut out = Vec::with_capacity(pairs.len());
                for (brand_id, season_id) in pairs {
                    let rows: Vec<EntryRow> = sqlx::query_as(
                        "SELECT id, brand_id, season_id, status, valid_from, valid_until \
                         FROM whitelist_entries WHERE brand_id = $1 AND season_id = $2",
                    )
                    .bind(brand_id)
                    .bind(season_id)
                    .fetch_all(&mut *conn)
                    .await?;
                    out.push(((brand_id, season_id), rows));
                }
                Change::Whitelist(id, out)
            }
            _ => Change::None,
        })
    }

    pub fn apply(self, s: &mut State) {
        match self {
            Change::Campaign(id, Some(c)) => {
                s.unknown.remove(&id);
                s.campaigns.insert(id, c);
            }
            Change::Campaign(id, None) => {
                s.campaigns.remove(&id);
            }
            Change::Brand(id, true) => {
                s.verified_brands.insert(id);
            }
            Change::Brand(id, false) => {
                s.verified_brands.remove(&id);
            }
            Change::Key(id, Some(h)) => {
                s.drop_key(id);
                s.put_key(id, h);
            }
            Change::Key(id, None) => s.drop_key(id),
            Change::Whitelist(id, pairs) => {
                s.entry_keys.remove(&id);
                for (key, rows) in pairs {
                    s.whitelist.remove(&key);
                    s.put_entries(rows);
                }
            }
            Change::None => {}
        }
    }
}
