//! The wire messages besides the email event ([`crate::event::EmailEvent`]): typed and
//! versioned here, once, for the services that write them and those that read them. Each
//! carries `schema`; a reader refuses a schema it does not know rather than misread it. The
//! tests below pin their JSON: a change to them is a change to the contract.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// On `notifications.user.<user_id>` (stream `NOTIFICATIONS`), written by the reminder,
/// `Nats-Msg-Id` = `id`; read by the inbox's live stream (forwarded to the browser as is) and
/// by mailers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub schema: u32,
    /// The notification's id in the database: a reader drops a copy it has already seen.
    pub id: i64,
    pub user_id: i64,
    /// `interaction_overdue`: a next action fell due.
    pub kind: String,
    pub interaction_id: Option<i64>,
    pub title: String,
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Notification {
    pub const SCHEMA: u32 = 1;
}

/// What changed about an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Created,
    Updated,
    Deleted,
}

/// On `interactions.changed.<interaction_id>` (stream `INTERACTIONS`), written by the inbox's
/// relay from the rows the capture trigger wrote; small on purpose: readers fetch the current
/// state of the interaction when they need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionChanged {
    pub schema: u32,
    /// The captured row's id; with `changed_at`, the message's `Nats-Msg-Id`
    /// (`interaction-change-<id>-<µs>`), so a republish after a crash is dropped as a duplicate.
    pub change_id: i64,
    pub interaction_id: i64,
    pub change: Change,
    pub changed_at: DateTime<Utc>,
    /// The assignee before an update or deletion (absent: none, or a creation), so a viewer
    /// whose scope held it learns the item left (the live stream's `removed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_assignee_id: Option<i64>,
}

impl InteractionChanged {
    pub const SCHEMA: u32 = 1;

    /// The message id JetStream deduplicates on.
    pub fn message_id(&self) -> String {
        format!(
            "interaction-change-{}-{}",
            self.change_id,
            self.changed_at.timestamp_micros()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_notification_is_pinned() {
        let notification = Notification {
            schema: Notification::SCHEMA,
            id: 7,
            user_id: 2,
            kind: "interaction_overdue".into(),
            interaction_id: Some(41),
            title: "Rappeler Jeanne".into(),
            due_at: Some(at("2026-11-24T09:30:00Z")),
            created_at: at("2026-11-24T09:35:00.123456Z"),
        };
        let pinned = json!({
            "schema": 1, "id": 7, "user_id": 2, "kind": "interaction_overdue",
            "interaction_id": 41, "title": "Rappeler Jeanne",
            "due_at": "2026-11-24T09:30:00Z", "created_at": "2026-11-24T09:35:00.123456Z"
        });
        assert_eq!(serde_json::to_value(&notification).unwrap(), pinned);
        assert_eq!(
            serde_json::from_value::<Notification>(pinned).unwrap(),
            notification
        );
    }

    #[test]
    fn an_interaction_change_is_pinned() {
        let change = InteractionChanged {
            schema: InteractionChanged::SCHEMA,
            change_id: 12,
            interaction_id: 41,
            change: Change::Updated,
            changed_at: at("2026-11-24T09:35:00.000001Z"),
            previous_assignee_id: None,
        };
        let pinned = json!({
            "schema": 1, "change_id": 12, "interaction_id": 41, "change": "updated",
            "changed_at": "2026-11-24T09:35:00.000001Z"
        });
        assert_eq!(serde_json::to_value(&change).unwrap(), pinned);
        assert_eq!(
            serde_json::from_value::<InteractionChanged>(pinned).unwrap(),
            change
        );
        assert_eq!(
            change.message_id(),
            "interaction-change-12-1795512900000001"
        );
        for (text, expected) in [
            ("created", Change::Created),
            ("updated", Change::Updated),
            ("deleted", Change::Deleted),
        ] {
            assert_eq!(
                serde_json::from_value::<Change>(json!(text)).unwrap(),
                expected
            );
        }
    }
}
