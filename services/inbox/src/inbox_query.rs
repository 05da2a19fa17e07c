//! The inbox query: one filter turned into SQL for a page, its total, the stats cards, bulk
//! edits and the CSV export, so they always agree on which rows match.
//!
//! Order: `next_action_at ASC NULLS LAST, created_at DESC, id DESC`, i.e. the generated column
//! `next_action_sort_at` (`'infinity'` when there is no next action) then `created_at DESC,
//! id DESC`. Indexes `idx_interactions_inbox_*` (migration 0005) serve it; see
//! docs/benchmarks.md for the plans and timings.

use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::cursor::Position;
use crate::filters::{AssigneeFilter, InboxFilter, StatusFilter};
use crate::interactions::{Interaction, COLUMNS, JOINS};

pub const ORDER_BY: &str = " ORDER BY i.next_action_sort_at, i.created_at DESC, i.id DESC";

/// Appends ` WHERE …` for `filter`; the status condition only when `with_status` (the stats
/// count every status). Status values are written as literals (they come from a closed enum),
/// which lets the planner use the partial indexes on `status <> 'done'`.
pub fn push_where(qb: &mut QueryBuilder<'_, Postgres>, filter: &InboxFilter, with_status: bool) {
    qb.push(" WHERE TRUE");
    match filter.assignee {
        AssigneeFilter::Everyone => {}
        AssigneeFilter::Unassigned => {
            qb.push(" AND i.assignee_id IS NULL");
        }
        AssigneeFilter::User(id) => {
            qb.push(" AND i.assignee_id = ").push_bind(id);
        }
    }
    if with_status {
        match filter.status {
            StatusFilter::NotDone => {
                qb.push(" AND i.status <> 'done'");
            }
            StatusFilter::Is(status) => {
                qb.push(format_args!(" AND i.status = '{}'", status.as_str()));
                if status != crate::interactions::InteractionStatus::Done {
                    qb.push(" AND i.status <> 'done'");
                }
            }
        }
    }
    if let Some(from) = filter.window.from {
        qb.push(" AND i.next_action_sort_at >= ").push_bind(from);
    }
    if let Some(until) = filter.window.until {
        qb.push(" AND i.next_action_sort_at < ").push_bind(until);
    }
}

/// Rows strictly after `position` in inbox order.
fn push_after(qb: &mut QueryBuilder<'_, Postgres>, position: &Position) {
    qb.push(" AND i.next_action_sort_at >= COALESCE(")
        .push_bind(position.next_action_at)
        .push("::timestamptz, 'infinity') AND (i.next_action_sort_at > COALESCE(")
        .push_bind(position.next_action_at)
        .push("::timestamptz, 'infinity') OR (i.created_at, i.id) < (")
        .push_bind(position.created_at)
        .push(", ")
        .push_bind(position.id)
        .push("))");
}

/// The page SQL: up to `fetch` rows after `after`, with their joined names.
pub fn page_query<'a>(
    filter: &InboxFilter,
    after: Option<&Position>,
    fetch: i64,
) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::new("WITH page AS (SELECT i.* FROM crm_interactions i");
    push_where(&mut qb, filter, true);
    if let Some(position) = after {
        push_after(&mut qb, position);
    }
    qb.push(ORDER_BY).push(" LIMIT ").push_bind(fetch);
    qb.push(format_args!(") SELECT {COLUMNS} FROM page i {JOINS}"))
        .push(ORDER_BY);
    qb
}

pub fn count_query<'a>(filter: &InboxFilter) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::new("SELECT count(*) FROM crm_interactions i");
    push_where(&mut qb, filter, true);
    qb
}

/// One page and whether more follow.
pub async fn page(
    pool: &PgPool,
    filter: &InboxFilter,
    after: Option<&Position>,
    limit: i64,
) -> Result<(Vec<Interaction>, bool), sqlx::Error> {
    let mut qb = page_query(filter, after, limit + 1);
    let mut rows = qb.build_query_as::<Interaction>().fetch_all(pool).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}

pub async fn count(pool: &PgPool, filter: &InboxFilter) -> Result<i64, sqlx::Error> {
    count_query(filter)
        .build_query_scalar::<i64>()
        .fetch_one(pool)
        .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Stats {
    /// Every status.
    pub total: i64,
    pub todo: i64,
    pub in_progress: i64,
    pub done: i64,
}

pub fn stats_query<'a>(filter: &InboxFilter) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::new(
        "SELECT count(*) AS total, \
         count(*) FILTER (WHERE i.status = 'todo') AS todo, \
         count(*) FILTER (WHERE i.status = 'in_progress') AS in_progress, \
         count(*) FILTER (WHERE i.status = 'done') AS done \
         FROM crm_interactions i",
    );
    push_where(&mut qb, filter, false);
    qb
}

pub async fn stats(pool: &PgPool, filter: &InboxFilter) -> Result<Stats, sqlx::Error> {
    stats_query(filter)
        .build_query_as::<Stats>()
        .fetch_one(pool)
        .await
}

/// Every matching row in inbox order, with joined names (the CSV export).
pub fn export_query<'a>(filter: &InboxFilter) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM crm_interactions i {JOINS}"));
    push_where(&mut qb, filter, true);
    qb.push(ORDER_BY);
    qb
}
