//! The inbox query: one filter turned into SQL for a page, its total, the stats cards, bulk
//! edits and the CSV export, so they always agree on which rows match.
//!
//! Order: `next_action_at ASC NULLS LAST, created_at DESC, id DESC`, i.e. the generated column
//! `next_action_sort_at` (`'infinity'` when there is no next action) then `created_at DESC,
//! id DESC`. Indexes `idx_interactions_inbox_*` (migration 0005) serve it; see
//! docs/benchmarks.md for the plans and timings.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::{PgExecutor, PgPool, Postgres, QueryBuilder};

use crate::cursor::Position;
use crate::filters::{AssigneeFilter, InboxFilter, Refinements, StatusFilter, Window, WordMatch};
use crate::interactions::{Interaction, InteractionStatus, InteractionType};

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
                if status != InteractionStatus::Done {
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
    push_refinements(qb, filter);
}

/// Past this many tokens containing a word (a word of one or two letters), the word index
/// would probe more than the trigram path scans.
pub const MAX_TOKENS_PER_WORD: usize = 1_000;

/// Asks the lexicon how each word of `filter`'s `q` is matched. The same rows match either
/// way; this only decides which indexes answer.
pub async fn resolve_words(
    db: impl PgExecutor<'_>,
    filter: &mut InboxFilter,
) -> Result<(), sqlx::Error> {
    if filter.refine.words.is_empty() || filter.word_matches.is_some() {
        return Ok(());
    }
    // A simple word: after folding, nothing but characters that belong to tokens, at most 32
    // of them (migration 0018's piece length), between the pattern's two `%`.
    // And whether some of its tokens keep bitmaps (migration 0021), how many rows they held.
    let rows = sqlx::query!(
        r#"SELECT w.pattern AS "pattern!", m.tokens,
                  EXISTS (SELECT 1 FROM search_bitmap_words b WHERE b.word = ANY(m.tokens))
                      AS "bitmapped!",
                  (SELECT coalesce(sum(b.open_rows), 0) FROM search_bitmap_words b
                   WHERE b.word = ANY(m.tokens))::bigint AS "open_rows!"
           FROM unnest($1::text[]) WITH ORDINALITY AS w(pattern, n)
           CROSS JOIN LATERAL (
               SELECT CASE WHEN relance_fold(w.pattern)
                                ~ '^%[^\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]{1,32}%$'
                           THEN ARRAY(SELECT l.word FROM search_lexicon l
                                      WHERE l.word LIKE relance_fold(w.pattern) LIMIT $2)
                      END AS tokens) m
           ORDER BY w.n"#,
        &filter.refine.words,
        MAX_TOKENS_PER_WORD as i64 + 1
    )
    .fetch_all(db)
    .await?;
    filter.word_matches = Some(
        rows.into_iter()
            .map(|row| match row.tokens {
                Some(tokens) if tokens.len() <= MAX_TOKENS_PER_WORD => WordMatch::Tokens {
                    tokens,
                    bitmapped: row.bitmapped,
                    open_rows: row.open_rows,
                },
                _ => WordMatch::Pattern(row.pattern),
            })
            .collect(),
    );
    Ok(())
}

/// Whether a query for `filter` should be planned for its values each time: the word index's
/// token lists vary from a word to the next (one token or hundreds), and a generic plan would
/// guess one size for all.
fn plan_each_time(filter: &InboxFilter) -> bool {
    filter
        .word_matches
        .iter()
        .flatten()
        .any(|m| matches!(m, WordMatch::Tokens { .. }))
}

