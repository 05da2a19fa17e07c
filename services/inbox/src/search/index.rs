//! Keeping the word index in step with the interactions, off the writers' transactions
//! (docs/schema.sql).
//!
//! - The change relay calls [`refresh`] with the interactions of each batch of captured
//!   changes it reads, in a short transaction of its own, before publishing them: the index
//!   follows the table by the relay's delay (woken at each commit, every second at worst).
//! - A person's new name or address is refreshed by a trigger in the same transaction
//!   (directory writes are rare; docs/schema.sql); an erasure refreshes what holds the erased
//!   person's tokens, and a merge the interactions it moves, in theirs, so an erased name is
//!   gone from the index when they commit.
//! - [`sweep_lexicon`] drops tokens nothing holds any more, every ten minutes.
//!
//! Every refresh takes one advisory lock until its commit (inside
//! `interaction_search_words_refresh`), so two refreshes never interleave and the later one
//! reads what the earlier committed.

use sqlx::{PgExecutor, PgPool};

/// Rewrites the words of these interactions (deleted ones lose theirs) from the tables as they
/// are now.
pub async fn refresh(db: impl PgExecutor<'_>, interaction_ids: &[i64]) -> Result<(), sqlx::Error> {
    if interaction_ids.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "SELECT interaction_search_words_refresh($1)",
        interaction_ids
    )
    .execute(db)
    .await?;
    Ok(())
}

/// [`refresh`], in the caller's transaction, of these interactions and of every one whose
/// words still hold one of `tokens` while a change of it waits for the relay (its words may
/// be stale): when the transaction commits, none of `tokens` is left in the index through
/// them (an erasure). Each waiting change costs one index lookup; only those holding a token
/// are rewritten.
pub async fn refresh_holding(
    conn: &mut sqlx::PgConnection,
    interaction_ids: &[i64],
    tokens: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT interaction_search_words_refresh(ARRAY(
             SELECT unnest($1::bigint[])
             UNION
             SELECT c.interaction_id FROM interaction_changes c
             WHERE EXISTS (SELECT 1 FROM interaction_search_words w
                           WHERE w.interaction_id = c.interaction_id AND w.word = ANY($2))))",
        interaction_ids,
        tokens
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// [`refresh`] in a transaction of its own, so the lock it takes is held only as long as the
/// refresh itself.
pub async fn refresh_now(pool: &PgPool, interaction_ids: &[i64]) -> Result<(), sqlx::Error> {
    if interaction_ids.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    refresh(&mut *tx, interaction_ids).await?;
    tx.commit().await
}

/// Rebuilds the whole index, `batch` interactions per statement (a bulk load that bypassed
/// the change capture: the benchmark's seed); returns how many interactions it read.
pub async fn rebuild(conn: &mut sqlx::PgConnection, batch: i64) -> Result<i64, sqlx::Error> {
    let mut after = 0_i64;
    let mut done = 0_i64;
    loop {
        let ids: Vec<i64> = sqlx::query_scalar!(
            "SELECT id FROM crm_interactions WHERE id > $1 ORDER BY id LIMIT $2",
            after,
            batch
        )
        .fetch_all(&mut *conn)
        .await?;
        let Some(&last) = ids.last() else {
            return Ok(done);
        };
        refresh(&mut *conn, &ids).await?;
        done += ids.len() as i64;
        after = last;
    }
}

/// Drops the search tokens no interaction holds any more (docs/schema.sql); returns how many.
pub async fn sweep_lexicon(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT search_lexicon_sweep() AS "forgotten!""#)
        .fetch_one(pool)
        .await
}

/// Whether every captured change has been relayed, and so the index is in step (tests and the
/// benchmark wait on it).
pub async fn caught_up(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT NOT EXISTS (SELECT 1 FROM interaction_changes) AS "caught_up!""#)
        .fetch_one(pool)
        .await
}
