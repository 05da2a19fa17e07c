//! Notifications by email against a real SMTP server (aiosmtpd, started by each test): what a
//! mailbox receives, once, whatever the outages, the replicas and the DST days.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use secrecy::SecretString;
use serde_json::Value;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use relance_reminder::Reminder;
use relance_shared::testing::{SmtpSink, TestContext};

const PUBLIC_URL: &str = "http://relance.test";

async fn context(sink: &SmtpSink) -> TestContext {
    let smtp = sink.url();
    let ctx = TestContext::with(move |s| {
        s.mail.smtp_url = Some(SecretString::from(smtp));
        s.mail.from = "Relance <relance@relance.test>".into();
        s.web.public_url = format!("{PUBLIC_URL}/");
    })
    .await;
    sqlx::raw_sql(
        "INSERT INTO users (id, email, full_name, notify_email) VALUES \
         (1, 'alice@t.test', 'Alice Martin', 'instant'), \
         (2, 'bruno@t.test', 'Bruno Petit', 'off'), \
         (3, 'refuse@t.test', 'Rémi Fusé', 'instant'); \
         INSERT INTO people (id, first_name, last_name, email) VALUES \
         (1, 'Sophie', 'Lefèvre', 's@t.test');",
    )
    .execute(ctx.pool())
    .await
    .unwrap();
    ctx
}

async fn add(pool: &PgPool, title: &str, assignee: i64, next: DateTime<Utc>) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO crm_interactions (type, title, status, assignee_id, next_action_at, person_id) \
         VALUES ('call', $1, 'todo', $2, $3, 1) RETURNING id",
    )
    .bind(title)
    .bind(assignee)
    .bind(next)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn reminder(ctx: &TestContext) -> Reminder {
    Reminder::connect(&ctx.settings).await.unwrap()
}

