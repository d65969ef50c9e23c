//! The audit trail. Every write goes through `record`, inside the transaction of the
//! change it records.

use crate::auth::UserCaller;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// Who did it, as written into the trail.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub role: &'static str,
}

impl Actor {
    pub const SYSTEM: Actor = Actor {
        id: None,
        role: "system",
    };
}

impl From<&UserCaller> for Actor {
    fn from(u: &UserCaller) -> Self {
        Actor {
            id: Some(u.id),
            role: u.role.as_str(),
        }
    }
}

/// One event to record.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub entity_type: &'static str,
    pub entity_id: Uuid,
    pub action: &'static str,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
    pub note: Option<&'a str>,
}

impl<'a> Event<'a> {
    pub fn new(entity_type: &'static str, entity_id: Uuid, action: &'static str) -> Self {
        Self {
            entity_type,
            entity_id,
            action,
            from_status: None,
            to_status: None,
            note: None,
        }
    }

    pub fn status(mut self, from: Option<&'a str>, to: &'a str) -> Self {
        self.from_status = from;
        self.to_status = Some(to);
        self
    }

    pub fn note(mut self, note: Option<&'a str>) -> Self {
        self.note = note;
        self
    }
}

pub async fn record(conn: &mut PgConnection, actor: Actor, e: Event<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, actor_id, actor_role, entity_type, entity_id, action, \
         from_status, to_status, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(Uuid::new_v4())
    .bind(actor.id)
    .bind(actor.role)
    .bind(e.entity_type)
    .bind(e.entity_id)
    .bind(e.action)
    .bind(e.from_status)
    .bind(e.to_status)
    .bind(e.note)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_role: String,
    pub entity_type: String,
    pub entity_id: Uuid,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub note: Option<String>,
}

pub const COLUMNS: &str =
    "id, at, actor_id, actor_role, entity_type, entity_id, action, from_status, to_status, note";
