//! Promotional seasons: admins create and change them.

use super::{OnConstraint, Result, found};
use crate::domain::actor::Actor;
use crate::domain::error::{Code, Rejection};
use crate::domain::season::{self, SeasonSpec};
use crate::domain::version::IfMatch;
use crate::store::audit::{self, Event};
use crate::store::seasons::{self, Season};
use sqlx::PgConnection;
use tracing::instrument;
use uuid::Uuid;

const CODE_KEY: &str = "seasons_code_key";

fn code_taken() -> Rejection {
    Rejection::conflict(
        Code::SeasonCodeTaken,
        "Another season already has this code.",
    )
}

/// Creates a season once its spec parses (`SeasonSpec::parse`).
#[instrument(skip_all, fields(actor_id = %actor.id))]
pub async fn create(conn: &mut PgConnection, actor: &Actor, spec: SeasonSpec) -> Result<Season> {
    actor.require_admin()?;
    let spec = spec.parse()?;
    let s = seasons::insert(&mut *conn, &spec)
        .await
        .on_constraint(CODE_KEY, code_taken)?;
    audit::record(
        conn,
        actor,
        Event::new("season", s.id, "create").note(Some(&s.code)),
    )
    .await?;
    Ok(s)
}

/// Changes a season whose version `expected` allows: `change` merges the request into
/// the current spec and names the fields it changed; the result is parsed again, and may
/// not strand a campaign or whitelist entry outside the run window.
#[instrument(skip_all, fields(actor_id = %actor.id, season_id = %id))]
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: &IfMatch,
    change: impl FnOnce(SeasonSpec) -> (SeasonSpec, Vec<&'static str>),
) -> Result<Season> {
    actor.require_admin()?;
    let current = found(seasons::lock(&mut *conn, id).await?)?;
    expected.check(current.version)?;
    let (merged, changed) = change(current.spec());
    let merged = merged.parse()?;
    let strands = seasons::would_strand(&mut *conn, id, merged.starts_at, merged.ends_at).await?;
    season::check_not_stranding(strands)?;
    let s = seasons::update(&mut *conn, id, &merged)
        .await
        .on_constraint(CODE_KEY, code_taken)?;
    let note = if changed.is_empty() {
        "no changes".to_owned()
    } else {
        format!("changed: {}", changed.join(", "))
    };
    audit::record(
        conn,
        actor,
        Event::new("season", id, "update").note(Some(&note)),
    )
    .await?;
    Ok(s)
}
