//! Mailgun webhooks: one event per request, `{"signature": {"timestamp", "token",
//! "signature"}, "event-data": {"id", "event", "timestamp" (fractional seconds), "recipient",
//! "severity", "url", "message": {"headers": {"message-id", "subject"}}}}`. The event key is
//! `event-data.id`.

use chrono::{DateTime, Utc};
use serde_json::Value;

use relance_shared::event::EventKind;
use relance_shared::http::ApiError;

use super::{epoch, json, optional, required, Draft, Mapped};

pub const PROVIDER: &str = "mailgun";

/// The body's `signature` object.
pub struct Signature {
    pub timestamp: String,
    pub token: String,
    pub signature: String,
}

/// Reads the signature object (the body must be JSON to carry it).
pub fn signature(body: &[u8]) -> Result<(Value, Signature), ApiError> {
    let value = json(body)?;
    let signature = Signature {
        timestamp: required(&value, "/signature/timestamp", "signature.timestamp")?.to_owned(),
        token: required(&value, "/signature/token", "signature.token")?.to_owned(),
        signature: required(&value, "/signature/signature", "signature.signature")?.to_owned(),
    };
    Ok((value, signature))
}

pub fn parse(value: &Value, received_at: DateTime<Utc>) -> Result<Vec<Mapped>, ApiError> {
    let name = required(value, "/event-data/event", "event-data.event")?;
    // Mailgun names the bot that fetched a pixel or followed a link (`apple` for Apple Mail
    // Privacy Protection, `gmail`, `generic` scanners); empty when it saw a person.
    let bot = optional(value, "/event-data/client-info/bot").is_some();
    if name == "clicked" && bot {
        // A scanner following links is not engagement, and a click has no machine flag.
        return Ok(vec![Mapped::Ignored("clicked.bot".into())]);
    }
    let kind = match name {
        "accepted" => EventKind::Sent,
        "delivered" => EventKind::Delivered,
        "opened" => EventKind::Opened,
        "clicked" => EventKind::Clicked,
        "complained" => EventKind::Complained,
        "unsubscribed" => EventKind::Unsubscribed,
        "failed" => match optional(value, "/event-data/severity") {
            Some("permanent") => EventKind::Bounced,
            _ => return Ok(vec![Mapped::Ignored("failed.temporary".into())]),
        },
        other => return Ok(vec![Mapped::Ignored(other.to_owned())]),
    };
    let field = "event-data.message.headers.message-id";
    let raw_id = required(value, "/event-data/message/headers/message-id", field)?;
    // `<id@host>` as in the header: an id of brackets and spaces only names no message.
    if !raw_id
        .chars()
        .any(|c| !c.is_whitespace() && c != '<' && c != '>')
    {
        return Err(super::invalid(field, "required"));
    }
    let external_id = raw_id.trim().trim_matches(|c| c == '<' || c == '>');
    Ok(vec![Draft {
        provider: PROVIDER,
        person_external_id: optional(value, "/event-data/user-variables/person_external_id"),
        external_id,
        kind,
        occurred_at: epoch(value, "/event-data/timestamp", "event-data.timestamp")?,
        event_id: Some(required(value, "/event-data/id", "event-data.id")?.to_owned()),
        recipient: optional(value, "/event-data/recipient"),
        subject: optional(value, "/event-data/message/headers/subject"),
        url: optional(value, "/event-data/url"),
        machine_open: kind == EventKind::Opened && bot,
    }
    .build(received_at)])
}
