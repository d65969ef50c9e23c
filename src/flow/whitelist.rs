//! The whitelist: reviewers suspend, reinstate and revoke entries.

use super::{OnConstraint, Result, found};
use crate::domain::actor::Actor;
use crate::domain::error::{Code, Rejection};
use crate::domain::whitelist::{Reason, WhitelistAction, WhitelistEntry};
use crate::store::audit::{self, Event};
use crate::store::{Scope, whitelist};
use sqlx::PgConnection;
use tracing::instrument;
use uuid::Uuid;

/// Moves the entry by `action` (`WhitelistStatus::step`) with its reason. A marketer
/// learns only about entries of their own brands, so visibility comes before the role.
#[instrument(skip_all, fields(actor_id = %actor.id, entry_id = %id, action = action.as_str()))]
pub async fn change_status(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    action: WhitelistAction,
    reason: &str,
) -> Result<WhitelistEntry> {
    let entry =
        found(whitelist::by_id(&mut *conn, id, Scope::from(actor), actor.is_staff()).await?)?;
    actor.require_staff()?;
    let reason = Reason::parse(reason)?;
    let from = entry.status;
    let to = from.step(action)?;
    let updated = whitelist::set_status(&mut *conn, entry.id, from, to, reason.as_str())
        .await
        .on_constraint(whitelist::UNIQUE_OPEN, || {
            Rejection::conflict(
                Code::WhitelistConflict,
                "The brand already has an open whitelist entry for this season.",
            )
        })?
        .ok_or_else(|| action.refused(from))?;
    audit::record(
        conn,
        actor,
        Event::new("whitelist_entry", entry.id, action.as_str())
            .status(Some(from.as_str()), to.as_str())
            .note(Some(reason.as_str())),
    )
    .await?;
    Ok(updated)
}
