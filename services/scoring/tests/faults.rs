//! Faults during ingest, each ending in an exact account: NATS restarted while webhooks arrive
//! (every 2xx'd event applied exactly once; a 503'd request may be retried by its sender).
//! Uses a private nats-server, so stopping it disturbs no other test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{json, Value};

use relance_gateway::Application as Gateway;
use relance_scoring::Application as Scoring;
use relance_shared::testing::{self, PrivateNats, PrivatePostgres, TestContext};

/// Request `request`'s 20 distinct opens, over 20 people.
fn opens(request: usize) -> Vec<Value> {
    (0..20)
        .map(|i| {
            let n = request * 20 + i;
            json!({"provider": "resend", "external_id": format!("m{n}"), "event": "opened",
                   "event_id": format!("e{n}"), "occurred_at": "2026-11-20T10:00:00Z",
                   "person_id": 1 + n % 20})
        })
        .collect()
}

#[tokio::test]
async fn nats_restarted_during_ingest_loses_no_acknowledged_event() {
    let mut nats = PrivateNats::start().await;
    let ctx = TestContext::with(|s| {
        s.nats.url = SecretString::from(nats.url());
        s.nats.publish_timeout_ms = 1_000;
        s.scoring.batch_wait_ms = 20;
    })
    .await;
    let db = &ctx.db;
    sqlx::raw_sql(
        "INSERT INTO people (id, first_name) SELECT g, 'p' || g FROM generate_series(1, 20) g",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let gateway = ctx.spawn_gateway::<Gateway>().await;
    let _scoring = ctx.spawn_scoring::<Scoring>().await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut acknowledged: HashSet<String> = HashSet::new();
    let (mut ok, mut refused) = (0, 0);
    for request in 0..60 {
        if request == 20 {
            nats.stop();
        }
        if request == 35 {
            nats.restart().await;
            // The client reconnects on its own backoff, which grew during the outage: wait
            // until the gateway says it is ready again, as a provider's retries would.
            testing::wait_for(
                Duration::from_secs(30),
                "the gateway reconnected",
                || async { (gateway.get("/readyz").await.status == 200).then_some(()) },
            )
            .await;
        }
        let batch = opens(request);
        let reply = gateway.ingest(&Value::from(batch)).await;
        match reply.status.as_u16() {
            202 => {
                ok += 1;
                for key in reply.body["event_keys"].as_array().unwrap() {
                    acknowledged.insert(key.as_str().unwrap().to_owned());
                }
            }
            503 => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(refused > 0, "some requests met the outage");
    assert!(ok >= 40, "the rest were accepted: {ok}");

    let applied: HashSet<String> = testing::wait_for(
        Duration::from_secs(60),
        "every 2xx'd event applied",
        || async {
            let keys: Vec<String> = sqlx::query_scalar("SELECT event_key FROM processed_events")
                .fetch_all(&db.pool)
                .await
                .unwrap();
            let keys: HashSet<String> = keys.into_iter().collect();
            acknowledged.is_subset(&keys).then_some(keys)
        },
    )
    .await;
    // Exactly once: one first open per applied event, and scores from the history.
    let (opens, history): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT sum(open_count) FROM email_sends)::bigint, (SELECT count(*) FROM lead_score_history)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        (opens, history),
        (applied.len() as i64, applied.len() as i64)
    );
    assert_eq!(acknowledged.len(), ok * 20);
}

#[tokio::test]
async fn postgres_restarted_while_scoring_loses_nothing() {
    let mut pg = PrivatePostgres::start().await;
    let ctx = TestContext::on(&pg.url("postgres"), |s| s.scoring.batch_wait_ms = 20).await;
    let url = ctx.db.url.clone();
    let pool = ctx.pool();
    sqlx::raw_sql(
        "INSERT INTO people (id, first_name) SELECT g, 'p' || g FROM generate_series(1, 20) g",
    )
    .execute(pool)
    .await
    .unwrap();
    let gateway = ctx.spawn_gateway::<Gateway>().await;
    let _scoring = ctx.spawn_scoring::<Scoring>().await;

    let mut posted = 0;
    for request in 0..30 {
        if request == 10 {
            pg.stop();
        }
        if request == 20 {
            pg.restart().await;
        }
        let batch = opens(request);
        // The gateway never needs the database: every request is accepted.
        assert_eq!(gateway.ingest(&Value::from(batch)).await.status, 202);
        posted += 20;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    testing::wait_for(
        Duration::from_secs(90),
        "every event applied after the restart",
        || async {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events")
                .fetch_one(&pool)
                .await
                .ok()?;
            (n == posted).then_some(())
        },
    )
    .await;
    let (opens, history): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT sum(open_count) FROM email_sends)::bigint, (SELECT count(*) FROM lead_score_history)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((opens, history), (posted, posted));
}
