//! One page of the inbox, in inbox order, after a keyset position.

use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{filter::push_where, ORDER_BY};
use crate::cursor::Position;
use crate::filters::{AssigneeFilter, InboxFilter};
use crate::interactions::Interaction;
use crate::scope::Scope;
use crate::search;

/// Columns of the inbox order in a query: the sort key, the creation time, the id.
struct OrderColumns {
    sort_at: &'static str,
    created_at: &'static str,
    id: &'static str,
}

const INTERACTION_ORDER: OrderColumns = OrderColumns {
    sort_at: "i.next_action_sort_at",
    created_at: "i.created_at",
    id: "i.id",
};

const WORD_ORDER: OrderColumns = OrderColumns {
    sort_at: "w0.next_action_sort_at",
    created_at: "w0.created_at",
    id: "w0.interaction_id",
};

/// Rows strictly after `position` in inbox order.
fn push_after(qb: &mut QueryBuilder<'_, Postgres>, columns: &OrderColumns, position: &Position) {
    let OrderColumns {
        sort_at,
        created_at,
        id,
    } = columns;
    qb.push(format_args!(" AND {sort_at} >= COALESCE("))
        .push_bind(position.next_action_at)
        .push(format_args!(
            "::timestamptz, 'infinity') AND ({sort_at} > COALESCE("
        ))
        .push_bind(position.next_action_at)
        .push(format_args!(
            "::timestamptz, 'infinity') OR ({created_at}, {id}) < ("
        ))
        .push_bind(position.created_at)
        .push(", ")
        .push_bind(position.id)
        .push("))");
}

/// The most assignees a page walks one by one; a larger scope reads its rows in one scan.
const MAX_MERGED_ASSIGNEES: usize = 64;

/// The assignees (nobody first) whose walks make the page of a caller who sees some users and
/// asks for everyone they see (or for a team: its members, without nobody).
fn merged_assignees(filter: &InboxFilter) -> Option<Vec<AssigneeFilter>> {
    let users = filter.visible.users()?;
    let nobody = match filter.assignee {
        AssigneeFilter::Everyone => Some(AssigneeFilter::Unassigned),
        AssigneeFilter::Assigned => None,
        AssigneeFilter::User(_) | AssigneeFilter::Unassigned => return None,
    };
    if users.len() > MAX_MERGED_ASSIGNEES || (nobody.is_none() && users.is_empty()) {
        return None;
    }
    Some(
        nobody
            .into_iter()
            .chain(users.iter().map(|&user| AssigneeFilter::User(user)))
            .collect(),
    )
}

/// Appends the page SQL: up to `fetch` rows after `after`, with their joined names. (The
/// `push_*` functions append to a builder, so the benchmark can prefix `EXPLAIN`.)
pub fn push_page_query(
    qb: &mut QueryBuilder<'_, Postgres>,
    filter: &InboxFilter,
    after: Option<&Position>,
    fetch: i64,
) {
    if let Some(words) = search::ordered_walk(filter) {
        // One word's open rows in inbox order, each probed for the other words.
        qb.push(
            "WITH page AS (SELECT w0.interaction_id AS id FROM interaction_search_words w0 WHERE ",
        );
        search::push_word_is(qb, "w0", words[0]);
        search::push_word_status(qb, "w0", Some(filter.status));
        search::push_other_words(qb, &words[1..], Some(filter.status));
        if let Some(position) = after {
            push_after(qb, &WORD_ORDER, position);
        }
        qb.push(" ORDER BY w0.next_action_sort_at, w0.created_at DESC, w0.interaction_id DESC");
    } else if let Some(assignees) = merged_assignees(filter) {
        // Everyone a caller sees, as one ordered walk of the index per assignee (and one of
        // the unassigned) merged: `assignee_id IS NULL OR assignee_id = ANY(…)` would read and
        // sort every one of those rows (tens of thousands) for a page of fifty.
        qb.push("WITH page AS (SELECT i.id FROM (");
        for (n, assignee) in assignees.into_iter().enumerate() {
            if n > 0 {
                qb.push(" UNION ALL ");
            }
            qb.push("(SELECT i.id, i.next_action_sort_at, i.created_at FROM crm_interactions i");
            let branch = InboxFilter {
                assignee,
                visible: Scope::Everything,
                ..filter.clone()
            };
            push_where(qb, &branch, true);
            if let Some(position) = after {
                push_after(qb, &INTERACTION_ORDER, position);
            }
            qb.push(ORDER_BY).push(" LIMIT ").push(fetch).push(")");
        }
        qb.push(") i");
        qb.push(ORDER_BY);
    } else {
        qb.push("WITH page AS (SELECT i.id FROM crm_interactions i");
        push_where(qb, filter, true);
        if let Some(position) = after {
            push_after(qb, &INTERACTION_ORDER, position);
        }
        qb.push(ORDER_BY);
    }
    // The limit is a literal (a validated number, never text): knowing it, PostgreSQL's
    // generic plan for the prepared statement is the index walk, so after five executions it
    // stops planning each request (0.4 ms of a 0.7 ms page at 1,000,000 interactions). With
    // `LIMIT $n` the generic plan assumes a large fraction of the rows, costs 120 ms, and
    // every execution is planned again.
    qb.push(" LIMIT ").push(fetch);
    // The page's rows by index first, then their names through the view (docs/schema.sql).
    qb.push(") SELECT i.* FROM page JOIN inbox_interactions i ON i.id = page.id")
        .push(ORDER_BY);
}

/// One page and whether more follow.
pub async fn page(
    pool: &PgPool,
    filter: &InboxFilter,
    after: Option<&Position>,
    limit: i64,
) -> Result<(Vec<Interaction>, bool), sqlx::Error> {
    let mut qb = QueryBuilder::new("");
    push_page_query(&mut qb, filter, after, limit + 1);
    let query = qb
        .build_query_as::<Interaction>()
        .persistent(!search::plan_each_time(filter));
    let mut rows = if search::ordered_walk(filter).is_some() {
        // A walk of one word's rows in order reads a few hundred index entries, yet the
        // planner may hand it to parallel workers, which take longer to start (8 ms measured at
        // 1,000,000 interactions) than the walk takes.
        let mut tx = pool.begin().await?;
        sqlx::query!("SET LOCAL max_parallel_workers_per_gather = 0")
            .execute(&mut *tx)
            .await?;
        let rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows
    } else {
        query.fetch_all(pool).await?
    };
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}
