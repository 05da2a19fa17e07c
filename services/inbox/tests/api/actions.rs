//! One-click PATCHes, create and read, bulk edits and the CSV export of the inbox.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const NOW: &str = "2026-06-10T12:00:00Z";

async fn created_row(inbox: &TestInbox) -> i64 {
    let id = inbox
        .add(
            "Rappeler Jeanne",
            "todo",
            Some(ALICE),
            Some("2026-06-09T08:00:00Z"),
            "2026-06-01T00:00:00Z",
        )
        .await;
    sqlx::query("UPDATE crm_interactions SET notified_at = $1 WHERE id = $2")
        .bind(at("2026-06-09T08:05:00Z"))
        .bind(id)
        .execute(&inbox.db.pool)
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn patches_change_one_thing_and_return_the_interaction() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let id = created_row(&inbox).await;
    let client = &inbox.client;

    let reply = client.set_status(ALICE, id, "in_progress").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["status"], "in_progress");
    assert_eq!(reply.body["id"], id);
    assert_eq!(reply.body["person_name"], "Jeanne Durand");
    let updated: chrono::DateTime<chrono::Utc> =
        reply.body["updated_at"].as_str().unwrap().parse().unwrap();
    assert!(updated > at("2026-06-01T00:00:00Z"), "updated_at moves");
    // Reassigning leaves the reminder alone.
    let reply = client.set_assignee(ALICE, id, Some(BRUNO)).await;
    assert_eq!(reply.body["assignee_id"], BRUNO);
    assert_eq!(reply.body["assignee_name"], "Bruno Petit");
    assert!(!reply.body["notified_at"].is_null());
    let reply = client.set_assignee(ALICE, id, None).await;
    assert!(reply.body["assignee_id"].is_null());

    // Snoozing re-arms the reminder.
    let reply = client
        .set_next_action(ALICE, id, Some("2026-06-13T09:00:00+02:00"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["next_action_at"], "2026-06-13T07:00:00Z");
    assert!(reply.body["notified_at"].is_null());
    let reply = client.set_next_action(ALICE, id, None).await;
    assert!(reply.body["next_action_at"].is_null());

    let reply = inbox
        .get(&format!("/api/v1/interactions/{id}"), Some(BRUNO))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["status"], "in_progress");
    assert!(reply.body["next_action_at"].is_null());
}

#[tokio::test]
async fn bad_patches_are_refused_and_change_nothing() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let id = created_row(&inbox).await;
    let before = inbox
        .get(&format!("/api/v1/interactions/{id}"), Some(ALICE))
        .await
        .body;
    let path = |what: &str| format!("/api/v1/interactions/{id}/{what}");
    for (what, body, field) in [
        ("status", json!({"status": "closed"}), "status"),
        ("status", json!({}), "(body)"),
        ("status", json!({"status": "done", "extra": 1}), "extra"),
        ("assignee", json!({"assignee_id": 999}), "assignee_id"),
        ("assignee", json!({"assignee_id": CLAIRE}), "assignee_id"),
        ("assignee", json!({"assignee_id": "bob"}), "assignee_id"),
        ("assignee", json!({}), "(body)"),
        (
            "next-action",
            json!({"next_action_at": "2026-06-13T09:00:00"}),
            "next_action_at",
        ),
        (
            "next-action",
            json!({"next_action_at": "demain"}),
            "next_action_at",
        ),
        ("next-action", json!({}), "(body)"),
    ] {
        let reply = inbox
            .send("PATCH", &path(what), Some(ALICE), body.clone())
            .await;
        assert_eq!(bad_fields(&reply), [field], "{what} {body}");
    }
    // Not JSON, wrong content type.
    let reply = inbox
        .http
        .patch(format!("{}{}", inbox.base, path("status")))
        .bearer_auth(inbox.token(ALICE))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
    let reply = inbox
        .http
        .patch(format!("{}{}", inbox.base, path("status")))
        .bearer_auth(inbox.token(ALICE))
        .body(r#"{"status":"done"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let after = inbox
        .get(&format!("/api/v1/interactions/{id}"), Some(ALICE))
        .await
        .body;
    assert_eq!(before, after);

    for path in [
        "/api/v1/interactions/424242/status",
        "/api/v1/interactions/424242/assignee",
        "/api/v1/interactions/424242/next-action",
    ] {
        let body = match path.rsplit('/').next().unwrap() {
            "status" => json!({"status": "done"}),
            "assignee" => json!({"assignee_id": null}),
            _ => json!({"next_action_at": null}),
        };
        let reply = inbox.send("PATCH", path, Some(ALICE), body).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.content_type, "application/problem+json");
    }
    assert_eq!(
        inbox
            .get("/api/v1/interactions/424242", Some(ALICE))
            .await
            .status,
        404
    );
    assert_eq!(
        bad_fields(&inbox.get("/api/v1/interactions/abc", Some(ALICE)).await),
        ["id"]
    );
}

