//! The normalized email event: what the gateway publishes on `EMAIL_EVENTS` and scoring reads.
//! One JSON object per message, `schema: 1`, fields as docs/architecture.md's messaging contract lists them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the wire format; a consumer refuses (DLQs) a message of a schema it does not know.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Sent,
    Delivered,
    Opened,
    Clicked,
    Bounced,
    Complained,
    Unsubscribed,
}

impl EventKind {
    pub const ALL: [EventKind; 7] = [
        EventKind::Sent,
        EventKind::Delivered,
        EventKind::Opened,
        EventKind::Clicked,
        EventKind::Bounced,
        EventKind::Complained,
        EventKind::Unsubscribed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Sent => "sent",
            EventKind::Delivered => "delivered",
            EventKind::Opened => "opened",
            EventKind::Clicked => "clicked",
            EventKind::Bounced => "bounced",
            EventKind::Complained => "complained",
            EventKind::Unsubscribed => "unsubscribed",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event `{0}`; expected one of sent, delivered, opened, clicked, bounced, complained, unsubscribed")]
pub struct UnknownEventKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownEventKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.to_owned()))
    }
}

/// The name under which a sender passes the CRM's person id through a provider: a Resend tag,
/// a SendGrid custom arg, a Mailgun user variable, a Postmark metadata key.
pub const PERSON_EXTERNAL_ID_KEY: &str = "person_external_id";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailEvent {
    pub schema: u32,
    /// Idempotency key: the provider's stable event id, else [`digest_event_key`]. Also the
    /// `Nats-Msg-Id` of the message.
    pub event_key: String,
    pub provider: String,
    /// The provider's message id: every event of one sent email shares it.
    pub external_id: String,
    pub event: EventKind,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<i64>,
    /// The CRM's id of the recipient (the directory's `external_id`), when the sender passed it
    /// through the provider (tags, custom args, variables, metadata named
    /// [`PERSON_EXTERNAL_ID_KEY`]). Matched before the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// Cleaned as it is read ([`clean_subject`]): it becomes an interaction's title.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "clean_subject_field"
    )]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An open made by a machine (privacy prefetch, security scanner): recorded on the send,
    /// never scored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub machine_open: bool,
}

/// The most characters of a subject kept: `Email ouvert : <subject>`, the title of the
/// interaction a first open makes, then stays within a title's 500.
pub const MAX_SUBJECT_CHARS: usize = 480;

/// A provider's subject as a title may hold it (the API's rules for titles): control
/// characters (CR, LF, tabs…) become spaces, runs of spaces one, trimmed, at most
/// [`MAX_SUBJECT_CHARS`]; blank is none.
pub fn clean_subject(raw: &str) -> Option<String> {
    let mut clean = String::with_capacity(raw.len().min(4 * MAX_SUBJECT_CHARS));
    let mut chars = 0;
    for word in raw
        .split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        for c in (!clean.is_empty())
            .then_some(' ')
            .into_iter()
            .chain(word.chars())
        {
            if chars == MAX_SUBJECT_CHARS {
                let kept = clean.trim_end().len();
                clean.truncate(kept);
                return Some(clean);
            }
            clean.push(c);
            chars += 1;
        }
    }
    (!clean.is_empty()).then_some(clean)
}

fn clean_subject_field<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let raw: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    Ok(raw.as_deref().and_then(clean_subject))
}

/// The event key when the provider has no id that is stable across its retries: a digest of
/// (provider, external_id, event, occurred_at). `occurred_at` is taken at microsecond precision
/// in UTC, so the same instant written with another offset or more digits gives the same key.
/// Fields are length-prefixed so no two different tuples can hash the same input.
/// The event key of an event the provider (or the caller) gave an id: `<provider>-<id>`, or,
/// for an id that cannot be a NATS header value (a control character, e.g. a line break) or is
/// longer than 200 characters, `<provider>-id-<digest of the id>`. The key is the message's
/// `Nats-Msg-Id`; a signed provider payload must not be able to break its publication.
pub fn provided_event_key(provider: &str, id: &str) -> String {
    if id.chars().count() <= 200 && !id.chars().any(char::is_control) {
        return format!("{provider}-{id}");
    }
    let digest = Sha256::digest(id.as_bytes());
    format!("{provider}-id-{}", hex::encode(&digest[..16]))
}

