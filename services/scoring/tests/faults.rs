//! Faults during ingest, each ending in an exact account: NATS restarted while webhooks arrive
//! (every 2xx'd event applied exactly once; a 503'd request may be retried by its sender).
//! Uses a private nats-server, so stopping it disturbs no other test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{json, Value};

use relance_shared::testing::{self, test_database, test_settings, PrivateNats, TEST_INGEST_TOKEN};

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
    testing::init_tracing();
    let mut nats = PrivateNats::start().await;
    let db = test_database().await;
    sqlx::raw_sql(
        "INSERT INTO people (id, first_name) SELECT g, 'p' || g FROM generate_series(1, 20) g",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let mut settings = test_settings(&db.url);
    settings.nats.url = SecretString::from(nats.url());
    settings.nats.publish_timeout_ms = 1_000;
    settings.scoring.batch_wait_ms = 20;
    let url = common::spawn_pipeline(&settings).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let http = reqwest::Client::new();
    let mut acknowledged: HashSet<String> = HashSet::new();
    let (mut ok, mut refused) = (0, 0);
    for request in 0..60 {
        if request == 20 {
            nats.stop();
        }
        if request == 35 {
            nats.restart().await;
        }
        let batch = opens(request);
        let response = http
            .post(&url)
            .bearer_auth(TEST_INGEST_TOKEN)
            .json(&batch)
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            202 => {
                ok += 1;
                let body: Value = response.json().await.unwrap();
                for key in body["event_keys"].as_array().unwrap() {
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
    testing::init_tracing();
    let mut pg = testing::PrivatePostgres::start().await;
    let url = pg.url("postgres");
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    relance_shared::db::migrate(&pool).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO people (id, first_name) SELECT g, 'p' || g FROM generate_series(1, 20) g",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let mut settings = test_settings(&url);
    settings.scoring.batch_wait_ms = 20;
    let ingest = common::spawn_pipeline(&settings).await;

    let http = reqwest::Client::new();
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
        let response = http
            .post(&ingest)
            .bearer_auth(TEST_INGEST_TOKEN)
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
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
    testing::delete_streams(&settings).await;
}