#[tokio::test]
async fn a_created_interaction_is_returned_and_read_back_with_its_names() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let reply = inbox
        .send(
            "POST",
            "/api/v1/interactions",
            Some(BRUNO),
            json!({"type": "meeting", "title": "Démo chez Acme", "person_id": 2,
                   "organisation_id": 1, "assignee_id": ALICE,
                   "next_action_at": "2026-06-12T14:00:00+02:00"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let id = reply.body["id"].as_i64().unwrap();
    assert_eq!(reply.body["status"], "todo");
    assert_eq!(reply.body["author_id"], BRUNO);
    assert_eq!(reply.body["organisation_name"], "Acme SA");
    let read = inbox
        .get(&format!("/api/v1/interactions/{id}"), Some(ALICE))
        .await;
    assert_eq!(read.body, reply.body);
    assert_eq!(inbox.titles("assignee=me", ALICE).await, ["Démo chez Acme"]);

    for (body, fields) in [
        (json!({"type": "fax", "title": "x"}), vec!["type"]),
        (json!({"type": "call", "title": "  "}), vec!["title"]),
        (
            json!({"type": "call", "title": "x", "person_id": 99, "assignee_id": 99}),
            vec!["assignee_id", "person_id"],
        ),
    ] {
        let reply = inbox
            .send("POST", "/api/v1/interactions", Some(ALICE), body)
            .await;
        assert_eq!(bad_fields(&reply), fields);
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM crm_interactions")
        .fetch_one(&inbox.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

/// Five rows: Alice's a and b overdue, c done, Bruno's d overdue, Alice's e later.
async fn bulk_rows(inbox: &TestInbox) -> [i64; 5] {
    let mut ids = [0; 5];
    for (slot, (title, status, user, due)) in ids.iter_mut().zip([
        ("a", "todo", ALICE, "2026-06-09T08:00:00Z"),
        ("b", "todo", ALICE, "2026-06-08T08:00:00Z"),
        ("c", "done", ALICE, "2026-06-08T08:00:00Z"),
        ("d", "todo", BRUNO, "2026-06-08T08:00:00Z"),
        ("e", "todo", ALICE, "2026-06-20T08:00:00Z"),
    ]) {
        *slot = inbox.add(title, status, Some(user), Some(due), NOW).await;
    }
    ids
}

async fn bulk(inbox: &TestInbox, body: serde_json::Value) -> Reply {
    inbox
        .send("POST", "/api/v1/interactions/bulk", Some(ALICE), body)
        .await
}

async fn status_of(inbox: &TestInbox, id: i64) -> String {
    sqlx::query_scalar("SELECT status::text FROM crm_interactions WHERE id = $1")
        .bind(id)
        .fetch_one(inbox.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_bulk_edit_by_filter_changes_exactly_the_rows_the_inbox_shows() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let [a, b, c, d, e] = bulk_rows(&inbox).await;
    // My overdue open rows, done. c is already done and not in the default filter.
    let reply = bulk(
        &inbox,
        json!({"filter": {"assignee": "me", "due": "overdue"}, "set": {"status": "done"}}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body,
        json!({"matched": 2, "changed": 2, "not_found": []})
    );
    let mut statuses = Vec::new();
    for id in [a, b, c, d, e] {
        statuses.push(status_of(&inbox, id).await);
    }
    assert_eq!(statuses, ["done", "done", "done", "todo", "todo"]);
}

#[tokio::test]
async fn a_bulk_edit_by_ids_counts_only_the_rows_whose_value_changed() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let [_, _, _, d, e] = bulk_rows(&inbox).await;
    // d is already Bruno's: it matches but does not change; a repeated id counts once.
    let reply = bulk(
        &inbox,
        json!({"ids": [d, e, e], "set": {"assignee_id": BRUNO}}),
    )
    .await;
    assert_eq!(
        reply.body,
        json!({"matched": 2, "changed": 1, "not_found": []})
    );
    let reply = bulk(
        &inbox,
        json!({"ids": [d, e], "set": {"next_action_at": "2026-06-17T09:00:00+02:00"}}),
    )
    .await;
    assert_eq!(
        reply.body,
        json!({"matched": 2, "changed": 2, "not_found": []})
    );
}

#[tokio::test]
async fn a_bad_bulk_edit_is_refused_whole_and_changes_nothing() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    let [a, ..] = bulk_rows(&inbox).await;
    for (body, field) in [
        (json!({"ids": [], "set": {"status": "done"}}), "ids"),
        (
            json!({"ids": [a], "filter": {}, "set": {"status": "done"}}),
            "ids",
        ),
        (json!({"set": {"status": "done"}}), "ids"),
        (json!({"ids": [a], "set": {}}), "set"),
        (
            json!({"ids": [a], "set": {"status": "done", "assignee_id": 1}}),
            "set",
        ),
        (
            json!({"ids": [a], "set": {"assignee_id": CLAIRE}}),
            "set.assignee_id",
        ),
        (
            json!({"filter": {"due": "someday"}, "set": {"status": "done"}}),
            "filter.due",
        ),
        (
            json!({"ids": [a], "set": {"status": "archived"}}),
            "set.status",
        ),
    ] {
        let reply = bulk(&inbox, body.clone()).await;
        assert_eq!(bad_fields(&reply), [field], "{body}");
    }
    assert_eq!(status_of(&inbox, a).await, "todo");
    // An unknown id is reported, as one out of scope would be, and the others change.
    let reply = bulk(
        &inbox,
        json!({"ids": [a, 999_999], "set": {"status": "done"}}),
    )
    .await;
    assert_eq!(
        reply.body,
        json!({"matched": 1, "changed": 1, "not_found": [999_999]})
    );
}

#[tokio::test]
async fn inbox_csv_export_streams_every_matching_row() {
    let inbox = TestInbox::spawn(at(NOW)).await;
    inbox
        .add(
            "Relancer, \"vite\"",
            "todo",
            Some(ALICE),
            Some("2026-06-10T07:00:00Z"),
            NOW,
        )
        .await;
    inbox.add("=1+1", "todo", Some(ALICE), None, NOW).await;
    inbox.add("pas à moi", "todo", Some(BRUNO), None, NOW).await;
    for n in 0..300 {
        inbox
            .add(
                &format!("bulk {n}"),
                "todo",
                Some(ALICE),
                Some("2026-07-01T00:00:00Z"),
                NOW,
            )
            .await;
    }
    let reply = inbox
        .get(
            "/api/v1/interactions/inbox/export?assignee=me&tz=Europe/Paris",
            Some(ALICE),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "text/csv; charset=utf-8");
    let text = reply
        .text
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark");
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "id,type,title,status,next_action_at,assignee_id,assignee_name,person_id,person_name,\
         organisation_id,organisation_name,created_at,updated_at"
    );
    assert!(
        lines[1]
            .contains(",\"Relancer, \"\"vite\"\"\",todo,2026-06-10T09:00:00+02:00,1,Alice Martin,"),
        "{}",
        lines[1]
    );
    assert_eq!(lines.len(), 1 + 302 + 1, "header, rows, final CRLF");
    assert!(lines[302].contains(",\"'=1+1\","), "{}", lines[302]);
    assert_eq!(lines[303], "");
    assert!(!text.contains("pas à moi"));

    let reply = inbox
        .get("/api/v1/interactions/inbox/export?due=later", Some(ALICE))
        .await;
    assert_eq!(bad_fields(&reply), ["due"]);
}

/// One user cannot hold the database through exports: a third export at once is a 429 with
/// `Retry-After` (another user's still runs), an export whose client stops reading is cut
/// short after `inbox.export_stall_secs` and gives its place back, and an export of many pages
/// (1,000 rows each) holds every row, in inbox order, once.
#[tokio::test]
async fn exports_are_capped_per_user_and_cut_short_when_their_client_stalls() {
    let inbox = TestInbox::spawn_with(at("2026-06-10T12:00:00Z"), |s| {
        s.inbox.export_stall_secs = 1;
    })
    .await;
    // 30,000 rows of ~500 bytes (15 MB): more than the sockets' buffers hold, so a client that
    // does not read stalls its export; thirty pages.
    sqlx::query(
        "INSERT INTO crm_interactions (type, title, status, assignee_id, next_action_at, created_at, updated_at)
         SELECT 'call', format('Export %s %s', n, repeat('x', 400)), 'todo', 1,
                '2026-06-10T09:00:00Z'::timestamptz + n * interval '1 minute', now(), now()
         FROM generate_series(1, 30000) n",
    )
    .execute(inbox.pool())
    .await
    .unwrap();
    let whole = inbox
        .get("/api/v1/interactions/inbox/export", Some(ALICE))
        .await;
    assert_eq!(whole.status, 200);
    let rows: Vec<&str> = whole
        .text
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(rows.len(), 30_000);
    let order: Vec<i64> = rows
        .iter()
        .map(|r| {
            r.split(',')
                .nth(2)
                .unwrap()
                .split(' ')
                .nth(1)
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(
        order,
        (1..=30_000).collect::<Vec<_>>(),
        "inbox order, each row once"
    );

    // Two exports Alice does not read (a socket with a 4 kB receive buffer that is never read
    // again once the answer's status is in): the third is refused, Bruno's is not.
    let stalled = [
        stalled_export(&inbox.base, &inbox.token(ALICE)).await,
        stalled_export(&inbox.base, &inbox.token(ALICE)).await,
    ];
    assert!(stalled.iter().all(|(status, _)| *status == 200));
    let url = format!("{}/api/v1/interactions/inbox/export", inbox.base);
    let open = |user: i64| {
        let request = inbox.http.get(&url).bearer_auth(inbox.token(user));
        async move { request.send().await.unwrap() }
    };
    let third = open(ALICE).await;
    assert_eq!(third.status(), 429);
    assert!(third.headers().contains_key("retry-after"));
    assert_eq!(open(BRUNO).await.status(), 200);
    // Past the stall deadline both are cut short and their places are free again.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(open(ALICE).await.status(), 200);
    for (_, mut socket) in stalled {
        use tokio::io::AsyncReadExt;
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest).await;
        assert!(
            rest.len() < whole.text.len() / 2,
            "a stalled export was cut short: {} of {} bytes",
            rest.len(),
            whole.text.len()
        );
    }
}

/// `GET …/inbox/export` on a raw socket whose receive buffer is 4 kB, read up to its status.
async fn stalled_export(base: &str, token: &str) -> (u16, tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base.trim_start_matches("http://");
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(host.parse().unwrap()).await.unwrap();
    let request = format!(
        "GET /api/v1/interactions/inbox/export HTTP/1.1\r\nHost: {host}\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    let status = std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap();
    (status, stream)
}
