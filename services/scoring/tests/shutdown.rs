//! A scoring process stopped under load, gracefully (SIGTERM: it finishes the batch in hand and
//! exits 0) or not (SIGKILL: mid-transaction, nothing committed is lost, nothing uncommitted was
//! acknowledged); a new process picks up the rest, and every event the gateway acknowledged is
//! applied exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

use relance_gateway::Application as Gateway;
use relance_shared::testing::{self, TestContext};
use relance_shared::Settings;

fn scoring_process(settings: &Settings) -> Child {
    Command::new(env!("CARGO_BIN_EXE_relance-scoring"))
        .env(
            "RELANCE__DATABASE__URL",
            settings.database.url.expose_secret(),
        )
        .env("RELANCE__NATS__URL", settings.nats.url.expose_secret())
        .env("RELANCE__NATS__NAMESPACE", &settings.nats.namespace)
        .env("RELANCE__SCORING__LISTEN", "127.0.0.1:0")
        .env("RELANCE__SCORING__BATCH_SIZE", "50")
        // Messages fetched but not yet applied when SIGTERM arrived come back after ack_wait.
        .env("RELANCE__SCORING__ACK_WAIT_SECS", "3")
        .env("RELANCE__TELEMETRY__LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn sigterm_under_load_loses_nothing_and_applies_nothing_twice() {
    stop_under_load("-TERM").await;
}

#[tokio::test]
async fn sigkill_under_load_loses_nothing_and_applies_nothing_twice() {
    stop_under_load("-KILL").await;
}

async fn stop_under_load(signal: &str) {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    sqlx::raw_sql(
        "INSERT INTO people (id, first_name, email) SELECT g, 'p' || g, 'p' || g || '@acme.test' \
         FROM generate_series(1, 50) g",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let settings = &ctx.settings;
    let gateway = ctx.spawn_gateway::<Gateway>().await;

    let mut first = scoring_process(settings);
    // 4,000 opens over 200 sends and 50 people, posted while the consumer works.
    let batches: Vec<Value> = (0..40)
        .map(|b| {
            Value::Array(
                (0..100)
                    .map(|i| {
                        let n = b * 100 + i;
                        json!({"provider": "resend", "external_id": format!("m{}", n % 200),
                               "event": "opened", "event_id": format!("e{n}"),
                               "occurred_at": format!("2026-11-20T10:{:02}:{:02}Z", (n / 60) % 60, n % 60),
                               "person_id": 1 + n % 50})
                    })
                    .collect(),
            )
        })
        .collect();
    let mut acknowledged = 0;
    for (i, batch) in batches.iter().enumerate() {
        assert_eq!(gateway.ingest(batch).await.status, 202);
        acknowledged += 100;
        if i == 20 {
            // Mid-load, once the consumer is at work (its signal handler is installed after
            // start-up): SIGTERM.
            testing::wait_for(Duration::from_secs(30), "the consumer at work", || async {
                let n: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events")
                    .fetch_one(&db.pool)
                    .await
                    .unwrap();
                (n > 0).then_some(())
            })
            .await;
            let pid = first.id().unwrap().to_string();
            let killed = Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .await
                .unwrap();
            assert!(killed.success());
        }
    }
    let status = tokio::time::timeout(Duration::from_secs(30), first.wait())
        .await
        .expect("scoring drains and exits within 30 s")
        .unwrap();
    if signal == "-TERM" {
        assert!(status.success(), "graceful exit, got {status:?}");
    }
    let applied_by_first: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        applied_by_first < acknowledged,
        "the first process stopped before the end"
    );

    let mut second = scoring_process(settings);
    testing::wait_for(
        Duration::from_secs(60),
        "every acknowledged event applied",
        || async {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events")
                .fetch_one(&db.pool)
                .await
                .unwrap();
            (n == acknowledged).then_some(())
        },
    )
    .await;
    // Exactly once: each send's opens counted once, each person's score from its history.
    let (opens, history, consistent): (i64, i64, bool) = sqlx::query_as(
        "SELECT (SELECT sum(open_count) FROM email_sends)::bigint, \
                (SELECT count(*) FROM lead_score_history), \
                (SELECT bool_and(ls.score = h.last) FROM lead_scores ls JOIN LATERAL ( \
                   SELECT score_after AS last FROM lead_score_history \
                   WHERE person_id = ls.person_id ORDER BY id DESC LIMIT 1) h ON TRUE)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        (opens, history, consistent),
        (acknowledged, acknowledged, true)
    );
    second.kill().await.unwrap();
}