/// The advanced filters and search. Types are literals (a closed enum). A word the word index
/// answers is a semi-join on it; any other is matched with the very expressions migration 0015
/// indexes with trigrams, the person side as an array of matching people's ids, so
/// `person_id = ANY(...)` is an index condition and the two sides combine as a bitmap OR
/// instead of a filter run on every row.
fn push_refinements(qb: &mut QueryBuilder<'_, Postgres>, filter: &InboxFilter) {
    let refine = &filter.refine;
    if !refine.types.is_empty() {
        let types: Vec<String> = refine
            .types
            .iter()
            .map(|t| format!("'{}'", t.as_str()))
            .collect();
        qb.push(format_args!(" AND i.type IN ({})", types.join(", ")));
    }
    if let Some(person) = refine.person_id {
        qb.push(" AND i.person_id = ").push_bind(person);
    }
    if let Some(organisation) = refine.organisation_id {
        qb.push(" AND i.organisation_id = ").push_bind(organisation);
    }
    if let Some(from) = refine.from {
        qb.push(" AND i.next_action_sort_at >= ").push_bind(from);
        if refine.to.is_none() {
            // No next action sorts as 'infinity'; `from` alone must not match it.
            qb.push(" AND i.next_action_sort_at < 'infinity'");
        }
    }
    if let Some(to) = refine.to {
        qb.push(" AND i.next_action_sort_at < ").push_bind(to);
    }
    let unresolved: Vec<WordMatch>;
    let matches = match &filter.word_matches {
        Some(matches) => matches,
        None => {
            unresolved = refine
                .words
                .iter()
                .cloned()
                .map(WordMatch::Pattern)
                .collect();
            &unresolved
        }
    };
    for word in matches {
        match word {
            WordMatch::Tokens { tokens, .. } => {
                qb.push(
                    " AND i.id IN (SELECT w.interaction_id FROM interaction_search_words w \
                     WHERE w.word = ANY(",
                )
                .push_bind(tokens.clone())
                .push("))");
            }
            WordMatch::Pattern(pattern) => {
                qb.push(" AND (relance_interaction_text(i.title, i.description) LIKE relance_fold(")
                    .push_bind(pattern.clone())
                    .push(") OR i.person_id = ANY(ARRAY(SELECT p.id FROM people p WHERE relance_person_text(p.first_name, p.last_name, p.email) LIKE relance_fold(")
                    .push_bind(pattern.clone())
                    .push("))))");
            }
        }
    }
}

/// When the word index alone can answer for `filter` (everyone, no window, no refinement but
/// `q`, every word answered by tokens), each word's token lists.
fn word_index_only(filter: &InboxFilter) -> Option<Vec<&[String]>> {
    let refine = &filter.refine;
    let only_words = Refinements {
        words: refine.words.clone(),
        ..Refinements::default()
    };
    if filter.assignee != AssigneeFilter::Everyone
        || filter.window != Window::default()
        || refine.words.is_empty()
        || *refine != only_words
    {
        return None;
    }
    filter
        .word_matches
        .as_ref()?
        .iter()
        .map(|m| match m {
            WordMatch::Tokens { tokens, .. } => Some(tokens.as_slice()),
            WordMatch::Pattern(_) => None,
        })
        .collect()
}

/// `{alias}.word` matches one of `tokens`: an equality for one token, so an index on
/// (word, …) also yields its rows in the order of the columns that follow.
fn push_word_is(qb: &mut QueryBuilder<'_, Postgres>, alias: &str, tokens: &[String]) {
    match tokens {
        [token] => {
            qb.push(format_args!("{alias}.word = "))
                .push_bind(token.clone());
        }
        _ => {
            qb.push(format_args!("{alias}.word = ANY("))
                .push_bind(tokens.to_vec())
                .push(")");
        }
    }
}

/// `{alias}.status` in `status` (nothing for `None`); an open status also says `<> 'done'`,
/// which lets the open rows' partial indexes serve.
fn push_word_status(
    qb: &mut QueryBuilder<'_, Postgres>,
    alias: &str,
    status: Option<StatusFilter>,
) {
    match status {
        None => {}
        Some(StatusFilter::NotDone) => {
            qb.push(format_args!(" AND {alias}.status <> 'done'"));
        }
        Some(StatusFilter::Is(status)) => {
            qb.push(format_args!(" AND {alias}.status = '{}'", status.as_str()));
            if status != InteractionStatus::Done {
                qb.push(format_args!(" AND {alias}.status <> 'done'"));
            }
        }
    }
}

