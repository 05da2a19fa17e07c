//! Inbox filters against a pinned clock, table-driven; time-zone and DST edges; stats.

use serde_json::json;

use crate::helpers::*;

/// 23:30 in Paris (UTC+2) on 10 June 2026.
const NOW: &str = "2026-06-10T21:30:00Z";

async fn fixture() -> TestInbox {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let c = "2026-06-05T09:00:00Z";
    for (title, status, assignee, next, created) in [
        (
            "overdue-yesterday",
            "todo",
            Some(ALICE),
            Some("2026-06-09T10:00:00Z"),
            c,
        ),
        (
            "overdue-today",
            "todo",
            Some(ALICE),
            Some("2026-06-10T08:00:00Z"),
            c,
        ),
        // 23:45 in Paris: still today there, and today in UTC.
        (
            "in-progress-soon",
            "in_progress",
            None,
            Some("2026-06-10T21:45:00Z"),
            c,
        ),
        // 00:15 on the 11th in Paris, 22:15 on the 10th in UTC.
        (
            "later-today-utc",
            "todo",
            Some(BRUNO),
            Some("2026-06-10T22:15:00Z"),
            c,
        ),
        (
            "in-5-days",
            "todo",
            Some(BRUNO),
            Some("2026-06-15T09:00:00Z"),
            c,
        ),
        ("in-8-days", "todo", None, Some("2026-06-18T09:00:00Z"), c),
        (
            "tie-a",
            "todo",
            Some(BRUNO),
            Some("2026-06-20T09:00:00Z"),
            "2026-06-01T00:00:00Z",
        ),
        (
            "tie-b",
            "todo",
            Some(BRUNO),
            Some("2026-06-20T09:00:00Z"),
            "2026-06-02T00:00:00Z",
        ),
        (
            "tie-c",
            "todo",
            Some(BRUNO),
            Some("2026-06-20T09:00:00Z"),
            "2026-06-02T00:00:00Z",
        ),
        (
            "no-next-action",
            "todo",
            Some(ALICE),
            None,
            "2026-06-05T00:00:00Z",
        ),
        (
            "no-next-older",
            "in_progress",
            None,
            None,
            "2026-06-01T00:00:00Z",
        ),
        (
            "done-yesterday",
            "done",
            Some(ALICE),
            Some("2026-06-09T12:00:00Z"),
            c,
        ),
        ("done-undated", "done", Some(BRUNO), None, c),
    ] {
        inbox.add(title, status, assignee, next, created).await;
    }
    inbox
}

#[tokio::test]
async fn each_filter_selects_exactly_the_rows_it_names() {
    let inbox = fixture().await;
    let everyone_open = [
        "overdue-yesterday",
        "overdue-today",
        "in-progress-soon",
        "later-today-utc",
        "in-5-days",
        "in-8-days",
        "tie-c",
        "tie-b",
        "tie-a",
        "no-next-action",
        "no-next-older",
    ];
    let cases: &[(&str, &[&str])] = &[
        ("", &everyone_open),
        ("due=all", &everyone_open),
        ("due=overdue", &["overdue-yesterday", "overdue-today"]),
        ("due=today", &["overdue-today", "in-progress-soon"]),
        (
            "due=today&tz=Europe/Paris",
            &["overdue-today", "in-progress-soon"],
        ),
        (
            "due=today&tz=UTC",
            &["overdue-today", "in-progress-soon", "later-today-utc"],
        ),
        // UTC+14: it is 11:30 on the 11th there.
        (
            "due=today&tz=Pacific/Kiritimati",
            &["in-progress-soon", "later-today-utc"],
        ),
        (
            "due=week",
            &[
                "overdue-today",
                "in-progress-soon",
                "later-today-utc",
                "in-5-days",
            ],
        ),
        (
            "due=week&tz=UTC",
            &[
                "overdue-today",
                "in-progress-soon",
                "later-today-utc",
                "in-5-days",
            ],
        ),
        (
            "assignee=me",
            &["overdue-yesterday", "overdue-today", "no-next-action"],
        ),
        (
            "assignee=me&due=overdue",
            &["overdue-yesterday", "overdue-today"],
        ),
        ("assignee=me&due=today", &["overdue-today"]),
        (
            "assignee=2",
            &["later-today-utc", "in-5-days", "tie-c", "tie-b", "tie-a"],
        ),
        (
            "assignee=unassigned",
            &["in-progress-soon", "in-8-days", "no-next-older"],
        ),
        ("assignee=99", &[]),
        ("status=in_progress", &["in-progress-soon", "no-next-older"]),
        ("status=done", &["done-yesterday", "done-undated"]),
        ("status=done&due=overdue", &["done-yesterday"]),
        ("status=done&assignee=me", &["done-yesterday"]),
        ("status=todo&assignee=unassigned&due=week", &[]),
    ];
    for (query, expected) in cases {
        let reply = inbox
            .get(&format!("/api/v1/interactions/inbox?{query}"), Some(ALICE))
            .await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.text);
        assert_eq!(titles(&reply.body), *expected, "{query}");
        assert_eq!(reply.body["total"], expected.len(), "{query}");
        assert_eq!(reply.body["limit"], 50, "{query}");
        assert!(reply.body["cursor"].is_null(), "{query}");
    }
}

