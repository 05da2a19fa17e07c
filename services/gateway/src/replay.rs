//! Mailgun replay protection: a token is recorded in a JetStream stream (shared by every
//! gateway replica) once its events are published; a token already there is refused.
//! Recording after publishing means a request that failed (503) can be retried with its token.

use std::time::Duration;

use async_nats::jetstream::{self, stream::LastRawMessageErrorKind};
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

    pub async fn seen(&self, token: &str) -> Result<bool, ApiError> {
        let stream = self.stream().await?;
        match stream
            .get_last_raw_message_by_subject(&self.subject(token))
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(false),
            Err(error) => {
                tracing::warn!(%error, "Mailgun token lookup failed");
                Err(ApiError::Unavailable("NATS"))
            }
        }
    }

    pub async fn record(&self, token: &str) -> Result<(), ApiError> {
        self.stream().await?;
        let message = jetstream::message::PublishMessage::build()
            .expected_last_subject_sequence(0)
            .payload(Bytes::from_static(b"1"));
        let result = match self.js.send_publish(self.subject(token), message).await {
            Ok(ack) => ack.await.map(|_| ()),
            Err(error) => Err(error),
        };
        match result {
            Ok(()) => Ok(()),
            // Already there: a concurrent copy of this request got there first; its events
            // have the same keys, so this one changed nothing either.
            Err(error) if error.to_string().contains("wrong last sequence") => Ok(()),
            Err(error) => {
                tracing::warn!(%error, "Mailgun token not recorded");
                Err(ApiError::Unavailable("NATS"))
            }
        }
    }
}