async fn statuses(pool: &PgPool) -> Vec<(String, String, i32)> {
    sqlx::query_as(
        "SELECT u.email, o.status::text, o.attempts FROM email_outbox o \
         JOIN users u ON u.id = o.user_id ORDER BY o.id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

fn subjects(received: &[Value]) -> Vec<String> {
    received
        .iter()
        .map(|m| m["subject"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_instant_email_reaches_the_assignee_once_with_subject_link_and_both_parts() {
    let sink = SmtpSink::start().await;
    let ctx = context(&sink).await;
    let now = Utc::now();
    let id = add(
        ctx.pool(),
        "Rappeler Sophie pour le devis",
        1,
        now - Duration::hours(1),
    )
    .await;
    add(ctx.pool(), "Relance de Bruno", 2, now - Duration::hours(1)).await;
    let reminder = reminder(&ctx).await;
    let stop = CancellationToken::new();
    let report = reminder.run_at(now, &stop).await.unwrap();
    assert_eq!((report.created, report.emails.sent), (2, 1), "{report:?}");
    let received = sink.received();
    assert_eq!(received.len(), 1, "{received:#?}");
    let mail = &received[0];
    assert_eq!(mail["rcpt_tos"], serde_json::json!(["alice@t.test"]));
    assert_eq!(mail["to"], "Alice Martin <alice@t.test>");
    assert_eq!(mail["from"], "Relance <relance@relance.test>");
    assert_eq!(
        mail["subject"],
        "Relance en retard : Rappeler Sophie pour le devis"
    );
    assert_eq!(mail["content_type"], "multipart/alternative");
    let link = format!("{PUBLIC_URL}/dashboard/inbox?interaction={id}");
    let text = mail["text"].as_str().unwrap();
    let html = mail["html"].as_str().unwrap();
    assert!(text.contains("Bonjour Alice Martin"), "{text}");
    assert!(
        text.contains("« Rappeler Sophie pour le devis » (Sophie Lefèvre)"),
        "{text}"
    );
    assert!(text.contains(&link), "{text}");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    assert!(mail["message_id"]
        .as_str()
        .unwrap()
        .starts_with("<relance-email-"));

    // Later passes send nothing again; Bruno (off) never got one enqueued.
    for _ in 0..2 {
        let report = reminder
            .run_at(now + Duration::minutes(5), &stop)
            .await
            .unwrap();
        assert_eq!(report.emails, Default::default());
    }
    assert_eq!(sink.received().len(), 1);
    assert_eq!(
        statuses(ctx.pool()).await,
        [("alice@t.test".to_owned(), "sent".to_owned(), 1)]
    );
}

#[tokio::test]
async fn a_server_down_then_up_delivers_every_pending_email_once() {
    let mut sink = SmtpSink::start().await;
    sink.stop();
    let ctx = context(&sink).await;
    // PostgreSQL keeps microseconds.
    let t0 = Utc::now().trunc_subsecs(6);
    for n in 1..=3 {
        add(
            ctx.pool(),
            &format!("Relance {n}"),
            1,
            t0 - Duration::minutes(n),
        )
        .await;
    }
    let reminder = reminder(&ctx).await;
    let stop = CancellationToken::new();
    let down = reminder.run_at(t0, &stop).await.unwrap();
    // The first failure ends the pass's sending: the other two were not tried.
    assert_eq!(
        (
            down.created,
            down.emails.sent,
            down.emails.deferred,
            down.emails_pending
        ),
        (3, 0, 1, 3),
        "{down:?}"
    );
    let retry_at: DateTime<Utc> =
        sqlx::query_scalar("SELECT next_attempt_at FROM email_outbox WHERE attempts = 1")
            .fetch_one(ctx.pool())
            .await
            .unwrap();
    assert_eq!(retry_at, t0 + Duration::seconds(30), "first backoff: 30 s");

    // Still down 30 s later: the backoff doubles.
    let again = reminder
        .run_at(t0 + Duration::seconds(31), &stop)
        .await
        .unwrap();
    assert_eq!((again.emails.sent, again.emails.deferred), (0, 1));
    let attempts: Vec<i32> =
        sqlx::query_scalar("SELECT attempts FROM email_outbox ORDER BY attempts DESC")
            .fetch_all(ctx.pool())
            .await
            .unwrap();
    assert_eq!(attempts.iter().sum::<i32>(), 2, "{attempts:?}");

    sink.restart().await;
    let up = reminder
        .run_at(t0 + Duration::seconds(40), &stop)
        .await
        .unwrap();
    // What was not waiting out a backoff goes at once; the rest once their backoff passed.
    assert!(up.emails.sent >= 1, "{up:?}");
    let later = reminder
        .run_at(t0 + Duration::minutes(5), &stop)
        .await
        .unwrap();
    assert_eq!(up.emails.sent + later.emails.sent, 3, "{up:?} {later:?}");
    assert_eq!(later.emails_pending, 0);
    let mut got = subjects(&sink.received());
    got.sort();
    assert_eq!(
        got,
        [
            "Relance en retard : Relance 1",
            "Relance en retard : Relance 2",
            "Relance en retard : Relance 3"
        ]
    );
    reminder
        .run_at(t0 + Duration::minutes(30), &stop)
        .await
        .unwrap();
    assert_eq!(sink.received().len(), 3, "nothing sent twice");
}

#[tokio::test]
async fn two_reminders_at_once_send_each_email_once() {
    let sink = SmtpSink::start().await;
    let ctx = context(&sink).await;
    let now = Utc::now();
    for n in 0..40 {
        add(
            ctx.pool(),
            &format!("Relance {n}"),
            1,
            now - Duration::minutes(n + 1),
        )
        .await;
    }
    let (a, b) = (reminder(&ctx).await, reminder(&ctx).await);
    let stop = CancellationToken::new();
    let (ra, rb) = tokio::join!(a.run_at(now, &stop), b.run_at(now, &stop));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.created + rb.created, 40);
    assert_eq!(ra.emails.sent + rb.emails.sent, 40, "{ra:?} {rb:?}");
    let received = sink.received();
    assert_eq!(received.len(), 40);
    let distinct: HashSet<String> = subjects(&received).into_iter().collect();
    assert_eq!(distinct.len(), 40, "each email once");
}

#[tokio::test]
async fn a_permanent_refusal_is_marked_failed_and_not_retried() {
    let sink = SmtpSink::start().await;
    let ctx = context(&sink).await;
    let now = Utc::now();
    add(ctx.pool(), "Pour Rémi", 3, now - Duration::hours(1)).await;
    let reminder = reminder(&ctx).await;
    let stop = CancellationToken::new();
    let report = reminder.run_at(now, &stop).await.unwrap();
    assert_eq!((report.emails.failed, report.emails_pending), (1, 0));
    reminder
        .run_at(now + Duration::hours(1), &stop)
        .await
        .unwrap();
    assert!(sink.received().is_empty());
    let error: String = sqlx::query_scalar("SELECT last_error FROM email_outbox")
        .fetch_one(ctx.pool())
        .await
        .unwrap();
    assert!(error.contains("550"), "{error}");
    assert_eq!(
        statuses(ctx.pool()).await,
        [("refuse@t.test".to_owned(), "failed".to_owned(), 1)]
    );
}

/// Passes every 30 minutes from `from` to `to`; the digests received, with the pass that sent
/// each.
async fn digests_over(
    ctx: &TestContext,
    sink: &SmtpSink,
    from: &str,
    to: &str,
) -> Vec<(DateTime<Utc>, Value)> {
    let reminder = reminder(ctx).await;
    let stop = CancellationToken::new();
    let (mut now, end): (DateTime<Utc>, DateTime<Utc>) =
        (from.parse().unwrap(), to.parse().unwrap());
    let mut sent = Vec::new();
    while now < end {
        let before = sink.received().len();
        reminder.run_at(now, &stop).await.unwrap();
        for mail in sink.received().into_iter().skip(before) {
            sent.push((now, mail));
        }
        now += Duration::minutes(30);
    }
    sent
}

#[tokio::test]
async fn the_daily_digest_comes_once_per_local_day_at_the_digest_hour_across_dst() {
    let sink = SmtpSink::start().await;
    let ctx = context(&sink).await;
    sqlx::raw_sql(
        "UPDATE users SET notify_email = 'daily', timezone = 'Europe/Paris', digest_hour = 8 \
         WHERE id = 1",
    )
    .execute(ctx.pool())
    .await
    .unwrap();
    let pool = ctx.pool();
    // Spring forward, 29 March 2026: 08:00 in Paris is 06:00 UTC.
    add(
        pool,
        "En retard depuis la veille",
        1,
        "2026-03-28T10:00:00Z".parse().unwrap(),
    )
    .await;
    add(
        pool,
        "Prévu cet après-midi",
        1,
        "2026-03-29T13:00:00Z".parse().unwrap(),
    )
    .await;
    add(
        pool,
        "Prévu le lendemain",
        1,
        "2026-03-30T13:00:00Z".parse().unwrap(),
    )
    .await;
    add(
        pool,
        "Pour Bruno",
        2,
        "2026-03-28T10:00:00Z".parse().unwrap(),
    )
    .await;
    let spring = digests_over(&ctx, &sink, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z").await;
    assert_eq!(spring.len(), 1, "{spring:#?}");
    let (at, mail) = &spring[0];
    assert_eq!(
        *at,
        "2026-03-29T06:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(mail["subject"], "Vos relances du 29 mars 2026");
    assert_eq!(mail["rcpt_tos"], serde_json::json!(["alice@t.test"]));
    // Mail is CRLF on the wire.
    let text = &mail["text"].as_str().unwrap().replace("\r\n", "\n");
    assert!(
        text.contains(
            "En retard (1) :\n- 28 mars 2026 à 11:00 : En retard depuis la veille — Sophie Lefèvre"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "Aujourd'hui (1) :\n- 29 mars 2026 à 15:00 : Prévu cet après-midi — Sophie Lefèvre"
        ),
        "{text}"
    );
    assert!(!text.contains("lendemain"), "{text}");
    assert!(!text.contains("Bruno"), "{text}");
    assert!(text.contains(&format!(
        "{PUBLIC_URL}/dashboard/inbox?assignee=me&due=overdue"
    )));
    assert!(mail["html"]
        .as_str()
        .unwrap()
        .contains("Prévu cet après-midi"));

    // Autumn back, 25 October 2026: 08:00 in Paris is 07:00 UTC.
    sqlx::raw_sql("DELETE FROM crm_interactions")
        .execute(pool)
        .await
        .unwrap();
    add(
        pool,
        "Relance d'octobre",
        1,
        "2026-10-25T09:00:00Z".parse().unwrap(),
    )
    .await;
    let autumn = digests_over(&ctx, &sink, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z").await;
    assert_eq!(autumn.len(), 1, "{autumn:#?}");
    assert_eq!(
        autumn[0].0,
        "2026-10-25T07:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(autumn[0].1["subject"], "Vos relances du 25 octobre 2026");
    // No instant email for a daily user, and nothing at all for Bruno (off).
    assert!(sink.received().iter().all(|m| m["subject"]
        .as_str()
        .unwrap()
        .starts_with("Vos relances du")));
}

#[tokio::test]
async fn a_day_with_nothing_to_list_sends_no_digest() {
    let sink = SmtpSink::start().await;
    let ctx = context(&sink).await;
    sqlx::raw_sql("UPDATE users SET notify_email = 'daily', digest_hour = 0 WHERE id = 1")
        .execute(ctx.pool())
        .await
        .unwrap();
    let reminder = reminder(&ctx).await;
    let report = reminder
        .run_at(Utc::now(), &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        (report.digests, report.emails.skipped),
        (1, 1),
        "{report:?}"
    );
    assert!(sink.received().is_empty());
}
