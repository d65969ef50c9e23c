//! Accounts: creating users (by sign-up or by an admin), disabling them, changing a
//! password. Hashing and checking passwords is `crate::auth`'s; these take the hash.

use super::{OnConstraint, Result, found};
use crate::domain::actor::Actor;
use crate::domain::error::{Code, FieldError, Rejection};
use crate::domain::user::{DisplayName, Email, Role};
use crate::store::audit::{self, Author, Event};
use crate::store::users::{self, NewUser, User};
use sqlx::PgConnection;
use tracing::instrument;
use uuid::Uuid;

pub fn email_taken() -> Rejection {
    let why = "An account with this email already exists.";
    Rejection::conflict(Code::EmailTaken, why).with_errors(vec![FieldError::new(
        "email",
        Code::EmailTaken,
        why,
    )])
}

/// Who creates an account.
#[derive(Debug, Clone, Copy)]
pub enum Creator<'a> {
    /// The person signing up.
    Themselves,
    /// An admin.
    Admin(&'a Actor),
    /// The system (the bootstrap admin, `create-admin`).
    System,
}

/// Creates an account with `role` and its audit event; the password is already hashed.
#[instrument(skip_all, fields(role = role.as_str()))]
pub async fn create_user(
    conn: &mut PgConnection,
    creator: Creator<'_>,
    email: &Email,
    display_name: &DisplayName,
    role: Role,
    password_hash: &str,
) -> Result<User> {
    if let Creator::Admin(a) = creator {
        a.require_admin()?;
    }
    let user = users::insert(
        &mut *conn,
        NewUser {
            email,
            display_name,
            role,
            password_hash,
        },
    )
    .await
    .on_constraint("users_email_key", email_taken)?;
    let author = match creator {
        Creator::Themselves => Author::from(&Actor { id: user.id, role }),
        Creator::Admin(a) => Author::from(a),
        Creator::System => Author::SYSTEM,
    };
    audit::record(
        conn,
        author,
        Event::new("user", user.id, "create").status(None, "active"),
    )
    .await?;
    Ok(user)
}

/// Disables a user: they can no longer sign in and their sessions end at once.
#[instrument(skip_all, fields(actor_id = %actor.id, user_id = %id))]
pub async fn disable(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<User> {
    actor.require_admin()?;
    if id == actor.id {
        return Err(Rejection::conflict(
            Code::CannotDisableSelf,
            "You cannot disable your own account.",
        )
        .into());
    }
    let (user, was_disabled) = found(users::disable(&mut *conn, id).await?)?;
    if !was_disabled {
        audit::record(
            conn,
            actor,
            Event::new("user", id, "disable").status(Some("active"), "disabled"),
        )
        .await?;
    }
    Ok(user)
}

/// Sets a new password hash (the current password was checked by the caller) and ends
/// the user's other sessions.
#[instrument(skip_all, fields(actor_id = %actor.id))]
pub async fn change_password(
    conn: &mut PgConnection,
    actor: &Actor,
    keep_session: Uuid,
    new_hash: &str,
) -> Result<()> {
    users::set_password(&mut *conn, actor.id, new_hash, keep_session).await?;
    audit::record(conn, actor, Event::new("user", actor.id, "change_password")).await?;
    Ok(())
}
