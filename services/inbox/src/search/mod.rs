//! `q`, the inbox's free-text search: how each word finds interactions.
//!
//! A word matches an interaction when its folded form (case and accents ignored, see
//! `relance_fold`) lies in the folded title, description, or person's name or email: the `LIKE`
//! definition in docs/schema.sql. Two ways answer it, selecting the same rows:
//! - the **word index** (`interaction_search_words`, docs/schema.sql): an
//!   interaction's text cut into tokens at ASCII separators, so a word without a separator lies
//!   in the text exactly when it lies inside one token. The lexicon (`search_lexicon`, trigram
//!   indexed) turns the word into the tokens containing it; the index gives their interactions,
//!   with status and inbox sort key, so a page walks it in inbox order and a count reads it
//!   alone. It is kept by the change relay after each commit ([`index`]), not by the writers;
//! - the **pattern**: the `LIKE` itself, through the trigram indexes (docs/schema.sql), for a
//!   word with a separator (an address), longer than a token piece (32), or held by more than
//!   [`MAX_TOKENS_PER_WORD`] tokens (one or two letters).

pub mod index;

use sqlx::{PgExecutor, Postgres, QueryBuilder};

pub use crate::filters::WordMatch;
use crate::filters::{InboxFilter, StatusFilter};
use crate::interactions::InteractionStatus;

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
    // of them (the piece length in docs/schema.sql), between the pattern's two `%`.
    let rows = sqlx::query!(
        r#"SELECT w.pattern AS "pattern!", m.tokens,
                  (SELECT coalesce(sum(f.freq), 0)::float8
                   FROM pg_stats s
                   CROSS JOIN LATERAL unnest(s.most_common_vals::text::text[],
                                             s.most_common_freqs) AS f(word, freq)
                   WHERE s.schemaname = current_schema()
                     AND s.tablename = 'interaction_search_words' AND s.attname = 'word'
                     AND f.word = ANY(m.tokens)) AS "frequency!"
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
                    frequency: row.frequency,
                },
                _ => WordMatch::Pattern(row.pattern),
            })
            .collect(),
    );
    Ok(())
}

/// `filter`'s words as matched: resolved, or every one as a pattern.
pub fn matches(filter: &InboxFilter) -> Vec<WordMatch> {
    match &filter.word_matches {
        Some(matches) => matches.clone(),
        None => filter
            .refine
            .words
            .iter()
            .cloned()
            .map(WordMatch::Pattern)
            .collect(),
    }
}

/// Whether a query for `filter` should be planned for its values each time: token lists vary
/// from one token to hundreds, and a generic plan would guess one size for all.
pub fn plan_each_time(filter: &InboxFilter) -> bool {
    filter
        .word_matches
        .iter()
        .flatten()
        .any(|m| matches!(m, WordMatch::Tokens { .. }))
}

/// ` AND <word matches i>` for one word, on the interactions aliased `i`. A token word is a
/// semi-join on the word index; a pattern is matched with the very expressions docs/schema.sql
/// indexes with trigrams, the person side as an array of matching people's ids, so
/// `person_id = ANY(...)` is an index condition and the two sides combine as a bitmap OR.
pub fn push_word_condition(qb: &mut QueryBuilder<'_, Postgres>, word: &WordMatch) {
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

/// When the word index alone can answer for `filter` (everyone, a caller who sees everything,
/// no window, no refinement but `q`, every word answered by tokens): each word's tokens.
pub fn index_only(filter: &InboxFilter) -> Option<Vec<&[String]>> {
    use crate::filters::{AssigneeFilter, Refinements, Window};
    let refine = &filter.refine;
    let only_words = Refinements {
        words: refine.words.clone(),
        ..Refinements::default()
    };
    if filter.assignee != AssigneeFilter::Everyone
        || filter.visible != crate::scope::Scope::Everything
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

/// The words of an ordered walk of the word index for a page of `filter` (docs/schema.sql):
/// the index answers alone, the rows are open ones (its ordered index is partial), and a word
/// is a single token. The walk starts with the rarest such word (it meets a match soonest).
pub fn ordered_walk(filter: &InboxFilter) -> Option<Vec<&[String]>> {
    if filter.status == StatusFilter::Is(InteractionStatus::Done) {
        return None;
    }
    let mut words = index_only(filter)?;
    let frequencies: Vec<f64> = filter
        .word_matches
        .iter()
        .flatten()
        .map(|m| match m {
            WordMatch::Tokens { frequency, .. } => *frequency,
            WordMatch::Pattern(_) => f64::INFINITY,
        })
        .collect();
    let driver = (0..words.len())
        .filter(|&n| words[n].len() == 1)
        .min_by(|&a, &b| {
            let f = |n: usize| frequencies.get(n).copied().unwrap_or(f64::INFINITY);
            f(a).total_cmp(&f(b))
        })?;
    words.swap(0, driver);
    Some(words)
}

/// `{alias}.word` matches one of `tokens`: an equality for one token, so an index on
/// (word, …) also yields its rows in the order of the columns that follow.
pub fn push_word_is(qb: &mut QueryBuilder<'_, Postgres>, alias: &str, tokens: &[String]) {
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
pub fn push_word_status(
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
pub fn push_other_words(
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
/// its tokens (and in `status` when given), each once, from the word index alone. The first
/// word's rows are the result, the others semi-joins; one token names each interaction once
/// (the primary key), several may name it twice, hence DISTINCT then.
pub fn push_index_matches(
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
