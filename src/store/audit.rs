//! The audit trail. Every write goes through `record`, inside the transaction of the
//! change it records.

use super::fetch_page;
use crate::domain::actor::Actor;
use crate::domain::page::{Cursor, List, PageParams};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, QueryBuilder};
use uuid::Uuid;

/// Who did it, as written into the trail: a user, or the system itself.
#[derive(Debug, Clone, Copy)]
pub struct Author {
    pub id: Option<Uuid>,
    pub role: &'static str,
}

impl Author {
    pub const SYSTEM: Author = Author {
        id: None,
        role: "system",
    };
}

impl From<&Actor> for Author {
    fn from(u: &Actor) -> Self {
        Author {
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

pub async fn record(
    conn: &mut PgConnection,
    actor: impl Into<Author>,
    e: Event<'_>,
) -> sqlx::Result<()> {
    let actor: Author = actor.into();
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
    /// Null for changes made by the system itself.
    pub actor_id: Option<Uuid>,
    /// `marketer`, `reviewer`, `admin`, or `system`.
    #[schema(example = "reviewer")]
    pub actor_role: String,
    #[schema(value_type = EntityType)]
    pub entity_type: String,
    pub entity_id: Uuid,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub note: Option<String>,
}

pub const COLUMNS: &str =
    "id, at, actor_id, actor_role, entity_type, entity_id, action, from_status, to_status, note";

/// The kinds of thing the trail records (the `entity_type` column's value set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    User,
    ApiKey,
    Brand,
    Season,
    Application,
    WhitelistEntry,
    Campaign,
}

impl EntityType {
    pub const ALL: [EntityType; 7] = [
        EntityType::User,
        EntityType::ApiKey,
        EntityType::Brand,
        EntityType::Season,
        EntityType::Application,
        EntityType::WhitelistEntry,
        EntityType::Campaign,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::User => "user",
            EntityType::ApiKey => "api_key",
            EntityType::Brand => "brand",
            EntityType::Season => "season",
            EntityType::Application => "application",
            EntityType::WhitelistEntry => "whitelist_entry",
            EntityType::Campaign => "campaign",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What `list` narrows the trail to; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity_type: Option<EntityType>,
    pub entity_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    /// Inclusive.
    pub since: Option<DateTime<Utc>>,
    /// Exclusive.
    pub until: Option<DateTime<Utc>>,
}

/// The trail, newest first (`at DESC, id DESC`).
#[tracing::instrument(skip_all)]
pub async fn list<'c>(
    conn: impl PgExecutor<'c>,
    f: &AuditFilter,
    page: &PageParams,
) -> sqlx::Result<List<AuditEvent>> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit_events WHERE true"));
    if let Some(t) = f.entity_type {
        qb.push(" AND entity_type = ").push_bind(t.as_str());
    }
    if let Some(id) = f.entity_id {
        qb.push(" AND entity_id = ").push_bind(id);
    }
    if let Some(id) = f.actor_id {
        qb.push(" AND actor_id = ").push_bind(id);
    }
    if let Some(t) = f.since {
        qb.push(" AND at >= ").push_bind(t);
    }
    if let Some(t) = f.until {
        qb.push(" AND at < ").push_bind(t);
    }
    fetch_page(qb, conn, ("at", "id"), page, |e: &AuditEvent| {
        Cursor::new(e.at, e.id)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_types_round_trip_and_match_the_schema() {
        for t in EntityType::ALL {
            assert_eq!(EntityType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::Value::from(t.as_str())
            );
        }
        for bad in ["", "User", "whitelist", "api-key", "audit_event"] {
            assert_eq!(EntityType::parse(bad), None, "{bad}");
        }
        // The CHECK constraint on audit_events.entity_type lists the same set.
        let schema = include_str!("../../migrations/20261120000001_schema.sql");
        let list = EntityType::ALL
            .map(|t| format!("'{}'", t.as_str()))
            .join(", ");
        assert!(
            schema.contains(&format!("entity_type IN ({list})")),
            "{list}"
        );
    }
}
