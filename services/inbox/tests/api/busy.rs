//! One busy user cannot take the inbox down (issue 31): a user's searches run one at a time
//! (more wait their turn, then 429), users' requests cannot take the connections `/readyz`
//! and the relays need, and a user's statement is cut at the interactive timeout. Slowness is
//! made deterministic by a test transaction holding the interactions' table.

use std::time::{Duration, Instant};

use crate::helpers::*;

const NOW: &str = "2026-11-24T10:00:00Z";

/// Holds `crm_interactions` in ACCESS EXCLUSIVE mode until the transaction is dropped or
/// committed: every read of an interaction waits.
async fn hold_the_table(inbox: &TestInbox) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = inbox.pool().begin().await.unwrap();
    sqlx::query("LOCK TABLE crm_interactions IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

fn spawn_get(inbox: &TestInbox, path: &str, user: i64) -> tokio::task::JoinHandle<(u16, String)> {
    let (http, url, token) = (
        inbox.http.clone(),
        format!("{}{path}", inbox.base),
        inbox.client.token(user),
    );
    tokio::spawn(async move {
        let r = http.get(url).bearer_auth(token).send().await.unwrap();
        let status = r.status().as_u16();
        let retry_after = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, retry_after)
    })
}

#[tokio::test]
async fn a_users_second_search_waits_its_turn_then_gets_a_429_and_others_are_not_held() {
    let inbox = TestInbox::spawn_with(at(NOW), |s| {
        s.inbox.max_searches_per_user = 1;
        s.inbox.search_wait_ms = 300;
    })
    .await;
    inbox
        .add("Rappeler Jeanne", "todo", Some(ALICE), None, NOW)
        .await;
    inbox.relay_settled().await;
    let search = "/api/v1/interactions/inbox?q=rappeler";
    let held = hold_the_table(&inbox).await;
    let first = spawn_get(&inbox, search, ALICE);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!first.is_finished(), "the first search waits on the table");

    let started = Instant::now();
    let (status, retry_after) = spawn_get(&inbox, search, ALICE).await.unwrap();
    assert_eq!(status, 429);
    assert_eq!(retry_after, "2");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "it waited its turn first"
    );
    // The stats are a search too; Bruno's search has a turn of its own.
    let stats = spawn_get(&inbox, "/api/v1/interactions/inbox/stats?q=rappeler", ALICE)
        .await
        .unwrap();
    assert_eq!(stats.0, 429);
    let bruno = spawn_get(&inbox, search, BRUNO);
    // Without `q`, no turn to wait for: Alice's plain page only waits on the table.
    let plain = spawn_get(&inbox, "/api/v1/interactions/inbox", ALICE);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!bruno.is_finished() && !plain.is_finished());

    held.commit().await.unwrap();
    assert_eq!(first.await.unwrap().0, 200);
    assert_eq!(bruno.await.unwrap().0, 200);
    assert_eq!(plain.await.unwrap().0, 200);
    // A costly search (this one waited on the table) gives its turn back only after resting
    // as long as it ran: right away, the next one waits its 300 ms and is refused; later it runs.
    assert_eq!(inbox.get(search, Some(ALICE)).await.status, 429);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(inbox.get(search, Some(ALICE)).await.status, 200);
    let metrics = inbox.get("/metrics", None).await.text;
    assert!(
        metrics.contains("http_requests_refused_total{reason=\"searches_per_user\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn busy_users_cannot_make_the_inbox_unready() {
    let inbox = TestInbox::spawn_with(at(NOW), |s| {
        s.database.max_connections = 4;
        s.database.reserved_connections = 2;
        s.database.acquire_timeout_secs = 1;
    })
    .await;
    inbox
        .add("Rappeler Jeanne", "todo", Some(ALICE), None, NOW)
        .await;
    // The relay idle first: it reads the table too, and this test is about users.
    inbox.relay_settled().await;
    let held = hold_the_table(&inbox).await;
    // Four users' reads: two hold the users' two connections, waiting on the table; two wait
    // for a connection.
    let reads: Vec<_> = (0..4)
        .map(|_| spawn_get(&inbox, "/api/v1/interactions/inbox", ALICE))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let ready = inbox.get("/readyz", None).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "answered at once from the reserved connection"
    );
    held.commit().await.unwrap();
    let statuses: Vec<u16> = futures::future::join_all(reads)
        .await
        .into_iter()
        .map(|r| r.unwrap().0)
        .collect();
    assert!(
        statuses.iter().filter(|s| **s == 200).count() >= 2,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_users_statement_is_cut_at_the_interactive_timeout() {
    let inbox = TestInbox::spawn_with(at(NOW), |s| {
        s.database.interactive_statement_timeout_ms = 300;
    })
    .await;
    inbox
        .add("Rappeler Jeanne", "todo", Some(ALICE), None, NOW)
        .await;
    let held = hold_the_table(&inbox).await;
    let started = Instant::now();
    let (status, _) = spawn_get(&inbox, "/api/v1/interactions/inbox", ALICE)
        .await
        .unwrap();
    assert_eq!(status, 503);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "cut at 300 ms, not at the 30 s of the service's own work"
    );
    drop(held);
    assert_eq!(
        inbox
            .get("/api/v1/interactions/inbox", Some(ALICE))
            .await
            .status,
        200
    );
}
