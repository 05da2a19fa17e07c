//! CRM interactions as the inbox shows them, and their one-row reads and writes. The inbox
//! query (filters, pages, counts) lives in [`crate::inbox_query`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgExecutor, PgPool};
use utoipa::ToSchema;

use relance_shared::http::{ApiError, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[sqlx(type_name = "interaction_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum InteractionStatus {
    Todo,
    InProgress,
    Done,
}

impl InteractionStatus {
    pub const ALL: [InteractionStatus; 3] = [Self::Todo, Self::InProgress, Self::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Todo => "todo",
            Self::InProgress => "in_progress",
            Self::Done => "done",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[sqlx(type_name = "interaction_type", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum InteractionType {
    Call,
    Email,
    Meeting,
    Note,
}

impl InteractionType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Email => "email",
            Self::Meeting => "meeting",
            Self::Note => "note",
        }
    }
}

/// An interaction with the names the inbox shows next to it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Interaction {
    pub id: i64,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub kind: InteractionType,
    pub title: String,
    pub description: Option<String>,
    pub status: InteractionStatus,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    /// When the next action is due; `null`: no next action (listed last).
    pub next_action_at: Option<DateTime<Utc>>,
    /// When the assignee was reminded of the current `next_action_at`.
    pub notified_at: Option<DateTime<Utc>>,
    pub person_id: Option<i64>,
    pub person_name: Option<String>,
    pub organisation_id: Option<i64>,
    pub organisation_name: Option<String>,
    pub author_id: Option<i64>,
    pub linked_task_id: Option<i64>,
    pub linked_event_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The columns of [`Interaction`], selected from `crm_interactions` (or a CTE of its rows)
/// aliased `i`; followed by [`JOINS`].
pub const COLUMNS: &str = "i.id, i.type, i.title, i.description, i.status, i.assignee_id, \
    u.full_name AS assignee_name, i.next_action_at, i.notified_at, i.person_id, \
    NULLIF(btrim(p.first_name || ' ' || p.last_name), '') AS person_name, i.organisation_id, \
    o.name AS organisation_name, i.author_id, i.linked_task_id, i.linked_event_id, \
    i.created_at, i.updated_at";

pub const JOINS: &str = " LEFT JOIN users u ON u.id = i.assignee_id \
    LEFT JOIN people p ON p.id = i.person_id \
    LEFT JOIN organisations o ON o.id = i.organisation_id";

pub async fn get(db: impl PgExecutor<'_>, id: i64) -> Result<Interaction, ApiError> {
    sqlx::query_as::<_, Interaction>(&format!(
        "SELECT {COLUMNS} FROM crm_interactions i {JOINS} WHERE i.id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| not_found(id))
}

/// The current state of each of `ids` that still exists.
pub async fn get_many(
    db: impl PgExecutor<'_>,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Interaction>, sqlx::Error> {
    let rows = sqlx::query_as::<_, Interaction>(&format!(
        "SELECT {COLUMNS} FROM crm_interactions i {JOINS} WHERE i.id = ANY($1)"
    ))
    .bind(ids)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|i| (i.id, i)).collect())
}

pub fn not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("no interaction with id {id}"))
}

/// One change the one-click actions and bulk edits apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Status(InteractionStatus),
    Assignee(Option<i64>),
    /// A new next action re-arms its reminder: `notified_at` goes back to NULL.
    NextAction(Option<DateTime<Utc>>),
}

impl Change {
    /// `SET` clause and the condition under which a row actually changes, for `UPDATE
    /// crm_interactions i ... WHERE ...` with the new value bound as `$1`.
    pub fn sql(&self) -> (&'static str, &'static str) {
        match self {
            Change::Status(_) => ("status = $1", "i.status IS DISTINCT FROM $1"),
            Change::Assignee(_) => ("assignee_id = $1", "i.assignee_id IS DISTINCT FROM $1"),
            Change::NextAction(_) => (
                "next_action_at = $1, notified_at = NULL",
                "(i.next_action_at IS DISTINCT FROM $1 OR i.notified_at IS NOT NULL)",
            ),
        }
    }

    pub fn bind<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        match *self {
            Change::Status(status) => query.bind(status),
            Change::Assignee(user) => query.bind(user),
            Change::NextAction(at) => query.bind(at),
        }
    }
}