/// ` AND EXISTS (…)` for each of `others`: the interaction `w0` names also holds one of its
/// tokens (a semi-join, so it never repeats a row).
fn push_other_words(
    qb: &mut QueryBuilder<'_, Postgres>,
    others: &[&[String]],
    status: Option<StatusFilter>,
) {
    for (n, tokens) in others.iter().enumerate() {
        let alias = format!("w{}", n + 1);
        qb.push(format_args!(
            " AND EXISTS (SELECT 1 FROM interaction_search_words {alias} \
             WHERE {alias}.interaction_id = w0.interaction_id AND "
        ));
        push_word_is(qb, &alias, tokens);
        // The same status on every row of an interaction: lets the open rows' index serve.
        push_word_status(qb, &alias, status);
        qb.push(")");
    }
}

/// Appends `SELECT interaction_id, status` of the interactions holding, for every word, one of
/// its tokens (and in `status` when given), each once: from the word index only, as
/// interaction_search_words carries the status (migration 0018). The first word's rows are
/// the result, the others are semi-joins; one token names each interaction once (the primary
/// key), several may name it twice, hence DISTINCT then.
fn push_word_index_matches(
    qb: &mut QueryBuilder<'_, Postgres>,
    words: &[&[String]],
    status: Option<StatusFilter>,
) {
    let Some((first, others)) = words.split_first() else {
        qb.push(
            "SELECT NULL::bigint AS interaction_id, NULL::interaction_status AS status WHERE FALSE",
        );
        return;
    };
    let distinct = if first.len() > 1 { "DISTINCT " } else { "" };
    qb.push(format_args!(
        "SELECT {distinct}w0.interaction_id, w0.status FROM interaction_search_words w0 WHERE "
    ));
    push_word_is(qb, "w0", first);
    push_word_status(qb, "w0", status);
    push_other_words(qb, others, status);
}

/// When a page of `filter` can be walked in inbox order on the word index alone (migration
/// 0019): the word index answers alone, the rows are open ones (its ordered index is
/// partial), and one word is a single token, whose rows are then walked first (the one the
/// fewest open rows held at the last bitmap rebuild: the walk meets a match sooner); its words
/// in that order.
fn word_index_page(filter: &InboxFilter) -> Option<Vec<&[String]>> {
    if filter.status == StatusFilter::Is(InteractionStatus::Done) {
        return None;
    }
    let mut words = word_index_only(filter)?;
    let sizes: Vec<i64> = filter
        .word_matches
        .iter()
        .flatten()
        .map(|m| match m {
            WordMatch::Tokens { open_rows, .. } => *open_rows,
            WordMatch::Pattern(_) => i64::MAX,
        })
        .collect();
    let driver = (0..words.len())
        .filter(|&n| words[n].len() == 1)
        .min_by_key(|&n| sizes.get(n).copied().unwrap_or(i64::MAX))?;
    words.swap(0, driver);
    Some(words)
}

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

/// Appends the page SQL: up to `fetch` rows after `after`, with their joined names. (The
/// `push_*` functions append to a builder, so the benchmark can prefix `EXPLAIN`.)
pub fn push_page_query(
    qb: &mut QueryBuilder<'_, Postgres>,
    filter: &InboxFilter,
    after: Option<&Position>,
    fetch: i64,
) {
    if let Some(words) = word_index_page(filter) {
        // One word's open rows in inbox order, each probed for the other words.
        qb.push(
            "WITH page AS (SELECT w0.interaction_id AS id FROM interaction_search_words w0 WHERE ",
        );
        push_word_is(qb, "w0", words[0]);
        push_word_status(qb, "w0", Some(filter.status));
        push_other_words(qb, &words[1..], Some(filter.status));
        if let Some(position) = after {
            push_after(qb, &WORD_ORDER, position);
        }
        qb.push(" ORDER BY w0.next_action_sort_at, w0.created_at DESC, w0.interaction_id DESC");
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
    // The page's rows by index first, then their names through the view (migration 0009).
    qb.push(") SELECT i.* FROM page JOIN inbox_interactions i ON i.id = page.id")
        .push(ORDER_BY);
}

pub fn page_query<'a>(
    filter: &InboxFilter,
    after: Option<&Position>,
    fetch: i64,
) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::new("");
    push_page_query(&mut qb, filter, after, fetch);
    qb
}

