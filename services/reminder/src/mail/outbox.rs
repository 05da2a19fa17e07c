//! The email outbox (docs/schema.sql): digests enqueued once per user and local day, and every
//! pending email sent at most once per attempt, across replicas.
//!
//! Sending claims one due row at a time (`FOR UPDATE SKIP LOCKED`), renders it from the
//! database, hands it to the SMTP server while the row stays locked, and in the same
//! transaction marks it `sent` (accepted), `failed` (refused for good, 5xx), `skipped`
//! (nothing left to say: the user turned email off, the follow-up is done, the digest would be
//! empty) or leaves it pending with a backoff (30 s, doubling, at most 15 minutes). A transient
//! failure ends this pass's sending: the server is down or throttling, and every other pending
//! email waits for the next pass instead of failing in turn.

use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use sqlx::{PgPool, Postgres, Transaction};

use super::digest;
use super::render::{self, Item, Recipient};
use super::transport::{Mailer, SendError};

pub const FIRST_RETRY: Duration = Duration::from_secs(30);
pub const MAX_RETRY: Duration = Duration::from_secs(15 * 60);

/// How long after its `attempts`-th failure a message is tried again.
pub fn backoff(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    FIRST_RETRY.saturating_mul(1 << doublings).min(MAX_RETRY)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "email_kind", rename_all = "snake_case")]
pub enum EmailKind {
    Overdue,
    Digest,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Overdue => "overdue",
            Self::Digest => "digest",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "email_outbox_status", rename_all = "snake_case")]
pub enum EmailStatus {
    Pending,
    Sent,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "notify_email_mode", rename_all = "snake_case")]
