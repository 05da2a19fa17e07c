//! The caller's notification preferences (`/api/v1/me`) and marking every notification read.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn preferences_default_to_instant_in_the_default_zone_and_change_field_by_field() {
    let inbox = TestInbox::spawn(at("2026-06-10T12:00:00Z")).await;
    let me = inbox.get("/api/v1/me", Some(ALICE)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["full_name"], "Alice Martin");
    assert_eq!(
        me.body["preferences"],
        json!({"notify_email": "instant", "timezone": "Europe/Paris", "digest_hour": 8,
               "away_until": null, "work_days": [1, 2, 3, 4, 5], "work_start": "09:00", "work_end": "18:00"})
    );
    let changed = inbox
        .send(
            "PATCH",
            "/api/v1/me/preferences",
            Some(ALICE),
            json!({"notify_email": "daily", "digest_hour": 7}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(
        changed.body,
        json!({"notify_email": "daily", "timezone": "Europe/Paris", "digest_hour": 7,
               "away_until": null, "work_days": [1, 2, 3, 4, 5], "work_start": "09:00", "work_end": "18:00"})
    );
    let zone = inbox
        .send(
            "PATCH",
            "/api/v1/me/preferences",
            Some(ALICE),
            json!({"timezone": "America/Montreal"}),
        )
        .await;
    assert_eq!(zone.body["timezone"], "America/Montreal");
    assert_eq!(zone.body["digest_hour"], 7);
    // Someone else's preferences are untouched.
    let bruno = inbox.get("/api/v1/me", Some(BRUNO)).await;
    assert_eq!(bruno.body["preferences"]["notify_email"], "instant");
}

#[tokio::test]
async fn bad_preference_values_are_422_and_change_nothing() {
    let inbox = TestInbox::spawn(at("2026-06-10T12:00:00Z")).await;
    let before = inbox.get("/api/v1/me", Some(ALICE)).await.body;
    for (body, fields) in [
        (json!({"notify_email": "weekly"}), vec!["notify_email"]),
        (json!({"timezone": "Mars/Olympus"}), vec!["timezone"]),
        (json!({"digest_hour": 24}), vec!["digest_hour"]),
        (json!({"digest_hour": -1}), vec!["digest_hour"]),
        (json!({"digest_hour": "8"}), vec!["digest_hour"]),
        (
            json!({"notify_email": "off", "digest_hour": 99}),
            vec!["digest_hour"],
        ),
        (
            json!({"timezone": "Nowhere", "digest_hour": 30}),
            vec!["digest_hour", "timezone"],
        ),
        (json!({"colour": "blue"}), vec!["colour"]),
        (json!({}), vec!["notify_email"]),
        // A preference always has a value, and a zone is spelt as the tz database does.
        (
            json!({"timezone": null, "digest_hour": 9}),
            vec!["timezone"],
        ),
        (json!({"timezone": " Europe/Paris"}), vec!["timezone"]),
        (json!({"work_days": []}), vec!["work_days"]),
        (json!({"work_days": [0, 8]}), vec!["work_days[0]"]),
        (json!({"work_start": "9:00"}), vec!["work_start"]),
        (json!({"work_end": "24:00"}), vec!["work_end"]),
        (json!({"away_until": "2026-06-20"}), vec!["away_until"]),
        // A day ending before it starts, with the start kept (09:00) or given.
        (json!({"work_end": "08:00"}), vec!["work_end"]),
        (
            json!({"work_start": "17:00", "work_end": "10:00"}),
            vec!["work_end"],
        ),
        (json!([9]), vec!["(body)"]),
    ] {
        let reply = inbox
            .send("PATCH", "/api/v1/me/preferences", Some(ALICE), body.clone())
            .await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.text);
        let mut named = bad_fields(&reply);
        named.sort();
        assert_eq!(named, fields, "{body}");
    }
    assert_eq!(inbox.get("/api/v1/me", Some(ALICE)).await.body, before);
    let unauthenticated = inbox
        .send(
            "PATCH",
            "/api/v1/me/preferences",
            None,
            json!({"digest_hour": 9}),
        )
        .await;
    assert_eq!(unauthenticated.status, 401);
}

