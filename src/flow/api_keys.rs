//! Service keys for the ad-serving side. Only the key's SHA-256 is stored.

use super::{Result, found};
use crate::domain::actor::Actor;
use crate::domain::error::{Code, Rejection, text};
use crate::store::api_keys::{self, ApiKey};
use crate::store::audit::{self, Event};
use sqlx::PgConnection;
use tracing::instrument;
use uuid::Uuid;

/// Records a key under `name` (1–100 characters) with the digest of its secret.
#[instrument(skip_all, fields(actor_id = %actor.id))]
pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &str,
    key_hash: &[u8],
) -> Result<ApiKey> {
    actor.require_admin()?;
    let name = text(
        "name",
        name,
        (1, 100),
        false,
        Code::InvalidName,
        "A key's name has 1 to 100 characters.",
    )
    .map_err(Rejection::from)?;
    let row = api_keys::insert(&mut *conn, &name, key_hash, actor.id).await?;
    audit::record(
        conn,
        actor,
        Event::new("api_key", row.id, "create").status(None, "active"),
    )
    .await?;
    Ok(row)
}

/// Revokes a key: it stops working on every instance within a second.
#[instrument(skip_all, fields(actor_id = %actor.id, key_id = %id))]
pub async fn revoke(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<()> {
    actor.require_admin()?;
    let was_active = found(api_keys::revoke(&mut *conn, id).await?)?;
    if was_active {
        audit::record(
            conn,
            actor,
            Event::new("api_key", id, "revoke").status(Some("active"), "revoked"),
        )
        .await?;
    }
    Ok(())
}
