//! End to end: a running gateway and running scoring services against the real NATS and a
//! fresh database per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use relance_shared::nats::Names;
use relance_shared::testing::{self, GatewayClient, Running, TestContext};

use relance_gateway::Application as Gateway;
use relance_scoring::Application as Scoring;

struct Stack {
    ctx: TestContext,
    gateway: GatewayClient,
    _scorers: Vec<Running>,
}

impl Stack {
    async fn spawn(scoring_instances: usize) -> Self {
        let ctx = TestContext::with(|s| s.scoring.batch_wait_ms = 20).await;
        let gateway = ctx.spawn_gateway::<Gateway>().await;
        let mut scorers = Vec::new();
        for _ in 0..scoring_instances {
            scorers.push(ctx.spawn_scoring::<Scoring>().await);
        }
        Self {
            ctx,
            gateway,
            _scorers: scorers,
        }
    }

    /// Posts events, asserting they are accepted; returns the answer.
    async fn post(&self, body: &Value) -> Value {
        self.gateway
            .ingest(body)
            .await
            .expect(StatusCode::ACCEPTED)
            .body
    }

    fn pool(&self) -> &PgPool {
        self.ctx.pool()
    }

    async fn jetstream(&self) -> async_nats::jetstream::Context {
        self.ctx.jetstream().await
    }

    fn names(&self) -> Names {
        self.ctx.names()
    }

    /// Waits until the consumer has delivered `stream_messages` messages and none awaits an ack.
    async fn drained(&self, stream_messages: u64) {
        let js = self.jetstream().await;
        let names = self.names();
        testing::wait_for(Duration::from_secs(30), "the consumer to drain", || {
            let js = js.clone();
            let names = names.clone();
            async move {
                let stream = js.get_stream(names.email_events_stream()).await.ok()?;
                let mut consumer = stream
                    .get_consumer::<async_nats::jetstream::consumer::pull::Config>("scoring")
                    .await
                    .ok()?;
                let info = consumer.info().await.ok()?;
                (info.delivered.stream_sequence >= stream_messages
                    && info.num_ack_pending == 0
                    && info.num_pending == 0)
                    .then_some(())
            }
        })
        .await;
    }
}

