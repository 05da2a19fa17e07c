//! The reminder against the real PostgreSQL and NATS: the right rows notified once, replicas,
//! a NATS outage, re-arming, decay.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use secrecy::SecretString;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use relance_reminder::Reminder;
use relance_shared::nats::Names;
use relance_shared::testing::{self, PrivateNats, TestContext};
use relance_shared::Settings;

async fn users(pool: &PgPool) {
    sqlx::raw_sql(
        "INSERT INTO users (id, email, full_name) VALUES (1, 'a@t.test', 'Alice'), (2, 'b@t.test', 'Bruno'); \
         INSERT INTO people (id, first_name, last_name, email) VALUES (1, 'Jeanne', 'Durand', 'j@t.test'), \
         (2, 'Marc', 'Leroy', 'm@t.test'), (3, 'Sophie', 'Blanc', 's@t.test');",
    )
    .execute(pool)
    .await
    .unwrap();
}

async fn add(
    pool: &PgPool,
    title: &str,
    status: &str,
    assignee: Option<i64>,
    next: Option<&str>,
) -> i64 {
    let next: Option<DateTime<Utc>> = next.map(|n| match n {
        "past" => Utc::now() - chrono::Duration::hours(1),
        "future" => Utc::now() + chrono::Duration::hours(1),
        other => other.parse().unwrap(),
    });
    sqlx::query_scalar(
        "INSERT INTO crm_interactions (type, title, status, assignee_id, next_action_at) \
         VALUES ('call', $1, $2::interaction_status, $3, $4) RETURNING id",
    )
    .bind(title)
    .bind(status)
    .bind(assignee)
    .bind(next)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Every message in the test's NOTIFICATIONS stream: (subject, notification id).
async fn messages(settings: &Settings) -> Vec<(String, i64)> {
    let client = async_nats::connect(settings.nats.url_for_tests())
        .await
        .unwrap();
    let js = jetstream::new(client);
    let names = Names::new(&settings.nats.namespace);
    let mut stream = js.get_stream(names.notifications_stream()).await.unwrap();
    let count = stream.info().await.unwrap().state.messages as usize;
    if count == 0 {
        return Vec::new();
    }
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::Config {
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            // Read-only: without acks the server would stop at 1,000 pending messages.
            ack_policy: jetstream::consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut out = Vec::new();
    while out.len() < count {
        let mut batch = consumer.fetch().max_messages(500).messages().await.unwrap();
        while let Some(message) = batch.next().await {
            let message = message.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
            out.push((message.subject.to_string(), body["id"].as_i64().unwrap()));
        }
    }
    out
}

trait TestUrl {
    fn url_for_tests(&self) -> String;
}

impl TestUrl for relance_shared::config::NatsSettings {
    fn url_for_tests(&self) -> String {
        secrecy::ExposeSecret::expose_secret(&self.url).to_owned()
    }
}

async fn app(settings: &Settings) -> Reminder {
    Reminder::connect(settings)
        .await
        .expect("reminder connects")
}

/// `relance-reminder --once` as cron runs it: the real binary, with no port configured (the
/// default 8083 may be taken; a one-shot pass must not bind it).
async fn once_through_the_binary(settings: &Settings) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_relance-reminder"))
        .arg("--once")
        .env(
            "RELANCE__DATABASE__URL",
            secrecy::ExposeSecret::expose_secret(&settings.database.url),
        )
        .env("RELANCE__NATS__URL", settings.nats.url_for_tests())
        .env("RELANCE__NATS__NAMESPACE", &settings.nats.namespace)
        .env(
            "RELANCE__REMINDER__BATCH_SIZE",
            settings.reminder.batch_size.to_string(),
        )
        .env("RELANCE__TELEMETRY__LOG_LEVEL", "warn")
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn once_notifies_the_due_assigned_open_rows_and_nothing_else() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    users(&db.pool).await;
    let settings = &ctx.settings;
    let due_todo = add(&db.pool, "due todo", "todo", Some(1), Some("past")).await;
    let due_doing = add(
        &db.pool,
        "due in progress",
        "in_progress",
        Some(2),
        Some("past"),
    )
    .await;
    let untouched = [
        add(&db.pool, "done", "done", Some(1), Some("past")).await,
        add(&db.pool, "unassigned", "todo", None, Some("past")).await,
        add(&db.pool, "future", "todo", Some(1), Some("future")).await,
        add(&db.pool, "no next action", "todo", Some(1), None).await,
    ];
    let already = add(&db.pool, "already notified", "todo", Some(1), Some("past")).await;
    sqlx::query("UPDATE crm_interactions SET notified_at = now() WHERE id = $1")
        .bind(already)
        .execute(&db.pool)
        .await
        .unwrap();

    // Through the binary, as cron would run it.
    let output = once_through_the_binary(settings).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("notified 2 · published 2 · unpublished 0"),
        "{stdout}"
    );

    let notified: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM crm_interactions WHERE notified_at IS NOT NULL AND id <> $1 ORDER BY id",
    )
    .bind(already)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(notified, [due_todo, due_doing]);
    let untouched_notified: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM crm_interactions WHERE id = ANY($1) AND notified_at IS NOT NULL",
    )
    .bind(&untouched[..])
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(untouched_notified, 0);
    let rows: Vec<(i64, i64, String, String, bool)> = sqlx::query_as(
        "SELECT user_id, interaction_id, kind, title, published_at IS NOT NULL \
         FROM notifications ORDER BY interaction_id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            (
                1,
                due_todo,
                "interaction_overdue".into(),
                "due todo".into(),
                true
            ),
            (
                2,
                due_doing,
                "interaction_overdue".into(),
                "due in progress".into(),
                true
            ),
        ]
    );
    let mut received = messages(settings).await;
    received.sort();
    let names = Names::new(&settings.nats.namespace);
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM notifications ORDER BY interaction_id")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        received,
        [
            (names.notification_subject(1), ids[0]),
            (names.notification_subject(2), ids[1])
        ]
    );
}

