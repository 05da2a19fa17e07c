//! `POST /api/v1/interactions/bulk`: one change (status, assignee or next action) applied to a
//! list of ids or to every row matching an inbox filter, in one transaction.
//!
//! All or nothing: an unknown id, an unknown assignee or a filter matching more than
//! [`MAX_FILTER_ROWS`] rows refuses the whole request (422) and changes nothing. Rows are
//! locked in id order, so two bulk edits never deadlock. The answer says how many rows matched
//! and how many actually changed (a row already in the asked state is not counted as changed,
//! and its `updated_at` stays).

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, QueryBuilder};
use utoipa::ToSchema;

use relance_shared::http::{ApiError, FieldError};
use relance_shared::valid::{Id, SearchText, TimeZoneOrDefault};

use crate::filters::{self, ScopeParams, SearchParams, StatusParams};
use crate::history::{act_as, Actor};
use crate::interactions::{
    fk_violation, require_active_user, require_may_assign, Change, InteractionStatus,
};
use crate::query::push_where;
use crate::scope::Caller;
use crate::sla::SlaClock;

pub const MAX_IDS: usize = 1_000;
pub const MAX_FILTER_ROWS: i64 = 50_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
// `set` and exactly one of `ids` and `filter`: two properties (in the document from
// `openapi::PROPERTY_COUNTS`, which utoipa cannot write).
pub struct BulkRequest {
    /// The interactions to change (1 to 1000 ids); or give `filter`.
    #[serde(default, deserialize_with = "crate::fields::not_null")]
    #[schema(nullable = false, min_items = 1, max_items = 1000)]
    pub ids: Option<Vec<Id>>,
    /// Every interaction matching this inbox filter (same parameters as the inbox).
    #[serde(default, deserialize_with = "crate::fields::not_null")]
    #[schema(nullable = false)]
    pub filter: Option<BulkFilter>,
    pub set: BulkSet,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkFilter {
    /// `me` (the caller), a user id, or `unassigned`; absent or empty: everyone.
    #[schema(pattern = "^(me|unassigned|[0-9]+)?$")]
    pub assignee: Option<String>,
    /// A team's external id (one of `GET /api/v1/teams`): its members' items (`assignee` then
    /// names one of them). Another team: 403.
    pub team: Option<String>,
    /// Absent: `todo` and `in_progress`.
    #[schema(value_type = Option<InteractionStatus>)]
    pub status: Option<String>,
    /// Due window, computed in `tz`; default `all`.
    #[schema(value_type = Option<crate::filters::Due>)]
    pub due: Option<String>,
    /// IANA time zone; default `inbox.default_timezone`.
    #[schema(value_type = Option<TimeZoneOrDefault>, example = "Europe/Paris")]
    pub tz: Option<String>,
    /// Comma-separated interaction types: any of them; empty: every type.
    #[serde(rename = "type")]
    #[schema(
        rename = "type",
        pattern = "^((call|email|meeting|note)(,(call|email|meeting|note))*)?$"
    )]
    pub kind: Option<String>,
    /// Read as the inbox's parameters are, so every bad one is named together.
    #[schema(value_type = Option<Id>)]
    pub person_id: Option<i64>,
    #[schema(value_type = Option<Id>)]
    pub organisation_id: Option<i64>,
    /// `from <= next_action_at` (RFC 3339 with an offset).
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub from: Option<String>,
    /// `next_action_at < to` (RFC 3339 with an offset; after `from`).
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub to: Option<String>,
    /// Words to find, as the inbox's `q`.
    #[schema(value_type = Option<SearchText>)]
    pub q: Option<String>,
}

/// Exactly one of the three (`openapi::PROPERTY_COUNTS`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkSet {
    /// Not `null`.
    #[serde(default, deserialize_with = "crate::fields::not_null")]
    #[schema(nullable = false)]
    pub status: Option<InteractionStatus>,
    /// A user id, or `null` to unassign.
    #[serde(default, deserialize_with = "crate::fields::null_is_a_value")]
    #[schema(value_type = Option<Id>)]
    pub assignee_id: Option<Option<Id>>,
    /// RFC 3339 with an offset, or `null` for no next action.
    #[serde(default, deserialize_with = "crate::fields::null_is_a_value")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub next_action_at: Option<Option<DateTime<FixedOffset>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BulkResult {
    pub matched: i64,
    pub changed: i64,
    /// The ids given that name no interaction the caller may change (absent or out of their
    /// scope, alike); none of them changed.
    pub not_found: Vec<i64>,
}

