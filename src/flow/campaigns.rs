//! Campaigns: brand members pause and resume them; a reviewer may pause.

use super::{Result, found};
use crate::domain::actor::Actor;
use crate::domain::campaign::{Campaign, PauseAction, run_label};
use crate::domain::error::{Code, Rejection};
use crate::store::audit::{self, Event};
use crate::store::{Scope, campaigns};
use sqlx::PgConnection;
use tracing::instrument;
use uuid::Uuid;

/// Flips the pause switch. Marketers see only their brands' campaigns (so membership is
/// settled by visibility); staff see all.
#[instrument(skip_all, fields(actor_id = %actor.id, campaign_id = %id, action = action.as_str()))]
pub async fn switch(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    action: PauseAction,
) -> Result<Campaign> {
    let c = found(campaigns::by_id(&mut *conn, id, Scope::from(actor), true).await?)?;
    action.allowed_for(actor.role)?;
    let paused = action.apply(c.paused, c.state)?;
    let updated = campaigns::set_paused(&mut *conn, id, c.paused)
        .await?
        .ok_or_else(|| {
            Rejection::conflict(
                Code::InvalidTransition,
                "The campaign changed meanwhile; read it again.",
            )
        })?;
    audit::record(
        conn,
        actor,
        Event::new("campaign", id, action.as_str())
            .status(Some(run_label(c.paused)), run_label(paused)),
    )
    .await?;
    Ok(updated)
}
