//! The serving gate: may this campaign serve at time T?

use crate::metrics::Metrics;
use crate::store::api_keys;
use sqlx::PgPool;
use std::sync::Arc;
use uuid::Uuid;

pub struct Gate {
    #[allow(dead_code)]
    metrics: Arc<Metrics>,
}

impl Gate {
    pub async fn start(_pool: PgPool, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self { metrics })
    }

    /// The id of the active API key with this hash.
    pub async fn api_key(&self, pool: &PgPool, hash: &[u8]) -> sqlx::Result<Option<Uuid>> {
        api_keys::active_by_hash(pool, hash).await
    }
}