/// Three `relance-reminder --once` started together on one host (cron overlapping itself):
/// none binds a port, and the 5,000 due rows make exactly 5,000 notifications.
#[tokio::test]
async fn three_concurrent_passes_notify_each_row_once() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    users(&db.pool).await;
    let mut settings = ctx.settings.clone();
    settings.reminder.batch_size = 200;
    sqlx::query(
        "INSERT INTO crm_interactions (type, title, status, assignee_id, next_action_at) \
         SELECT 'call', 'due ' || g, 'todo', 1 + g % 2, now() - g * interval '1 second' \
         FROM generate_series(1, 5000) g",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let (a, b, c) = tokio::join!(
        once_through_the_binary(&settings),
        once_through_the_binary(&settings),
        once_through_the_binary(&settings)
    );
    let (mut notified, mut published) = (0, 0);
    for output in [a, b, c] {
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // "notified N · published N · unpublished N · decayed N"
        let figures: Vec<i64> = stdout
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        notified += figures[0];
        published += figures[1];
    }
    assert_eq!((notified, published), (5000, 5000));
    let (notifications, interactions, unnotified): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT interaction_id), \
         (SELECT count(*) FROM crm_interactions WHERE notified_at IS NULL) FROM notifications",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((notifications, interactions, unnotified), (5000, 5000, 0));
    let received = messages(&settings).await;
    assert_eq!(received.len(), 5000);
    assert_eq!(
        received.iter().map(|m| m.1).collect::<HashSet<_>>().len(),
        5000
    );
}

#[tokio::test]
async fn notifications_made_while_nats_is_down_are_published_by_the_next_pass() {
    let mut nats = PrivateNats::start().await;
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    users(&db.pool).await;
    let mut settings = ctx.settings.clone();
    settings.nats.url = SecretString::from(nats.url());
    let reminder = app(&settings).await;
    // Streams are declared once NATS answers (at build here).
    tokio::time::sleep(Duration::from_millis(200)).await;
    for n in 0..30 {
        add(
            &db.pool,
            &format!("due {n}"),
            "todo",
            Some(1 + n % 2),
            Some("past"),
        )
        .await;
    }
    nats.stop();
    let stop = CancellationToken::new();
    let down = reminder.run_once(&stop).await.unwrap();
    assert_eq!(
        (down.notified, down.published, down.unpublished),
        (30, 0, 30)
    );
    nats.restart().await;
    let back = testing::wait_for(Duration::from_secs(20), "a pass that publishes", || async {
        let report = reminder.run_once(&stop).await.unwrap();
        (report.unpublished == 0).then_some(report)
    })
    .await;
    assert_eq!(back.notified, 0, "nothing notified twice");
    let received = messages(&settings).await;
    assert_eq!(received.len(), 30);
    assert_eq!(
        received.iter().map(|m| m.1).collect::<HashSet<_>>().len(),
        30
    );
    let notifications: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(notifications, 30);
}