/// Whether the open rows' total of `filter` is counted from the bitmaps of migration 0021:
/// the word index answers alone, for open rows, and a word has a common token.
fn counted_from_bitmaps(filter: &InboxFilter) -> bool {
    filter.status == StatusFilter::NotDone
        && word_index_only(filter).is_some()
        && filter.word_matches.iter().flatten().any(|m| {
            matches!(
                m,
                WordMatch::Tokens {
                    bitmapped: true,
                    ..
                }
            )
        })
}

/// Past this many interactions in the bitmaps' journal (the inbox folds it every two seconds,
/// so only under a burst of writes), counting them one by one would cost more than the
/// word index's merge: the total takes that path instead.
pub const MAX_JOURNAL_FOR_BITMAPS: i64 = 2_000;

/// The open interactions holding every word, from the bitmaps of migration 0021: per chunk of
/// ids, the AND of each word's bitmap (the OR of its tokens', a token without bitmaps read from
/// the word index), minus the journaled interactions, whose bitmaps may be stale; those are
/// counted from the word index. One snapshot for all of it, so the total is exact.
fn push_bitmap_count(qb: &mut QueryBuilder<'_, Postgres>, words: &[&[String]]) {
    qb.push(
        "WITH changed AS MATERIALIZED (SELECT DISTINCT interaction_id AS id \
         FROM search_bitmap_changes), \
         masks AS MATERIALIZED (SELECT search_chunk(id) AS chunk, \
         bit_or(search_chunk_bit(id)) AS bits FROM changed GROUP BY 1)",
    );
    for (n, tokens) in words.iter().enumerate() {
        // Each branch gives a chunk once; with one token only one branch has rows (it has
        // bitmaps or not), with several the tokens' bitmaps are OR-ed.
        let (open, close) = match tokens.len() {
            1 => ("", ""),
            _ => (
                "SELECT chunk, bit_or(bits) AS bits FROM (",
                ") x GROUP BY chunk",
            ),
        };
        qb.push(format_args!(
            ", b{n} AS ({open}SELECT chunk, bits FROM search_word_bitmaps WHERE word = ANY("
        ))
        .push_bind(tokens.to_vec())
        .push(
            ") UNION ALL SELECT search_chunk(w.interaction_id), \
             bit_or(search_chunk_bit(w.interaction_id)) \
             FROM interaction_search_words w WHERE w.status <> 'done' AND w.word = ANY(ARRAY(\
             SELECT t FROM unnest(",
        )
        .push_bind(tokens.to_vec())
        .push(
            "::text[]) t WHERE NOT EXISTS (SELECT 1 FROM search_bitmap_words bw \
             WHERE bw.word = t))) GROUP BY 1",
        )
        .push(close)
        .push(")");
    }
    qb.push(" SELECT CASE WHEN (SELECT count(*) FROM changed) <= ")
        .push(MAX_JOURNAL_FOR_BITMAPS)
        .push(" THEN (SELECT coalesce(sum(bit_count((");
    let ands: Vec<String> = (0..words.len()).map(|n| format!("b{n}.bits")).collect();
    qb.push(ands.join(" & "));
    qb.push(") & (~coalesce(m.bits, B'0'::bit(1024))))), 0)::bigint FROM b0");
    for n in 1..words.len() {
        qb.push(format_args!(" JOIN b{n} USING (chunk)"));
    }
    qb.push(" LEFT JOIN masks m USING (chunk)) + (SELECT count(*) FROM changed c WHERE TRUE");
    for tokens in words {
        qb.push(
            " AND EXISTS (SELECT 1 FROM interaction_search_words w \
             WHERE w.interaction_id = c.id AND w.status <> 'done' AND ",
        );
        push_word_is(qb, "w", tokens);
        qb.push(")");
    }
    qb.push(") ELSE (SELECT count(*) FROM (");
    push_word_index_matches(qb, words, Some(StatusFilter::NotDone));
    qb.push(") m) END");
}