enum Target {
    Ids(Vec<i64>),
    Filter(filters::InboxFilter),
}

fn validate(
    request: BulkRequest,
    caller: &Caller,
    default_tz: Tz,
    now: DateTime<Utc>,
) -> Result<(Target, Change), ApiError> {
    let mut errors = Vec::new();
    let change = match (
        request.set.status,
        request.set.assignee_id,
        request.set.next_action_at,
    ) {
        (Some(status), None, None) => Some(Change::Status(status)),
        (None, Some(user), None) => Some(Change::Assignee(user.map(Id::get))),
        (None, None, Some(at)) => Some(Change::NextAction(at.map(|at| at.with_timezone(&Utc)))),
        _ => {
            errors.push(FieldError::new(
                "set",
                "give exactly one of status, assignee_id, next_action_at",
            ));
            None
        }
    };
    let target = match (request.ids, request.filter) {
        (Some(ids), None) => {
            if ids.is_empty() || ids.len() > MAX_IDS {
                errors.push(FieldError::new("ids", format!("give 1 to {MAX_IDS} ids")));
            }
            let mut ids: Vec<i64> = ids.into_iter().map(Id::get).collect();
            ids.sort_unstable();
            ids.dedup();
            Some(Target::Ids(ids))
        }
        (None, Some(filter)) => {
            let scope = ScopeParams {
                assignee: filter.assignee,
                due: filter.due,
                tz: filter.tz,
                team: filter.team,
            };
            let status = StatusParams {
                status: filter.status,
            };
            let search = SearchParams {
                kind: filter.kind,
                person_id: filter.person_id.map(|id| id.to_string()),
                organisation_id: filter.organisation_id.map(|id| id.to_string()),
                from: filter.from,
                to: filter.to,
                q: filter.q,
            };
            let mut filter_errors = Vec::new();
            let resolved = filters::resolve(
                &scope,
                Some(&status),
                Some(&search),
                caller,
                default_tz,
                now,
                &mut filter_errors,
            );
            if let Some(filter) = &resolved {
                filter.check_scope().map_err(|error| match error {
                    ApiError::NotAllowed(fields) => ApiError::NotAllowed(
                        fields
                            .into_iter()
                            .map(|e| FieldError {
                                field: format!("filter.{}", e.field),
                                ..e
                            })
                            .collect(),
                    ),
                    other => other,
                })?;
            }
            errors.extend(filter_errors.into_iter().map(|e| FieldError {
                field: format!("filter.{}", e.field),
                ..e
            }));
            resolved.map(Target::Filter)
        }
        _ => {
            errors.push(FieldError::new("ids", "give either ids or filter"));
            None
        }
    };
    match (target, change) {
        (Some(target), Some(change)) if errors.is_empty() => Ok((target, change)),
        _ => Err(ApiError::Validation(errors)),
    }
}

