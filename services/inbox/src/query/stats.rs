//! The stats cards: a filter's interactions per status, every status (the inbox's `status`
//! does not apply).

use sqlx::{PgPool, QueryBuilder};

use super::count::{
    counted_assignees, counted_by_status_of, counted_for_assignees, push_count_query, Counting,
    StatusCounts, Total,
};
use crate::filters::{InboxFilter, StatusFilter};
use crate::interactions::InteractionStatus;
use crate::search;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Stats {
    /// Every status.
    pub total: i64,
    pub todo: i64,
    pub in_progress: i64,
    pub done: i64,
    /// A search (`q`) counts each status up to `inbox.exact_total_limit`: when true, a figure
    /// at that limit means "at least that many", and so does `total`.
    pub total_is_lower_bound: bool,
}

impl From<StatusCounts> for Stats {
    fn from(c: StatusCounts) -> Self {
        Stats {
            total: c.todo + c.in_progress + c.done,
            todo: c.todo,
            in_progress: c.in_progress,
            done: c.done,
            total_is_lower_bound: false,
        }
    }
}

pub async fn stats(pool: &PgPool, filter: &InboxFilter, limit: i64) -> Result<Stats, sqlx::Error> {
    let counting = Counting::for_stats(filter);
    counting.record();
    match counting {
        Counting::DayCounters => {
            let types = &filter.refine.types;
            Ok(counted_by_status_of(pool, filter.window, types)
                .await?
                .into())
        }
        Counting::AssigneeCounters => {
            let keys = counted_assignees(filter).unwrap_or_default();
            Ok(counted_for_assignees(pool, &keys, filter.window)
                .await?
                .into())
        }
        Counting::WordIndex | Counting::Rows if !filter.refine.words.is_empty() => {
            counted_per_status(pool, filter, limit).await
        }
        Counting::WordIndex | Counting::Rows => {
            let mut qb = QueryBuilder::new(
                "SELECT count(*) FILTER (WHERE i.status = 'todo') AS todo, \
                 count(*) FILTER (WHERE i.status = 'in_progress') AS in_progress, \
                 count(*) FILTER (WHERE i.status = 'done') AS done \
                 FROM crm_interactions i",
            );
            super::filter::push_where(&mut qb, filter, false);
            let (todo, in_progress, done): (i64, i64, i64) =
                qb.build_query_as().fetch_one(pool).await?;
            Ok(StatusCounts {
                todo,
                in_progress,
                done,
            }
            .into())
        }
    }
}

/// A search's count of each status, from rows or the word index, each up to `limit`: three
/// bounded counts.
async fn counted_per_status(
    pool: &PgPool,
    filter: &InboxFilter,
    limit: i64,
) -> Result<Stats, sqlx::Error> {
    let mut totals = Vec::with_capacity(3);
    for status in [
        InteractionStatus::Todo,
        InteractionStatus::InProgress,
        InteractionStatus::Done,
    ] {
        let mut qb = QueryBuilder::new("");
        push_count_query(&mut qb, filter, Some(StatusFilter::Is(status)), limit);
        let counted: i64 = qb
            .build_query_scalar()
            .persistent(!search::plan_each_time(filter))
            .fetch_one(pool)
            .await?;
        totals.push(Total::capped(counted, limit));
    }
    let count = |n: usize| totals.get(n).map_or(0, |t: &Total| t.count);
    Ok(Stats {
        total: count(0) + count(1) + count(2),
        todo: count(0),
        in_progress: count(1),
        done: count(2),
        total_is_lower_bound: totals.iter().any(|t| t.lower_bound),
    })
}
