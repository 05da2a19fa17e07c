//! Postmark webhooks: one record per request, told apart by `RecordType` (`Delivery`, `Bounce`,
//! `Open`, `Click`, `SpamComplaint`, `SubscriptionChange`), each with its own time field and
//! `MessageID`. Postmark has no event id, so the key is the digest.

use chrono::{DateTime, Utc};

use relance_shared::event::EventKind;
use relance_shared::http::ApiError;

use super::{json, optional, required, rfc3339, Draft, Mapped};

pub const PROVIDER: &str = "postmark";

pub fn parse(body: &[u8], received_at: DateTime<Utc>) -> Result<Vec<Mapped>, ApiError> {
    let value = json(body)?;
    let record = required(&value, "/RecordType", "RecordType")?;
    let (kind, time_field) = match record {
        "Delivery" => (EventKind::Delivered, "DeliveredAt"),
        "Open" => (EventKind::Opened, "ReceivedAt"),
        "Click" => (EventKind::Clicked, "ReceivedAt"),
        "SpamComplaint" => (EventKind::Complained, "BouncedAt"),
        // Only permanent failures are bounces; soft bounces, auto-replies... are not.
        "Bounce" => match optional(&value, "/Type") {
            Some("HardBounce") | Some("BadEmailAddress") => (EventKind::Bounced, "BouncedAt"),
            other => {
                return Ok(vec![Mapped::Ignored(format!(
                    "Bounce.{}",
                    other.unwrap_or("unknown")
                ))])
            }
        },
        // Suppressions caused by bounces and complaints arrive as their own records; only a
        // recipient's own unsubscribe is an unsubscribe.
        "SubscriptionChange" => {
            let suppressed = value.get("SuppressSending").and_then(|v| v.as_bool()) == Some(true);
            match optional(&value, "/SuppressionReason") {
                Some("ManualSuppression") if suppressed => (EventKind::Unsubscribed, "ChangedAt"),
                _ => return Ok(vec![Mapped::Ignored("SubscriptionChange".into())]),
            }
        }
        other => return Ok(vec![Mapped::Ignored(other.to_owned())]),
    };
    let recipient = optional(&value, "/Recipient").or_else(|| optional(&value, "/Email"));
    Ok(vec![Draft {
        provider: PROVIDER,
        person_external_id: optional(&value, "/Metadata/person_external_id"),
        external_id: required(&value, "/MessageID", "MessageID")?,
        kind,
        occurred_at: rfc3339(&value, &format!("/{time_field}"), time_field)?,
        event_id: None,
        recipient,
        subject: optional(&value, "/Subject"),
        url: optional(&value, "/OriginalLink"),
        machine_open: false,
    }
    .build(received_at)])
}
