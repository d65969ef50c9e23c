//! Brands, their members and their verification.

use super::{Result, found};
use crate::domain::actor::Actor;
use crate::domain::brand::{
    self, Brand, BrandKind, BrandName, MemberRole, StoreUrl, Verification, VerificationDecision,
};
use crate::domain::error::{Code, Rejection};
use crate::domain::user::Role;
use crate::store::audit::{self, Event};
use crate::store::brands::{self, Member, NewBrand};
use crate::store::{Scope, users};
use sqlx::PgConnection;
use tracing::instrument;
use uuid::Uuid;

/// Registers a brand, `pending` verification; a marketer who creates it becomes its owner.
#[instrument(skip_all, fields(actor_id = %actor.id))]
pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &BrandName,
    kind: BrandKind,
    url: &StoreUrl,
) -> Result<Brand> {
    let b = brands::insert(
        &mut *conn,
        NewBrand {
            name,
            kind,
            url,
            created_by: actor.id,
        },
    )
    .await?;
    if actor.role == Role::Marketer {
        brands::add_member(&mut *conn, b.id, actor.id, MemberRole::Owner, actor.id).await?;
    }
    audit::record(
        conn,
        actor,
        Event::new("brand", b.id, "create").status(None, Verification::Pending.as_str()),
    )
    .await?;
    Ok(b)
}

/// May the actor manage the brand's members (`brand::may_manage_members`)? Visibility
/// comes first, in SQL: a marketer may not even lock another brand's row. `lock` locks
/// the brand so that membership changes of one brand run one at a time.
pub async fn authorize_members(
    conn: &mut PgConnection,
    actor: &Actor,
    brand_id: Uuid,
    lock: bool,
) -> Result<()> {
    let visible = brands::visible(conn, Scope::from(actor), brand_id)
        .await?
        .is_some();
    if !visible || (lock && brands::lock(conn, brand_id).await?.is_none()) {
        return Err(Rejection::not_found().into());
    }
    let membership = match actor.role {
        Role::Marketer => brands::member_role(conn, actor.id, brand_id).await?,
        _ => None,
    };
    Ok(brand::may_manage_members(actor.role, membership)?)
}

/// Adds the marketer with this email to the brand.
#[instrument(skip_all, fields(actor_id = %actor.id, brand_id = %brand_id))]
pub async fn add_member(
    conn: &mut PgConnection,
    actor: &Actor,
    brand_id: Uuid,
    email: &str,
    role: MemberRole,
) -> Result<Member> {
    authorize_members(&mut *conn, actor, brand_id, true).await?;
    // One answer for "no such account" and "a staff account": a brand owner learns
    // nothing about who else has an account.
    let no_marketer = || {
        Rejection::invalid_field(
            "email",
            Code::UserNotFound,
            "No marketer account has this email.",
        )
    };
    let (user, _) = users::by_email(&mut *conn, email)
        .await?
        .ok_or_else(no_marketer)?;
    if user.role != Role::Marketer {
        return Err(no_marketer().into());
    }
    let member = brands::add_member(&mut *conn, brand_id, user.id, role, actor.id)
        .await?
        .ok_or_else(|| {
            Rejection::conflict(
                Code::AlreadyMember,
                "This user is already a member of the brand.",
            )
        })?;
    let note = format!("{} {} as {}", user.id, user.email, role.as_str());
    audit::record(
        conn,
        actor,
        Event::new("brand", brand_id, "add_member").note(Some(&note)),
    )
    .await?;
    Ok(member)
}

/// Removes a member; the brand's last owner stays.
#[instrument(skip_all, fields(actor_id = %actor.id, brand_id = %brand_id, user_id = %user_id))]
pub async fn remove_member(
    conn: &mut PgConnection,
    actor: &Actor,
    brand_id: Uuid,
    user_id: Uuid,
) -> Result<()> {
    authorize_members(&mut *conn, actor, brand_id, true).await?;
    let role = found(brands::member_role(&mut *conn, user_id, brand_id).await?)?;
    let owners = match role {
        MemberRole::Owner => brands::owner_count(&mut *conn, brand_id).await?,
        MemberRole::Member => 0,
    };
    brand::check_removal(role, owners)?;
    let (email, _) = found(brands::remove_member(&mut *conn, brand_id, user_id).await?)?;
    let note = format!("{user_id} {email}");
    audit::record(
        conn,
        actor,
        Event::new("brand", brand_id, "remove_member").note(Some(&note)),
    )
    .await?;
    Ok(())
}

/// Records a reviewer's verification decision; the note as `brand::decision_note` reads it.
#[instrument(skip_all, fields(actor_id = %actor.id, brand_id = %brand_id))]
pub async fn verify(
    conn: &mut PgConnection,
    actor: &Actor,
    brand_id: Uuid,
    decision: VerificationDecision,
    note: Option<&str>,
) -> Result<Brand> {
    actor.require_staff()?;
    let note = brand::decision_note(decision, note)?;
    let note = note.as_deref();
    let to = Verification::from(decision);
    let before = found(brands::lock(&mut *conn, brand_id).await?)?;
    let b = brands::set_verification(&mut *conn, brand_id, to, note, actor.id).await?;
    audit::record(
        conn,
        actor,
        Event::new("brand", brand_id, "verify")
            .status(Some(before.verification.as_str()), to.as_str())
            .note(note),
    )
    .await?;
    Ok(b)
}
