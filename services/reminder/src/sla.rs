//! The first-touch SLA of hot leads (design, "Speed to lead"), exactly once whatever the
//! replicas and restarts:
//! - **at risk**: an untouched hot lead due within `sla.at_risk_minutes` gets `sla_warned_at`
//!   and one notification to its assignee (`kind: sla_at_risk`);
//! - **breached**: an untouched hot lead past its `sla_due_at` gets `sla_breached_at` and one
//!   notification to each manager of its assignee's teams (`kind: sla_breached`, naming the
//!   assignee), emailed at once to those who want instant emails.
//!
//! Each batch is one statement: it claims its rows `FOR UPDATE SKIP LOCKED` (two replicas take
//! disjoint rows), marks them and inserts the notifications, so a row is marked and its
//! notifications made together or not at all; a marked row is never claimed again. The pass
//! reads only the partial index of untouched hot leads (migration 31).

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

pub const KIND_AT_RISK: &str = "sla_at_risk";
pub const KIND_BREACHED: &str = "sla_breached";

/// What one batch did: rows claimed, notifications created.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Escalated {
    pub rows: i64,
    pub notifications: i64,
}

/// Warns the assignees of up to `batch` untouched hot leads due within `at_risk` of `now`.
pub async fn warn_batch(
    pool: &PgPool,
    now: DateTime<Utc>,
    at_risk: Duration,
    batch: i64,
) -> Result<Escalated, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH due AS (
               SELECT id FROM crm_interactions
               WHERE sla_due_at IS NOT NULL AND first_touched_at IS NULL
                 AND sla_due_at <= $1 AND sla_due_at > $4
                 AND sla_warned_at IS NULL AND sla_breached_at IS NULL
                 AND status <> 'done' AND assignee_id IS NOT NULL
               ORDER BY sla_due_at, id LIMIT $2
               FOR UPDATE SKIP LOCKED
           ), marked AS (
               UPDATE crm_interactions i SET sla_warned_at = $4
               FROM due WHERE i.id = due.id
               RETURNING i.id, i.assignee_id, i.title, i.sla_due_at
           ), created AS (
               INSERT INTO notifications (user_id, kind, interaction_id, title, due_at, payload)
               SELECT m.assignee_id, $3, m.id, m.title, m.sla_due_at,
                      jsonb_build_object('interaction_id', m.id, 'sla_due_at', m.sla_due_at)
               FROM marked m ORDER BY m.id
               ON CONFLICT (interaction_id, kind, due_at) DO NOTHING
               RETURNING 1
           )
           SELECT (SELECT count(*) FROM marked) AS "rows!",
                  (SELECT count(*) FROM created) AS "created!""#,
        now + at_risk,
        batch,
        KIND_AT_RISK,
        now
    )
    .fetch_one(pool)
    .await?;
    Ok(Escalated {
        rows: row.rows,
        notifications: row.created,
    })
}

/// Marks up to `batch` untouched hot leads past their deadline at `now` as breached and tells
/// each manager of their assignee's teams; with `email`, enqueues the instant emails.
pub async fn breach_batch(
    pool: &PgPool,
    now: DateTime<Utc>,
    batch: i64,
    email: bool,
) -> Result<Escalated, sqlx::Error> {
    let row = sqlx::query!(
        r#"WITH due AS (
               SELECT id FROM crm_interactions
               WHERE sla_due_at IS NOT NULL AND first_touched_at IS NULL
                 AND sla_due_at <= $1 AND sla_breached_at IS NULL
                 AND status <> 'done'
               ORDER BY sla_due_at, id LIMIT $2
               FOR UPDATE SKIP LOCKED
           ), marked AS (
               UPDATE crm_interactions i SET sla_breached_at = $1
               FROM due WHERE i.id = due.id
               RETURNING i.id, i.assignee_id, i.title, i.sla_due_at
           ), created AS (
               -- One per manager: `due_at` is left NULL (the unique key is per interaction,
               -- kind and due time); the mark above is what makes it once.
               INSERT INTO notifications (user_id, kind, interaction_id, title, payload)
               SELECT manager.id, $3, m.id, m.title,
                      jsonb_build_object('interaction_id', m.id, 'sla_due_at', m.sla_due_at,
                                         'assignee_id', m.assignee_id,
                                         'assignee_name', a.full_name)
               FROM marked m
               JOIN users a ON a.id = m.assignee_id
               JOIN users manager ON manager.role = 'manager' AND manager.is_active
                    AND manager.team_external_ids && a.team_external_ids
                    AND manager.id <> a.id
               ORDER BY m.id, manager.id
               RETURNING id, user_id
           ), mailed AS (
               INSERT INTO email_outbox (user_id, kind, notification_id, created_at, next_attempt_at)
               SELECT c.user_id, 'overdue', c.id, $1, $1
               FROM created c JOIN users u ON u.id = c.user_id
               WHERE $4 AND u.notify_email = 'instant'
               ORDER BY c.id
               RETURNING 1
           )
           SELECT (SELECT count(*) FROM marked) AS "rows!",
                  (SELECT count(*) FROM created) AS "created!",
                  (SELECT count(*) FROM mailed) AS "mailed!""#,
        now,
        batch,
        KIND_BREACHED,
        email
    )
    .fetch_one(pool)
    .await?;
    metrics::counter!("reminder_sla_breaches_total").increment(row.rows.max(0) as u64);
    metrics::counter!("reminder_emails_enqueued_total", "kind" => "sla_breached")
        .increment(row.mailed.max(0) as u64);
    Ok(Escalated {
        rows: row.rows,
        notifications: row.created,
    })
}
