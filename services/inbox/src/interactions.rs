//! CRM interactions as the inbox shows them, and their one-row reads and writes. The inbox
//! query (filters, pages, counts) lives in [`crate::query`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgExecutor, PgPool};
use utoipa::ToSchema;

use relance_shared::http::{ApiError, FieldError};
use relance_shared::valid::{Description, Id, Title};

use crate::history::{act_as, Actor};
use crate::scope::{Caller, Scope};
use crate::sla::SlaClock;

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
    pub const ALL: [InteractionType; 4] = [Self::Call, Self::Email, Self::Meeting, Self::Note];

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }

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
    /// A hot lead's first-touch deadline (`sla.hot_lead_minutes` of its assignee's working
    /// time); `null` for other interactions and unassigned hot leads.
    pub sla_due_at: Option<DateTime<Utc>>,
    /// When its assignee first changed it.
    pub first_touched_at: Option<DateTime<Utc>>,
    /// When the reminder found it untouched past its deadline (its managers were told).
    pub sla_breached_at: Option<DateTime<Utc>>,
}

/// `query_as!(Interaction, …)` over the `inbox_interactions` view (docs/schema.sql), the SQL
/// after `FROM inbox_interactions` given as a literal: checked at build time like any query.
/// The overrides say what the view cannot tell the checker (its columns' nullability) and map
/// the enum columns to their Rust types.
macro_rules! select_interactions {
    ($rest:tt, $($args:tt)*) => {
        sqlx::query_as!(
            Interaction,
            r#"SELECT id AS "id!", type AS "kind!: InteractionType", title AS "title!",
                      description, status AS "status!: InteractionStatus", assignee_id,
                      assignee_name, next_action_at, notified_at, person_id, person_name,
                      organisation_id, organisation_name, author_id, linked_task_id,
                      linked_event_id, created_at AS "created_at!", updated_at AS "updated_at!",
                      sla_due_at, first_touched_at, sla_breached_at
               FROM inbox_interactions "# + $rest,
            $($args)*
        )
    };
}

pub async fn get(db: impl PgExecutor<'_>, id: i64) -> Result<Interaction, ApiError> {
    select_interactions!("WHERE id = $1", id)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| not_found(id))
}

/// The current state of each of `ids` that still exists.
pub async fn get_many(
    db: impl PgExecutor<'_>,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Interaction>, sqlx::Error> {
    let rows = select_interactions!("WHERE id = ANY($1)", ids)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|i| (i.id, i)).collect())
}

pub fn not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("no interaction with id {id}"))
}

/// Interaction `id` as `scope` sees it: out of scope answers as absent does (404).
pub async fn get_in_scope(
    db: impl PgExecutor<'_>,
    scope: &Scope,
    id: i64,
) -> Result<Interaction, ApiError> {
    let interaction = get(db, id).await?;
    if scope.contains(interaction.assignee_id) {
        Ok(interaction)
    } else {
        Err(not_found(id))
    }
}

/// Locks interaction `id` for a change by `caller`, 404 when absent or out of their scope. The
/// same statement names `caller` as the transaction's actor for the history (one round trip
/// less on the one-click path than [`act_as`] first; with nothing locked nothing is written).
async fn lock_for_change(
    tx: &mut sqlx::PgConnection,
    caller: &Caller,
    id: i64,
) -> Result<(), ApiError> {
    let row = sqlx::query!(
        r#"SELECT assignee_id, set_config('relance.actor', $2, true) AS "actor!"
           FROM crm_interactions WHERE id = $1 FOR UPDATE"#,
        id,
        Actor::User(caller.id).setting()
    )
    .fetch_optional(&mut *tx)
    .await?;
    match row {
        Some(row) if caller.scope.contains(row.assignee_id) => Ok(()),
        _ => Err(not_found(id)),
    }
}

/// 403 naming `field` unless `caller` may give work to `assignee` (`None`: nobody).
pub fn require_may_assign(
    caller: &Caller,
    field: &str,
    assignee: Option<i64>,
) -> Result<(), ApiError> {
    if caller.may_assign_to(assignee) {
        Ok(())
    } else {
        Err(ApiError::NotAllowed(vec![FieldError::new(
            field,
            "you may not assign work to this user",
        )]))
    }
}

