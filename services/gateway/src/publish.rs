//! Publishing normalized events to `EMAIL_EVENTS`: one message per event on
//! `email.events.<provider>.<event>`, `Nats-Msg-Id` = the event key (JetStream drops a re-post
//! inside its duplicate window), `traceparent` = the request's trace. All events of a request
//! are sent at once and their acknowledgements awaited together.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, context::PublishAckFuture};
use futures::future::try_join_all;

use relance_shared::event::EmailEvent;
use relance_shared::http::ApiError;
use relance_shared::nats::{is_connected, Names};
use relance_shared::telemetry::inject_trace_context;

#[derive(Clone)]
pub struct Publisher {
    client: async_nats::Client,
    js: jetstream::Context,
    names: Names,
    timeout: Duration,
}

#[derive(Debug, Default)]
pub struct PublishReport {
    pub duplicates: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("not connected to NATS")]
    Disconnected,
    #[error("JetStream did not acknowledge: {0}")]
    NotAcknowledged(String),
    #[error("cannot encode event: {0}")]
    Encode(#[from] serde_json::Error),
}

impl From<PublishError> for ApiError {
    fn from(error: PublishError) -> Self {
        match error {
            PublishError::Encode(e) => ApiError::Internal(e.into()),
            other => {
                tracing::warn!(error = %other, "publish failed; answering 503 so the sender retries");
                ApiError::Unavailable("the event broker")
            }
        }
    }
}

/// Counts a request whose events could not all be stored (the alert `RelanceNatsPublishErrors`
/// watches it): `disconnected`, `not_acknowledged` or `timed_out`.
fn publish_failed(reason: &'static str) {
    metrics::counter!("gateway_publish_failures_total", "reason" => reason).increment(1);
}

impl Publisher {
    pub fn new(
        client: async_nats::Client,
        js: jetstream::Context,
        names: Names,
        timeout: Duration,
    ) -> Self {
        Self {
            client,
            js,
            names,
            timeout,
        }
    }

    /// Returns once JetStream stored every event; any failure fails the whole call (the sender
    /// retries, and the event keys make the retry harmless).
    pub async fn publish_all(&self, events: &[EmailEvent]) -> Result<PublishReport, PublishError> {
        // Fail fast: while disconnected the client would buffer and we would only time out.
        if !is_connected(&self.client) {
            publish_failed("disconnected");
            return Err(PublishError::Disconnected);
        }
        let started = Instant::now();
        let result = tokio::time::timeout(self.timeout, self.send_and_confirm(events)).await;
        let outcome = match &result {
            Ok(Ok(_)) => "acked",
            _ => "failed",
        };
        metrics::histogram!("gateway_publish_seconds", "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        let report = match result {
            Ok(Ok(report)) => report,
            Ok(Err(error)) => {
                publish_failed("not_acknowledged");
                return Err(error);
            }
            Err(_) => {
                publish_failed("timed_out");
                return Err(PublishError::NotAcknowledged("timed out".into()));
            }
        };
        for event in events {
            metrics::counter!("gateway_events_total",
                "provider" => event.provider.clone(), "event" => event.event.as_str(), "outcome" => "published")
            .increment(1);
        }
        Ok(report)
    }

    async fn send_and_confirm(&self, events: &[EmailEvent]) -> Result<PublishReport, PublishError> {
        let mut pending: Vec<PublishAckFuture> = Vec::with_capacity(events.len());
        for event in events {
            let payload = serde_json::to_vec(event)?;
            let mut headers = async_nats::HeaderMap::new();
            inject_trace_context(&mut headers);
            headers.insert("Content-Type", "application/json");
            let message = jetstream::message::PublishMessage::build()
                .headers(headers)
                .message_id(&event.event_key)
                .payload(payload.into());
            let subject = self.names.email_event_subject(&event.provider, event.event);
            let ack = self
                .js
                .send_publish(subject, message)
                .await
                .map_err(|e| PublishError::NotAcknowledged(e.to_string()))?;
            pending.push(ack);
        }
        let acks = try_join_all(
            pending
                .into_iter()
                .map(std::future::IntoFuture::into_future),
        )
        .await
        .map_err(|e| PublishError::NotAcknowledged(e.to_string()))?;
        Ok(PublishReport {
            duplicates: acks.iter().filter(|a| a.duplicate).count(),
        })
    }
}
