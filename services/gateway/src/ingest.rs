//! `POST /api/v1/marketing/email/ingest`: the normalized webhook.
//!
//! Body: one event object, or a JSON array of up to `gateway.max_batch` of them:
//! `{provider, external_id, event, occurred_at, person_id?, organisation_id?, subject?}` as the
//! API contract fixes it (docs/api.md), plus optional `recipient` (matched to a person by
//! email), `url` (of a click) and `event_id` (the caller's own stable event id, used as the
//! event key; without it the key is a digest of provider, external id, event and time, so a
//! re-post of the same event is recognised).
//!
//! Checks, in order: bearer token (401), `Content-Type` (415), body size (413), JSON syntax
//! (400), every field of every event (422, each bad field named, e.g. `[3].occurred_at`). A
//! request is all or nothing: one bad event refuses the whole request and nothing is
//! published. The answer is 202 only once JetStream acknowledged every event, else 503.

use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use relance_shared::event::{
    digest_event_key, is_valid_provider, EmailEvent, EventKind, SCHEMA_VERSION,
};
use relance_shared::http::{ApiError, FieldError};

use relance_shared::http::extract::require_json;

use crate::state::AppState;

/// Events dated further ahead than this are refused: a send's timestamps only move forward, so
/// one bad clock would otherwise pin them in the future.
const MAX_CLOCK_SKEW: Duration = Duration::hours(24);

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestAccepted {
    pub accepted: usize,
    /// Events JetStream already had (a re-post inside its duplicate window).
    pub duplicates: usize,
    pub event_keys: Vec<String>,
}

#[tracing::instrument(name = "ingest", skip_all, fields(events = tracing::field::Empty))]
pub async fn ingest(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IngestAccepted>), ApiError> {
    let token = state
        .ingest_token
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("the ingest endpoint is not configured".into()))?;
    crate::auth::check_bearer(&headers, token)?;
    require_json(&headers)?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge {
                limit: state.max_body_bytes,
            }
        } else {
            ApiError::BadRequest(rejection.body_text())
        }
    })?;
    relance_shared::http::duplicate_keys::refuse(&body)?;
    let now = Utc::now();
    let events = parse_events(&body, state.max_batch, now)?;
    refuse_too_old(&events, now - state.dedupe_horizon, true)?;
    tracing::Span::current().record("events", events.len());
    let _in_flight = state.admission.admit("ingest", events.len())?;
    let report = state.publisher.publish_all(&events).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(IngestAccepted {
            accepted: events.len(),
            duplicates: report.duplicates,
            event_keys: events.into_iter().map(|e| e.event_key).collect(),
        }),
    ))
}

