//! The dead-letter queue (`EMAIL_DLQ`), for operators: list what is there and why, and replay
//! it once the cause is fixed (a person created, a bug deployed...). Replaying republishes each
//! message to its original subject and removes it from the DLQ once JetStream acknowledged the
//! copy. Scoring's exactly-once record makes a replay harmless for events that were applied
//! meanwhile; a message that fails again simply comes back to the DLQ with its new reason.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream::Stream};
use futures::StreamExt;

use relance_shared::nats::Names;

/// One dead-lettered message.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub sequence: u64,
    pub subject: String,
    pub original_subject: Option<String>,
    pub reason: String,
    pub payload: bytes::Bytes,
    pub headers: async_nats::HeaderMap,
}

/// The messages of the DLQ, oldest first, optionally for one provider.
pub async fn list(
    js: &jetstream::Context,
    names: &Names,
    provider: Option<&str>,
) -> Result<Vec<DeadLetter>, async_nats::Error> {
    let mut stream: Stream = js.get_stream(names.email_dlq_stream()).await?;
    let total = stream.info().await?.state.messages as usize;
    if total == 0 {
        return Ok(Vec::new());
    }
    let consumer = stream
        .create_consumer(pull::Config {
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ack_policy: jetstream::consumer::AckPolicy::None,
            filter_subject: provider
                .map(|p| names.email_dlq_subject(p))
                .unwrap_or_default(),
            inactive_threshold: Duration::from_secs(60),
            ..Default::default()
        })
        .await?;
    let mut out = Vec::new();
    loop {
        let mut batch = consumer
            .fetch()
            .max_messages(500)
            .expires(Duration::from_millis(500))
            .messages()
            .await?;
        let before = out.len();
        while let Some(message) = batch.next().await {
            let message = message?;
            let info = message.info()?;
            let headers = message.headers.clone().unwrap_or_default();
            let header = |name: &str| headers.get(name).map(|v| v.as_str().to_owned());
            out.push(DeadLetter {
                sequence: info.stream_sequence,
                subject: message.subject.to_string(),
                original_subject: header("Relance-Original-Subject"),
                reason: header("Relance-Dlq-Reason").unwrap_or_default(),
                payload: message.payload.clone(),
                headers,
            });
        }
        if out.len() == before || out.len() >= total {
            return Ok(out);
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReplayReport {
    pub replayed: usize,
    /// Without an original subject (written by something else than scoring): left in place.
    pub skipped: usize,
}

/// Republishes every listed message to its original subject, then deletes it from the DLQ.
pub async fn replay(
    js: &jetstream::Context,
    names: &Names,
    provider: Option<&str>,
) -> Result<ReplayReport, async_nats::Error> {
    let letters = list(js, names, provider).await?;
    let stream = js.get_stream(names.email_dlq_stream()).await?;
    let mut report = ReplayReport::default();
    for letter in letters {
        let Some(subject) = letter.original_subject.clone() else {
            report.skipped += 1;
            continue;
        };
        let mut headers = async_nats::HeaderMap::new();
        for (name, values) in letter.headers.iter() {
            let name: &str = name.as_ref();
            if name.starts_with("Relance-") || name.eq_ignore_ascii_case("Nats-Msg-Id") {
                continue;
            }
            for value in values {
                headers.append(name, value.as_str());
            }
        }
        // A new message id: the original's may still be inside the duplicate window.
        let message = jetstream::message::PublishMessage::build()
            .headers(headers)
            .message_id(format!(
                "replay-{}-{}",
                names.email_dlq_stream(),
                letter.sequence
            ))
            .payload(letter.payload.clone());
        js.send_publish(subject, message).await?.await?;
        stream.delete_message(letter.sequence).await?;
        report.replayed += 1;
    }
    Ok(report)
}
