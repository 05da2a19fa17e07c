//! Who changed what: an interaction's history (`interaction_history` in docs/schema.sql),
//! written by triggers in the statement that makes each change, whoever makes it. Each
//! writing transaction names its actor first ([`act_as`]); scoring and the reminder name
//! themselves for their whole connection (`relance_shared::db::pool_acting_as`); a writer that
//! names nobody shows as `system: unknown`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;

/// Who makes the changes of the current transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User(i64),
    System(&'static str),
}

impl Actor {
    /// The value of the `relance.actor` setting the history triggers read.
    pub fn setting(self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::System(name) => format!("system:{name}"),
        }
    }
}

/// Names the actor of the transaction `tx` is in (`SET LOCAL`: it ends with it). A path that
/// reads a row first can instead call `set_config('relance.actor', …, true)` in that statement
/// and save the round trip (the one-click changes do).
pub async fn act_as(tx: &mut PgConnection, actor: Actor) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT set_config('relance.actor', $1, true) AS "set!""#,
        actor.setting()
    )
    .fetch_one(tx)
    .await?;
    Ok(())
}

/// Who: a user (id and name) or a part of the system (`scoring`, `reminder`, `crm`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActorView {
    User { id: i64, name: Option<String> },
    System { name: String },
}

/// One change: `field` is `created` or the field changed (`status`, `assignee_id`,
/// `next_action_at`, `title`, `description`, `type`), with its values before and after.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Change {
    pub at: DateTime<Utc>,
    pub actor: ActorView,
    pub field: String,
    /// Any JSON value (a status, an id, a time, a text), `null` for none.
    pub old_value: Option<serde_json::Value>,
    pub new_value: Option<serde_json::Value>,
}

/// The most changes one answer lists (the newest).
pub const MAX_CHANGES: i64 = 500;

/// Interaction `id`'s changes, newest first.
pub async fn of(pool: &PgPool, id: i64) -> Result<Vec<Change>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT h.at, h.actor_user_id, h.actor_system, u.full_name AS "actor_name?",
                  h.field, h.old_value, h.new_value
           FROM interaction_history h LEFT JOIN users u ON u.id = h.actor_user_id
           WHERE h.interaction_id = $1 ORDER BY h.id DESC LIMIT $2"#,
        id,
        MAX_CHANGES
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Change {
            at: row.at,
            actor: match (row.actor_user_id, row.actor_system) {
                (Some(id), _) => ActorView::User {
                    id,
                    name: row.actor_name,
                },
                (None, system) => ActorView::System {
                    name: system.unwrap_or_else(|| "unknown".to_owned()),
                },
            },
            field: row.field,
            old_value: row.old_value,
            new_value: row.new_value,
        })
        .collect())
}
