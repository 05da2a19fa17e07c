//! The live inbox: changes relayed from PostgreSQL to JetStream and served as Server-Sent
//! Events, resumable with Last-Event-ID.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{at, TestInbox, ALICE, BRUNO};

#[derive(Debug, Clone)]
struct SseEvent {
    id: String,
    event: String,
    data: Value,
}

/// A minimal SSE reader over a streamed response: frames end with a blank line; comment lines
/// (heartbeats) are counted and skipped.
struct SseClient {
    response: reqwest::Response,
    buffer: String,
    comments: usize,
}

impl SseClient {
    async fn request(
        inbox: &TestInbox,
        user: i64,
        last_event_id: Option<&str>,
    ) -> reqwest::Response {
        let mut request = inbox
            .http
            .get(format!("{}/api/v1/stream", inbox.base))
            .bearer_auth(inbox.token(user));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        request.send().await.unwrap()
    }

    fn reading(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        assert_eq!(response.headers()["x-accel-buffering"], "no");
        Self {
            response,
            buffer: String::new(),
            comments: 0,
        }
    }

    async fn connect(inbox: &TestInbox, user: i64, last_event_id: Option<&str>) -> Self {
        Self::reading(Self::request(inbox, user, last_event_id).await)
    }

    /// Connects once the inbox answers 200 (it answers 503 while NATS is unreachable).
    async fn connect_retrying(inbox: &TestInbox, user: i64, last_event_id: Option<&str>) -> Self {
        for _ in 0..100 {
            let response = Self::request(inbox, user, last_event_id).await;
            if response.status() == StatusCode::OK {
                return Self::reading(response);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the live stream did not come back");
    }

    /// The next event, or None if none comes within `wait`.
    async fn next_within(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent {
                    id: String::new(),
                    event: "message".into(),
                    data: Value::Null,
                };
                let mut data = String::new();
                let mut comment_only = true;
                for line in frame.lines().filter(|l| !l.is_empty()) {
                    if line.starts_with(':') {
                        self.comments += 1;
                        continue;
                    }
                    comment_only = false;
                    if let Some(v) = line.strip_prefix("id:") {
                        event.id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event.event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if comment_only {
                    continue;
                }
                event.data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                return Some(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .unwrap()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Asserts no event comes within `ms` milliseconds (nothing sent twice, nothing foreign).
    async fn expect_quiet(&mut self, ms: u64) {
        let extra = self.next_within(Duration::from_millis(ms)).await;
        assert!(extra.is_none(), "unexpected event: {extra:?}");
    }

    async fn next(&mut self) -> SseEvent {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("an event within 10 s")
    }

    /// Skips events until one for `interaction_id` whose interaction satisfies `check`.
    async fn until(&mut self, interaction_id: i64, check: impl Fn(&Value) -> bool) -> SseEvent {
        loop {
            let event = self.next().await;
            if event.event == "interaction"
                && event.data["interaction_id"] == json!(interaction_id)
                && check(&event.data["interaction"])
            {
                return event;
            }
        }
    }
}

#[tokio::test]
async fn two_clients_see_a_patch_made_by_a_third() {
    let inbox = TestInbox::spawn_with(at("2026-11-24T10:00:00Z"), |s| {
        s.inbox.live_heartbeat_secs = 1;
    })
    .await;
    let mut alice = SseClient::connect(&inbox, ALICE, None).await;
    let mut bruno = SseClient::connect(&inbox, BRUNO, None).await;
    for client in [&mut alice, &mut bruno] {
        let ready = client.next().await;
        assert_eq!(ready.event, "ready");
        assert!(ready.id.parse::<u64>().is_ok());
    }

    // Created by anyone (here SQL, as scoring would): both see it, with names joined.
    let id = inbox
        .add(
            "Rappeler Jeanne",
            "todo",
            Some(ALICE),
            None,
            "2026-11-20T09:00:00Z",
        )
        .await;
    for client in [&mut alice, &mut bruno] {
        let created = client.until(id, |i| i["status"] == "todo").await;
        assert_eq!(created.data["change"], "created");
        assert_eq!(created.data["interaction"]["person_name"], "Jeanne Durand");
    }

    // A third client (a plain HTTP PATCH, not either SSE connection) changes it: both see the
    // new state, under the same event id.
    let reply = inbox.client.set_status(ALICE, id, "done").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let a = alice.until(id, |i| i["status"] == "done").await;
    let b = bruno.until(id, |i| i["status"] == "done").await;
    assert_eq!(a.data["change"], "updated");
    assert_eq!(a.id, b.id, "one sequence for everyone");
    assert!(a.id.parse::<u64>().unwrap() > 0);

    // Idle: heartbeats (comment lines) keep the connection alive.
    alice.expect_quiet(2_500).await;
    assert!(alice.comments >= 1, "a heartbeat within 2.5 s");
}

#[tokio::test]
async fn a_client_reconnecting_with_last_event_id_gets_exactly_what_it_missed() {
    let inbox = TestInbox::spawn(at("2026-11-24T10:00:00Z")).await;
    let mut watcher = SseClient::connect(&inbox, BRUNO, None).await;
    assert_eq!(watcher.next().await.event, "ready");
    let mut alice = SseClient::connect(&inbox, ALICE, None).await;
    assert_eq!(alice.next().await.event, "ready");
    let id = inbox
        .add(
            "Relancer Marc",
            "todo",
            Some(ALICE),
            None,
            "2026-11-20T09:00:00Z",
        )
        .await;
    let seen = alice.until(id, |i| i["status"] == "todo").await;
    watcher.until(id, |i| i["status"] == "todo").await;
    drop(alice); // the laptop sleeps

    // Three changes while Alice is away, one of them a bulk edit.
    let reply = inbox.client.set_status(BRUNO, id, "in_progress").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = inbox.client.set_assignee(BRUNO, id, Some(BRUNO)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let bulk = inbox
        .send(
            "POST",
            "/api/v1/interactions/bulk",
            Some(BRUNO),
            json!({"ids": [id], "set": {"next_action_at": "2026-11-25T09:00:00Z"}}),
        )
        .await;
    assert_eq!(bulk.status, StatusCode::OK, "{}", bulk.text);
    let mut missed = Vec::new();
    while missed.len() < 3 {
        let event = watcher.next().await;
        if event.event == "interaction" {
            missed.push(event.id);
        }
    }

    let mut alice = SseClient::connect(&inbox, ALICE, Some(&seen.id)).await;
    let ready = alice.next().await;
    assert_eq!(
        (ready.event.as_str(), ready.id.as_str()),
        ("ready", seen.id.as_str())
    );
    let mut replayed = Vec::new();
    for _ in 0..3 {
        let event = alice.next().await;
        assert_eq!(event.event, "interaction");
        replayed.push(event.id);
    }
    assert_eq!(replayed, missed, "exactly the missed events, in order");
    alice.expect_quiet(700).await; // nothing twice
}

#[tokio::test]
async fn a_stale_or_foreign_last_event_id_gets_a_reset() {
    let inbox = TestInbox::spawn(at("2026-11-24T10:00:00Z")).await;
    let mut watcher = SseClient::connect(&inbox, ALICE, None).await;
    watcher.next().await;
    let id = inbox
        .add(
            "Rappeler Sophie",
            "todo",
            Some(ALICE),
            None,
            "2026-11-20T09:00:00Z",
        )
        .await;
    let first = watcher.until(id, |_| true).await;
    let reply = inbox.client.set_status(ALICE, id, "done").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let second = watcher.until(id, |i| i["status"] == "done").await;

    // The stream no longer holds anything up to `second` (as after the retention period).
    let js = inbox.jetstream().await;
    let mut live = js.get_stream(inbox.names().live_stream()).await.unwrap();
    live.purge().await.unwrap();
    let last = live.info().await.unwrap().state.last_sequence;

    let mut stale = SseClient::connect(&inbox, ALICE, Some(&first.id)).await;
    let reset = stale.next().await;
    assert_eq!(reset.event, "reset");
    assert_eq!(reset.id, last.to_string(), "resume point after refetching");

    // Up to date with the purge: nothing missed, no reset.
    let mut current = SseClient::connect(&inbox, ALICE, Some(&second.id)).await;
    assert_eq!(current.next().await.event, "ready");

    // An id from another stream's life (ahead of this one).
    let mut foreign = SseClient::connect(&inbox, ALICE, Some("999999")).await;
    assert_eq!(foreign.next().await.event, "reset");

    // Not an id at all: a clear 422.
    let reply = inbox
        .http
        .get(format!("{}/api/v1/stream", inbox.base))
        .bearer_auth(inbox.token(ALICE))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn each_user_gets_their_own_notifications_only() {
    let inbox = TestInbox::spawn(at("2026-11-24T10:00:00Z")).await;
    let mut alice = SseClient::connect(&inbox, ALICE, None).await;
    alice.next().await;
    let js = inbox.jetstream().await;
    for (user, title) in [(BRUNO, "Pour Bruno"), (ALICE, "Pour Alice")] {
        let body = json!({"schema": 1, "id": user, "user_id": user, "kind": "interaction_overdue",
                          "interaction_id": null, "title": title, "due_at": null,
                          "created_at": "2026-11-24T10:00:00Z"});
        js.publish(
            inbox.names().notification_subject(user),
            body.to_string().into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    }
    let event = alice.next().await;
    assert_eq!(event.event, "notification");
    assert_eq!(event.data["title"], "Pour Alice");
    alice.expect_quiet(500).await;
}

#[tokio::test]
async fn changes_written_while_nats_is_down_are_relayed_once_it_is_back() {
    // The relay deletes a captured change only after JetStream acknowledged it: rows wait in
    // interaction_changes while NATS is down, and none is lost.
    let mut nats = relance_shared::testing::PrivateNats::start().await;
    let url = nats.url();
    let inbox = TestInbox::spawn_with(at("2026-11-24T10:00:00Z"), |s| {
        s.nats.url = secrecy::SecretString::from(url);
        s.nats.publish_timeout_ms = 500;
    })
    .await;
    let mut alice = SseClient::connect(&inbox, ALICE, None).await;
    let ready = alice.next().await;
    drop(alice);
    nats.stop();
    let id = inbox
        .add("Appeler Paul", "todo", None, None, "2026-11-20T09:00:00Z")
        .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM interaction_changes")
        .fetch_one(&inbox.db.pool)
        .await
        .unwrap();
    assert_eq!(waiting, 1, "kept until acknowledged");

    nats.restart().await;
    let mut alice = SseClient::connect_retrying(&inbox, ALICE, Some(&ready.id)).await;
    assert_eq!(alice.next().await.event, "ready");
    let created = alice.until(id, |i| i["title"] == "Appeler Paul").await;
    assert_eq!(created.data["change"], "created");
    alice.expect_quiet(700).await;
}

#[tokio::test]
async fn change_ids_reused_by_a_recreated_database_are_not_dropped_as_duplicates() {
    // A restored or recreated database numbers its captured changes from 1 again, inside
    // JetStream's duplicate window: the message id must still tell them apart.
    let inbox = TestInbox::spawn(at("2026-11-24T10:00:00Z")).await;
    let mut alice = SseClient::connect(&inbox, ALICE, None).await;
    alice.next().await;
    let first = inbox
        .add("Premier", "todo", None, None, "2026-11-20T09:00:00Z")
        .await;
    alice.until(first, |_| true).await;
    sqlx::raw_sql("TRUNCATE interaction_changes RESTART IDENTITY")
        .execute(&inbox.db.pool)
        .await
        .unwrap();
    let second = inbox
        .add("Second", "todo", None, None, "2026-11-20T09:00:00Z")
        .await;
    alice.until(second, |i| i["title"] == "Second").await;
}

#[tokio::test]
async fn a_graceful_shutdown_ends_open_streams_instead_of_waiting_on_them() {
    let ctx = relance_shared::testing::TestContext::new().await;
    let inbox = ctx
        .spawn_inbox::<relance_inbox::Application>(chrono::Utc::now())
        .await;
    sqlx::query("INSERT INTO users (id, email, full_name) VALUES (1, 'a@relance.test', 'Alice')")
        .execute(ctx.pool())
        .await
        .unwrap();
    let mut response = reqwest::Client::new()
        .get(inbox.url("/api/v1/stream"))
        .bearer_auth(inbox.token(1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let first = response.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: ready"));

    tokio::time::timeout(Duration::from_secs(5), inbox.stop())
        .await
        .expect("the server stops within 5 s with a stream open")
        .unwrap();
    // The client sees its stream end (and would reconnect elsewhere with Last-Event-ID).
    let rest = tokio::time::timeout(Duration::from_secs(2), response.chunk())
        .await
        .expect("the stream ends");
    assert!(matches!(rest, Ok(None) | Err(_)));
}

#[tokio::test]
async fn an_email_open_and_a_hot_lead_made_by_scoring_reach_the_stream() {
    use relance_shared::event::{digest_event_key, EmailEvent, EventKind, SCHEMA_VERSION};
    let inbox = TestInbox::spawn(at("2026-11-24T10:00:00Z")).await;
    let mut alice = SseClient::connect(&inbox, ALICE, None).await;
    alice.next().await;
    // Jeanne Durand (person 1, owned by Alice): two sends opened and clicked, 3+8+3+8 = 22.
    let events: Vec<EmailEvent> = [
        ("a", EventKind::Opened),
        ("a", EventKind::Clicked),
        ("b", EventKind::Opened),
        ("b", EventKind::Clicked),
    ]
    .iter()
    .enumerate()
    .map(|(i, (send, kind))| {
        let occurred_at = at("2026-11-24T09:00:00Z") + chrono::Duration::minutes(i as i64);
        EmailEvent {
            schema: SCHEMA_VERSION,
            event_key: digest_event_key("test", send, *kind, occurred_at),
            provider: "test".into(),
            external_id: (*send).into(),
            event: *kind,
            occurred_at,
            received_at: occurred_at,
            person_id: Some(1),
            organisation_id: None,
            person_external_id: None,
            recipient: None,
            subject: Some("Votre devis".into()),
            url: None,
            machine_open: false,
        }
    })
    .collect();
    relance_scoring::apply::apply_batch(
        &inbox.db.pool,
        &events,
        None,
        &relance_shared::scoring::ScoringRules::default(),
        &Default::default(),
    )
    .await
    .unwrap();
    let mut titles = Vec::new();
    while titles.len() < 3 {
        let event = alice.next().await;
        if event.event == "interaction" {
            let i = &event.data["interaction"];
            assert_eq!(i["assignee_id"], json!(ALICE), "{i}");
            titles.push(i["title"].as_str().unwrap().to_owned());
        }
    }
    titles.sort();
    assert_eq!(
        titles,
        [
            "Email ouvert : Votre devis",
            "Email ouvert : Votre devis",
            "Lead chaud : Jeanne Durand"
        ]
    );
}

#[tokio::test]
async fn a_user_holds_a_bounded_number_of_streams_and_a_closed_one_frees_its_place() {
    let inbox = TestInbox::spawn_with(at("2026-11-24T10:00:00Z"), |s| {
        s.inbox.max_streams_per_user = 2;
        s.inbox.live_heartbeat_secs = 1;
    })
    .await;
    let mut first = SseClient::connect(&inbox, ALICE, None).await;
    first.next().await;
    let mut second = SseClient::connect(&inbox, ALICE, None).await;
    second.next().await;
    let refused = SseClient::request(&inbox, ALICE, None).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["retry-after"], "5");
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    // Another user is not affected.
    let mut bruno = SseClient::connect(&inbox, BRUNO, None).await;
    bruno.next().await;
    // A tab closed: its place is free once the server notices (next heartbeat check).
    drop(first);
    let mut third = SseClient::connect_retrying(&inbox, ALICE, None).await;
    assert_eq!(third.next().await.event, "ready");
}

#[tokio::test]
async fn a_rep_sees_only_their_scope_live_and_an_item_reassigned_away_once_as_removed() {
    let inbox = TestInbox::spawn(at("2026-11-24T10:00:00Z")).await;
    // Dora, a rep (the fixture's Alice and Bruno are admins).
    let dora: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, full_name, role) VALUES ('dora@relance.test', 'Dora', 'rep') \
         RETURNING id",
    )
    .fetch_one(inbox.pool())
    .await
    .unwrap();
    let mine = inbox
        .add(
            "Pour Dora",
            "todo",
            Some(dora),
            None,
            "2026-11-20T09:00:00Z",
        )
        .await;
    let brunos = inbox
        .add(
            "Pour Bruno",
            "todo",
            Some(BRUNO),
            None,
            "2026-11-20T09:00:00Z",
        )
        .await;
    inbox.relay_settled().await;
    let mut viewer = SseClient::connect(&inbox, dora, None).await;
    assert_eq!(viewer.next().await.event, "ready");
    let patch = |id: i64, what: &'static str, body: Value| {
        let inbox = &inbox;
        async move {
            let reply = inbox
                .send(
                    "PATCH",
                    &format!("/api/v1/interactions/{id}/{what}"),
                    Some(ALICE),
                    body,
                )
                .await;
            assert_eq!(reply.status, 200, "{}", reply.text);
        }
    };
    // Bruno's item changes: not Dora's to see.
    patch(brunos, "status", json!({"status": "in_progress"})).await;
    // Hers changes: she sees it.
    patch(mine, "status", json!({"status": "in_progress"})).await;
    let event = viewer.next().await;
    assert_eq!(event.event, "interaction", "{event:?}");
    assert_eq!(event.data["interaction_id"], mine);
    // Hers goes to Bruno: once, as removed; later changes of it are not hers.
    patch(mine, "assignee", json!({"assignee_id": BRUNO})).await;
    let event = viewer.next().await;
    assert_eq!(event.event, "removed", "{event:?}");
    assert_eq!(event.data, json!({"type": "removed", "id": mine}));
    patch(mine, "status", json!({"status": "done"})).await;
    viewer.expect_quiet(700).await;
}
