//! The consumer loop: pull a batch from the durable consumer `scoring`, apply it in one
//! transaction, then acknowledge. Several replicas share the consumer; JetStream hands each
//! message to one of them, and the processed-events table makes a redelivery harmless.
//!
//! Up to `scoring.in_flight` batches are between fetch and acknowledgement at once: while one
//! commits, the next is fetched, parsed and applied on another connection. They lock in the
//! same order as replicas do (keys, sends, scores, each sorted), so they may wait for each
//! other but never deadlock, and each batch is acknowledged only after its own commit.
//!
//! Per message, after the commit:
//! - applied or duplicate → ack;
//! - poison (unparsable, unknown schema, unknown person or organisation, data the database
//!   refuses) → copied to `EMAIL_DLQ` with the reason, then terminated; if the DLQ cannot be
//!   written it is nak'd instead, so nothing is dropped before it is safe elsewhere;
//! - transient failure (database down) → nak with a delay that grows with the deliveries
//!   (a bare nak would redeliver at once and burn through retries).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use relance_shared::db::is_transient;
use relance_shared::event::{EmailEvent, SCHEMA_VERSION};
use relance_shared::nats::{self, Names};
use relance_shared::scoring::ScoringRules;
use relance_shared::telemetry::extract_trace_context;

use crate::apply::{apply_batch, Outcome};

pub struct ScoringConsumer {
    pub pool: PgPool,
    pub js: jetstream::Context,
    pub names: Names,
    pub rules: ScoringRules,
    /// Who gets the interactions a batch creates (`assignment.*`, `sla.*`).
    pub assignment: crate::apply::Assignment,
    pub batch_size: usize,
    pub batch_wait: Duration,
    /// Batches applied at once (at least 1).
    pub in_flight: usize,
    pub ack_wait: Duration,
}

/// What to do with one message once its batch is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Ack(Outcome),
    DeadLetter(String),
    Retry,
}