/// Availability (speed to lead): away until a date, which days and hours; a reassigned hot
/// lead's deadline then counts only that working time.
#[tokio::test]
async fn availability_is_set_cleared_and_counted_in_a_reassigned_deadline() {
    let inbox = TestInbox::spawn(at("2026-11-24T10:00:00Z")).await;
    let set = inbox
        .send(
            "PATCH",
            "/api/v1/me/preferences",
            Some(ALICE),
            json!({"away_until": "2026-11-25T14:00:00+01:00", "work_days": [3, 1, 3],
                   "work_start": "14:00"}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.body["away_until"], "2026-11-25T13:00:00Z");
    assert_eq!(set.body["work_days"], json!([1, 3]));
    assert_eq!(set.body["work_start"], "14:00");
    assert_eq!(set.body["work_end"], "18:00");
    // A hot lead given to Alice on Tuesday 11:00 Paris: back Wednesday 14:00, works 14:00-18:00:
    // the hour is Wednesday 14:00-15:00 Paris.
    let id = inbox
        .add(
            "Lead chaud : Jeanne",
            "todo",
            Some(BRUNO),
            None,
            "2026-11-24T10:00:00Z",
        )
        .await;
    sqlx::query("UPDATE crm_interactions SET sla_due_at = now() WHERE id = $1")
        .bind(id)
        .execute(inbox.pool())
        .await
        .unwrap();
    let given = inbox
        .send(
            "PATCH",
            &format!("/api/v1/interactions/{id}/assignee"),
            Some(BRUNO),
            json!({"assignee_id": ALICE}),
        )
        .await;
    assert_eq!(
        given.body["sla_due_at"], "2026-11-25T14:00:00Z",
        "{}",
        given.text
    );
    let back = inbox
        .send(
            "PATCH",
            "/api/v1/me/preferences",
            Some(ALICE),
            json!({"away_until": null}),
        )
        .await;
    assert_eq!(back.body["away_until"], json!(null), "{}", back.text);
    assert_eq!(back.body["work_days"], json!([1, 3]), "the rest kept");
}

#[tokio::test]
async fn read_all_marks_every_unread_notification_of_the_caller_only() {
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
    sqlx::query(
        "INSERT INTO notifications (user_id, kind, interaction_id, title, due_at, read_at) VALUES \
         (1, 'interaction_overdue', $1, 'a', '2026-06-01T08:00:00Z', '2026-06-01T09:00:00Z'), \
         (1, 'interaction_overdue', $1, 'b', '2026-06-02T08:00:00Z', NULL), \
         (1, 'interaction_overdue', $1, 'c', '2026-06-03T08:00:00Z', NULL), \
         (2, 'interaction_overdue', $1, 'd', '2026-06-04T08:00:00Z', NULL)",
    )
    .bind(id)
    .execute(inbox.pool())
    .await
    .unwrap();
    let first_read: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT read_at FROM notifications WHERE title = 'a'")
            .fetch_one(inbox.pool())
            .await
            .unwrap();
    let reply = inbox
        .send(
            "POST",
            "/api/v1/notifications/read-all",
            Some(ALICE),
            json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, json!({"marked": 2}));
    assert_eq!(
        inbox.get("/api/v1/notifications", Some(ALICE)).await.body["unread"],
        0
    );
    assert_eq!(
        inbox.get("/api/v1/notifications", Some(BRUNO)).await.body["unread"],
        1
    );
    let kept: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT read_at FROM notifications WHERE title = 'a'")
            .fetch_one(inbox.pool())
            .await
            .unwrap();
    assert_eq!(kept, first_read, "an earlier read time stays");
    let again = inbox
        .send(
            "POST",
            "/api/v1/notifications/read-all",
            Some(ALICE),
            json!({}),
        )
        .await;
    assert_eq!(again.body, json!({"marked": 0}));
}