#[tokio::test]
async fn a_new_next_action_re_arms_the_reminder_once() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    users(&db.pool).await;
    let settings = &ctx.settings;
    let reminder = app(settings).await;
    let stop = CancellationToken::new();
    let id = add(
        &db.pool,
        "call back",
        "todo",
        Some(1),
        Some("2026-01-05T09:00:00Z"),
    )
    .await;
    assert_eq!(reminder.run_once(&stop).await.unwrap().created, 1);
    assert_eq!(
        reminder.run_once(&stop).await.unwrap().created,
        0,
        "once per due time"
    );
    // What the inbox's PATCH next-action does: a new time, notified_at reset.
    sqlx::query("UPDATE crm_interactions SET next_action_at = '2026-01-06T09:00:00Z', notified_at = NULL WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let report = reminder.run_once(&stop).await.unwrap();
    assert_eq!((report.notified, report.created), (1, 1));
    // Re-armed to a time already notified: marked, but not notified twice.
    sqlx::query("UPDATE crm_interactions SET next_action_at = '2026-01-06T09:00:00Z', notified_at = NULL WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let report = reminder.run_once(&stop).await.unwrap();
    assert_eq!((report.notified, report.created), (1, 0));
    let due_times: Vec<DateTime<Utc>> =
        sqlx::query_scalar("SELECT due_at FROM notifications ORDER BY due_at")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(
        due_times,
        ["2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z"]
            .map(|t| t.parse::<DateTime<Utc>>().unwrap())
    );
    assert_eq!(messages(settings).await.len(), 2);
}

async fn lead(pool: &PgPool, person: i64, score: i32, idle: chrono::Duration) {
    sqlx::query(
        "INSERT INTO lead_scores (person_id, score, last_event_at) VALUES ($1, $2, now() - $3::interval) \
         ON CONFLICT (person_id) DO UPDATE SET score = $2, last_event_at = now() - $3::interval",
    )
    .bind(person)
    .bind(score)
    .bind(format!("{} seconds", idle.num_seconds()))
    .execute(pool)
    .await
    .unwrap();
}

async fn score_and_history(pool: &PgPool, person: i64) -> (i32, Vec<(i32, i32)>) {
    let score: i32 = sqlx::query_scalar("SELECT score FROM lead_scores WHERE person_id = $1")
        .bind(person)
        .fetch_one(pool)
        .await
        .unwrap();
    let history: Vec<(i32, i32)> = sqlx::query_as(
        "SELECT delta, score_after FROM lead_score_history WHERE person_id = $1 AND reason = 'decay' ORDER BY id",
    )
    .bind(person)
    .fetch_all(pool)
    .await
    .unwrap();
    (score, history)
}

#[tokio::test]
async fn decay_takes_each_idle_week_once_and_stops_at_zero() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    users(&db.pool).await;
    let settings = &ctx.settings;
    let weeks = |w: i64| chrono::Duration::weeks(w) + chrono::Duration::hours(1);
    lead(&db.pool, 1, 5, weeks(3)).await;
    lead(&db.pool, 2, 2, weeks(5)).await;
    lead(&db.pool, 3, 9, chrono::Duration::days(6)).await;
    let reminder = app(settings).await;
    let stop = CancellationToken::new();
    assert_eq!(reminder.run_once(&stop).await.unwrap().decayed, 2);
    assert_eq!(
        score_and_history(&db.pool, 1).await,
        (2, vec![(-1, 4), (-1, 3), (-1, 2)])
    );
    assert_eq!(
        score_and_history(&db.pool, 2).await,
        (0, vec![(-1, 1), (-1, 0)])
    );
    assert_eq!(score_and_history(&db.pool, 3).await, (9, vec![]));
    // Again in the same week, and from two replicas at once: nothing more.
    let other = app(settings).await;
    let (a, b) = tokio::join!(reminder.run_once(&stop), other.run_once(&stop));
    assert_eq!(a.unwrap().decayed + b.unwrap().decayed, 0);
    assert_eq!(score_and_history(&db.pool, 1).await.1.len(), 3);
    // New engagement 8 days ago: counting starts again from it.
    lead(&db.pool, 1, 10, chrono::Duration::days(8)).await;
    reminder.run_once(&stop).await.unwrap();
    assert_eq!(score_and_history(&db.pool, 1).await.0, 9);
}