/// One change the one-click actions and bulk edits apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Status(InteractionStatus),
    Assignee(Option<i64>),
    /// A new next action re-arms its reminder: `notified_at` goes back to NULL.
    NextAction(Option<DateTime<Utc>>),
}

/// 422 unless `user_id` names an active user: work is only ever assigned to someone who can
/// see it.
pub async fn require_active_user(
    db: impl PgExecutor<'_>,
    field: &str,
    user_id: i64,
) -> Result<(), ApiError> {
    let active = sqlx::query_scalar!("SELECT is_active FROM users WHERE id = $1", user_id)
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
///
/// The assignee's own change is a hot lead's first touch; a reassignment restarts its clock
/// for the new assignee (a deadline in their working time from `now`; a self-assignment is a
/// touch at once, unassigning leaves no deadline).
pub async fn apply(
    pool: &PgPool,
    caller: &Caller,
    id: i64,
    change: Change,
    (sla, now): (&SlaClock, DateTime<Utc>),
) -> Result<Interaction, ApiError> {
    let mut restarted_due = None;
    if let Change::Assignee(user) = change {
        require_may_assign(caller, "assignee_id", user)?;
        if let Some(user) = user {
            require_active_user(pool, "assignee_id", user).await?;
            restarted_due = sla.due_for(pool, user, now).await?;
        }
    }
    // The update and the read of its result in one transaction: a statement's own CTE cannot
    // see its writes through the view.
    let mut tx = pool.begin().await?;
    lock_for_change(&mut tx, caller, id).await?;
    let updated = match change {
        Change::Status(status) => sqlx::query_scalar!(
            "UPDATE crm_interactions SET status = $1, updated_at = now(), \
             first_touched_at = CASE WHEN first_touched_at IS NULL AND assignee_id = $3 \
                                     THEN now() ELSE first_touched_at END \
             WHERE id = $2 RETURNING id",
            status as InteractionStatus,
            id,
            caller.id
        )
        .fetch_optional(&mut *tx)
        .await,
        Change::Assignee(user) => sqlx::query_scalar!(
            "UPDATE crm_interactions SET assignee_id = $1, updated_at = now(), \
             sla_due_at = CASE WHEN sla_due_at IS NULL OR assignee_id IS NOT DISTINCT FROM $1 \
                               THEN sla_due_at ELSE $3 END, \
             first_touched_at = CASE WHEN sla_due_at IS NULL OR assignee_id IS NOT DISTINCT FROM $1 \
                                     THEN first_touched_at \
                                     WHEN $1 = $4 THEN now() END, \
             sla_warned_at = CASE WHEN sla_due_at IS NULL OR assignee_id IS NOT DISTINCT FROM $1 \
                                  THEN sla_warned_at END, \
             sla_breached_at = CASE WHEN sla_due_at IS NULL OR assignee_id IS NOT DISTINCT FROM $1 \
                                    THEN sla_breached_at END \
             WHERE id = $2 RETURNING id",
            user,
            id,
            restarted_due,
            caller.id
        )
        .fetch_optional(&mut *tx)
        .await,
        Change::NextAction(at) => sqlx::query_scalar!(
            "UPDATE crm_interactions SET next_action_at = $1, notified_at = NULL, \
             updated_at = now(), \
             first_touched_at = CASE WHEN first_touched_at IS NULL AND assignee_id = $3 \
                                     THEN now() ELSE first_touched_at END \
             WHERE id = $2 RETURNING id",
            at,
            id,
            caller.id
        )
        .fetch_optional(&mut *tx)
        .await,
    };
    updated
        .map_err(fk_violation)?
        .ok_or_else(|| not_found(id))?;
    let interaction = get(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(interaction)
}

/// A foreign key violation (a user or person deleted meanwhile) is the caller's bad value.
pub fn fk_violation(error: sqlx::Error) -> ApiError {
    if let sqlx::Error::Database(db) = &error {
        if db.code().as_deref() == Some("23503") {
            let field = match db.constraint() {
                Some("crm_interactions_assignee_id_fkey") => "assignee_id",
                Some("crm_interactions_person_id_fkey") => "person_id",
                Some("crm_interactions_organisation_id_fkey") => "organisation_id",
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

/// `PATCH /api/v1/interactions/{id}` body: the fields to change, at least one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionEdit {
    /// Not `null`.
    #[serde(default, deserialize_with = "crate::fields::not_null")]
    #[schema(nullable = false)]
    pub title: Option<Title>,
    /// `null` or blank removes it.
    #[serde(default, deserialize_with = "crate::fields::null_is_a_value")]
    #[schema(value_type = Option<Description>)]
    pub description: Option<Option<Description>>,
    /// Not `null`.
    #[serde(default, rename = "type", deserialize_with = "crate::fields::not_null")]
    #[schema(nullable = false)]
    pub kind: Option<InteractionType>,
}

/// Changes an interaction's title, description or type (404 if unknown); every bad field named.
pub async fn edit(
    pool: &PgPool,
    caller: &Caller,
    id: i64,
    edit: InteractionEdit,
) -> Result<Interaction, ApiError> {
    if edit.title.is_none() && edit.description.is_none() && edit.kind.is_none() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "(body)",
            "give at least one of title, description, type",
        )]));
    }
    let title = edit.title.map(Title::into_inner);
    let description = edit
        .description
        .map(|text| text.and_then(Description::into_stored));
    let mut tx = pool.begin().await?;
    lock_for_change(&mut tx, caller, id).await?;
    sqlx::query_scalar!(
        "UPDATE crm_interactions SET title = coalesce($1, title), \
         description = CASE WHEN $2 THEN $3 ELSE description END, \
         type = coalesce($4, type), updated_at = now(), \
         first_touched_at = CASE WHEN first_touched_at IS NULL AND assignee_id = $6 \
                                 THEN now() ELSE first_touched_at END \
         WHERE id = $5 RETURNING id",
        title,
        description.is_some(),
        description.flatten(),
        edit.kind as Option<InteractionType>,
        id,
        caller.id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| not_found(id))?;
    let interaction = get(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(interaction)
}

/// `POST /api/v1/interactions` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInteraction {
    #[serde(rename = "type")]
    pub kind: InteractionType,
    pub title: Title,
    pub description: Option<Description>,
    #[serde(default)]
    pub status: Option<InteractionStatus>,
    /// An active user.
    pub assignee_id: Option<Id>,
    /// RFC 3339 with an offset.
    pub next_action_at: Option<DateTime<chrono::FixedOffset>>,
    /// An existing person.
    pub person_id: Option<Id>,
    /// An existing organisation.
    pub organisation_id: Option<Id>,
}

