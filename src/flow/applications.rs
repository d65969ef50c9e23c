//! Applications through their lifecycle (SPEC §3). Each step locks the application the
//! actor may see, asks `domain::application` whether and how it may move, writes the move
//! and its audit event.

use super::{Error, OnConstraint, Result, found};
use crate::domain::actor::Actor;
use crate::domain::application::lifecycle::{SeasonFacts, invalid_transition};
use crate::domain::application::{
    Action, Application, Decision, Parts, Status, Step, Title, ValidParts,
};
use crate::domain::campaign::Campaign;
use crate::domain::error::{Code, Errors, FieldError, Rejection};
use crate::domain::version::IfMatch;
use crate::domain::whitelist::{self as wl, WhitelistEntry};
use crate::store::applications as store;
use crate::store::audit::{self, Event};
use crate::store::{Scope, brands, campaigns, seasons, whitelist};
use sqlx::PgConnection;
use tracing::instrument;
use uuid::Uuid;

/// A draft's fields, as given: the title and whichever parts are present.
pub struct NewDraft<'a> {
    pub brand_id: Uuid,
    pub season_id: Uuid,
    pub title: &'a str,
    pub parts: Parts,
}

/// Starts a draft: the title and every present part valid, the actor a member of the
/// brand, the season existing (all listed at once); then the draft and its audit event.
#[instrument(skip_all, fields(actor_id = %actor.id, brand_id = %d.brand_id, season_id = %d.season_id))]
pub async fn create_draft(
    conn: &mut PgConnection,
    actor: &Actor,
    d: NewDraft<'_>,
) -> Result<Application> {
    if actor.is_staff() {
        return Err(Rejection::forbidden(
            Code::Forbidden,
            "Applications are made by the brand's members.",
        )
        .into());
    }
    let mut errs = Errors::new();
    let title = errs.take(Title::parse(d.title));
    let parts = d.parts.parse(&mut errs);
    if !brands::is_member(&mut *conn, actor.id, d.brand_id).await? {
        errs.push(FieldError::new(
            "brand_id",
            Code::UnknownBrand,
            "No brand of yours has this id.",
        ));
    }
    if seasons::share(&mut *conn, d.season_id).await?.is_none() {
        errs.push(FieldError::new(
            "season_id",
            Code::UnknownSeason,
            "No season has this id.",
        ));
    }
    let (title, parts) = errs.finish((title, parts))?;
    let (Some(title), Some(parts)) = (title, parts) else {
        return Err(Rejection::invalid(Vec::new()).into());
    };
    let app = store::insert(
        &mut *conn,
        d.brand_id,
        d.season_id,
        &title,
        &parts,
        actor.id,
    )
    .await?;
    audit::record(
        conn,
        actor,
        Event::new("application", app.id, "create").status(None, Status::Draft.as_str()),
    )
    .await?;
    Ok(app)
}

/// A change to a draft: `None` leaves a field as it is; a part given as `Some(None)` is
/// cleared.
#[derive(Default)]
pub struct Edit<'a> {
    pub title: Option<&'a str>,
    pub creative: Option<Option<crate::domain::application::Creative>>,
    pub landing: Option<Option<crate::domain::application::Landing>>,
    pub requested_window: Option<Option<crate::domain::application::Window>>,
    pub budget: Option<Option<crate::domain::application::Budget>>,
    pub targeting: Option<Option<crate::domain::application::Targeting>>,
}

/// Edits a draft (or an application whose changes were requested) whose version is
/// still one that `expected` allows.
#[instrument(skip_all, fields(actor_id = %actor.id, application_id = %id))]
pub async fn edit(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    expected: &IfMatch,
    e: Edit<'_>,
) -> Result<Application> {
    let app = lock(conn, actor, id).await?;
    app.next(Action::Edit, actor)?;
    expected.check(app.version)?;
    let mut parts = app.parts();
    if let Some(v) = e.creative {
        parts.creative = v;
    }
    if let Some(v) = e.landing {
        parts.landing = v;
    }
    if let Some(v) = e.requested_window {
        parts.requested_window = v;
    }
    if let Some(v) = e.budget {
        parts.budget = v;
    }
    if let Some(v) = e.targeting {
        parts.targeting = v;
    }
    let mut errs = Errors::new();
    let title = e.title.and_then(|t| errs.take(Title::parse(t)));
    let parts: Option<ValidParts> = parts.parse(&mut errs);
    let parts = errs.finish(parts)?;
    let Some(parts) = parts else {
        return Err(Rejection::invalid(Vec::new()).into());
    };
    store::write_parts(&mut *conn, app.id, title.as_ref(), &parts).await?;
    audit::record(
        &mut *conn,
        actor,
        Event::new("application", app.id, "update"),
    )
    .await?;
    found(store::get_for_update(conn, app.id).await?)
}