#[tokio::test]
async fn concurrent_decay_passes_decay_each_lead_once() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    let mut settings = ctx.settings.clone();
    settings.reminder.batch_size = 50;
    sqlx::raw_sql(
        "INSERT INTO people (id, first_name) SELECT g, 'p' || g FROM generate_series(1, 500) g; \
         INSERT INTO lead_scores (person_id, score, last_event_at) \
         SELECT g, 10, now() - interval '2 weeks 1 hour' FROM generate_series(1, 500) g;",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let (a, b, c) = tokio::join!(app(&settings), app(&settings), app(&settings));
    let stop = CancellationToken::new();
    let (ra, rb, rc) = tokio::join!(a.run_once(&stop), b.run_once(&stop), c.run_once(&stop));
    let decayed = ra.unwrap().decayed + rb.unwrap().decayed + rc.unwrap().decayed;
    // A replica may stop early when the others hold its batch; one more pass finishes.
    let rest = a.run_once(&stop).await.unwrap().decayed;
    assert_eq!(decayed + rest, 500);
    let (rows, eights): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM lead_score_history WHERE reason = 'decay'), \
                (SELECT count(*) FROM lead_scores WHERE score = 8)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((rows, eights), (1000, 500));
}

#[tokio::test]
async fn a_pass_asked_to_stop_stops_between_batches() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    users(&db.pool).await;
    let settings = &ctx.settings;
    add(&db.pool, "due", "todo", Some(1), Some("past")).await;
    let reminder = app(settings).await;
    let stop = CancellationToken::new();
    stop.cancel();
    let report = reminder.run_once(&stop).await.unwrap();
    assert!(report.interrupted);
    assert_eq!(report.notified, 0);
    let report = reminder.run_once(&CancellationToken::new()).await.unwrap();
    assert_eq!(report.notified, 1);
}

#[tokio::test]
async fn a_notification_carries_the_trace_of_its_pass() {
    use tracing::Instrument;
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    users(&db.pool).await;
    let settings = &ctx.settings;
    add(&db.pool, "due", "todo", Some(1), Some("past")).await;
    let reminder = app(settings).await;
    let span = tracing::info_span!("reminder_pass");
    let trace_id = relance_shared::telemetry::trace_id(&span);
    assert_ne!(trace_id, "00000000000000000000000000000000");
    let stop = CancellationToken::new();
    let report = reminder.run_once(&stop).instrument(span).await.unwrap();
    assert_eq!(report.published, 1);

    let client = async_nats::connect(settings.nats.url_for_tests())
        .await
        .unwrap();
    let js = jetstream::new(client);
    let stream = js
        .get_stream(Names::new(&settings.nats.namespace).notifications_stream())
        .await
        .unwrap();
    let message = stream.get_raw_message(1).await.unwrap();
    let traceparent = message
        .headers
        .get("traceparent")
        .unwrap()
        .as_str()
        .to_owned();
    assert!(
        traceparent.starts_with(&format!("00-{trace_id}-")),
        "{traceparent} is not in trace {trace_id}"
    );
}