#[tokio::test]
async fn a_dst_change_day_is_23_hours_long() {
    // 23:30 in Paris on 29 March 2026, the day clocks go forward (UTC+1 to UTC+2).
    let inbox = TestInbox::spawn(at("2026-03-29T21:30:00Z")).await;
    let c = "2026-03-01T00:00:00Z";
    for (title, next) in [
        ("28th-23:59", "2026-03-28T22:59:00Z"),
        ("29th-00:00", "2026-03-28T23:00:00Z"),
        ("29th-23:59", "2026-03-29T21:59:00Z"),
        ("30th-00:00", "2026-03-29T22:00:00Z"),
    ] {
        inbox.add(title, "todo", None, Some(next), c).await;
    }
    assert_eq!(
        inbox.titles("due=today&tz=Europe/Paris", ALICE).await,
        ["29th-00:00", "29th-23:59"]
    );
    assert_eq!(
        inbox.titles("due=today&tz=UTC", ALICE).await,
        ["29th-23:59", "30th-00:00"]
    );
    assert_eq!(
        inbox.titles("due=overdue", ALICE).await,
        ["28th-23:59", "29th-00:00"]
    );
}

#[tokio::test]
async fn stats_count_every_status_over_the_same_filters() {
    let inbox = fixture().await;
    for (query, expected) in [
        (
            "",
            json!({"total": 13, "todo": 9, "in_progress": 2, "done": 2, "total_is_lower_bound": false}),
        ),
        (
            "assignee=me",
            json!({"total": 4, "todo": 3, "in_progress": 0, "done": 1, "total_is_lower_bound": false}),
        ),
        (
            "due=overdue",
            json!({"total": 3, "todo": 2, "in_progress": 0, "done": 1, "total_is_lower_bound": false}),
        ),
        (
            "due=today&tz=UTC",
            json!({"total": 3, "todo": 2, "in_progress": 1, "done": 0, "total_is_lower_bound": false}),
        ),
        (
            "assignee=unassigned",
            json!({"total": 3, "todo": 1, "in_progress": 2, "done": 0, "total_is_lower_bound": false}),
        ),
    ] {
        let reply = inbox
            .get(
                &format!("/api/v1/interactions/inbox/stats?{query}"),
                Some(ALICE),
            )
            .await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.text);
        assert_eq!(reply.body, expected, "{query}");
    }
}

#[tokio::test]
async fn bad_parameters_are_each_named() {
    let inbox = fixture().await;
    for (query, fields) in [
        ("tz=Mars/Olympus", vec!["tz"]),
        ("limit=0", vec!["limit"]),
        ("limit=201", vec!["limit"]),
        ("limit=ten", vec!["limit"]),
        ("due=tomorrow&status=closed", vec!["status", "due"]),
        ("assignee=someone", vec!["assignee"]),
        ("assignee=-4", vec!["assignee"]),
        ("cursor=not-a-cursor", vec!["cursor"]),
        ("status=todo&status=done", vec!["(query)"]),
    ] {
        let reply = inbox
            .get(&format!("/api/v1/interactions/inbox?{query}"), Some(ALICE))
            .await;
        let mut named = bad_fields(&reply);
        named.sort();
        let mut fields = fields;
        fields.sort();
        assert_eq!(named, fields, "{query}");
    }
    let reply = inbox
        .get("/api/v1/interactions/inbox/stats?tz=Nowhere", Some(ALICE))
        .await;
    assert_eq!(bad_fields(&reply), ["tz"]);
    assert_eq!(inbox.titles("limit=200&due=overdue", ALICE).await.len(), 2);
}

/// Stats for one due window, counted row by row.
/// Everyone's stats within `due`, of `types` (comma-separated; None: every type), counted row
/// by row.
async fn exact(inbox: &TestInbox, due: &str, types: Option<&str>) -> (i64, i64, i64, i64) {
    let (from, until) = match due {
        "overdue" => (None, Some(at(NOW))),
        "today" => (
            Some(at("2026-06-09T22:00:00Z")),
            Some(at("2026-06-10T22:00:00Z")),
        ),
        "week" => (
            Some(at("2026-06-09T22:00:00Z")),
            Some(at("2026-06-16T22:00:00Z")),
        ),
        _ => (None, None),
    };
    sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE status = 'todo'), \
         count(*) FILTER (WHERE status = 'in_progress'), count(*) FILTER (WHERE status = 'done') \
         FROM crm_interactions WHERE ($1::timestamptz IS NULL OR next_action_at >= $1) \
         AND ($2::timestamptz IS NULL OR next_action_at < $2) \
         AND ($3::text IS NULL OR type::text = ANY(string_to_array($3, ',')))",
    )
    .bind(from)
    .bind(until)
    .bind(types)
    .fetch_one(&inbox.db.pool)
    .await
    .unwrap()
}

