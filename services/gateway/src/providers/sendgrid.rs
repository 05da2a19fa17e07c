//! SendGrid's event webhook: a JSON array of events,
//! `{"email", "timestamp" (seconds), "event", "sg_message_id", "smtp-id", "sg_event_id",
//! "url", "type" (bounce/blocked), "sg_machine_open"}`. `sg_event_id` changes when SendGrid
//! retries, so the event key is the digest. The batch is all or nothing.

use chrono::{DateTime, Utc};
use serde_json::Value;

use relance_shared::event::EventKind;
use relance_shared::http::ApiError;

use super::{epoch, invalid, json, optional, Draft, Mapped};

pub const PROVIDER: &str = "sendgrid";

/// The send's id: `sg_message_id` up to its first `.` (the `X-Message-Id` SendGrid returned when
/// the email was sent), else the local part of `smtp-id`.
fn message_id(event: &Value) -> Option<&str> {
    if let Some(id) = optional(event, "/sg_message_id") {
        return id.split('.').next().filter(|s| !s.is_empty());
    }
    optional(event, "/smtp-id")
        .map(|id| id.trim_matches(|c| c == '<' || c == '>'))
        .and_then(|id| id.split('@').next())
        .filter(|s| !s.is_empty())
}

pub fn parse(body: &[u8], received_at: DateTime<Utc>) -> Result<Vec<Mapped>, ApiError> {
    let value = json(body)?;
    let Value::Array(events) = value else {
        return Err(invalid("(body)", "must be a JSON array of events"));
    };
    let mut out = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let field = |name: &str| format!("[{i}].{name}");
        let name = optional(event, "/event").ok_or_else(|| invalid(field("event"), "required"))?;
        let kind = match name {
            "processed" => EventKind::Sent,
            "delivered" => EventKind::Delivered,
            "open" => EventKind::Opened,
            "click" => EventKind::Clicked,
            // `type` tells a bounce (permanent) from a block (temporary); older payloads
            // without it are bounces.
            "bounce" => match optional(event, "/type") {
                Some("blocked") => {
                    out.push(Mapped::Ignored("bounce.blocked".into()));
                    continue;
                }
                _ => EventKind::Bounced,
            },
            "spamreport" => EventKind::Complained,
            "unsubscribe" | "group_unsubscribe" => EventKind::Unsubscribed,
            other => {
                out.push(Mapped::Ignored(other.to_owned()));
                continue;
            }
        };
        let external_id = message_id(event)
            .ok_or_else(|| invalid(field("sg_message_id"), "required (or smtp-id)"))?;
        let occurred_at = epoch(event, "/timestamp", &field("timestamp"))?;
        out.push(
            Draft {
                provider: PROVIDER,
                person_external_id: optional(event, "/person_external_id"),
                external_id,
                kind,
                occurred_at,
                event_id: None,
                recipient: optional(event, "/email"),
                subject: optional(event, "/subject"),
                url: optional(event, "/url"),
                machine_open: event
                    .get("sg_machine_open")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            }
            .build(received_at),
        );
    }
    Ok(out)
}
