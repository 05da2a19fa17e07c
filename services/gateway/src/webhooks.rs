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
//! Mailgun replay protection: [`crate::replay`].

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use bytes::Bytes;
use chrono::Utc;
use serde::Serialize;

use relance_shared::event::EmailEvent;
use relance_shared::http::{duplicate_keys, ApiError};

use crate::providers::{mailgun, postmark, resend, sendgrid, Mapped};
use crate::signatures::{self, SignatureError};
use crate::state::AppState;

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
    // Refused whole before anything is published: a batch JetStream might only partly store
    // before the publish deadline would answer 503 with some of it in.
    if mapped.len() > state.max_webhook_events {
        return Err(ApiError::Validation(vec![relance_shared::http::FieldError::new(
            "body",
            format!(
                "at most {} events per request (gateway.max_webhook_events), got {}; nothing was published",
                state.max_webhook_events,
                mapped.len()
            ),
        )]));
    }
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
        crate::ingest::refuse_too_old(&events, chrono::Utc::now() - state.dedupe_horizon, false)?;
        let _in_flight = state.admission.admit(provider, events.len())?;
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
    duplicate_keys::refuse(&body)?;
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
    duplicate_keys::refuse(&body)?;
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
    duplicate_keys::refuse(&body)?;
    let mapped = mailgun::parse(&value, now)?;
    let Some(claim) = state.mailgun_tokens.claim(&signature.token).await? else {
        return Err(refuse(mailgun::PROVIDER, SignatureError::Replayed));
    };
    match publish(&state, mailgun::PROVIDER, mapped).await {
        Ok(accepted) => Ok(Json(accepted)),
        Err(error) => {
            state.mailgun_tokens.release(claim).await;
            Err(error)
        }
    }
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
    duplicate_keys::refuse(&body)?;
    let mapped = postmark::parse(&body, Utc::now())?;
    Ok(Json(publish(&state, postmark::PROVIDER, mapped).await?))
}