async fn seed_people(pool: &PgPool, n: i64) -> Vec<i64> {
    sqlx::query(
        "INSERT INTO users (id, email, full_name) VALUES (1, 'owner@relance.test', 'Owner')",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query_scalar(
        "INSERT INTO people (first_name, last_name, email, owner_id)
         SELECT 'P', i::text, 'p' || i || '@example.com', 1 FROM generate_series(1, $1) AS i
         RETURNING id",
    )
    .bind(n)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn scalar(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Asserts each query's single value, naming the query that disagrees.
async fn assert_scalars(pool: &PgPool, expected: &[(&'static str, i64)]) {
    for &(sql, want) in expected {
        assert_eq!(scalar(pool, sql).await, want, "{sql}");
    }
}

fn ev(external_id: &str, event: &str, second: u32, person_id: i64) -> Value {
    json!({"provider": "resend", "external_id": external_id, "event": event,
           "occurred_at": format!("2026-11-20T10:00:{:02}Z", second % 60),
           "person_id": person_id, "subject": "Proposition"})
}

#[tokio::test]
async fn posted_events_are_applied_once_whatever_the_order() {
    let stack = Stack::spawn(1).await;
    let people = seed_people(stack.pool(), 1).await;
    let p = people[0];
    // Out of order: the click first, then the open, then the send; the open posted twice.
    stack.post(&ev("msg-1", "clicked", 30, p)).await;
    stack
        .post(&json!([
            ev("msg-1", "opened", 20, p),
            ev("msg-1", "sent", 0, p)
        ]))
        .await;
    stack.post(&ev("msg-1", "opened", 20, p)).await;

    let pool = stack.pool().clone();
    let score = testing::wait_for(Duration::from_secs(10), "the score", || {
        let pool = pool.clone();
        async move {
            let s: Option<i32> =
                sqlx::query_scalar("SELECT score FROM lead_scores WHERE person_id = $1")
                    .bind(p)
                    .fetch_optional(&pool)
                    .await
                    .unwrap();
            s.filter(|s| *s == 11)
        }
    })
    .await;
    assert_eq!(score, 3 + 8);
    stack.drained(3).await;
    let (status, opens, clicks): (String, i32, i32) = sqlx::query_as(
        "SELECT status::text, open_count, click_count FROM email_sends WHERE external_id = 'msg-1'",
    )
    .fetch_one(stack.pool())
    .await
    .unwrap();
    assert_eq!((status.as_str(), opens, clicks), ("clicked", 1, 1));
    assert_eq!(
        scalar(stack.pool(), "SELECT count(*) FROM crm_interactions").await,
        1
    );
    // Its history says scoring created it (the connection names scoring as its actor).
    assert_eq!(
        scalar(
            stack.pool(),
            "SELECT count(*) FROM interaction_history WHERE field = 'created' AND actor_system = 'scoring'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_message_delivered_twice_changes_nothing() {
    let stack = Stack::spawn(1).await;
    let p = seed_people(stack.pool(), 1).await[0];
    let accepted = stack.post(&ev("msg-2", "opened", 1, p)).await;
    stack.drained(1).await;

    // The same event again, under another Nats-Msg-Id: past JetStream's duplicate window, as
    // a redelivery after a crash would be. Scoring's own table must catch it.
    let js = stack.jetstream().await;
    let names = stack.names();
    let message = js
        .get_stream(names.email_events_stream())
        .await
        .unwrap()
        .get_raw_message(1)
        .await
        .unwrap();
    let ack = js
        .send_publish(
            message.subject.to_string(),
            async_nats::jetstream::message::PublishMessage::build()
                .message_id("another-id")
                .payload(message.payload.clone()),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(!ack.duplicate);
    stack.drained(2).await;

    assert_scalars(
        stack.pool(),
        &[
            ("SELECT open_count::bigint FROM email_sends", 1),
            ("SELECT score::bigint FROM lead_scores", 3),
            ("SELECT count(*) FROM lead_score_history", 1),
            ("SELECT count(*) FROM processed_events", 1),
        ],
    )
    .await;
    assert!(accepted["event_keys"][0].as_str().unwrap().len() > 10);
}

#[tokio::test]
async fn poison_goes_to_the_dlq_with_its_reason_and_the_rest_applies() {
    let stack = Stack::spawn(1).await;
    let p = seed_people(stack.pool(), 1).await[0];
    stack
        .post(&json!([
            ev("msg-3", "opened", 1, 987_654),
            ev("msg-4", "opened", 1, p)
        ]))
        .await;

    // Garbage published straight to the subject (not through the gateway).
    let js = stack.jetstream().await;
    let names = stack.names();
    js.publish(
        names.email_event_subject("resend", relance_shared::event::EventKind::Opened),
        "not json".into(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    stack.drained(3).await;

    assert_eq!(
        scalar(stack.pool(), "SELECT count(*) FROM email_sends").await,
        1
    );
    assert_eq!(
        scalar(stack.pool(), "SELECT score::bigint FROM lead_scores").await,
        3
    );

    let dlq = js.get_stream(names.email_dlq_stream()).await.unwrap();
    let consumer = dlq
        .create_consumer(async_nats::jetstream::consumer::pull::Config::default())
        .await
        .unwrap();
    let mut batch = consumer
        .fetch()
        .max_messages(10)
        .expires(Duration::from_secs(1))
        .messages()
        .await
        .unwrap();
    let mut reasons = Vec::new();
    while let Some(Ok(message)) = batch.next().await {
        let headers = message.headers.clone().unwrap();
        reasons.push(
            headers
                .get("Relance-Dlq-Reason")
                .unwrap()
                .as_str()
                .to_owned(),
        );
        assert!(message
            .subject
            .as_str()
            .starts_with(&format!("{}.email.dlq.", stack.ctx.settings.nats.namespace)));
    }
    reasons.sort();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].contains("unknown person_id 987654"),
        "{reasons:?}"
    );
    assert!(reasons[1].contains("unparsable"), "{reasons:?}");
}

/// 10,000 events over 2,000 sends of 200 people, posted in batches of 100, applied by two
/// scoring instances sharing the consumer: every counter and score exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_scoring_instances_apply_10_000_events_exactly() {
    let stack = Stack::spawn(2).await;
    let people = seed_people(stack.pool(), 200).await;
    let mut events = Vec::with_capacity(10_000);
    for (i, &p) in people.iter().enumerate() {
        for s in 0..10 {
            let id = format!("bulk-{i}-{s}");
            // Per send: sent, delivered, two opens, one click = 3 + 1 + 8 = 12 points.
            for (event, second) in [
                ("sent", 0),
                ("delivered", 1),
                ("opened", 2),
                ("opened", 3),
                ("clicked", 4),
            ] {
                events.push(ev(&id, event, second, p));
            }
        }
    }
    // Interleave people so concurrent batches touch the same rows.
    events.sort_by_key(|e| e["occurred_at"].as_str().unwrap().to_owned());
    let bodies: Vec<Value> = events
        .chunks(100)
        .map(|chunk| Value::Array(chunk.to_vec()))
        .collect();
    let posts = futures::stream::iter(bodies.iter().map(|body| stack.post(body)))
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
    assert_eq!(
        posts
            .iter()
            .map(|b| b["accepted"].as_u64().unwrap())
            .sum::<u64>(),
        10_000
    );

    let pool = stack.pool().clone();
    testing::wait_for(Duration::from_secs(120), "10,000 events applied", || {
        let pool = pool.clone();
        async move {
            (scalar(&pool, "SELECT count(*) FROM processed_events").await == 10_000).then_some(())
        }
    })
    .await;
    stack.drained(10_000).await;

    assert_scalars(
        stack.pool(),
        &[
            ("SELECT count(*) FROM email_sends", 2_000),
            ("SELECT count(*) FROM email_sends WHERE open_count = 2 AND click_count = 1 AND status = 'clicked'", 2_000),
            ("SELECT count(*) FROM crm_interactions WHERE type = 'email'", 2_000),
            // 120 points each, from 0: one crossing of the hot threshold per person.
            ("SELECT count(*) FROM crm_interactions WHERE title LIKE 'Lead chaud : %'", 200),
            ("SELECT count(*) FROM email_sends WHERE interaction_id IS NULL", 0),
            ("SELECT count(*) FROM lead_scores WHERE score = 120", 200),
            ("SELECT count(*) FROM lead_score_history", 2_000 * 3),
            ("SELECT count(*) FROM interaction_history WHERE actor_system = 'scoring'", 2_200),
        ],
    )
    .await;
}

/// Scoring starts against a database that does not exist yet (a deployment that forgot it):
/// events are nak'd with a delay, nothing is dead-lettered, and they apply once it exists.
#[tokio::test]
async fn a_missing_database_delays_events_and_loses_none() {
    // The test's database is dropped before scoring starts and created again (same name, so
    // the context still removes it) once events wait.
    let ctx = TestContext::with(|s| s.database.acquire_timeout_secs = 1).await;
    let admin = testing::admin_database_url();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap();
    ctx.pool().close().await;
    sqlx::raw_sql(&format!(r#"DROP DATABASE "{}" WITH (FORCE)"#, ctx.db.name))
        .execute(&mut conn)
        .await
        .unwrap();
    let gateway = ctx.spawn_gateway::<Gateway>().await;
    let _scoring = ctx.spawn_scoring::<Scoring>().await;

    let body = json!([
        {"provider": "resend", "external_id": "late-1", "event": "sent", "occurred_at": "2026-11-20T10:00:00Z"},
        {"provider": "resend", "external_id": "late-1", "event": "opened", "occurred_at": "2026-11-20T10:05:00Z"}
    ]);
    gateway.ingest(&body).await.expect(StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    sqlx::raw_sql(&format!(r#"CREATE DATABASE "{}""#, ctx.db.name))
        .execute(&mut conn)
        .await
        .unwrap();
    let pool = sqlx::PgPool::connect(&ctx.db.url).await.unwrap();
    relance_shared::db::migrate(&pool).await.unwrap();

    let status = testing::wait_for(Duration::from_secs(30), "the delayed events", || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT status::text FROM email_sends WHERE external_id = 'late-1' AND open_count = 1",
            )
            .fetch_optional(&pool)
            .await
            .unwrap()
        }
    })
    .await;
    assert_eq!(status, "opened");
    let js = ctx.jetstream().await;
    let mut dlq = js.get_stream(ctx.names().email_dlq_stream()).await.unwrap();
    assert_eq!(
        dlq.info().await.unwrap().state.messages,
        0,
        "nothing dead-lettered"
    );
    pool.close().await;
}

/// Scoring stops (SIGTERM-like graceful shutdown) mid-stream; events posted while it is down
/// wait in JetStream and a new instance applies each exactly once.
#[tokio::test]
async fn events_posted_while_scoring_is_down_are_applied_after_restart() {
    let stack = Stack::spawn(0).await;
    let p = seed_people(stack.pool(), 1).await[0];
    let first = stack.ctx.spawn_scoring::<Scoring>().await;
    stack.post(&ev("restart-1", "opened", 1, p)).await;
    stack.drained(1).await;
    first.stop().await.unwrap();

    stack
        .post(&json!([
            ev("restart-1", "opened", 2, p),
            ev("restart-1", "clicked", 3, p)
        ]))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        scalar(stack.pool(), "SELECT click_count::bigint FROM email_sends").await,
        0,
        "nobody consumes while down"
    );

    let _second = stack.ctx.spawn_scoring::<Scoring>().await;
    stack.drained(3).await;
    assert_scalars(
        stack.pool(),
        &[
            ("SELECT open_count::bigint FROM email_sends", 2),
            ("SELECT click_count::bigint FROM email_sends", 1),
            ("SELECT score::bigint FROM lead_scores", 3 + 1 + 8),
        ],
    )
    .await;
}

#[tokio::test]
async fn dead_letters_are_replayed_once_the_cause_is_fixed() {
    let stack = Stack::spawn(1).await;
    seed_people(stack.pool(), 1).await;
    // Person 424242 does not exist (yet): the event is poison and goes to the DLQ.
    stack
        .post(&json!([ev("msg-r", "opened", 1, 424_242)]))
        .await;
    let js = stack.jetstream().await;
    let names = stack.names();
    let letters = testing::wait_for(Duration::from_secs(20), "the dead letter", || async {
        let letters = relance_scoring::dlq::list(&js, &names, None).await.ok()?;
        (letters.len() == 1).then_some(letters)
    })
    .await;
    assert!(!letters[0].reason.is_empty());
    assert!(letters[0]
        .original_subject
        .as_deref()
        .unwrap()
        .ends_with("email.events.resend.opened"));
    assert_eq!(
        relance_scoring::dlq::list(&js, &names, Some("sendgrid"))
            .await
            .unwrap()
            .len(),
        0
    );

    sqlx::query(
        "INSERT INTO people (id, first_name, email) VALUES (424242, 'Tardif', 'tardif@acme.test')",
    )
    .execute(stack.pool())
    .await
    .unwrap();
    let report = relance_scoring::dlq::replay(&js, &names, Some("resend"))
        .await
        .unwrap();
    assert_eq!(report.replayed, 1);
    testing::wait_for(
        Duration::from_secs(20),
        "the replayed event scored",
        || async {
            let score: Option<i32> =
                sqlx::query_scalar("SELECT score FROM lead_scores WHERE person_id = 424242")
                    .fetch_optional(stack.pool())
                    .await
                    .unwrap();
            (score == Some(3)).then_some(())
        },
    )
    .await;
    assert_eq!(
        relance_scoring::dlq::list(&js, &names, None)
            .await
            .unwrap()
            .len(),
        0
    );
    // Replaying an empty DLQ does nothing.
    assert_eq!(
        relance_scoring::dlq::replay(&js, &names, None)
            .await
            .unwrap()
            .replayed,
        0
    );
}