pub async fn create(
    pool: &PgPool,
    caller: &Caller,
    new: NewInteraction,
) -> Result<Interaction, ApiError> {
    let author_id = caller.id;
    require_may_assign(caller, "assignee_id", new.assignee_id.map(Id::get))?;
    let mut errors = Vec::new();
    let description = new.description.and_then(Description::into_stored);
    let (assignee_id, person_id, organisation_id) = (
        new.assignee_id.map(Id::get),
        new.person_id.map(Id::get),
        new.organisation_id.map(Id::get),
    );
    if let Some(user) = assignee_id {
        if let Err(ApiError::Validation(mut e)) =
            require_active_user(pool, "assignee_id", user).await
        {
            errors.append(&mut e);
        }
    }
    if let Some(id) = person_id {
        let exists = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM people WHERE id = $1) AS "exists!""#,
            id
        )
        .fetch_one(pool)
        .await?;
        if !exists {
            errors.push(FieldError::new(
                "person_id",
                format!("no record with id {id}"),
            ));
        }
    }
    if let Some(id) = organisation_id {
        let exists = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM organisations WHERE id = $1) AS "exists!""#,
            id
        )
        .fetch_one(pool)
        .await?;
        if !exists {
            errors.push(FieldError::new(
                "organisation_id",
                format!("no record with id {id}"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut tx = pool.begin().await?;
    act_as(&mut tx, Actor::User(caller.id)).await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO crm_interactions (type, title, description, status, assignee_id, \
         next_action_at, person_id, organisation_id, author_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        new.kind as InteractionType,
        new.title.as_str(),
        description,
        new.status.unwrap_or(InteractionStatus::Todo) as InteractionStatus,
        assignee_id,
        new.next_action_at.map(|at| at.with_timezone(&Utc)),
        person_id,
        organisation_id,
        author_id
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(fk_violation)?;
    let interaction = get(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(interaction)
}