#[tokio::test]
async fn a_reminder_killed_mid_pass_loses_and_doubles_nothing() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    users(&db.pool).await;
    let settings = &ctx.settings;
    sqlx::query(
        "INSERT INTO crm_interactions (type, title, status, assignee_id, next_action_at) \
         SELECT 'call', 'due ' || g, 'todo', 1 + g % 2, now() - g * interval '1 second' \
         FROM generate_series(1, 20000) g",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let once = || {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_relance-reminder"))
            .arg("--once")
            .env("RELANCE__DATABASE__URL", &db.url)
            .env("RELANCE__NATS__URL", settings.nats.url_for_tests())
            .env("RELANCE__NATS__NAMESPACE", &settings.nats.namespace)
            .env("RELANCE__REMINDER__BATCH_SIZE", "20")
            .env("RELANCE__TELEMETRY__LOG_LEVEL", "error")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let mut first = once();
    testing::wait_for(Duration::from_secs(30), "the pass under way", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        (n > 0).then_some(())
    })
    .await;
    first.kill().await.unwrap(); // SIGKILL
    let at_kill: i64 = sqlx::query_scalar(
        "SELECT count(*) FILTER (WHERE published_at IS NOT NULL) FROM notifications",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(at_kill < 20000, "the kill came mid-pass");
    let status = once().wait().await.unwrap();
    assert!(status.success());
    let (notifications, interactions, unnotified, unpublished): (i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT count(*), count(DISTINCT interaction_id), \
         (SELECT count(*) FROM crm_interactions WHERE notified_at IS NULL), \
         count(*) FILTER (WHERE published_at IS NULL) FROM notifications",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        (notifications, interactions, unnotified, unpublished),
        (20000, 20000, 0, 0)
    );
    let received = messages(settings).await;
    assert_eq!(
        received.len(),
        20000,
        "JetStream dropped any republished copy"
    );
    assert_eq!(
        received.iter().map(|m| m.1).collect::<HashSet<_>>().len(),
        20000
    );
}

/// Rows of each kind the retention deletes, as `(processed events, read notifications, sent
/// emails, unread notifications)`.
async fn kept(pool: &PgPool) -> (i64, i64, i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM processed_events),
                (SELECT count(*) FROM notifications WHERE read_at IS NOT NULL),
                (SELECT count(*) FROM email_outbox WHERE status = 'sent'),
                (SELECT count(*) FROM notifications WHERE read_at IS NULL)",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A year of traffic in fast time, a week per pass: every day 100 events processed, 10
/// notifications read (and 2 a week left unread), a digest sent to each of 2 users. Once
/// past its horizon (30, 90 and 30 days) each table stays flat, week after week, at exactly
/// what the horizon holds; what is not past it (unread notifications) is kept.
#[tokio::test]
async fn a_year_of_traffic_leaves_every_table_flat_after_its_horizon() {
    let ctx = TestContext::with(|s| {
        s.retention.processed_events_days = 30;
        s.retention.notifications_days = 90;
        s.retention.mail_outbox_days = 30;
        // Several batches per pass and table.
        s.retention.batch_size = 250;
    })
    .await;
    let pool = &ctx.db.pool;
    users(pool).await;
    let reminder = app(&ctx.settings).await;
    let stop = CancellationToken::new();
    let start: DateTime<Utc> = "2026-01-05T00:00:00Z".parse().unwrap();
    let mut weeks = Vec::new();
    for week in 1..=52_i64 {
        let now = start + chrono::Duration::weeks(week);
        // The week's seven days, each at midnight: day k is now - k days, k = 0..6.
        sqlx::query(
            "INSERT INTO processed_events (event_key, provider, processed_at)
             SELECT format('w%s-d%s-%s', $2::bigint, d, n), 'resend', $1 - d * interval '1 day'
             FROM generate_series(0, 6) d, generate_series(1, 100) n",
        )
        .bind(now)
        .bind(week)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO notifications (user_id, kind, title, created_at, read_at, published_at)
             SELECT 1, 'interaction_overdue', 'lu', at, at, at
             FROM (SELECT $1 - d * interval '1 day' AS at FROM generate_series(0, 6) d) days,
                  generate_series(1, 10)
             UNION ALL
             SELECT 2, 'interaction_overdue', 'non lu', $1, NULL, $1 FROM generate_series(1, 2)",
        )
        .bind(now)
        .execute(pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO email_outbox (user_id, kind, digest_date, status, created_at,
                                       next_attempt_at, sent_at)
             SELECT u, 'digest', ($1 - d * interval '1 day')::date, 'sent',
                    $1 - d * interval '1 day', $1 - d * interval '1 day', $1 - d * interval '1 day'
             FROM generate_series(0, 6) d, generate_series(1, 2) u",
        )
        .bind(now)
        .execute(pool)
        .await
        .unwrap();
        let report = reminder.run_at(now, &stop).await.unwrap();
        assert!(!report.interrupted);
        weeks.push(kept(pool).await);
    }
    // What a horizon of h days holds at a pass: days now - h ..= now (the row exactly h days
    // old is not older than the horizon), so h + 1 days of rows.
    let held = |days: i64, per_day: i64| (days + 1) * per_day;
    for (week, &(events, read, emails, unread)) in weeks.iter().enumerate() {
        let week = week as i64 + 1;
        let days = 7 * week;
        assert_eq!(events, held(30, 100).min(days * 100), "week {week}: events");
        assert_eq!(
            read,
            held(90, 10).min(days * 10),
            "week {week}: read notifications"
        );
        assert_eq!(
            emails,
            held(30, 2).min(days * 2),
            "week {week}: sent emails"
        );
        assert_eq!(
            unread,
            2 * week,
            "week {week}: unread notifications are kept"
        );
    }
    println!(
        "retention over a simulated year: processed_events flat at {} from week 5, read \
         notifications at {} from week 13, sent emails at {} from week 5",
        weeks[51].0, weeks[51].1, weeks[51].2
    );
}