/// 422 unless `user_id` names an active user: work is only ever assigned to someone who can
/// see it.
pub async fn require_active_user(
    db: impl PgExecutor<'_>,
    field: &str,
    user_id: i64,
) -> Result<(), ApiError> {
    let active: Option<bool> = sqlx::query_scalar("SELECT is_active FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await?;
    match active {
        Some(true) => Ok(()),
        Some(false) => Err(ApiError::Validation(vec![FieldError::new(
            field,
            format!("user {user_id} is deactivated"),
        )])),
        None => Err(ApiError::Validation(vec![FieldError::new(
            field,
            format!("no user with id {user_id}"),
        )])),
    }
}

/// Applies `change` to one interaction (404 if unknown) and returns it. `updated_at` moves even
/// when the value is unchanged: the click happened.
pub async fn apply(pool: &PgPool, id: i64, change: Change) -> Result<Interaction, ApiError> {
    if let Change::Assignee(Some(user)) = change {
        require_active_user(pool, "assignee_id", user).await?;
    }
    let (set, _) = change.sql();
    let sql = format!(
        "WITH i AS (UPDATE crm_interactions SET {set}, updated_at = now() WHERE id = $2 \
         RETURNING *) SELECT {COLUMNS} FROM i {JOINS}"
    );
    let query = change.bind(sqlx::query(&sql)).bind(id);
    let row = query.fetch_optional(pool).await.map_err(fk_violation)?;
    let row = row.ok_or_else(|| not_found(id))?;
    Ok(<Interaction as sqlx::FromRow<_>>::from_row(&row)?)
}

/// A foreign key violation (a user or person deleted meanwhile) is the caller's bad value.
pub fn fk_violation(error: sqlx::Error) -> ApiError {
    if let sqlx::Error::Database(db) = &error {
        if db.code().as_deref() == Some("23503") {
            let field = match db.constraint() {
                Some(c) if c.contains("assignee") => "assignee_id",
                Some(c) if c.contains("person") => "person_id",
                Some(c) if c.contains("organisation") => "organisation_id",
                _ => "(body)",
            };
            return ApiError::Validation(vec![FieldError::new(
                field,
                "refers to a record that does not exist",
            )]);
        }
    }
    error.into()
}

/// `POST /api/v1/interactions` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInteraction {
    #[serde(rename = "type")]
    pub kind: InteractionType,
    /// 1 to 500 characters.
    pub title: String,
    pub description: Option<String>,
    #[serde(default)]
    pub status: Option<InteractionStatus>,
    pub assignee_id: Option<i64>,
    /// RFC 3339 with an offset.
    pub next_action_at: Option<DateTime<chrono::FixedOffset>>,
    pub person_id: Option<i64>,
    pub organisation_id: Option<i64>,
}

pub async fn create(
    pool: &PgPool,
    author_id: i64,
    new: NewInteraction,
) -> Result<Interaction, ApiError> {
    let mut errors = Vec::new();
    let title = new.title.trim();
    if title.is_empty() || title.chars().count() > 500 {
        errors.push(FieldError::new("title", "must be 1 to 500 characters"));
    }
    if let Some(user) = new.assignee_id {
        if let Err(ApiError::Validation(mut e)) =
            require_active_user(pool, "assignee_id", user).await
        {
            errors.append(&mut e);
        }
    }
    for (field, table, id) in [
        ("person_id", "people", new.person_id),
        ("organisation_id", "organisations", new.organisation_id),
    ] {
        if let Some(id) = id {
            let exists: bool = sqlx::query_scalar(&format!(
                "SELECT EXISTS (SELECT 1 FROM {table} WHERE id = $1)"
            ))
            .bind(id)
            .fetch_one(pool)
            .await?;
            if !exists {
                errors.push(FieldError::new(field, format!("no record with id {id}")));
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let row = sqlx::query(&format!(
        "WITH i AS (INSERT INTO crm_interactions (type, title, description, status, assignee_id, \
         next_action_at, person_id, organisation_id, author_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *) \
         SELECT {COLUMNS} FROM i {JOINS}"
    ))
    .bind(new.kind)
    .bind(title)
    .bind(new.description)
    .bind(new.status.unwrap_or(InteractionStatus::Todo))
    .bind(new.assignee_id)
    .bind(new.next_action_at.map(|at| at.with_timezone(&Utc)))
    .bind(new.person_id)
    .bind(new.organisation_id)
    .bind(author_id)
    .fetch_one(pool)
    .await
    .map_err(fk_violation)?;
    Ok(<Interaction as sqlx::FromRow<_>>::from_row(&row)?)
}
