//! Mailgun replay protection: a token is claimed in a JetStream stream (shared by every
//! gateway replica) before its events are published; a token already there is refused, so of
//! concurrent copies exactly one gets in. A request whose events could not be published (503)
//! gives its claim back, so Mailgun's retry with the same token is accepted.

use std::time::Duration;

use async_nats::jetstream;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use relance_shared::http::ApiError;
use relance_shared::nats::Names;

use crate::signatures;

/// Mailgun tokens already received, shared by every gateway replica: a JetStream stream with
/// one subject per token (`mailgun.tokens.<sha256>`), kept for three times the timestamp
/// tolerance (older tokens fail the timestamp check anyway). Recording publishes with
/// `Nats-Expected-Last-Subject-Sequence: 0`, so only the first copy of a token is stored. (A
/// plain stream rather than async-nats's key-value API, whose account query nats-server 2.9
/// does not answer in the shape it expects.)
pub struct TokenStore {
    js: jetstream::Context,
    stream: String,
    subject_prefix: String,
    replicas: usize,
    declared: OnceCell<jetstream::stream::Stream>,
}

impl TokenStore {
    pub fn new(js: jetstream::Context, names: &Names, replicas: usize) -> Self {
        Self {
            js,
            stream: names.mailgun_tokens_stream(),
            subject_prefix: names.mailgun_tokens_subject_prefix(),
            replicas,
            declared: OnceCell::new(),
        }
    }

    async fn stream(&self) -> Result<&jetstream::stream::Stream, ApiError> {
        self.declared
            .get_or_try_init(|| async {
                self.js
                    .create_or_update_stream(jetstream::stream::Config {
                        name: self.stream.clone(),
                        subjects: vec![format!("{}*", self.subject_prefix)],
                        description: Some("Mailgun webhook tokens already received".into()),
                        storage: jetstream::stream::StorageType::File,
                        max_messages_per_subject: 1,
                        max_age: Duration::from_secs(
                            3 * signatures::TOLERANCE.num_seconds().unsigned_abs(),
                        ),
                        num_replicas: self.replicas,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                self.js
                    .get_stream(&self.stream)
                    .await
                    .map_err(|e| e.to_string())
            })
            .await
            .map_err(|error| {
                tracing::warn!(%error, "Mailgun token store unavailable");
                ApiError::Unavailable("NATS")
            })
    }

    fn subject(&self, token: &str) -> String {
        format!(
            "{}{}",
            self.subject_prefix,
            hex::encode(Sha256::digest(token.as_bytes()))
        )
    }

    /// Claims `token` for this request before anything is published: `Some(sequence)` for
    /// the first request naming it, `None` for any other (a replay, or a concurrent copy with
    /// another body: Mailgun signs the token, not the body, so only one body may ever get
    /// in). The store writes with `Nats-Expected-Last-Subject-Sequence: 0`, so of concurrent
    /// claims exactly one succeeds, on every replica.
    pub async fn claim(&self, token: &str) -> Result<Option<u64>, ApiError> {
        self.stream().await?;
        let message = jetstream::message::PublishMessage::build()
            .expected_last_subject_sequence(0)
            .payload(Bytes::from_static(b"1"));
        let result = match self.js.send_publish(self.subject(token), message).await {
            Ok(ack) => ack.await.map(|ack| ack.sequence),
            Err(error) => Err(error),
        };
        match result {
            Ok(sequence) => Ok(Some(sequence)),
            Err(error) if error.to_string().contains("wrong last sequence") => Ok(None),
            Err(error) => {
                tracing::warn!(%error, "Mailgun token not claimed");
                Err(ApiError::Unavailable("NATS"))
            }
        }
    }

    /// Gives a claim back when its events could not be published (the request answers 503),
    /// so Mailgun's retry with the same token is accepted. If even that fails the retry is
    /// refused as a replay: logged as an error, since those events then need a resend.
    pub async fn release(&self, sequence: u64) {
        let released = match self.stream().await {
            Ok(stream) => stream
                .delete_message(sequence)
                .await
                .map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = released {
            tracing::error!(%error, sequence, "Mailgun token claim not released: its retry will be refused");
        }
    }
}
