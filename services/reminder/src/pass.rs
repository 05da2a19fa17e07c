//! One reminder pass: notify what is due, warn and escalate hot leads not touched in time,
//! publish what is unpublished, decay idle scores, delete what is past its horizon — each in batches, stopping between batches when asked to
//! shut down.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::mail::{outbox, Mailer};
use crate::publish::Publisher;
use crate::retention::{self, Horizons, Pruned};
use crate::{decay, overdue, publish, sla};

pub struct Pass {
    pub pool: PgPool,
    pub publisher: Publisher,
    pub batch_size: i64,
    pub decay_points_per_week: i32,
    /// The email channel; `None` when `mail.smtp_url` is unset.
    pub mailer: Option<Mailer>,
    /// The zone of users who chose none (`inbox.default_timezone`).
    pub default_tz: chrono_tz::Tz,
    /// What is kept how long (`retention.*`).
    pub retention: Horizons,
    /// How long before its deadline an untouched hot lead is at risk (`sla.at_risk_minutes`).
    pub sla_at_risk: chrono::Duration,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Interactions marked notified by this pass.
    pub notified: i64,
    /// Hot leads marked at risk, and breached, by this pass.
    pub sla_warned: i64,
    pub sla_breached: i64,
    /// Notifications this pass created (equal to `notified` unless a row was re-armed to a due
    /// time it had already been notified for).
    pub created: i64,
    pub published: i64,
    /// Left unpublished (NATS down): the next pass publishes them.
    pub unpublished: i64,
    /// Leads whose score decayed.
    pub decayed: i64,
    /// Daily digests enqueued by this pass.
    pub digests: i64,
    /// What this pass did with pending emails.
    pub emails: outbox::SendReport,
    /// Emails still pending after this pass (backoff, or a transient failure).
    pub emails_pending: i64,
    /// Rows past their horizon deleted by this pass.
    pub pruned: Pruned,
    /// Stopped early because of a shutdown request.
    pub interrupted: bool,
}

impl Pass {
    /// The first-touch SLA: at-risk warnings, then breaches, a batch at a time.
    async fn escalate(
        &self,
        now: DateTime<Utc>,
        stop: &CancellationToken,
        report: &mut Report,
    ) -> Result<(), sqlx::Error> {
        while !report.interrupted {
            if stop.is_cancelled() {
                report.interrupted = true;
                break;
            }
            let warned =
                sla::warn_batch(&self.pool, now, self.sla_at_risk, self.batch_size).await?;
            report.sla_warned += warned.rows;
            if warned.rows < self.batch_size {
                break;
            }
        }
        while !report.interrupted {
            if stop.is_cancelled() {
                report.interrupted = true;
                break;
            }
            let breached =
                sla::breach_batch(&self.pool, now, self.batch_size, self.mailer.is_some()).await?;
            report.sla_breached += breached.rows;
            if breached.rows < self.batch_size {
                break;
            }
        }
        Ok(())
    }

    /// Runs one pass at `now`. Database errors end the pass with an error (the next pass
    /// resumes: every batch is its own transaction); NATS errors only leave notifications
    /// unpublished.
    pub async fn run(
        &self,
        now: DateTime<Utc>,
        stop: &CancellationToken,
    ) -> anyhow::Result<Report> {
        let started = Instant::now();
        let mut report = Report::default();
        loop {
            if stop.is_cancelled() {
                report.interrupted = true;
                break;
            }
            let (claimed, created) =
                overdue::notify_batch(&self.pool, now, self.batch_size, self.mailer.is_some())
                    .await?;
            report.notified += claimed;
            report.created += created;
            metrics::counter!("reminder_notifications_created_total").increment(created as u64);
            if claimed < self.batch_size {
                break;
            }
        }
        self.escalate(now, stop, &mut report).await?;
        while !report.interrupted {
            if stop.is_cancelled() {
                report.interrupted = true;
                break;
            }
            match self
                .publisher
                .publish_batch(&self.pool, self.batch_size)
                .await
            {
                Ok(0) => break,
                Ok(n) => {
                    report.published += n as i64;
                    metrics::counter!("reminder_notifications_published_total").increment(n as u64);
                }
                Err(publish::PublishError::Database(error)) => return Err(error.into()),
                Err(error) => {
                    tracing::warn!(%error, "notifications left for the next pass");
                    break;
                }
            }
        }
        if let Some(mailer) = self.mailer.as_ref().filter(|_| !report.interrupted) {
            report.digests =
                i64::try_from(outbox::enqueue_digests(&self.pool, now, self.default_tz).await?)
                    .unwrap_or(i64::MAX);
            while !stop.is_cancelled() {
                let sent =
                    outbox::send_due(&self.pool, mailer, now, self.default_tz, self.batch_size)
                        .await?;
                report.emails.sent += sent.sent;
                report.emails.failed += sent.failed;
                report.emails.skipped += sent.skipped;
                report.emails.deferred += sent.deferred;
                let handled = sent.sent + sent.failed + sent.skipped;
                if sent.deferred > 0 || handled < self.batch_size {
                    break;
                }
            }
            report.emails_pending = outbox::pending(&self.pool).await?;
            metrics::gauge!("reminder_emails_pending").set(report.emails_pending as f64);
        }
        while !report.interrupted {
            if stop.is_cancelled() {
                report.interrupted = true;
                break;
            }
            let n =
                decay::decay_batch(&self.pool, now, self.decay_points_per_week, self.batch_size)
                    .await?;
            report.decayed += n as i64;
            if n == 0 {
                break;
            }
        }
        if !report.interrupted {
            report.pruned = retention::prune(&self.pool, now, self.retention, stop).await?;
        }
        report.unpublished = publish::unpublished(&self.pool).await?;
        metrics::gauge!("reminder_unpublished_notifications").set(report.unpublished as f64);
        metrics::counter!("reminder_leads_decayed_total").increment(report.decayed as u64);
        metrics::histogram!("reminder_pass_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        tracing::info!(
            notified = report.notified,
            published = report.published,
            unpublished = report.unpublished,
            decayed = report.decayed,
            digests = report.digests,
            emails_sent = report.emails.sent,
            emails_failed = report.emails.failed,
            emails_deferred = report.emails.deferred,
            emails_pending = report.emails_pending,
            pruned_events = report.pruned.processed_events,
            pruned_notifications = report.pruned.notifications,
            pruned_emails = report.pruned.emails,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "reminder pass"
        );
        Ok(report)
    }
}

/// Runs passes every `interval` until `stop`; a failed pass is logged and retried next time.
pub async fn run_forever(pass: Pass, interval: Duration, stop: CancellationToken) {
    let mut every = tokio::time::interval(interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = every.tick() => {}
        }
        let span = tracing::info_span!("reminder_pass");
        let now = Utc::now();
        if let Err(error) = tracing::Instrument::instrument(pass.run(now, &stop), span).await {
            metrics::counter!("reminder_pass_failures_total").increment(1);
            tracing::error!(error = %error, "reminder pass failed; retrying next interval");
        }
    }
    tracing::info!("reminder stopped");
}