/// The application the actor may see, locked for this transaction.
async fn lock(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Application> {
    found(store::visible(conn, Scope::from(actor), id, true).await?)
}

/// Writes `step` on the locked application and its audit event; the new application.
async fn write(
    conn: &mut PgConnection,
    actor: &Actor,
    app: &Application,
    step: &Step,
) -> Result<Application> {
    if !store::transition(&mut *conn, app.id, step).await? {
        return Err(invalid_transition(app.status, step.action).into());
    }
    let note = match &step.effect {
        crate::domain::application::Effect::Decide { decision, .. } => decision.note(),
        _ => None,
    };
    audit::record(
        &mut *conn,
        actor,
        Event::new("application", app.id, step.action.as_str())
            .status(Some(step.from.as_str()), step.to.as_str())
            .note(note),
    )
    .await?;
    found(store::get_for_update(conn, app.id).await?)
}

/// Sends for review (`Application::submit` has the checks).
#[instrument(skip_all, fields(actor_id = %actor.id, application_id = %id))]
pub async fn submit(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Application> {
    let app = lock(conn, actor, id).await?;
    app.next(Action::Submit, actor)?;
    // Share-locked: kind, verification and windows cannot change under the submit.
    let brand = found(brands::share(&mut *conn, app.brand_id).await?)?;
    let season = found(seasons::share(&mut *conn, app.season_id).await?)?;
    let facts = SeasonFacts {
        state: season.state,
        starts_at: season.starts_at,
        ends_at: season.ends_at,
    };
    let step = app.submit(actor, &brand, &facts)?;
    write(conn, actor, &app, &step).await
}

/// Withdraws (final).
#[instrument(skip_all, fields(actor_id = %actor.id, application_id = %id))]
pub async fn withdraw(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Application> {
    let app = lock(conn, actor, id).await?;
    let step = app.withdraw(actor)?;
    write(conn, actor, &app, &step).await
}

/// Appeals a rejection, once.
#[instrument(skip_all, fields(actor_id = %actor.id, application_id = %id))]
pub async fn appeal(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Application> {
    let app = lock(conn, actor, id).await?;
    let step = app.appeal(actor)?;
    write(conn, actor, &app, &step).await
}

/// Claims a submitted application for review.
#[instrument(skip_all, fields(actor_id = %actor.id, application_id = %id))]
pub async fn claim(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Application> {
    let app = lock(conn, actor, id).await?;
    let step = app.claim(actor)?;
    write(conn, actor, &app, &step).await
}

/// Gives a claimed application back to the queue.
#[instrument(skip_all, fields(actor_id = %actor.id, application_id = %id))]
pub async fn release(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<Application> {
    let app = lock(conn, actor, id).await?;
    let step = app.release(actor)?;
    write(conn, actor, &app, &step).await
}

/// What an approval made, in one transaction.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Approval {
    pub application: Application,
    pub whitelist_entry: WhitelistEntry,
    pub campaign: Campaign,
}

/// What a decision led to.
pub enum Decided {
    /// Rejected, or sent back for changes.
    Application(Box<Application>),
    Approved(Box<Approval>),
}

/// Decides a claimed application. An approval, in the same transaction: the brand
/// re-checked, its whitelist entry for the season created (or the open one reused; a
/// suspended one blocks), the campaign created.
#[instrument(skip_all, fields(actor_id = %actor.id, application_id = %id, decision = ?decision.kind()))]
pub async fn decide(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    decision: Decision,
) -> Result<Decided> {
    let app = lock(conn, actor, id).await?;
    let approve = matches!(decision, Decision::Approve { .. });
    let step = app.decide(actor, decision)?;
    if !approve {
        return Ok(Decided::Application(Box::new(
            write(conn, actor, &app, &step).await?,
        )));
    }
    let approval = approve_step(conn, actor, &app, &step).await?;
    Ok(Decided::Approved(Box::new(approval)))
}

async fn approve_step(
    conn: &mut PgConnection,
    actor: &Actor,
    app: &Application,
    step: &Step,
) -> Result<Approval> {
    let brand = found(brands::share(&mut *conn, app.brand_id).await?)?;
    brand.check_eligible()?;
    let season = found(seasons::share(&mut *conn, app.season_id).await?)?;
    let complete = app.complete().map_err(|r| {
        Error::Corrupt(format!(
            "application {} is {} but incomplete: {r}",
            app.id,
            app.status.as_str()
        ))
    })?;
    let open = whitelist::open_for_update(&mut *conn, app.brand_id, app.season_id).await?;
    wl::check_open_entry_for_approval(open.as_ref().map(|e| e.status))?;
    let entry = match open {
        Some(e) => e,
        None => {
            let e = whitelist::insert(
                &mut *conn,
                app.brand_id,
                app.season_id,
                season.starts_at,
                season.ends_at,
                app.id,
                actor.id,
            )
            .await
            .on_constraint(whitelist::UNIQUE_OPEN, || {
                Rejection::conflict(
                    Code::WhitelistConflict,
                    "The whitelist changed meanwhile; retry.",
                )
            })?;
            audit::record(
                &mut *conn,
                actor,
                Event::new("whitelist_entry", e.id, "create").status(None, "active"),
            )
            .await?;
            e
        }
    };
    let campaign = campaigns::insert(
        &mut *conn,
        app.id,
        app.brand_id,
        app.season_id,
        &app.title,
        complete.window.starts_at,
        complete.window.ends_at,
    )
    .await
    .on_constraint("campaigns_one_per_application", || {
        invalid_transition(Status::Approved, Action::Approve)
    })?;
    audit::record(
        &mut *conn,
        actor,
        Event::new("campaign", campaign.id, "create").status(None, "scheduled"),
    )
    .await?;
    let application = write(conn, actor, app, step).await?;
    Ok(Approval {
        application,
        whitelist_entry: entry,
        campaign,
    })
}
