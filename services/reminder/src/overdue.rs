//! Overdue next actions → notifications, exactly once.
//!
//! A batch is one statement, so one transaction: claim due rows with `FOR UPDATE SKIP LOCKED`
//! (replicas take disjoint rows), insert one notification per row (unique per interaction, kind
//! and due time, so even a row re-armed to the same time is not notified twice), and set
//! `notified_at`. A crash before the commit leaves the rows due; after it, they are notified
//! and the notifications wait in the table for [`crate::publish`].

use chrono::{DateTime, Utc};
use sqlx::PgPool;

pub const KIND_OVERDUE: &str = "interaction_overdue";

/// Rows due at `now`, claimed and notified; `(claimed, notifications created)`.
pub async fn notify_batch(
    pool: &PgPool,
    now: DateTime<Utc>,
    batch_size: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let counts = sqlx::query!(
        r#"WITH due AS (
           SELECT id, assignee_id, title, next_action_at FROM crm_interactions
           WHERE notified_at IS NULL AND status <> 'done' AND assignee_id IS NOT NULL
             AND next_action_at IS NOT NULL AND next_action_at <= $1
           ORDER BY next_action_at, id LIMIT $2
           FOR UPDATE SKIP LOCKED
         ), created AS (
           INSERT INTO notifications (user_id, kind, interaction_id, title, due_at, payload)
           SELECT assignee_id, $3, id, title, next_action_at,
                  jsonb_build_object('interaction_id', id)
           FROM due ORDER BY id
           ON CONFLICT (interaction_id, kind, due_at) DO NOTHING
           RETURNING 1
         ), marked AS (
           UPDATE crm_interactions i SET notified_at = $1 FROM due WHERE i.id = due.id
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM marked) AS "claimed!",
                (SELECT count(*) FROM created) AS "created!""#,
        now,
        batch_size,
        KIND_OVERDUE
    )
    .fetch_one(pool)
    .await?;
    Ok((counts.claimed, counts.created))
}