impl ScoringConsumer {
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let this = Arc::new(self);
        let mut backoff = Duration::from_millis(200);
        while !shutdown.is_cancelled() {
            match this.consume(&shutdown).await {
                Ok(()) => {}
                Err(error) => {
                    tracing::warn!(%error, "consumer interrupted; reconnecting");
                    tokio::select! {
                        () = shutdown.cancelled() => {}
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        tracing::info!("scoring consumer stopped");
        Ok(())
    }

    /// One subscription's life: returns Ok on shutdown, Err when it must be re-established.
    async fn consume(self: &Arc<Self>, shutdown: &CancellationToken) -> anyhow::Result<()> {
        let consumer = nats::scoring_consumer(&self.js, &self.names, self.ack_wait).await?;
        let mut messages = consumer
            .stream()
            // Enough buffered for every batch in flight: a batch fills at once instead of
            // waiting on the next pull's round trip.
            .max_messages_per_batch(self.batch_size * self.in_flight.max(1))
            .heartbeat(Duration::from_secs(5))
            .messages()
            .await?;
        let mut running = tokio::task::JoinSet::new();
        let ended = loop {
            while running.len() >= self.in_flight.max(1) {
                finished(running.join_next().await);
            }
            match nats::next_batch(&mut messages, self.batch_size, self.batch_wait, shutdown).await
            {
                Ok(Some(batch)) => {
                    let span = tracing::info_span!("scoring.batch", size = batch.len());
                    let this = Arc::clone(self);
                    running.spawn(async move { this.handle_batch(batch).await }.instrument(span));
                }
                Ok(None) => break Ok(()),
                Err(error) => break Err(error.into()),
            }
        };
        // The batches in hand are always finished, even when shutdown arrives meanwhile.
        while let Some(joined) = running.join_next().await {
            finished(Some(joined));
        }
        ended
    }

    async fn handle_batch(&self, batch: Vec<jetstream::Message>) {
        let started = Instant::now();
        let span = tracing::Span::current();
        let mut verdicts: Vec<Option<Verdict>> = vec![None; batch.len()];
        let mut events = Vec::with_capacity(batch.len());
        let mut spans = Vec::with_capacity(batch.len());
        let mut positions = Vec::with_capacity(batch.len());
        for (i, message) in batch.iter().enumerate() {
            match parse(message) {
                Ok(event) => {
                    let event_span = tracing::info_span!(
                        parent: None,
                        "scoring.event",
                        event_key = %event.event_key,
                        provider = %event.provider,
                        event = %event.event,
                    );
                    extract_trace_context(&event_span, message.headers.as_ref());
                    event_span.follows_from(&span);
                    spans.push(event_span);
                    events.push(event);
                    positions.push(i);
                }
                Err(reason) => verdicts[i] = Some(Verdict::DeadLetter(reason)),
            }
        }
        for (verdict, position) in self.apply(&events, &spans).await.into_iter().zip(positions) {
            verdicts[position] = Some(verdict);
        }
        for (message, verdict) in batch.iter().zip(verdicts) {
            self.settle(message, verdict.unwrap_or(Verdict::Retry))
                .await;
        }
        if let Some(Ok(info)) = batch.last().map(|m| m.info()) {
            metrics::gauge!("scoring_consumer_pending").set(info.pending as f64);
        }
        metrics::histogram!("scoring_batch_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("scoring_batch_size").record(batch.len() as f64);
    }

    /// Applies the batch, retrying briefly on transient errors; if the database refuses the
    /// batch for a reason of data, applies each event alone to find the culprit.
    async fn apply(&self, events: &[EmailEvent], spans: &[tracing::Span]) -> Vec<Verdict> {
        if events.is_empty() {
            return Vec::new();
        }
        let mut delay = Duration::from_millis(100);
        for attempt in 1..=3 {
            match apply_batch(
                &self.pool,
                events,
                Some(spans),
                &self.rules,
                &self.assignment,
            )
            .await
            {
                Ok(outcomes) => return outcomes.into_iter().map(Verdict::from).collect(),
                Err(error) if is_transient(&error) => {
                    tracing::warn!(%error, attempt, "batch failed, will retry");
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                }
                Err(error) => {
                    tracing::warn!(%error, "batch refused; applying its events one by one");
                    return self.apply_one_by_one(events, spans).await;
                }
            }
        }
        vec![Verdict::Retry; events.len()]
    }

    async fn apply_one_by_one(
        &self,
        events: &[EmailEvent],
        spans: &[tracing::Span],
    ) -> Vec<Verdict> {
        let mut verdicts = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let one = std::slice::from_ref(event);
            let span = spans.get(i..=i);
            verdicts.push(
                match apply_batch(&self.pool, one, span, &self.rules, &self.assignment).await {
                    Ok(mut outcomes) => outcomes.pop().map_or(Verdict::Retry, Verdict::from),
                    Err(error) if is_transient(&error) => Verdict::Retry,
                    Err(error) => {
                        Verdict::DeadLetter(format!("database refused the event: {error}"))
                    }
                },
            );
        }
        verdicts
    }

    async fn settle(&self, message: &jetstream::Message, verdict: Verdict) {
        let outcome = match &verdict {
            Verdict::Ack(Outcome::Applied) => "applied",
            Verdict::Ack(Outcome::Duplicate) => "duplicate",
            Verdict::Ack(Outcome::Poison(_)) | Verdict::DeadLetter(_) => "dead_lettered",
            Verdict::Retry => "retried",
        };
        let result = match verdict {
            Verdict::Ack(Outcome::Poison(reason)) | Verdict::DeadLetter(reason) => {
                match self.dead_letter(message, &reason).await {
                    Ok(()) => message.ack_with(AckKind::Term).await,
                    Err(error) => {
                        tracing::error!(%error, "cannot write to the DLQ; will retry the message");
                        message
                            .ack_with(AckKind::Nak(Some(retry_delay(message))))
                            .await
                    }
                }
            }
            Verdict::Ack(_) => message.ack().await,
            Verdict::Retry => {
                message
                    .ack_with(AckKind::Nak(Some(retry_delay(message))))
                    .await
            }
        };
        metrics::counter!("scoring_events_total", "outcome" => outcome).increment(1);
        if let Err(error) = result {
            // The message will be redelivered after ack_wait; the processed-events table
            // makes that harmless.
            tracing::warn!(%error, "could not settle message");
        }
    }

    async fn dead_letter(
        &self,
        message: &jetstream::Message,
        reason: &str,
    ) -> Result<(), async_nats::Error> {
        let provider = message.subject.split('.').rev().nth(1).unwrap_or("unknown");
        let provider = if relance_shared::event::is_valid_provider(provider) {
            provider
        } else {
            "unknown"
        };
        let subject = self.names.email_dlq_subject(provider);
        relance_shared::nats::dead_letter(&self.js, subject, message, reason).await
    }
}

/// A batch task's end: it settles its own messages, so only a panic is left to report (its
/// messages are redelivered after `ack_wait`).
fn finished(joined: Option<Result<(), tokio::task::JoinError>>) {
    if let Some(Err(error)) = joined {
        tracing::error!(%error, "a batch task failed; its messages will be redelivered");
    }
}

impl From<Outcome> for Verdict {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Poison(reason) => Verdict::DeadLetter(reason),
            other => Verdict::Ack(other),
        }
    }
}

fn parse(message: &jetstream::Message) -> Result<EmailEvent, String> {
    let event: EmailEvent =
        serde_json::from_slice(&message.payload).map_err(|e| format!("unparsable event: {e}"))?;
    if event.schema != SCHEMA_VERSION {
        return Err(format!("unsupported schema {}", event.schema));
    }
    if event.event_key.is_empty() {
        return Err("empty event_key".into());
    }
    Ok(event)
}

/// 1 s, 2 s, 4 s … capped at a minute, by delivery count.
fn retry_delay(message: &jetstream::Message) -> Duration {
    let delivered = message.info().map(|i| i.delivered).unwrap_or(1).clamp(1, 7);
    Duration::from_secs(1 << (delivered - 1)).min(Duration::from_secs(60))
}