/// Parses and validates a whole request body into normalized events.
/// 422 when an event happened before `oldest` (`retention.processed_events_days` ago): its key
/// may already be forgotten, so a redelivery that late could be applied twice. The whole
/// request is refused, nothing published; `per_item` names each event's field (`[2].occurred_at`)
/// as the ingest body does, else `body` (a provider's own format).
pub fn refuse_too_old(
    events: &[EmailEvent],
    oldest: DateTime<Utc>,
    per_item: bool,
) -> Result<(), ApiError> {
    let errors: Vec<FieldError> = events
        .iter()
        .enumerate()
        .filter(|(_, event)| event.occurred_at < oldest)
        .map(|(i, _)| {
            let field = match (per_item, events.len()) {
                (false, _) => "body".to_owned(),
                (true, 1) => "occurred_at".to_owned(),
                (true, _) => format!("[{i}].occurred_at"),
            };
            FieldError::new(
                field,
                format!(
                    "older than {oldest}: past the deduplication horizon \
                     (retention.processed_events_days), it could be applied twice"
                ),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

pub fn parse_events(
    body: &[u8],
    max_batch: usize,
    now: DateTime<Utc>,
) -> Result<Vec<EmailEvent>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("body is not valid JSON: {e}")))?;
    let (items, batch) = match value {
        Value::Array(items) => (items, true),
        Value::Object(_) => (vec![value], false),
        _ => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "body",
                "must be an event object or an array of event objects",
            )]))
        }
    };
    if items.is_empty() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "body",
            "the array holds no event",
        )]));
    }
    if items.len() > max_batch {
        return Err(ApiError::Validation(vec![FieldError::new(
            "body",
            format!(
                "at most {max_batch} events per request, got {}",
                items.len()
            ),
        )]));
    }
    let mut errors = Vec::new();
    let mut events = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let prefix = if batch {
            format!("[{index}].")
        } else {
            String::new()
        };
        match validate_event(item, &prefix, now) {
            Ok(event) => events.push(event),
            Err(mut found) => errors.append(&mut found),
        }
    }
    if errors.is_empty() {
        Ok(events)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// The four fields every event has.
struct Required {
    provider: String,
    external_id: String,
    event: EventKind,
    occurred_at: DateTime<Utc>,
}

/// The required fields, every problem collected; `None` unless all four are good.
fn required_fields(
    obj: &serde_json::Map<String, Value>,
    field: &dyn Fn(&str) -> String,
    now: DateTime<Utc>,
    errors: &mut Vec<FieldError>,
) -> Option<Required> {
    let provider = required_str(obj, "provider", field, errors).and_then(|p| {
        if is_valid_provider(p) {
            Some(p.to_owned())
        } else {
            errors.push(FieldError::new(
                field("provider"),
                "must be 1 to 50 characters among a-z, 0-9, `_` and `-`",
            ));
            None
        }
    });
    let external_id = required_str(obj, "external_id", field, errors).and_then(|id| {
        if id.is_empty() || id.chars().count() > 255 {
            errors.push(FieldError::new(
                field("external_id"),
                "must be 1 to 255 characters",
            ));
            None
        } else {
            Some(id.to_owned())
        }
    });
    let event =
        required_str(obj, "event", field, errors).and_then(|e| match e.parse::<EventKind>() {
            Ok(kind) => Some(kind),
            Err(err) => {
                errors.push(FieldError::new(field("event"), err.to_string()));
                None
            }
        });
    let occurred_at = required_str(obj, "occurred_at", field, errors).and_then(|t| {
        match DateTime::parse_from_rfc3339(t) {
            Ok(t) if t.with_timezone(&Utc) > now + MAX_CLOCK_SKEW => {
                errors.push(FieldError::new(
                    field("occurred_at"),
                    "must not be more than 24 hours in the future",
                ));
                None
            }
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                errors.push(FieldError::new(
                    field("occurred_at"),
                    "must be an RFC 3339 date-time with an offset, e.g. 2026-11-24T09:30:00Z",
                ));
                None
            }
        }
    });
    Some(Required {
        provider: provider?,
        external_id: external_id?,
        event: event?,
        occurred_at: occurred_at?,
    })
}

/// Collects every problem of one event, so the caller fixes them all in one go.
fn validate_event(
    item: &Value,
    prefix: &str,
    now: DateTime<Utc>,
) -> Result<EmailEvent, Vec<FieldError>> {
    let field = |name: &str| format!("{prefix}{name}");
    let Some(obj) = item.as_object() else {
        let at = if prefix.is_empty() {
            "body".to_owned()
        } else {
            prefix.trim_end_matches('.').to_owned()
        };
        return Err(vec![FieldError::new(at, "must be an object")]);
    };
    let mut errors = Vec::new();

    let required = required_fields(obj, &field, now, &mut errors);
    let person_id = optional_id(obj, "person_id", &field, &mut errors);
    let organisation_id = optional_id(obj, "organisation_id", &field, &mut errors);
    let person_external_id = optional_str(
        obj,
        "person_external_id",
        relance_shared::valid::ExternalId::MAX_CHARS,
        &field,
        &mut errors,
    );
    let subject = optional_str(obj, "subject", 500, &field, &mut errors);
    let recipient = optional_str(obj, "recipient", 320, &field, &mut errors);
    if let Some(r) = &recipient {
        if !r.contains('@') {
            errors.push(FieldError::new(
                field("recipient"),
                "must be an email address",
            ));
        }
    }
    let url = optional_str(obj, "url", 2048, &field, &mut errors);
    let event_id = optional_str(obj, "event_id", 200, &field, &mut errors);
    if event_id
        .as_deref()
        .is_some_and(|id| id.chars().any(char::is_control))
    {
        // It becomes the message's `Nats-Msg-Id`, a header.
        errors.push(FieldError::new(
            field("event_id"),
            "must not contain control characters",
        ));
    }

    match required {
        Some(Required {
            provider,
            external_id,
            event,
            occurred_at,
        }) if errors.is_empty() => {
            let event_key = match event_id {
                Some(id) => format!("{provider}-{id}"),
                None => digest_event_key(&provider, &external_id, event, occurred_at),
            };
            Ok(EmailEvent {
                schema: SCHEMA_VERSION,
                event_key,
                provider,
                external_id,
                event,
                occurred_at,
                received_at: now,
                person_id,
                organisation_id,
                person_external_id,
                recipient,
                subject,
                url,
                machine_open: false,
            })
        }
        _ => Err(errors),
    }
}

fn required_str<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    field: &dyn Fn(&str) -> String,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    match obj.get(name) {
        Some(Value::String(s)) => Some(s.as_str()),
        None | Some(Value::Null) => {
            errors.push(FieldError::new(field(name), "is required"));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(field(name), "must be a string"));
            None
        }
    }
}

