//! Resend (signed by Svix). One event per request:
//! `{"type": "email.opened", "created_at": "...", "data": {"email_id", "to": [...], "subject",
//! "click": {"link"}, "bounce": {"type": "Permanent", ...}}}`. The event key is the `svix-id`,
//! which Svix keeps across its retries.

use chrono::{DateTime, Utc};

use relance_shared::event::EventKind;
use relance_shared::http::ApiError;

use super::{json, optional, required, rfc3339, Draft, Mapped};

pub const PROVIDER: &str = "resend";

pub fn parse(
    body: &[u8],
    svix_id: &str,
    received_at: DateTime<Utc>,
) -> Result<Vec<Mapped>, ApiError> {
    let value = json(body)?;
    let kind_name = required(&value, "/type", "type")?;
    let kind = match kind_name {
        "email.sent" => EventKind::Sent,
        "email.delivered" => EventKind::Delivered,
        "email.opened" => EventKind::Opened,
        "email.clicked" => EventKind::Clicked,
        "email.complained" => EventKind::Complained,
        // Resend reports permanent rejections as bounces; a bounce it marks as transient or
        // undetermined is not (yet) one.
        "email.bounced" => match optional(&value, "/data/bounce/type") {
            Some("Transient") | Some("Undetermined") => {
                return Ok(vec![Mapped::Ignored(format!("{kind_name}.transient"))])
            }
            _ => EventKind::Bounced,
        },
        other => return Ok(vec![Mapped::Ignored(other.to_owned())]),
    };
    let occurred_at = match value.pointer("/created_at") {
        Some(_) => rfc3339(&value, "/created_at", "created_at")?,
        None => rfc3339(&value, "/data/created_at", "data.created_at")?,
    };
    let recipient = value.pointer("/data/to").and_then(|to| match to {
        serde_json::Value::Array(list) => list.first().and_then(|v| v.as_str()),
        serde_json::Value::String(one) => Some(one.as_str()),
        _ => None,
    });
    Ok(vec![Draft {
        provider: PROVIDER,
        person_external_id: resend_person(&value),
        external_id: required(&value, "/data/email_id", "data.email_id")?,
        kind,
        occurred_at,
        event_id: Some(svix_id.to_owned()),
        recipient,
        subject: optional(&value, "/data/subject"),
        url: optional(&value, "/data/click/link"),
        machine_open: false,
    }
    .build(received_at)])
}

/// The CRM's person id from the email's tags: Resend sends them as an object
/// (`{"person_external_id": "crm-p-1"}`), its API takes them as `[{name, value}]`; both read.
fn resend_person(value: &serde_json::Value) -> Option<&str> {
    use relance_shared::event::PERSON_EXTERNAL_ID_KEY;
    match value.pointer("/data/tags")? {
        serde_json::Value::Object(tags) => tags.get(PERSON_EXTERNAL_ID_KEY)?.as_str(),
        serde_json::Value::Array(tags) => tags
            .iter()
            .find(|t| {
                t.get("name").and_then(serde_json::Value::as_str) == Some(PERSON_EXTERNAL_ID_KEY)
            })?
            .get("value")?
            .as_str(),
        _ => None,
    }
    .filter(|id| !id.trim().is_empty())
}