/// One assignee's stats (None: the unassigned), counted row by row.
async fn exact_for(inbox: &TestInbox, assignee: Option<i64>) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE status = 'todo'), \
         count(*) FILTER (WHERE status = 'in_progress'), count(*) FILTER (WHERE status = 'done') \
         FROM crm_interactions WHERE assignee_id IS NOT DISTINCT FROM $1",
    )
    .bind(assignee)
    .fetch_one(&inbox.db.pool)
    .await
    .unwrap()
}

async fn check_counters(inbox: &TestInbox, label: &str) {
    // Per assignee over every day: from their counters (docs/schema.sql).
    for (param, assignee) in [
        (ALICE.to_string(), Some(ALICE)),
        (BRUNO.to_string(), Some(BRUNO)),
        ("unassigned".to_owned(), None),
    ] {
        let (total, todo, in_progress, done) = exact_for(inbox, assignee).await;
        let reply = inbox
            .get(
                &format!("/api/v1/interactions/inbox/stats?assignee={param}&due=all"),
                Some(ALICE),
            )
            .await;
        assert_eq!(
            reply.body,
            json!({"total": total, "todo": todo, "in_progress": in_progress, "done": done, "total_is_lower_bound": false}),
            "{label}, assignee={param}"
        );
        let open = inbox
            .get(
                &format!("/api/v1/interactions/inbox?assignee={param}&due=all"),
                Some(ALICE),
            )
            .await;
        assert_eq!(
            open.body["total"],
            todo + in_progress,
            "{label}, assignee={param}"
        );
    }
    // Everyone, every type or some (the per-type counters).
    for due in ["all", "overdue", "today", "week"] {
        for types in [None, Some("call"), Some("email,note")] {
            let (total, todo, in_progress, done) = exact(inbox, due, types).await;
            let type_param = types.map(|t| format!("&type={t}")).unwrap_or_default();
            let reply = inbox
                .get(
                    &format!("/api/v1/interactions/inbox/stats?due={due}{type_param}"),
                    Some(ALICE),
                )
                .await;
            assert_eq!(
                reply.body,
                json!({"total": total, "todo": todo, "in_progress": in_progress, "done": done, "total_is_lower_bound": false}),
                "{label}, due={due}, type={types:?}"
            );
            let open = inbox
                .get(
                    &format!("/api/v1/interactions/inbox?due={due}{type_param}"),
                    Some(ALICE),
                )
                .await;
            assert_eq!(
                open.body["total"],
                todo + in_progress,
                "{label}, due={due}, type={types:?}"
            );
        }
    }
}

async fn compact(inbox: &TestInbox) {
    sqlx::query_scalar::<_, i64>("SELECT inbox_counts_compact()")
        .fetch_one(&inbox.db.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn everyone_totals_from_the_counters_stay_exact_through_changes() {
    let inbox = fixture().await;
    check_counters(&inbox, "fresh").await;
    compact(&inbox).await;
    check_counters(&inbox, "compacted").await;
    sqlx::raw_sql(
        "UPDATE crm_interactions SET status = 'done' WHERE title = 'overdue-today'; \
         UPDATE crm_interactions SET next_action_at = '2026-06-12T08:00:00Z' WHERE title LIKE 'tie-%'; \
         UPDATE crm_interactions SET next_action_at = NULL WHERE title = 'in-5-days'; \
         UPDATE crm_interactions SET notified_at = now(); \
         UPDATE crm_interactions SET assignee_id = NULL WHERE title = 'tie-a'; \
         UPDATE crm_interactions SET assignee_id = 1 WHERE title = 'in-8-days'; \
         UPDATE crm_interactions SET type = 'note' WHERE title LIKE 'tie-%'; \
         UPDATE crm_interactions SET type = 'email', status = 'in_progress' WHERE title = 'overdue-yesterday'; \
         DELETE FROM crm_interactions WHERE title = 'no-next-older'; \
         INSERT INTO crm_interactions (type, title, status, next_action_at) \
           VALUES ('note', 'new', 'todo', '2026-06-10T23:59:00Z');",
    )
    .execute(&inbox.db.pool)
    .await
    .unwrap();
    check_counters(&inbox, "changed, not compacted").await;
    compact(&inbox).await;
    check_counters(&inbox, "changed, compacted").await;
    let pending: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM inbox_count_deltas) \
              + (SELECT count(*) FROM inbox_assignee_count_deltas)",
    )
    .fetch_one(&inbox.db.pool)
    .await
    .unwrap();
    assert_eq!(pending, 0);
}
