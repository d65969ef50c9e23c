use crate::api::limits::Limits;
use crate::auth::password::Hasher;
use crate::config::Settings;
use crate::db::Db;
use crate::gate::Gate;
use crate::metrics::Metrics;
use std::sync::Arc;

/// What every handler may reach. Cloned into each worker; everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub pool: Db,
    pub settings: Arc<Settings>,
    pub hasher: Hasher,
    pub gate: Arc<Gate>,
    pub metrics: Arc<Metrics>,
    pub limits: Arc<Limits>,
}
