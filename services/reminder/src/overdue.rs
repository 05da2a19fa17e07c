//! Overdue next actions → notifications, exactly once.
//!
//! A batch is one statement, so one transaction: claim due rows with `FOR UPDATE SKIP LOCKED`
//! (replicas take disjoint rows), insert one notification per row (unique per interaction, kind
//! and due time, so even a row re-armed to the same time is not notified twice), and set
//! `notified_at`. A crash before the commit leaves the rows due; after it, they are notified
//! and the notifications wait in the table for [`crate::publish`]. When the email channel is on,
//! the same statement enqueues an email for each notification of a user who wants them
//! `instant` ([`crate::mail::outbox`] sends them), so a notification and its email are made
//! together or not at all.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

pub const KIND_OVERDUE: &str = "interaction_overdue";

/// Rows due at `now`, claimed and notified; `(claimed, notifications created)`. With
/// `email`, instant emails are enqueued for the notifications created.
pub async fn notify_batch(
    pool: &PgPool,
    now: DateTime<Utc>,
    batch_size: i64,
    email: bool,
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
           RETURNING id, user_id
         ), mailed AS (
           INSERT INTO email_outbox (user_id, kind, notification_id, created_at, next_attempt_at)
           SELECT c.user_id, 'overdue', c.id, $1, $1
           FROM created c JOIN users u ON u.id = c.user_id
           WHERE $4 AND u.is_active AND u.notify_email = 'instant'
           ORDER BY c.id
           RETURNING 1
         ), marked AS (
           UPDATE crm_interactions i SET notified_at = $1 FROM due WHERE i.id = due.id
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM marked) AS "claimed!",
                (SELECT count(*) FROM created) AS "created!",
                (SELECT count(*) FROM mailed) AS "mailed!""#,
        now,
        batch_size,
        KIND_OVERDUE,
        email
    )
    .fetch_one(pool)
    .await?;
    metrics::counter!("reminder_emails_enqueued_total", "kind" => "overdue")
        .increment(u64::try_from(counts.mailed).unwrap_or(0));
    Ok((counts.claimed, counts.created))
}