pub fn push_count_query(qb: &mut QueryBuilder<'_, Postgres>, filter: &InboxFilter) {
    if counted_from_bitmaps(filter) {
        if let Some(words) = word_index_only(filter) {
            push_bitmap_count(qb, &words);
            return;
        }
    }
    if let Some(words) = word_index_only(filter) {
        qb.push("SELECT count(*) FROM (");
        push_word_index_matches(qb, &words, Some(filter.status));
        qb.push(") m");
        return;
    }
    qb.push("SELECT count(*) FROM crm_interactions i");
    push_where(qb, filter, true);
}

pub fn count_query<'a>(filter: &InboxFilter) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::new("");
    push_count_query(&mut qb, filter);
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
    let query = qb
        .build_query_as::<Interaction>()
        .persistent(!plan_each_time(filter));
    let mut rows = if word_index_page(filter).is_some() {
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

/// The filter's total. For everyone it comes from the day counters (migration 0006; with a
/// type filter, the per-type ones of migration 0022): exact,
/// without counting every row. Per assignee the open items are counted from their partial
/// index: for the busiest user of the benchmark that is 0.42 ms, their day counters 0.66 ms
/// (549 rows to sum, spread over as many pages), so [`stats`] alone, which counts done items
/// too, reads the counters. A search for everyone, without other refinements, is counted from
/// the word index alone (see [`push_count_query`]).
pub async fn count(pool: &PgPool, filter: &InboxFilter) -> Result<i64, sqlx::Error> {
    // The counters know assignee, type, status and day only: a refined filter counts its rows.
    if let (AssigneeFilter::Everyone, Some(types)) = (filter.assignee, counted_types(filter)) {
        let counts = counted_by_status_of(pool, filter.window, types).await?;
        return Ok(statuses(filter.status).iter().map(|s| counts.get(s)).sum());
    }
    // A total from the bitmaps reads chunks, whatever the words: one plan serves them all.
    count_query(filter)
        .build_query_scalar::<i64>()
        .persistent(counted_from_bitmaps(filter) || !plan_each_time(filter))
        .fetch_one(pool)
        .await
}

fn statuses(status: StatusFilter) -> Vec<InteractionStatus> {
    match status {
        StatusFilter::NotDone => vec![InteractionStatus::Todo, InteractionStatus::InProgress],
        StatusFilter::Is(s) => vec![s],
    }
}

/// Interactions per status within a window, for everyone.
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

fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// When everyone's counters can answer for `filter`'s refinements (none, or only types:
/// migration 0022), those types (empty: every type).
fn counted_types(filter: &InboxFilter) -> Option<&[InteractionType]> {
    let others = Refinements {
        types: Vec::new(),
        ..filter.refine.clone()
    };
    others.is_empty().then_some(filter.refine.types.as_slice())
}

/// Whether [`count`] reads `filter`'s total from the day counters rather than from rows.
pub fn counted_from_counters(filter: &InboxFilter) -> bool {
    filter.assignee == AssigneeFilter::Everyone && counted_types(filter).is_some()
}

/// Everyone's interactions per status with `next_action_at` in `window`: whole UTC days from
/// the counters, the partial days at either end counted from the index (less than a day of
/// rows each).
pub async fn counted_by_status(pool: &PgPool, window: Window) -> Result<StatusCounts, sqlx::Error> {
    counted_by_status_of(pool, window, &[]).await
}

/// [`counted_by_status`] for interactions of `types` only (empty: every type), from the
/// per-type counters of migration 0022.
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
            // Whole UTC days [first_day, end_day) (NULL: unbounded) from the counters and their
            // pending deltas.
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
                for row in rows {
                    counts.add(row.status, row.n);
                }
            } else {
                let rows = sqlx::query!(
                    r#"SELECT status AS "status!: InteractionStatus", sum(n)::bigint AS "n!"
                       FROM (SELECT type, status, day, n FROM inbox_type_counts
                             UNION ALL SELECT type, status, day, delta FROM inbox_count_deltas) c
                       WHERE type::text = ANY($3)
                         AND ($1::date IS NULL OR day >= $1) AND ($2::date IS NULL OR day < $2)
                       GROUP BY status"#,
                    first_day,
                    end_day,
                    &type_names
                )
                .fetch_all(pool)
                .await?;
                for row in rows {
                    counts.add(row.status, row.n);
                }
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

/// One assignee's interactions per status (`AssigneeFilter::Unassigned`: those of nobody) from
/// their day counters and pending deltas, when `window` is made of whole UTC days (or
/// unbounded); `None` otherwise, and for everyone.
pub async fn counted_for_assignee(
    pool: &PgPool,
    assignee: AssigneeFilter,
    window: Window,
) -> Result<Option<StatusCounts>, sqlx::Error> {
    let key = match assignee {
        AssigneeFilter::Everyone => return Ok(None),
        AssigneeFilter::Unassigned => 0,
        AssigneeFilter::User(id) => id,
    };
    let whole = |at: Option<DateTime<Utc>>| at.is_none_or(|at| day_start(at.date_naive()) == at);
    if !whole(window.from) || !whole(window.until) {
        return Ok(None);
    }
    let rows = sqlx::query!(
        r#"SELECT status AS "status!: InteractionStatus", sum(n)::bigint AS "n!"
           FROM (SELECT status, day, n FROM inbox_assignee_counts WHERE assignee_id = $1
                 UNION ALL
                 SELECT status, day, delta FROM inbox_assignee_count_deltas
                 WHERE assignee_id = $1) c
           WHERE ($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day < $3)
           GROUP BY status"#,
        key,
        window.from.map(|at| at.date_naive()),
        window.until.map(|at| at.date_naive())
    )
    .fetch_all(pool)
    .await?;
    let mut counts = StatusCounts::default();
    for row in rows {
        counts.add(row.status, row.n);
    }
    Ok(Some(counts))
}

/// Below this many open interactions holding a token, its rows are read from the word index;
/// from it on, a rebuild gives it bitmaps (migration 0021). A token's bitmaps take at most one
/// row per 1,024 interactions, so they pay off well before this.
pub const BITMAP_MIN_ROWS: i32 = 1_000;

/// One of migration 0021's passes over the bitmaps.
#[derive(Debug, Clone, Copy)]
enum BitmapPass {
    /// Fold up to this many journaled interactions.
    Refresh(i32),
    /// Rebuild, giving bitmaps to tokens this many open interactions hold.
    Rebuild(i32),
}

/// Runs a bitmap pass the way migration 0021 requires: in a REPEATABLE READ transaction that
/// locked `interaction_search_words` then `search_bitmap_words` first. Another pass in progress (another replica's) is not
/// waited for: `Ok(None)`.
async fn bitmap_pass(pool: &PgPool, pass: BitmapPass) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *tx)
        .await?;
    // The lock order of migration 0021: the word index first, as a TRUNCATE takes it.
    sqlx::query!("LOCK TABLE interaction_search_words IN ACCESS SHARE MODE")
        .execute(&mut *tx)
        .await?;
    let locked =
        sqlx::query!("LOCK TABLE search_bitmap_words IN SHARE UPDATE EXCLUSIVE MODE NOWAIT")
            .execute(&mut *tx)
            .await;
    match locked {
        Ok(_) => {}
        // lock_not_available: another pass holds it.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => return Ok(None),
        Err(e) => return Err(e),
    }
    let done = match pass {
        BitmapPass::Refresh(batch) => {
            sqlx::query_scalar!(r#"SELECT search_bitmaps_refresh($1) AS "n!""#, batch)
                .fetch_one(&mut *tx)
                .await?
        }
        BitmapPass::Rebuild(min_rows) => {
            sqlx::query_scalar!(r#"SELECT search_bitmaps_rebuild($1) AS "n!""#, min_rows)
                .fetch_one(&mut *tx)
                .await?
        }
    };
    tx.commit().await?;
    Ok(Some(done))
}

/// Whether some token keeps bitmaps (migration 0021).
pub async fn search_bitmaps_built(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM search_bitmap_words) AS "built!""#)
        .fetch_one(pool)
        .await
}

