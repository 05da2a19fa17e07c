//! A filter's total, and how it is counted: chosen once per request ([`Counting`]), recorded
//! in the request span (`query.counting`) and counted in `/metrics`
//! (`inbox_totals_total{counting}`).
//!
//! Totals without `q` are exact. A search's (`q`) total is exact up to
//! `inbox.exact_total_limit` and a lower bound beyond ([`Total::lower_bound`]): counting stops
//! there, so no search counts more rows than that, whatever the words.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::filter::push_where;
use crate::filters::{AssigneeFilter, InboxFilter, Refinements, StatusFilter, Window};
use crate::interactions::{InteractionStatus, InteractionType};
use crate::scope::Scope;
use crate::search;

/// How a total (or the stats) is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Everyone's day counters (docs/schema.sql): no refinement but types.
    DayCounters,
    /// The assignees' day counters (one, or the members of a scope and the unassigned), for
    /// the stats of a whole-day window.
    AssigneeCounters,
    /// The word index alone: a search for everyone with no other refinement.
    WordIndex,
    /// The interactions' rows, through their indexes.
    Rows,
}

impl Counting {
    pub fn as_str(self) -> &'static str {
        match self {
            Counting::DayCounters => "day_counters",
            Counting::AssigneeCounters => "assignee_counters",
            Counting::WordIndex => "word_index",
            Counting::Rows => "rows",
        }
    }

    /// How [`total`] counts `filter`. Per assignee, the open items are counted from their
    /// partial index: for the busiest user of the benchmark that is 0.42 ms, their day counters
    /// 0.66 ms (549 rows to sum), so only the stats, which count done items too, read them.
    /// Everyone a caller sees (a rep's own and the unassigned, a team's) is counted from
    /// their counters when the window is whole days: the rows would be tens of thousands.
    pub fn for_total(filter: &InboxFilter) -> Self {
        if filter.assignee == AssigneeFilter::Everyone
            && filter.visible == Scope::Everything
            && counted_types(filter).is_some()
        {
            Counting::DayCounters
        } else if matches!(
            filter.assignee,
            AssigneeFilter::Everyone | AssigneeFilter::Assigned
        ) && filter.visible != Scope::Everything
            && filter.refine.is_empty()
            && whole_days(filter.window)
        {
            Counting::AssigneeCounters
        } else if search::index_only(filter).is_some() {
            Counting::WordIndex
        } else {
            Counting::Rows
        }
    }

    /// How [`super::stats`] counts `filter` (every status).
    pub fn for_stats(filter: &InboxFilter) -> Self {
        match Self::for_total(filter) {
            Counting::Rows
                if filter.refine.is_empty()
                    && counted_assignees(filter).is_some()
                    && whole_days(filter.window) =>
            {
                Counting::AssigneeCounters
            }
            counting => counting,
        }
    }

    /// Writes this choice into the request span and the metric.
    pub fn record(self) {
        tracing::Span::current().record("query.counting", self.as_str());
        metrics::counter!("inbox_totals_total", "counting" => self.as_str()).increment(1);
    }
}

/// A count, exact or (past the search limit) a lower bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    pub count: i64,
    pub lower_bound: bool,
}

impl Total {
    pub fn exact(count: i64) -> Self {
        Total {
            count,
            lower_bound: false,
        }
    }

    /// A count that stopped at `limit + 1` rows: `limit` and a lower bound past it.
    pub fn capped(counted: i64, limit: i64) -> Self {
        Total {
            count: counted.min(limit),
            lower_bound: counted > limit,
        }
    }
}

/// The filter's total; a search's stops past `limit` rows.
pub async fn total(pool: &PgPool, filter: &InboxFilter, limit: i64) -> Result<Total, sqlx::Error> {
    let counting = Counting::for_total(filter);
    counting.record();
    let counted = match counting {
        Counting::DayCounters => {
            let types = counted_types(filter).unwrap_or_default();
            Some(counted_by_status_of(pool, filter.window, types).await?)
        }
        Counting::AssigneeCounters => {
            let keys = counted_assignees(filter).unwrap_or_default();
            Some(counted_for_assignees(pool, &keys, filter.window).await?)
        }
        Counting::WordIndex | Counting::Rows => None,
    };
    if let Some(counts) = counted {
        return Ok(Total::exact(
            statuses(filter.status).iter().map(|s| counts.get(s)).sum(),
        ));
    }
    let mut qb = QueryBuilder::new("");
    push_count_query(&mut qb, filter, Some(filter.status), limit);
    let counted: i64 = qb
        .build_query_scalar()
        .persistent(!search::plan_each_time(filter))
        .fetch_one(pool)
        .await?;
    Ok(if filter.refine.words.is_empty() {
        Total::exact(counted)
    } else {
        Total::capped(counted, limit)
    })
}

