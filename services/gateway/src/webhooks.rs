//! `POST /api/v1/marketing/email/webhooks/{resend,sendgrid,mailgun,postmark}`: each
//! provider's own webhook, verified ([`crate::signatures`]), mapped ([`crate::providers`]) and
//! published like the normalized endpoint's events.
//!
//! Order of refusals: 404 when the provider's secret is not configured (it is off), 401 for a
//! missing or bad signature, a stale timestamp or a replayed Mailgun token (nothing published),
//! 400 when the body is not JSON, 422 when a scored event lacks a field, 503 when JetStream does
//! not acknowledge. Then 200 `{accepted, ignored, duplicates}`: event types Relance does not
//! score are acknowledged (the provider stops retrying) and counted in
//! `gateway_webhook_events_total{outcome="ignored"}`. A request is all or nothing.
//!
//! Mailgun replay protection: a token is recorded in a JetStream key-value bucket (shared by
//! every gateway replica) once its events are published; a token already there is refused.
//! Recording after publishing means a request that failed (503) can be retried with its token.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream::LastRawMessageErrorKind};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use bytes::Bytes;
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use relance_shared::event::EmailEvent;
use relance_shared::http::ApiError;
use relance_shared::nats::Names;

use crate::providers::{mailgun, postmark, resend, sendgrid, Mapped};
use crate::signatures::{self, SignatureError};
use crate::startup::AppState;

/// Verification material, decoded once at start.
#[derive(Default)]
pub struct ProviderKeys {
    pub resend: Option<Vec<u8>>,
    pub sendgrid: Option<Vec<u8>>,
    pub mailgun: Option<Vec<u8>>,
    pub postmark: Option<String>,
}

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

    async fn seen(&self, token: &str) -> Result<bool, ApiError> {
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

    async fn record(&self, token: &str) -> Result<(), ApiError> {
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookAccepted {
    /// Events published (or already in JetStream: see `duplicates`).
    pub accepted: usize,
    /// Event types Relance does not score.
    pub ignored: usize,
    pub duplicates: usize,
}

fn refuse(provider: &'static str, error: SignatureError) -> ApiError {
    metrics::counter!("gateway_webhook_rejected_total", "provider" => provider, "reason" => match error {
        SignatureError::Missing(_) | SignatureError::Malformed(_) => "malformed",
        SignatureError::Stale => "stale",
        SignatureError::Mismatch => "mismatch",
        SignatureError::Replayed => "replayed",
    })
    .increment(1);
    tracing::warn!(provider, %error, "webhook refused");
    ApiError::Unauthorized
}

fn off(provider: &str) -> ApiError {
    ApiError::NotFound(format!("the {provider} webhook is not configured"))
}

async fn publish(
    state: &AppState,
    provider: &'static str,
    mapped: Vec<Mapped>,
) -> Result<WebhookAccepted, ApiError> {
    let mut events: Vec<EmailEvent> = Vec::with_capacity(mapped.len());
    let mut ignored = Vec::new();
    for item in mapped {
        match item {
            Mapped::Event(event) => events.push(*event),
            Mapped::Ignored(kind) => ignored.push(kind),
        }
    }
    let duplicates = if events.is_empty() {
        0
    } else {
        state.publisher.publish_all(&events).await?.duplicates
    };
    for kind in &ignored {
        metrics::counter!("gateway_webhook_events_total", "provider" => provider, "type" => kind.clone(), "outcome" => "ignored")
            .increment(1);
    }
    for event in &events {
        metrics::counter!("gateway_webhook_events_total", "provider" => provider, "type" => event.event.as_str(), "outcome" => "published")
            .increment(1);
    }
    tracing::info!(
        provider,
        accepted = events.len(),
        ignored = ignored.len(),
        duplicates,
        "webhook"
    );
    Ok(WebhookAccepted {
        accepted: events.len(),
        ignored: ignored.len(),
        duplicates,
    })
}

#[tracing::instrument(name = "webhook.resend", skip_all)]
pub async fn resend(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookAccepted>, ApiError> {
    let key = state
        .providers
        .resend
        .as_ref()
        .ok_or_else(|| off("resend"))?;
    let now = Utc::now();
    let svix_id = signatures::verify_svix(key, &headers, &body, now)
        .map_err(|e| refuse(resend::PROVIDER, e))?;
    let mapped = resend::parse(&body, &svix_id, now)?;
    Ok(Json(publish(&state, resend::PROVIDER, mapped).await?))
}

#[tracing::instrument(name = "webhook.sendgrid", skip_all)]
pub async fn sendgrid(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookAccepted>, ApiError> {
    let point = state
        .providers
        .sendgrid
        .as_ref()
        .ok_or_else(|| off("sendgrid"))?;
    let now = Utc::now();
    signatures::verify_sendgrid(point, &headers, &body, now)
        .map_err(|e| refuse(sendgrid::PROVIDER, e))?;
    let mapped = sendgrid::parse(&body, now)?;
    Ok(Json(publish(&state, sendgrid::PROVIDER, mapped).await?))
}

#[tracing::instrument(name = "webhook.mailgun", skip_all)]
pub async fn mailgun(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<WebhookAccepted>, ApiError> {
    let key = state
        .providers
        .mailgun
        .as_ref()
        .ok_or_else(|| off("mailgun"))?;
    let now = Utc::now();
    // Mailgun signs inside the body: only the signature object is read before verifying.
    let (value, signature) = mailgun::signature(&body).map_err(|error| match error {
        ApiError::Validation(_) => refuse(mailgun::PROVIDER, SignatureError::Missing("signature")),
        other => other,
    })?;
    signatures::verify_mailgun(
        key,
        &signature.timestamp,
        &signature.token,
        &signature.signature,
        now,
    )
    .map_err(|e| refuse(mailgun::PROVIDER, e))?;
    if state.mailgun_tokens.seen(&signature.token).await? {
        return Err(refuse(mailgun::PROVIDER, SignatureError::Replayed));
    }
    let mapped = mailgun::parse(&value, now)?;
    let accepted = publish(&state, mailgun::PROVIDER, mapped).await?;
    state.mailgun_tokens.record(&signature.token).await?;
    Ok(Json(accepted))
}

#[tracing::instrument(name = "webhook.postmark", skip_all)]
pub async fn postmark(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookAccepted>, ApiError> {
    let expected = state
        .providers
        .postmark
        .as_ref()
        .ok_or_else(|| off("postmark"))?;
    signatures::verify_basic(expected, &headers).map_err(|e| refuse(postmark::PROVIDER, e))?;
    let mapped = postmark::parse(&body, Utc::now())?;
    Ok(Json(publish(&state, postmark::PROVIDER, mapped).await?))
}