fn optional_str(
    obj: &Map<String, Value>,
    name: &str,
    max_chars: usize,
    field: &dyn Fn(&str) -> String,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match obj.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= max_chars => Some(s.clone()),
        Some(Value::String(_)) => {
            errors.push(FieldError::new(
                field(name),
                format!("must be at most {max_chars} characters"),
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(field(name), "must be a string"));
            None
        }
    }
}

fn optional_id(
    obj: &Map<String, Value>,
    name: &str,
    field: &dyn Fn(&str) -> String,
    errors: &mut Vec<FieldError>,
) -> Option<i64> {
    match obj.get(name) {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(id) if id > 0 => Some(id),
            _ => {
                errors.push(FieldError::new(field(name), "must be a positive integer"));
                None
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn valid() -> Value {
        json!({"provider": "resend", "external_id": "msg-1", "event": "opened",
               "occurred_at": "2026-11-24T10:00:00+01:00", "person_id": 7, "subject": "Offre"})
    }

    fn field_errors(result: Result<Vec<EmailEvent>, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_event_is_normalized() {
        let events = parse_events(valid().to_string().as_bytes(), 10, now()).unwrap();
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.event, EventKind::Opened);
        assert_eq!(e.occurred_at.to_rfc3339(), "2026-11-24T09:00:00+00:00");
        assert_eq!(e.person_id, Some(7));
        assert_eq!(e.received_at, now());
        assert!(e.event_key.starts_with("resend-"));
        assert_eq!(e.person_external_id, None);
        let mut with_crm_id = valid();
        with_crm_id["person_external_id"] = json!("crm-p-7");
        let events = parse_events(with_crm_id.to_string().as_bytes(), 10, now()).unwrap();
        assert_eq!(events[0].person_external_id.as_deref(), Some("crm-p-7"));
        with_crm_id["person_external_id"] = json!(7);
        let refused = parse_events(with_crm_id.to_string().as_bytes(), 10, now());
        assert!(refused.is_err());
    }

    #[test]
    fn the_same_event_reposted_has_the_same_key() {
        let a = parse_events(valid().to_string().as_bytes(), 10, now()).unwrap();
        let b = parse_events(
            valid().to_string().as_bytes(),
            10,
            now() + Duration::minutes(5),
        )
        .unwrap();
        assert_eq!(a[0].event_key, b[0].event_key);
    }

    #[test]
    fn a_caller_event_id_becomes_the_key() {
        let mut v = valid();
        v["event_id"] = json!("evt_123");
        let events = parse_events(v.to_string().as_bytes(), 10, now()).unwrap();
        assert_eq!(events[0].event_key, "resend-evt_123");
    }

    #[test]
    fn every_bad_field_is_named() {
        let body = json!({"provider": "Not Valid", "event": "read", "occurred_at": "yesterday",
                          "person_id": -1, "organisation_id": "x", "subject": 3,
                          "event_id": "a\r\nb"});
        let fields = field_errors(parse_events(body.to_string().as_bytes(), 10, now()));
        assert_eq!(
            fields,
            [
                "provider",
                "external_id",
                "event",
                "occurred_at",
                "person_id",
                "organisation_id",
                "subject",
                "event_id"
            ]
        );
    }

    #[test]
    fn batch_errors_carry_the_index() {
        let mut bad = valid();
        bad["occurred_at"] = json!("2026-11-24 10:00");
        let body = json!([valid(), bad]);
        assert_eq!(
            field_errors(parse_events(body.to_string().as_bytes(), 10, now())),
            ["[1].occurred_at"]
        );
    }

    #[test]
    fn dates_need_an_offset_and_a_sane_clock() {
        for (date, ok) in [
            ("2026-11-24T10:00:00Z", true),
            ("2026-11-24T10:00:00.123456789+05:30", true),
            ("2026-11-24T10:00:00", false),
            ("2026-11-26T10:00:00Z", false),
            ("not a date", false),
        ] {
            let mut v = valid();
            v["occurred_at"] = json!(date);
            assert_eq!(
                parse_events(v.to_string().as_bytes(), 10, now()).is_ok(),
                ok,
                "{date}"
            );
        }
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(
            parse_events(b"{\"provider\": ", 10, now()),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn batch_size_is_bounded() {
        let body = Value::Array(vec![valid(); 11]);
        assert_eq!(
            field_errors(parse_events(body.to_string().as_bytes(), 10, now())),
            ["body"]
        );
        assert_eq!(field_errors(parse_events(b"[]", 10, now())), ["body"]);
        assert_eq!(field_errors(parse_events(b"42", 10, now())), ["body"]);
    }
}