pub enum NotifyEmail {
    Off,
    Instant,
    Daily,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendReport {
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    /// Left pending after a transient failure (tried again after its backoff).
    pub deferred: i64,
}

fn zone(name: Option<&str>, default: Tz) -> Tz {
    name.and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// Enqueues today's digest of every `daily` user whose digest hour has come in their zone;
/// returns how many. The unique (user, day) key makes a second pass, or a replica's, a no-op.
pub async fn enqueue_digests(
    pool: &PgPool,
    now: DateTime<Utc>,
    default_tz: Tz,
) -> Result<u64, sqlx::Error> {
    let users = sqlx::query!(
        r#"SELECT u.id, u.timezone, u.digest_hour,
                  (SELECT max(o.digest_date) FROM email_outbox o
                   WHERE o.user_id = u.id AND o.kind = 'digest') AS last
           FROM users u WHERE u.is_active AND u.notify_email = 'daily'"#
    )
    .fetch_all(pool)
    .await?;
    let mut ids = Vec::new();
    let mut days: Vec<NaiveDate> = Vec::new();
    for user in users {
        let tz = zone(user.timezone.as_deref(), default_tz);
        let hour = u32::try_from(user.digest_hour).unwrap_or(8);
        if let Some(day) = digest::due(now, tz, hour, user.last) {
            ids.push(user.id);
            days.push(day);
        }
    }
    if ids.is_empty() {
        return Ok(0);
    }
    let inserted = sqlx::query!(
        "INSERT INTO email_outbox (user_id, kind, digest_date, created_at, next_attempt_at) \
         SELECT user_id, 'digest', day, $3, $3 FROM unnest($1::bigint[], $2::date[]) AS d(user_id, day) \
         ON CONFLICT (user_id, digest_date) DO NOTHING",
        &ids,
        &days,
        now
    )
    .execute(pool)
    .await?;
    Ok(inserted.rows_affected())
}

struct Claimed {
    id: i64,
    kind: EmailKind,
    attempts: i32,
    user_id: i64,
    notification_id: Option<i64>,
    digest_date: Option<NaiveDate>,
    email: String,
    full_name: String,
    timezone: Option<String>,
    notify_email: NotifyEmail,
    is_active: bool,
}

async fn claim(
    tx: &mut Transaction<'_, Postgres>,
    now: DateTime<Utc>,
) -> Result<Option<Claimed>, sqlx::Error> {
    sqlx::query_as!(
        Claimed,
        r#"SELECT o.id, o.kind AS "kind: EmailKind", o.attempts, o.user_id, o.notification_id,
                  o.digest_date, u.email, u.full_name, u.timezone,
                  u.notify_email AS "notify_email: NotifyEmail", u.is_active
           FROM email_outbox o JOIN users u ON u.id = o.user_id
           WHERE o.status = 'pending' AND o.next_attempt_at <= $1
           ORDER BY o.next_attempt_at, o.id LIMIT 1
           FOR UPDATE OF o SKIP LOCKED"#,
        now
    )
    .fetch_optional(&mut **tx)
    .await
}

/// What a claimed row becomes: a message, or nothing to send (and why).
enum Render {
    Send(render::Rendered),
    Skip(&'static str),
}

async fn render_overdue(
    tx: &mut Transaction<'_, Postgres>,
    row: &Claimed,
    recipient: &Recipient,
    public_url: &str,
) -> Result<Render, sqlx::Error> {
    if row.notify_email != NotifyEmail::Instant {
        return Ok(Render::Skip("the user no longer wants instant emails"));
    }
    let found = sqlx::query!(
        r#"SELECT n.interaction_id AS "interaction_id!", n.title, n.due_at, n.kind,
                  n.payload->>'assignee_name' AS assignee_name,
                  (n.payload->>'sla_due_at')::timestamptz AS sla_due_at,
                  i.status = 'done' AS "done!", i.person_name
           FROM notifications n JOIN inbox_interactions i ON i.id = n.interaction_id
           WHERE n.id = $1"#,
        row.notification_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match found {
        None => Render::Skip("the follow-up no longer exists"),
        Some(found) if found.done => Render::Skip("the follow-up is done"),
        // A manager told of a hot lead not touched in time (services/reminder/src/sla.rs).
        Some(found) if found.kind == crate::sla::KIND_BREACHED => {
            Render::Send(render::sla_breached(
                recipient,
                &Item {
                    interaction_id: found.interaction_id,
                    title: found.title,
                    due_at: found.sla_due_at,
                    person_name: found.person_name,
                },
                found.assignee_name.as_deref().unwrap_or("son responsable"),
                public_url,
            ))
        }
        Some(found) => Render::Send(render::overdue(
            recipient,
            &Item {
                interaction_id: found.interaction_id,
                title: found.title,
                due_at: found.due_at,
                person_name: found.person_name,
            },
            public_url,
        )),
    })
}

async fn render_digest(
    tx: &mut Transaction<'_, Postgres>,
    row: &Claimed,
    recipient: &Recipient,
    now: DateTime<Utc>,
    public_url: &str,
) -> Result<Render, sqlx::Error> {
    let Some(date) = row.digest_date else {
        return Ok(Render::Skip("no digest date"));
    };
    if row.notify_email != NotifyEmail::Daily {
        return Ok(Render::Skip("the user no longer wants a daily digest"));
    }
    let end_of_day = date
        .checked_add_days(Days::new(1))
        .map(|next| crate::mail::digest::local_hour(recipient.tz, next, 0))
        .unwrap_or(now);
    // One more than shown per section is enough to say "and N more"… but the count is exact,
    // so fetch them all up to a generous cap.
    let items = sqlx::query!(
        r#"SELECT id AS "id!", title AS "title!", next_action_at, person_name
           FROM inbox_interactions
           WHERE assignee_id = $1 AND status <> 'done' AND next_action_sort_at < $2
           ORDER BY next_action_sort_at, id LIMIT 1000"#,
        row.user_id,
        end_of_day
    )
    .fetch_all(&mut **tx)
    .await?;
    let (overdue, today): (Vec<Item>, Vec<Item>) = items
        .into_iter()
        .map(|r| Item {
            interaction_id: r.id,
            title: r.title,
            due_at: r.next_action_at,
            person_name: r.person_name,
        })
        .partition(|item| item.due_at.is_some_and(|at| at <= now));
    if overdue.is_empty() && today.is_empty() {
        return Ok(Render::Skip("nothing overdue or due that day"));
    }
    Ok(Render::Send(render::digest(
        recipient, date, &overdue, &today, public_url,
    )))
}

async fn finish(
    tx: &mut Transaction<'_, Postgres>,
    id: i64,
    status: EmailStatus,
    now: DateTime<Utc>,
    next_attempt_at: DateTime<Utc>,
    error: Option<String>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE email_outbox SET status = $2, attempts = attempts + 1, \
         sent_at = CASE WHEN $2 = 'sent'::email_outbox_status THEN $3::timestamptz END, \
         next_attempt_at = $4, last_error = $5 WHERE id = $1",
        id,
        status as EmailStatus,
        now,
        next_attempt_at,
        error
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sends pending emails due at `now`, at most `limit`, one transaction each.
pub async fn send_due(
    pool: &PgPool,
    mailer: &Mailer,
    now: DateTime<Utc>,
    default_tz: Tz,
    limit: i64,
) -> Result<SendReport, sqlx::Error> {
    let mut report = SendReport::default();
    for _ in 0..limit {
        let mut tx = pool.begin().await?;
        let Some(row) = claim(&mut tx, now).await? else {
            break;
        };
        let kind = row.kind.as_str();
        let recipient = Recipient {
            email: row.email.clone(),
            name: row.full_name.clone(),
            tz: zone(row.timezone.as_deref(), default_tz),
        };
        let rendered = if !row.is_active {
            Render::Skip("the user is deactivated")
        } else {
            match row.kind {
                EmailKind::Overdue => {
                    render_overdue(&mut tx, &row, &recipient, &mailer.public_url).await?
                }
                EmailKind::Digest => {
                    render_digest(&mut tx, &row, &recipient, now, &mailer.public_url).await?
                }
            }
        };
        let rendered = match rendered {
            Render::Send(rendered) => rendered,
            Render::Skip(reason) => {
                finish(
                    &mut tx,
                    row.id,
                    EmailStatus::Skipped,
                    now,
                    now,
                    Some(reason.into()),
                )
                .await?;
                tx.commit().await?;
                metrics::counter!("reminder_emails_skipped_total", "kind" => kind).increment(1);
                report.skipped += 1;
                continue;
            }
        };
        let domain = mailer.from.email.domain().to_owned();
        let message_id = format!("<relance-email-{}@{domain}>", row.id);
        let outcome = match render::message(&mailer.from, &recipient, rendered, message_id) {
            Ok(message) => mailer.send(message).await,
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => {
                finish(&mut tx, row.id, EmailStatus::Sent, now, now, None).await?;
                tx.commit().await?;
                metrics::counter!("reminder_emails_sent_total", "kind" => kind).increment(1);
                report.sent += 1;
            }
            Err(SendError::Permanent(error)) => {
                tracing::warn!(email = row.id, kind, %error, "email refused for good");
                finish(&mut tx, row.id, EmailStatus::Failed, now, now, Some(error)).await?;
                tx.commit().await?;
                metrics::counter!("reminder_emails_failed_total", "kind" => kind, "reason" => "permanent")
                    .increment(1);
                report.failed += 1;
            }
            Err(SendError::Transient(error)) => {
                let retry = backoff(row.attempts + 1);
                tracing::warn!(email = row.id, kind, %error, retry_secs = retry.as_secs(), "email deferred");
                let next = now + TimeDelta::from_std(retry).unwrap_or(TimeDelta::minutes(15));
                finish(
                    &mut tx,
                    row.id,
                    EmailStatus::Pending,
                    now,
                    next,
                    Some(error),
                )
                .await?;
                tx.commit().await?;
                metrics::counter!("reminder_emails_failed_total", "kind" => kind, "reason" => "transient")
                    .increment(1);
                report.deferred += 1;
                break;
            }
        }
    }
    Ok(report)
}

/// Emails not sent yet (the backlog gauge).
pub async fn pending(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "pending!" FROM email_outbox WHERE status = 'pending'"#
    )
    .fetch_one(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_30_seconds_up_to_15_minutes() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 900, 900, 900]);
        assert_eq!(backoff(0).as_secs(), 30);
        assert_eq!(backoff(i32::MAX).as_secs(), 900);
    }
}