/// Appends the count of `filter`'s rows in `status` (`None`: every status); a search's count
/// stops at `limit + 1`.
pub fn push_count_query(
    qb: &mut QueryBuilder<'_, Postgres>,
    filter: &InboxFilter,
    status: Option<StatusFilter>,
    limit: i64,
) {
    let capped = !filter.refine.words.is_empty();
    qb.push("SELECT count(*) FROM (");
    if let Some(words) = search::index_only(filter) {
        search::push_index_matches(qb, &words, status);
    } else {
        qb.push("SELECT 1 FROM crm_interactions i");
        push_where(qb, filter, false);
        if let Some(status) = status {
            super::filter::push_status(qb, status);
        }
    }
    if capped {
        qb.push(" LIMIT ").push(limit + 1);
    }
    qb.push(") m");
}

pub(super) fn statuses(status: StatusFilter) -> Vec<InteractionStatus> {
    match status {
        StatusFilter::NotDone => vec![InteractionStatus::Todo, InteractionStatus::InProgress],
        StatusFilter::Is(s) => vec![s],
    }
}

/// Interactions per status.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StatusCounts {
    pub todo: i64,
    pub in_progress: i64,
    pub done: i64,
}

impl StatusCounts {
    pub fn get(&self, status: &InteractionStatus) -> i64 {
        match status {
            InteractionStatus::Todo => self.todo,
            InteractionStatus::InProgress => self.in_progress,
            InteractionStatus::Done => self.done,
        }
    }

    fn add(&mut self, status: InteractionStatus, n: i64) {
        match status {
            InteractionStatus::Todo => self.todo += n,
            InteractionStatus::InProgress => self.in_progress += n,
            InteractionStatus::Done => self.done += n,
        }
    }
}

/// Whether `window` starts and ends at UTC midnights (or is open), as the counters count.
fn whole_days(window: Window) -> bool {
    let whole = |at: Option<DateTime<Utc>>| at.is_none_or(|at| day_start(at.date_naive()) == at);
    whole(window.from) && whole(window.until)
}

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// When everyone's counters can answer for `filter`'s refinements (none, or only types:
/// docs/schema.sql), those types (empty: every type).
fn counted_types(filter: &InboxFilter) -> Option<&[InteractionType]> {
    let others = Refinements {
        types: Vec::new(),
        ..filter.refine.clone()
    };
    others.is_empty().then_some(filter.refine.types.as_slice())
}

/// Everyone's interactions of `types` (empty: every type) per status with `next_action_at` in
/// `window`: whole UTC days from the counters and their pending deltas, the partial days at
/// either end counted from the index (less than a day of rows each).
pub async fn counted_by_status_of(
    pool: &PgPool,
    window: Window,
    types: &[InteractionType],
) -> Result<StatusCounts, sqlx::Error> {
    let type_names: Vec<String> = types.iter().map(|t| t.as_str().to_owned()).collect();
    // Whole days: [first_day, end_day), None = unbounded (the 'infinity' bucket of rows without
    // a next action only counts when the window has no end).
    let first_day = window.from.map(|from| {
        let day = from.date_naive();
        if day_start(day) == from {
            day
        } else {
            day.succ_opt().unwrap_or(day)
        }
    });
    let end_day = window.until.map(|until| until.date_naive());
    let mut counts = StatusCounts::default();
    let mut exact: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    match (first_day, end_day) {
        (Some(first), Some(end)) if first >= end => {
            if let (Some(from), Some(until)) = (window.from, window.until) {
                exact.push((from, until));
            }
        }
        _ => {
            for (status, n) in counted_days(pool, first_day, end_day, &type_names).await? {
                counts.add(status, n);
            }
            if let (Some(from), Some(first)) = (window.from, first_day) {
                if from < day_start(first) {
                    exact.push((from, day_start(first)));
                }
            }
            if let (Some(until), Some(end)) = (window.until, end_day) {
                if day_start(end) < until {
                    exact.push((day_start(end), until));
                }
            }
        }
    }
    for (from, until) in exact {
        // A partial day, row by row. The bounds are finite, so next_action_at (indexed with
        // status for every row) says the same as the sort key.
        let rows = sqlx::query!(
            r#"SELECT status AS "status!: InteractionStatus", count(*) AS "n!"
               FROM crm_interactions
               WHERE next_action_at >= $1 AND next_action_at < $2
                 AND (cardinality($3::text[]) = 0 OR type::text = ANY($3))
               GROUP BY status"#,
            from,
            until,
            &type_names
        )
        .fetch_all(pool)
        .await?;
        for row in rows {
            counts.add(row.status, row.n);
        }
    }
    Ok(counts)
}