/// Folds the bitmaps' journal (migration 0021); returns how many interactions were taken in,
/// `None` when another pass was running.
pub async fn refresh_search_bitmaps(pool: &PgPool) -> Result<Option<i64>, sqlx::Error> {
    bitmap_pass(pool, BitmapPass::Refresh(50_000)).await
}

/// Rebuilds the bitmaps, taking in tokens that became common and emptying the journal;
/// returns how many tokens keep bitmaps, `None` when another pass was running. `min_rows`:
/// [`BITMAP_MIN_ROWS`] but in tests.
pub async fn rebuild_search_bitmaps(
    pool: &PgPool,
    min_rows: i32,
) -> Result<Option<i64>, sqlx::Error> {
    bitmap_pass(pool, BitmapPass::Rebuild(min_rows)).await
}

/// Drops the search tokens no interaction holds any more (migration 0018); returns how many.
pub async fn sweep_search_lexicon(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT search_lexicon_sweep() AS "forgotten!""#)
        .fetch_one(pool)
        .await
}

/// Folds the counters' pending deltas (see migration 0006); returns how many were folded.
pub async fn compact_counts(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT inbox_counts_compact() AS "folded!""#)
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

pub fn push_stats_query(qb: &mut QueryBuilder<'_, Postgres>, filter: &InboxFilter) {
    qb.push(
        "SELECT count(*) AS total, \
         count(*) FILTER (WHERE i.status = 'todo') AS todo, \
         count(*) FILTER (WHERE i.status = 'in_progress') AS in_progress, \
         count(*) FILTER (WHERE i.status = 'done') AS done",
    );
    if let Some(words) = word_index_only(filter) {
        qb.push(" FROM (");
        push_word_index_matches(qb, &words, None);
        qb.push(") i");
        return;
    }
    qb.push(" FROM crm_interactions i");
    push_where(qb, filter, false);
}

pub fn stats_query<'a>(filter: &InboxFilter) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::new("");
    push_stats_query(&mut qb, filter);
    qb
}

pub async fn stats(pool: &PgPool, filter: &InboxFilter) -> Result<Stats, sqlx::Error> {
    let counts = match (filter.assignee, counted_types(filter)) {
        (AssigneeFilter::Everyone, Some(types)) => {
            Some(counted_by_status_of(pool, filter.window, types).await?)
        }
        _ if !filter.refine.is_empty() => None,
        (assignee, _) => counted_for_assignee(pool, assignee, filter.window).await?,
    };
    if let Some(c) = counts {
        return Ok(Stats {
            total: c.todo + c.in_progress + c.done,
            todo: c.todo,
            in_progress: c.in_progress,
            done: c.done,
        });
    }
    stats_query(filter)
        .build_query_as::<Stats>()
        .persistent(!plan_each_time(filter))
        .fetch_one(pool)
        .await
}

/// Every matching row in inbox order, with joined names (the CSV export).
pub fn export_query<'a>(filter: &InboxFilter) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::new("SELECT i.* FROM inbox_interactions i");
    push_where(&mut qb, filter, true);
    qb.push(ORDER_BY);
    qb
}
