//! The first-touch SLA's escalation, exactly once whatever the replicas and restarts: each
//! untouched hot lead past its deadline is marked breached once and each manager of its
//! assignee's teams told once; one due soon warns its assignee once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use relance_reminder::sla;
use relance_shared::testing::TestContext;

fn now() -> DateTime<Utc> {
    "2026-11-24T10:00:00Z".parse().unwrap()
}

/// A rep in team T with two managers (and a manager of another team), and `n` hot leads of the
/// rep due `due_in` from now (negative: past), untouched.
async fn setup(pool: &PgPool, n: i64, due_in: Duration) -> (i64, [i64; 2]) {
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO users (email, full_name, role, team_external_ids) VALUES
           ('rep@x.test', 'Rep', 'rep', '{T}'),
           ('m1@x.test', 'Manager One', 'manager', '{T}'),
           ('m2@x.test', 'Manager Two', 'manager', '{T,U}'),
           ('m3@x.test', 'Manager Three', 'manager', '{U}')
         RETURNING id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO crm_interactions (type, title, status, assignee_id, next_action_at, sla_due_at)
         SELECT 'call', 'Lead chaud ' || g, 'todo', $1, $2, $2 FROM generate_series(1, $3) g",
    )
    .bind(ids[0])
    .bind(now() + due_in)
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
    (ids[0], [ids[1], ids[2]])
}

async fn told(pool: &PgPool, kind: &str) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT user_id, count(*) FROM notifications WHERE kind = $1 GROUP BY user_id ORDER BY user_id",
    )
    .bind(kind)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn two_replicas_breach_each_lead_once_and_tell_each_manager_once() {
    let ctx = TestContext::new().await;
    let pool = &ctx.db.pool;
    let (_, managers) = setup(pool, 300, Duration::minutes(-5)).await;
    // Two replicas at once, in small batches.
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut rows = 0;
                loop {
                    let done = sla::breach_batch(&pool, now(), 25, false).await.unwrap();
                    rows += done.rows;
                    if done.rows == 0 {
                        return rows;
                    }
                }
            })
        })
        .collect();
    let mut rows = 0;
    for r in runs {
        rows += r.await.unwrap();
    }
    assert_eq!(rows, 300, "each lead claimed once across both replicas");
    assert_eq!(
        told(pool, sla::KIND_BREACHED).await,
        [(managers[0], 300), (managers[1], 300)],
        "each manager of the rep's team, once per lead; not the other team's"
    );
    // A later pass (a restart) finds nothing more to do.
    assert_eq!(
        sla::breach_batch(pool, now(), 25, false)
            .await
            .unwrap()
            .rows,
        0
    );
}

#[tokio::test]
async fn a_pass_killed_mid_batch_leaves_nothing_half_done() {
    let ctx = TestContext::new().await;
    let pool = &ctx.db.pool;
    let (_, managers) = setup(pool, 10, Duration::minutes(-5)).await;
    // The reminder dies holding the rows (its transaction open, then gone): nothing is marked.
    let mut killed = pool.begin().await.unwrap();
    sqlx::query("SELECT id FROM crm_interactions FOR UPDATE")
        .execute(&mut *killed)
        .await
        .unwrap();
    // Meanwhile another replica skips the held rows rather than waiting on them.
    assert_eq!(
        sla::breach_batch(pool, now(), 100, false)
            .await
            .unwrap()
            .rows,
        0
    );
    drop(killed);
    let done = sla::breach_batch(pool, now(), 100, false).await.unwrap();
    assert_eq!((done.rows, done.notifications), (10, 20));
    assert_eq!(
        told(pool, sla::KIND_BREACHED).await,
        [(managers[0], 10), (managers[1], 10)]
    );
}

#[tokio::test]
async fn a_lead_touched_or_done_is_not_escalated_and_one_due_soon_warns_its_assignee_once() {
    let ctx = TestContext::new().await;
    let pool = &ctx.db.pool;
    let (rep, _) = setup(pool, 4, Duration::minutes(10)).await;
    sqlx::query("UPDATE crm_interactions SET first_touched_at = $1 WHERE title = 'Lead chaud 1'")
        .bind(now())
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE crm_interactions SET status = 'done' WHERE title = 'Lead chaud 2'")
        .execute(pool)
        .await
        .unwrap();
    // Due in 10 minutes, at risk within 15: the two untouched open ones warn, once.
    let warned = sla::warn_batch(pool, now(), Duration::minutes(15), 100)
        .await
        .unwrap();
    assert_eq!(warned.rows, 2);
    let again = sla::warn_batch(pool, now(), Duration::minutes(15), 100)
        .await
        .unwrap();
    assert_eq!(again.rows, 0);
    assert_eq!(told(pool, sla::KIND_AT_RISK).await, [(rep, 2)]);
    // Not yet due: no breach. Past due: the same two.
    assert_eq!(
        sla::breach_batch(pool, now(), 100, false)
            .await
            .unwrap()
            .rows,
        0
    );
    let later = now() + Duration::minutes(11);
    assert_eq!(
        sla::breach_batch(pool, later, 100, false)
            .await
            .unwrap()
            .rows,
        2
    );
}