/// Whole UTC days [first_day, end_day) (None: unbounded) per status, from the counters and
/// their pending deltas; per type when `type_names` is not empty.
async fn counted_days(
    pool: &PgPool,
    first_day: Option<NaiveDate>,
    end_day: Option<NaiveDate>,
    type_names: &[String],
) -> Result<Vec<(InteractionStatus, i64)>, sqlx::Error> {
    if type_names.is_empty() {
        let rows = sqlx::query!(
            r#"SELECT status AS "status!: InteractionStatus", sum(n)::bigint AS "n!"
               FROM (SELECT status, day, n FROM inbox_counts
                     UNION ALL SELECT status, day, delta FROM inbox_count_deltas) c
               WHERE ($1::date IS NULL OR day >= $1) AND ($2::date IS NULL OR day < $2)
               GROUP BY status"#,
            first_day,
            end_day
        )
        .fetch_all(pool)
        .await?;
        return Ok(rows.into_iter().map(|r| (r.status, r.n)).collect());
    }
    let rows = sqlx::query!(
        r#"SELECT status AS "status!: InteractionStatus", sum(n)::bigint AS "n!"
           FROM (SELECT type, status, day, n FROM inbox_type_counts
                 UNION ALL SELECT type, status, day, delta FROM inbox_count_deltas) c
           WHERE type::text = ANY($3)
             AND ($1::date IS NULL OR day >= $1) AND ($2::date IS NULL OR day < $2)
           GROUP BY status"#,
        first_day,
        end_day,
        type_names
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.status, r.n)).collect())
}

/// The assignee counters' keys for `filter`'s rows (0: nobody), when they are a list: one
/// assignee, nobody, everyone the caller's scope holds (a team's totals are the sum of its
/// members' and the unassigned), or a team's members (`team=`); `None` for everyone.
pub fn counted_assignees(filter: &InboxFilter) -> Option<Vec<i64>> {
    match (filter.assignee, filter.visible.users()) {
        (AssigneeFilter::User(id), _) => Some(vec![id]),
        (AssigneeFilter::Unassigned, _) => Some(vec![0]),
        (AssigneeFilter::Everyone, Some(users)) => {
            Some(std::iter::once(0).chain(users.iter().copied()).collect())
        }
        (AssigneeFilter::Assigned, Some(users)) => Some(users.to_vec()),
        (AssigneeFilter::Everyone | AssigneeFilter::Assigned, None) => None,
    }
}

/// The interactions of these assignees (keys of [`counted_assignees`]) per status from their
/// day counters and pending deltas, for a window of whole UTC days (or unbounded).
pub async fn counted_for_assignees(
    pool: &PgPool,
    keys: &[i64],
    window: Window,
) -> Result<StatusCounts, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT status AS "status!: InteractionStatus", sum(n)::bigint AS "n!"
           FROM (SELECT status, day, n FROM inbox_assignee_counts WHERE assignee_id = ANY($1)
                 UNION ALL
                 SELECT status, day, delta FROM inbox_assignee_count_deltas
                 WHERE assignee_id = ANY($1)) c
           WHERE ($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day < $3)
           GROUP BY status"#,
        keys,
        window.from.map(|at| at.date_naive()),
        window.until.map(|at| at.date_naive())
    )
    .fetch_all(pool)
    .await?;
    let mut counts = StatusCounts::default();
    for row in rows {
        counts.add(row.status, row.n);
    }
    Ok(counts)
}

/// Folds the counters' pending deltas (docs/schema.sql); returns how many were folded.
pub async fn compact_counts(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT inbox_counts_compact() AS "folded!""#)
        .fetch_one(pool)
        .await
}
