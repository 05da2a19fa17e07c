//! Nothing grows without bound (design, "Data lifecycle"): at each pass the reminder deletes
//! what is past its horizon (`retention.*`): processed events' keys, read notifications and
//! sent emails. Each delete takes at most `retention.batch_size` rows found through an index
//! and skips rows another transaction holds, so it is short, never waits on the inbox or
//! scoring, and two reminder replicas share the work instead of queueing on each other.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use relance_shared::config::RetentionSettings;

/// How long each kind of row is kept, and how many rows one delete takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizons {
    pub processed_events: Duration,
    pub notifications: Duration,
    pub mail_outbox: Duration,
    pub batch: i64,
}

impl Horizons {
    pub fn from_settings(settings: &RetentionSettings) -> Self {
        let days = |n: u32| Duration::days(i64::from(n));
        Self {
            processed_events: days(settings.processed_events_days),
            notifications: days(settings.notifications_days),
            mail_outbox: days(settings.mail_outbox_days),
            batch: i64::from(settings.batch_size),
        }
    }
}

/// Rows deleted by one pass, per kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub processed_events: i64,
    pub notifications: i64,
    pub emails: i64,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    ProcessedEvents,
    Notifications,
    Emails,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::ProcessedEvents => "processed_events",
            Kind::Notifications => "notifications",
            Kind::Emails => "email_outbox",
        }
    }

    /// Deletes up to `batch` rows older than `before`; returns how many.
    async fn delete_batch(
        self,
        pool: &PgPool,
        before: DateTime<Utc>,
        batch: i64,
    ) -> Result<u64, sqlx::Error> {
        let done = match self {
            Kind::ProcessedEvents => {
                sqlx::query!(
                    "DELETE FROM processed_events WHERE ctid = ANY (ARRAY(
                     SELECT ctid FROM processed_events WHERE processed_at < $1
                     LIMIT $2 FOR UPDATE SKIP LOCKED))",
                    before,
                    batch
                )
                .execute(pool)
                .await?
            }
            Kind::Notifications => {
                sqlx::query!(
                    "DELETE FROM notifications WHERE ctid = ANY (ARRAY(
                     SELECT ctid FROM notifications WHERE read_at < $1
                     LIMIT $2 FOR UPDATE SKIP LOCKED))",
                    before,
                    batch
                )
                .execute(pool)
                .await?
            }
            Kind::Emails => {
                sqlx::query!(
                    "DELETE FROM email_outbox WHERE ctid = ANY (ARRAY(
                     SELECT ctid FROM email_outbox WHERE status = 'sent' AND sent_at < $1
                     LIMIT $2 FOR UPDATE SKIP LOCKED))",
                    before,
                    batch
                )
                .execute(pool)
                .await?
            }
        };
        Ok(done.rows_affected())
    }
}

/// Deletes everything past its horizon at `now`, batch by batch, until none is left or `stop`.
pub async fn prune(
    pool: &PgPool,
    now: DateTime<Utc>,
    horizons: Horizons,
    stop: &CancellationToken,
) -> Result<Pruned, sqlx::Error> {
    let mut pruned = Pruned::default();
    for (kind, horizon) in [
        (Kind::ProcessedEvents, horizons.processed_events),
        (Kind::Notifications, horizons.notifications),
        (Kind::Emails, horizons.mail_outbox),
    ] {
        let before = now - horizon;
        let mut deleted = 0_u64;
        while !stop.is_cancelled() {
            let n = kind.delete_batch(pool, before, horizons.batch).await?;
            deleted += n;
            if n < u64::try_from(horizons.batch).unwrap_or(u64::MAX) {
                break;
            }
        }
        metrics::counter!("retention_rows_deleted_total", "table" => kind.table())
            .increment(deleted);
        let deleted = i64::try_from(deleted).unwrap_or(i64::MAX);
        match kind {
            Kind::ProcessedEvents => pruned.processed_events = deleted,
            Kind::Notifications => pruned.notifications = deleted,
            Kind::Emails => pruned.emails = deleted,
        }
    }
    Ok(pruned)
}