pub async fn apply(
    pool: &PgPool,
    request: BulkRequest,
    caller: &Caller,
    (default_tz, sla): (Tz, &SlaClock),
    now: DateTime<Utc>,
) -> Result<BulkResult, ApiError> {
    let (target, change) = validate(request, caller, default_tz, now)?;
    let mut restarted_due = None;
    if let Change::Assignee(user) = change {
        require_may_assign(caller, "set.assignee_id", user)?;
        if let Some(user) = user {
            require_active_user(pool, "set.assignee_id", user).await?;
            restarted_due = sla.due_for(pool, user, now).await?;
        }
    }
    let mut tx = pool.begin().await?;
    act_as(&mut tx, Actor::User(caller.id)).await?;
    let mut not_found = Vec::new();
    let ids: Vec<i64> = match target {
        // Absent and out of scope alike: listed in `not_found`, left alone.
        Target::Ids(ids) => {
            let rows = sqlx::query!(
                "SELECT id, assignee_id FROM crm_interactions WHERE id = ANY($1) \
                 ORDER BY id FOR UPDATE",
                &ids
            )
            .fetch_all(&mut *tx)
            .await?;
            let found: Vec<i64> = rows
                .into_iter()
                .filter(|row| caller.scope.contains(row.assignee_id))
                .map(|row| row.id)
                .collect();
            not_found = ids
                .into_iter()
                .filter(|id| found.binary_search(id).is_err())
                .collect();
            found
        }
        // Words as patterns (`LIKE` on the rows themselves), never the word index, which
        // follows the table by the relay's delay: a bulk edit acts on the rows as they are.
        Target::Filter(filter) => {
            let mut qb = QueryBuilder::new("SELECT i.id FROM crm_interactions i");
            push_where(&mut qb, &filter, true);
            qb.push(" ORDER BY i.id LIMIT ")
                .push_bind(MAX_FILTER_ROWS + 1)
                .push(" FOR UPDATE");
            let ids: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
            if ids.len() as i64 > MAX_FILTER_ROWS {
                return Err(ApiError::Validation(vec![FieldError::new(
                    "filter",
                    format!("matches more than {MAX_FILTER_ROWS} interactions; narrow it"),
                )]));
            }
            ids
        }
    };
    let changed = write_change(&mut tx, change, &ids, caller.id, restarted_due).await?;
    tx.commit().await?;
    Ok(BulkResult {
        matched: ids.len() as i64,
        changed: changed as i64,
        not_found,
    })
}

/// Writes `change` to `ids`, only the rows whose value actually changes (and counted): the
/// actor's own change is a hot lead's first touch, a reassignment restarts its clock.
async fn write_change(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    change: Change,
    ids: &[i64],
    actor: i64,
    restarted_due: Option<DateTime<Utc>>,
) -> Result<u64, ApiError> {
    let changed = match change {
        Change::Status(status) => {
            sqlx::query!(
                "UPDATE crm_interactions SET status = $1, updated_at = now(), \
             first_touched_at = CASE WHEN first_touched_at IS NULL AND assignee_id = $3 \
                                     THEN now() ELSE first_touched_at END \
             WHERE id = ANY($2) AND status IS DISTINCT FROM $1",
                status as InteractionStatus,
                ids,
                actor
            )
            .execute(&mut **tx)
            .await
        }
        Change::Assignee(user) => {
            sqlx::query!(
                // A hot lead's clock restarts for the new assignee, as in a one-click change.
                "UPDATE crm_interactions SET assignee_id = $1, updated_at = now(), \
             sla_due_at = CASE WHEN sla_due_at IS NULL THEN NULL ELSE $3::timestamptz END, \
             first_touched_at = CASE WHEN sla_due_at IS NULL THEN first_touched_at \
                                     WHEN $1 = $4 THEN now() END, \
             sla_warned_at = CASE WHEN sla_due_at IS NULL THEN sla_warned_at END, \
             sla_breached_at = CASE WHEN sla_due_at IS NULL THEN sla_breached_at END \
             WHERE id = ANY($2) AND assignee_id IS DISTINCT FROM $1",
                user,
                ids,
                restarted_due,
                actor
            )
            .execute(&mut **tx)
            .await
        }
        // A new next action re-arms the reminder, so a row already notified changes too.
        Change::NextAction(at) => {
            sqlx::query!(
                "UPDATE crm_interactions SET next_action_at = $1, notified_at = NULL, \
             updated_at = now(), \
             first_touched_at = CASE WHEN first_touched_at IS NULL AND assignee_id = $3 \
                                     THEN now() ELSE first_touched_at END \
             WHERE id = ANY($2) \
             AND (next_action_at IS DISTINCT FROM $1 OR notified_at IS NOT NULL)",
                at,
                ids,
                actor
            )
            .execute(&mut **tx)
            .await
        }
    }
    .map_err(fk_violation)?
    .rows_affected();
    Ok(changed)
}
