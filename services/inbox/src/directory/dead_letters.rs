//! Purging an erased person's dead letters: the email events (`EMAIL_DLQ`) and directory
//! messages (`DIRECTORY_DLQ`) that name them, by id, CRM id or address. Erasure covers what
//! Relance keeps for replay too.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use serde_json::Value;

use relance_shared::nats::Names;

/// Who is erased.
#[derive(Debug, Clone, Copy)]
pub struct Erased<'a> {
    pub person_id: Option<i64>,
    pub external_id: &'a str,
    pub email: Option<&'a str>,
}

impl Erased<'_> {
    fn named_in(&self, payload: &Value) -> bool {
        let text = |field: &str| payload.get(field).and_then(Value::as_str);
        let same_address = |field: &str| matches!((text(field), self.email), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b));
        self.person_id
            .is_some_and(|id| payload.get("person_id").and_then(Value::as_i64) == Some(id))
            || text("person_external_id") == Some(self.external_id)
            || text("external_id") == Some(self.external_id)
            || same_address("recipient")
            || same_address("email")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("NATS: {0}")]
    Nats(#[from] async_nats::Error),
}

/// Purges the dead letters of the person with this CRM id (known or not: their CRM id alone
/// still names messages). Done before the erasure, so a failure leaves everything as it was.
pub async fn purge_person(
    pool: &sqlx::PgPool,
    js: &jetstream::Context,
    names: &Names,
    external_id: &str,
) -> Result<u64, PurgeError> {
    let person = sqlx::query!(
        "SELECT id, email FROM people WHERE external_id = $1",
        external_id
    )
    .fetch_optional(pool)
    .await?;
    let who = Erased {
        person_id: person.as_ref().map(|p| p.id),
        external_id,
        email: person.as_ref().and_then(|p| p.email.as_deref()),
    };
    Ok(purge(js, names, who).await?)
}

/// Deletes every dead letter naming `who`; returns how many.
pub async fn purge(
    js: &jetstream::Context,
    names: &Names,
    who: Erased<'_>,
) -> Result<u64, async_nats::Error> {
    let mut purged = 0;
    for stream_name in [names.email_dlq_stream(), names.directory_dlq_stream()] {
        let mut stream = js.get_stream(&stream_name).await?;
        let total = stream.info().await?.state.messages;
        if total == 0 {
            continue;
        }
        let consumer = stream
            .create_consumer(pull::Config {
                deliver_policy: jetstream::consumer::DeliverPolicy::All,
                ack_policy: jetstream::consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(60),
                ..Default::default()
            })
            .await?;
        let mut seen = 0;
        while seen < total {
            let mut batch = consumer
                .fetch()
                .max_messages(500)
                .expires(Duration::from_millis(500))
                .messages()
                .await?;
            let before = seen;
            while let Some(message) = batch.next().await {
                let message = message?;
                seen += 1;
                let payload: Value = serde_json::from_slice(&message.payload).unwrap_or_default();
                if who.named_in(&payload) {
                    stream
                        .delete_message(message.info()?.stream_sequence)
                        .await?;
                    purged += 1;
                }
            }
            if seen == before {
                break; // nothing more came: messages removed meanwhile
            }
        }
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_dead_letter_names_a_person_by_id_crm_id_or_address() {
        let who = Erased {
            person_id: Some(7),
            external_id: "crm-p-7",
            email: Some("Jeanne@Acme.test"),
        };
        assert!(who.named_in(&json!({"person_id": 7})));
        assert!(who.named_in(&json!({"person_external_id": "crm-p-7"})));
        assert!(who.named_in(&json!({"external_id": "crm-p-7", "updated_at": "x"})));
        assert!(who.named_in(&json!({"recipient": "jeanne@acme.test"})));
        assert!(who.named_in(&json!({"email": "JEANNE@acme.test"})));
        assert!(!who.named_in(&json!({"person_id": 8, "recipient": "marc@acme.test"})));
        assert!(!who.named_in(&Value::Null));
    }
}
