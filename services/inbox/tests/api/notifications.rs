//! The caller's notifications: unread first, marking read, nobody else's.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn notifications_list_unread_first_and_mark_read_once() {
    let inbox = TestInbox::spawn(at("2026-06-10T12:00:00Z")).await;
    let id = inbox
        .add(
            "Rappeler Jeanne",
            "todo",
            Some(ALICE),
            Some("2026-06-09T08:00:00Z"),
            "2026-06-01T00:00:00Z",
        )
        .await;
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO notifications (user_id, kind, interaction_id, title, due_at, created_at, read_at) VALUES \
         (1, 'interaction_overdue', $1, 'old, read', '2026-06-01T08:00:00Z', '2026-06-01T08:00:00Z', '2026-06-01T09:00:00Z'), \
         (1, 'interaction_overdue', $1, 'older unread', '2026-06-02T08:00:00Z', '2026-06-02T08:00:00Z', NULL), \
         (1, 'interaction_overdue', $1, 'newest unread', '2026-06-09T08:00:00Z', '2026-06-09T08:00:00Z', NULL), \
         (2, 'interaction_overdue', $1, 'bruno''s', '2026-06-03T08:00:00Z', '2026-06-03T08:00:00Z', NULL) \
         RETURNING id",
    )
    .bind(id)
    .fetch_all(&inbox.db.pool)
    .await
    .unwrap();
    let list = inbox.get("/api/v1/notifications", Some(ALICE)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["unread"], 2);
    assert_eq!(
        titles(&list.body),
        ["newest unread", "older unread", "old, read"]
    );

    let read = inbox
        .send(
            "PATCH",
            &format!("/api/v1/notifications/{}/read", ids[1]),
            Some(ALICE),
            json!({}),
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert!(!read.body["read_at"].is_null());
    let again = inbox
        .send(
            "PATCH",
            &format!("/api/v1/notifications/{}/read", ids[1]),
            Some(ALICE),
            json!({}),
        )
        .await;
    assert_eq!(
        again.body["read_at"], read.body["read_at"],
        "the first read time stays"
    );
    let list = inbox
        .get("/api/v1/notifications?limit=1", Some(ALICE))
        .await;
    assert_eq!(list.body["unread"], 1);
    assert_eq!(titles(&list.body), ["newest unread"]);

    let theirs = inbox
        .send(
            "PATCH",
            &format!("/api/v1/notifications/{}/read", ids[3]),
            Some(ALICE),
            json!({}),
        )
        .await;
    assert_eq!(theirs.status, 404);
    assert_eq!(
        bad_fields(
            &inbox
                .get("/api/v1/notifications?limit=0", Some(ALICE))
                .await
        ),
        ["limit"]
    );
}
