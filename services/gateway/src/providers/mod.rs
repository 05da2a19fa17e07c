//! Each provider's own webhook payload, mapped onto normalized events. A payload is parsed only
//! after its signature was checked ([`crate::signatures`]). Event types Relance does not score
//! become [`Mapped::Ignored`]: acknowledged (so the provider stops retrying), counted, not
//! published.
//!
//! | normalized | Resend | SendGrid | Mailgun | Postmark |
//! |---|---|---|---|---|
//! | sent | `email.sent` | `processed` | `accepted` | — |
//! | delivered | `email.delivered` | `delivered` | `delivered` | `Delivery` |
//! | opened | `email.opened` | `open` (`sg_machine_open` → machine) | `opened` (`client-info.bot` → machine) | `Open` |
//! | clicked | `email.clicked` | `click` | `clicked` (ignored when `client-info.bot` is set) | `Click` |
//! | bounced (permanent only) | `email.bounced` unless `bounce.type` is `Transient`/`Undetermined` | `bounce` unless `type` = `blocked` | `failed` with `severity` = `permanent` | `Bounce` of type `HardBounce`/`BadEmailAddress` |
//! | complained | `email.complained` | `spamreport` | `complained` | `SpamComplaint` |
//! | unsubscribed | — | `unsubscribe`, `group_unsubscribe` | `unsubscribed` | `SubscriptionChange` with `SuppressSending` for `ManualSuppression` |
//!
//! `external_id` is the provider's message id, shared by every event of one message (SendGrid:
//! `sg_message_id` up to its first `.`, i.e. the `X-Message-Id` of the send). The event key is
//! the provider's stable event id where it has one (Svix `svix-id`, Mailgun `event-data.id`),
//! else a digest of (provider, external id, event, time).

pub mod mailgun;
pub mod postmark;
pub mod resend;
pub mod sendgrid;

use chrono::{DateTime, Utc};
use serde_json::Value;

use relance_shared::event::{
    digest_event_key, provided_event_key, EmailEvent, EventKind, SCHEMA_VERSION,
};
use relance_shared::http::{ApiError, FieldError};

#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    Event(Box<EmailEvent>),
    /// A provider event type Relance does not score (its name).
    Ignored(String),
}

/// What a provider event says, before it becomes an [`EmailEvent`].
pub struct Draft<'a> {
    pub provider: &'static str,
    pub external_id: &'a str,
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    /// The provider's stable event id, when it has one.
    pub event_id: Option<String>,
    /// The CRM's person id, when the sender passed it through (see `PERSON_EXTERNAL_ID_KEY`).
    pub person_external_id: Option<&'a str>,
    pub recipient: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub url: Option<&'a str>,
    pub machine_open: bool,
}

impl Draft<'_> {
    pub fn build(self, received_at: DateTime<Utc>) -> Mapped {
        let event_key = match self.event_id {
            Some(id) => provided_event_key(self.provider, &id),
            None => digest_event_key(self.provider, self.external_id, self.kind, self.occurred_at),
        };
        let clip = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        Mapped::Event(Box::new(EmailEvent {
            schema: SCHEMA_VERSION,
            event_key,
            provider: self.provider.to_owned(),
            external_id: clip(self.external_id, 255),
            event: self.kind,
            occurred_at: self.occurred_at,
            received_at,
            person_id: None,
            organisation_id: None,
            person_external_id: self
                .person_external_id
                .map(|id| clip(id.trim(), relance_shared::valid::ExternalId::MAX_CHARS)),
            recipient: self.recipient.map(|r| clip(r.trim(), 320)),
            subject: self.subject.map(|s| clip(s, 500)),
            url: self.url.map(|u| clip(u, 2000)),
            machine_open: self.machine_open,
        }))
    }
}

pub fn json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("body is not valid JSON: {e}")))
}

pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
    ApiError::Validation(vec![FieldError::new(field, message)])
}

/// A required non-empty string at `pointer` (a JSON pointer, e.g. `/data/email_id`).
pub fn required<'a>(value: &'a Value, pointer: &str, field: &str) -> Result<&'a str, ApiError> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid(field, "required"))
}

pub fn optional<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// An RFC 3339 time with an offset, any number of fraction digits (Postmark sends 7).
pub fn rfc3339(value: &Value, pointer: &str, field: &str) -> Result<DateTime<Utc>, ApiError> {
    let raw = required(value, pointer, field)?;
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid(field, "must be an RFC 3339 time with an offset"))
}

/// Seconds since the epoch, integer or fractional (Mailgun sends `1529006854.329574`).
/// Seconds since the epoch of year 10000: a provider's timestamp is a recent one, and chrono's
/// own range (±262,000 years) is no rule anyone can state.
pub const MAX_EPOCH_SECONDS: f64 = 253_402_300_800.0;

pub fn epoch(value: &Value, pointer: &str, field: &str) -> Result<DateTime<Utc>, ApiError> {
    let secs = value
        .pointer(pointer)
        .and_then(Value::as_f64)
        .ok_or_else(|| invalid(field, "must be seconds since the epoch"))?;
    if !(0.0..MAX_EPOCH_SECONDS).contains(&secs) {
        return Err(invalid(field, "must be between 1970 and the year 10000"));
    }
    let micros = (secs * 1e6).round() as i64;
    DateTime::from_timestamp_micros(micros).ok_or_else(|| invalid(field, "out of range"))
}
