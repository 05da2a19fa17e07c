//! Who changed what: each change written with its actor in the statement that makes it, read
//! back newest first (scoped like the interaction), and the assignee told when someone else
//! changes or assigns their item.

use serde_json::{json, Value};

use crate::helpers::*;

const NOW: &str = "2026-11-24T10:00:00Z";

async fn history(inbox: &TestInbox, id: i64, user: i64) -> Vec<Value> {
    let reply = inbox
        .get(&format!("/api/v1/interactions/{id}/history"), Some(user))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body.as_array().unwrap().clone()
}

/// The user's notifications, once the relay has told every change (it does so off the
/// writer's transaction).
async fn notifications(inbox: &TestInbox, user: i64) -> Vec<(String, String)> {
    inbox.relay_settled().await;
    sqlx::query_as(
        "SELECT kind, payload->>'by_name' FROM notifications WHERE user_id = $1 ORDER BY id",
    )
    .bind(user)
    .fetch_all(inbox.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn every_change_is_recorded_with_its_actor_and_the_assignee_is_told_once() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let created = inbox
        .send(
            "POST",
            "/api/v1/interactions",
            Some(ALICE),
            json!({"type": "call", "title": "Rappeler Marc", "assignee_id": BRUNO}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    let path = |what: &str| format!("/api/v1/interactions/{id}{what}");
    for (what, body) in [
        ("/status", json!({"status": "in_progress"})),
        (
            "/next-action",
            json!({"next_action_at": "2026-11-25T09:00:00+01:00"}),
        ),
        (
            "",
            json!({"title": "Rappeler Marc Leroy", "type": "meeting"}),
        ),
    ] {
        let reply = inbox.send("PATCH", &path(what), Some(ALICE), body).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    // Bruno's own change tells nobody.
    let reply = inbox
        .send(
            "PATCH",
            &path("/status"),
            Some(BRUNO),
            json!({"status": "done"}),
        )
        .await;
    assert_eq!(reply.status, 200);

    let changes = history(&inbox, id, ALICE).await;
    let summary: Vec<(String, Value, Value, Value)> = changes
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_owned(),
                c["actor"]["id"].clone(),
                c["old_value"].clone(),
                c["new_value"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "status".into(),
                json!(BRUNO),
                json!("in_progress"),
                json!("done")
            ),
            ("type".into(), json!(ALICE), json!("call"), json!("meeting")),
            (
                "title".into(),
                json!(ALICE),
                json!("Rappeler Marc"),
                json!("Rappeler Marc Leroy")
            ),
            (
                "next_action_at".into(),
                json!(ALICE),
                json!(null),
                json!("2026-11-25T08:00:00+00:00")
            ),
            (
                "status".into(),
                json!(ALICE),
                json!("todo"),
                json!("in_progress")
            ),
            ("created".into(), json!(ALICE), json!(null), json!(null)),
        ]
        .map(|(f, a, o, n): (String, Value, Value, Value)| (f, a, o, n))
    );
    assert_eq!(changes[0]["actor"]["kind"], "user");
    assert_eq!(changes[1]["actor"]["name"], "Alice Martin");
    // Bruno: assigned at creation, then three changes by Alice (the edit of two fields is one).
    let told = notifications(&inbox, BRUNO).await;
    assert_eq!(
        told,
        [
            ("assigned".into(), "Alice Martin".into()),
            ("changed".into(), "Alice Martin".into()),
            ("changed".into(), "Alice Martin".into()),
            ("changed".into(), "Alice Martin".into()),
        ]
    );
    assert!(notifications(&inbox, ALICE).await.is_empty());
    // The API says who, for the web app's "Alice Martin vous a assigné « … »".
    let listed = inbox.get("/api/v1/notifications", Some(BRUNO)).await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{}", listed.text);
    assert!(
        items.iter().all(|n| n["by_name"] == "Alice Martin"),
        "{}",
        listed.text
    );
}

#[tokio::test]
async fn a_bulk_edit_and_a_change_in_sql_are_recorded_too() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let a = inbox.add("A", "todo", Some(ALICE), None, NOW).await;
    let b = inbox.add("B", "todo", Some(ALICE), None, NOW).await;
    let reply = inbox
        .send(
            "POST",
            "/api/v1/interactions/bulk",
            Some(BRUNO),
            json!({"ids": [a, b], "set": {"assignee_id": BRUNO}}),
        )
        .await;
    assert_eq!(reply.body["changed"], 2, "{}", reply.text);
    for id in [a, b] {
        let changes = history(&inbox, id, ALICE).await;
        assert_eq!(changes[0]["field"], "assignee_id");
        assert_eq!(changes[0]["actor"]["id"], BRUNO);
        assert_eq!(changes[0]["old_value"], ALICE);
    }
    // By hand, naming nobody: the system, unknown.
    sqlx::query("UPDATE crm_interactions SET status = 'done' WHERE id = $1")
        .bind(a)
        .execute(inbox.pool())
        .await
        .unwrap();
    let changes = history(&inbox, a, ALICE).await;
    assert_eq!(
        changes[0]["actor"],
        json!({"kind": "system", "name": "unknown"})
    );
    // Moving the reminder's mark is not a change anyone asked for: no history.
    let before = history(&inbox, b, ALICE).await.len();
    sqlx::query("UPDATE crm_interactions SET notified_at = now() WHERE id = $1")
        .bind(b)
        .execute(inbox.pool())
        .await
        .unwrap();
    assert_eq!(history(&inbox, b, ALICE).await.len(), before);
}