pub fn digest_event_key(
    provider: &str,
    external_id: &str,
    event: EventKind,
    occurred_at: DateTime<Utc>,
) -> String {
    let when = occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let mut hasher = Sha256::new();
    for part in [provider, external_id, event.as_str(), when.as_str()] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    format!("{provider}-{}", hex::encode(&hasher.finalize()[..16]))
}

/// Providers name NATS subjects, so they must be one plain subject token.
pub fn is_valid_provider(provider: &str) -> bool {
    (1..=50).contains(&provider.len())
        && provider
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_provided_id_that_cannot_be_a_header_is_digested() {
        assert_eq!(provided_event_key("sendgrid", "abc"), "sendgrid-abc");
        for id in ["a\r\nb", "\u{7f}", &"x".repeat(201)] {
            let key = provided_event_key("sendgrid", id);
            assert!(key.starts_with("sendgrid-id-"), "{key}");
            assert!(!key.chars().any(char::is_control));
            assert_eq!(key, provided_event_key("sendgrid", id), "stable");
        }
    }

    #[test]
    fn kinds_round_trip_through_strings() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>().unwrap(), kind);
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert!("open".parse::<EventKind>().is_err());
    }

    #[test]
    fn digest_ignores_the_offset_and_sub_microsecond_noise() {
        let a = DateTime::parse_from_rfc3339("2026-11-20T10:00:00.123456+02:00")
            .unwrap()
            .with_timezone(&Utc);
        let b = DateTime::parse_from_rfc3339("2026-11-20T08:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            digest_event_key("resend", "m1", EventKind::Opened, a),
            digest_event_key("resend", "m1", EventKind::Opened, b)
        );
        assert_ne!(
            digest_event_key("resend", "m1", EventKind::Opened, a),
            digest_event_key("resend", "m1", EventKind::Clicked, a)
        );
        // Length prefixes: moving a character between fields changes the key.
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_ne!(
            digest_event_key("ab", "c", EventKind::Sent, t),
            digest_event_key("a", "bc", EventKind::Sent, t)
        );
    }

    #[test]
    fn wire_format_is_stable() {
        let t = Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap();
        let event = EmailEvent {
            schema: SCHEMA_VERSION,
            event_key: "k".into(),
            provider: "resend".into(),
            external_id: "m1".into(),
            event: EventKind::Opened,
            occurred_at: t,
            received_at: t,
            person_id: Some(7),
            organisation_id: None,
            person_external_id: None,
            recipient: None,
            subject: None,
            url: None,
            machine_open: false,
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({
                "schema": 1, "event_key": "k", "provider": "resend", "external_id": "m1",
                "event": "opened", "occurred_at": "2026-11-20T08:00:00Z",
                "received_at": "2026-11-20T08:00:00Z", "person_id": 7
            })
        );
    }

    #[test]
    fn a_subject_is_read_as_a_title_may_hold_it() {
        assert_eq!(
            clean_subject("Devis\r\nBcc: x@y.z\tok  "),
            Some("Devis Bcc: x@y.z ok".into())
        );
        assert_eq!(clean_subject(" \n\u{7f} "), None);
        let long = clean_subject(&"é ".repeat(1000)).unwrap();
        assert_eq!(
            long.chars().count(),
            MAX_SUBJECT_CHARS - 1,
            "no trailing space"
        );
        let json = r#"{"subject": "Re:\r\nrelance"}"#;
        #[derive(serde::Deserialize)]
        struct Only {
            #[serde(default, deserialize_with = "clean_subject_field")]
            subject: Option<String>,
        }
        let only: Only = serde_json::from_str(json).unwrap();
        assert_eq!(only.subject.as_deref(), Some("Re: relance"));
    }

    #[test]
    fn provider_names_are_subject_tokens() {
        assert!(is_valid_provider("resend"));
        assert!(is_valid_provider("my-esp_2"));
        assert!(!is_valid_provider(""));
        assert!(!is_valid_provider("a.b"));
        assert!(!is_valid_provider("a*"));
        assert!(!is_valid_provider("Resend"));
        assert!(!is_valid_provider(&"a".repeat(51)));
    }
}
