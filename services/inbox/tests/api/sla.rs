//! The first-touch SLA on the inbox's side: the assignee's own change is the first touch
//! (another user's is not), and a reassignment restarts the clock in the new assignee's
//! working time.

use serde_json::json;

use crate::helpers::*;

const NOW: &str = "2026-11-24T10:00:00Z";

#[tokio::test]
async fn the_assignees_own_change_touches_and_a_reassignment_restarts_the_clock() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let id = inbox
        .add("Lead chaud : Jeanne", "todo", Some(BRUNO), None, NOW)
        .await;
    sqlx::query("UPDATE crm_interactions SET sla_due_at = $1 WHERE id = $2")
        .bind(at("2026-11-24T10:30:00Z"))
        .bind(id)
        .execute(inbox.pool())
        .await
        .unwrap();
    let path = |what: &str| format!("/api/v1/interactions/{id}{what}");
    // Alice's change is not Bruno's first touch.
    let reply = inbox
        .send(
            "PATCH",
            &path("/status"),
            Some(ALICE),
            json!({"status": "in_progress"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["first_touched_at"], json!(null));
    assert_eq!(reply.body["sla_due_at"], json!("2026-11-24T10:30:00Z"));
    // Bruno's is.
    let reply = inbox
        .send(
            "PATCH",
            &path("/next-action"),
            Some(BRUNO),
            json!({"next_action_at": "2026-11-25T09:00:00Z"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.body["first_touched_at"].is_string(), "{}", reply.text);
    // Given to Alice: her clock, from now, in her working time (Tuesday 11:00 in Paris, the
    // default zone and hours: one hour later), untouched again.
    let reply = inbox
        .send(
            "PATCH",
            &path("/assignee"),
            Some(BRUNO),
            json!({"assignee_id": ALICE}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["sla_due_at"], json!("2026-11-24T11:00:00Z"));
    assert_eq!(reply.body["first_touched_at"], json!(null));
    // An interaction without a deadline gets none by being reassigned.
    let plain = inbox.add("Rappeler", "todo", Some(BRUNO), None, NOW).await;
    let reply = inbox
        .send(
            "PATCH",
            &format!("/api/v1/interactions/{plain}/assignee"),
            Some(BRUNO),
            json!({"assignee_id": ALICE}),
        )
        .await;
    assert_eq!(reply.body["sla_due_at"], json!(null), "{}", reply.text);
}
