//! "Someone changed your item": when a user changes or assigns an item someone else holds, that
//! someone gets one notification naming who (`assigned` when the change assigned or created
//! it, `changed` otherwise).
//!
//! The history trigger marks whom to tell on the history rows it writes (`notify_user_id`); this
//! pass, run by the change relay right after each wake-up, turns each marked statement's rows
//! (one interaction, one transaction time, one actor) into one notification and clears the
//! marks, in one transaction. So a committed change is told exactly once, and the writer's
//! transaction pays for a mark on its history row instead of the notification's insert (the
//! issue 30 target on the one-click PATCH; figures in docs/benchmarks.md). The reminder
//! publishes these notifications like its own.

use sqlx::PgPool;

/// `pg_advisory_xact_lock` key of this pass ("notice" in ASCII): one replica at a time, so two
/// replicas never tell the same change twice.
const NOTICES_LOCK: i64 = 0x6e_6f_74_69_63_65;

/// Changed statements told per transaction.
pub const BATCH: i64 = 500;

/// Tells the assignees of up to [`BATCH`] marked changes; returns how many notifications it
/// created (0 when another replica holds the lock or nothing is marked).
pub async fn tell_assignees(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let locked = sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock($1) AS "locked!""#,
        NOTICES_LOCK
    )
    .fetch_one(&mut *tx)
    .await?;
    if !locked {
        return Ok(0);
    }
    // Whole statements (all the fields one edit changed) in a batch, oldest first: one edit of
    // two fields is one notification, never split across two batches.
    let told = sqlx::query_scalar!(
        r#"WITH statements AS (
               SELECT interaction_id, at, actor_user_id
               FROM interaction_history WHERE notify_user_id IS NOT NULL
               GROUP BY interaction_id, at, actor_user_id
               ORDER BY min(id) LIMIT $1
           ), marked AS (
               SELECT h.id, h.interaction_id, h.at, h.actor_user_id, h.field, h.notify_user_id
               FROM interaction_history h
               JOIN statements s ON s.interaction_id = h.interaction_id AND s.at = h.at
                    AND s.actor_user_id IS NOT DISTINCT FROM h.actor_user_id
               WHERE h.notify_user_id IS NOT NULL
           ), cleared AS (
               UPDATE interaction_history h SET notify_user_id = NULL
               FROM marked m WHERE h.id = m.id
           ), written AS (
               INSERT INTO notifications (user_id, kind, interaction_id, title, payload)
               SELECT m.notify_user_id,
                      CASE WHEN bool_or(m.field IN ('assignee_id', 'created'))
                           THEN 'assigned' ELSE 'changed' END,
                      m.interaction_id, i.title,
                      jsonb_build_object('by', m.actor_user_id, 'by_name', u.full_name,
                                         'fields', jsonb_agg(m.field ORDER BY m.field))
               FROM marked m
               JOIN crm_interactions i ON i.id = m.interaction_id
               LEFT JOIN users u ON u.id = m.actor_user_id
               -- An assignee erased since is told nothing (the foreign key would refuse the
               -- whole batch, and retry it forever).
               JOIN users assignee ON assignee.id = m.notify_user_id
               GROUP BY m.interaction_id, m.at, m.actor_user_id, m.notify_user_id, i.title,
                        u.full_name
               ORDER BY min(m.id)
               RETURNING 1
           )
           SELECT count(*) AS "told!" FROM written"#,
        BATCH
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    if told > 0 {
        metrics::counter!("inbox_assignee_notices_total").increment(told as u64);
    }
    Ok(told as usize)
}

/// Whether a marked change is still waiting to be told (tests wait on it).
pub async fn caught_up(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT NOT EXISTS (SELECT 1 FROM interaction_history WHERE notify_user_id IS NOT NULL)
           AS "caught_up!""#
    )
    .fetch_one(pool)
    .await
}
