//! The inbox tests' fixture on the shared harness: an inbox with a pinned clock, the users and
//! people every test starts from, and helpers to fill it.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use relance_inbox::clock::Clock;
use relance_inbox::Application;
use relance_shared::testing::{InboxClient, TestContext};
use relance_shared::Settings;

pub const ALICE: i64 = 1;
pub const BRUNO: i64 = 2;
/// A deactivated user.
pub const CLAIRE: i64 = 3;

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// The test's context (database, namespace; removed when dropped) and its inbox, with the
/// users and people every inbox test starts from.
pub struct TestInbox {
    pub ctx: TestContext,
    pub client: InboxClient,
    pub base: String,
    pub http: reqwest::Client,
}

pub type Reply = relance_shared::testing::Reply;

impl std::ops::Deref for TestInbox {
    type Target = TestContext;
    fn deref(&self) -> &TestContext {
        &self.ctx
    }
}

impl TestInbox {
    pub async fn spawn(now: DateTime<Utc>) -> Self {
        Self::spawn_with(now, |_| {}).await
    }

    pub async fn spawn_with(now: DateTime<Utc>, tweak: impl FnOnce(&mut Settings)) -> Self {
        let ctx = TestContext::with(tweak).await;
        let app = Application::build_with_clock(ctx.settings.clone(), Clock::Fixed(now))
            .await
            .expect("inbox builds");
        let client = ctx.serve_inbox(app, now);
        sqlx::raw_sql(
            // Alice and Bruno are admins: these tests are of the inbox's rules, which an admin
            // sees whole; scope.rs tests what reps and managers see.
            "INSERT INTO users (id, email, full_name, is_active, role) VALUES \
             (1, 'alice@relance.test', 'Alice Martin', true, 'admin'), \
             (2, 'bruno@relance.test', 'Bruno Petit', true, 'admin'), \
             (3, 'claire@relance.test', 'Claire Roux', false, 'rep'); \
             INSERT INTO organisations (id, name) VALUES (1, 'Acme SA'); \
             INSERT INTO people (id, first_name, last_name, email, organisation_id, owner_id) VALUES \
             (1, 'Jeanne', 'Durand', 'jeanne@acme.test', 1, 1), \
             (2, 'Marc', 'Leroy', 'marc@acme.test', 1, 2), \
             (3, 'Sophie', 'Blanc', 'sophie@acme.test', NULL, 1), \
             (4, 'Paul', 'Noir', NULL, NULL, NULL); \
             SELECT setval(pg_get_serial_sequence(t, 'id'), 100) \
             FROM unnest(ARRAY['users', 'organisations', 'people']) t;",
        )
        .execute(ctx.pool())
        .await
        .unwrap();
        Self {
            base: client.base(),
            http: client.http.clone(),
            ctx,
            client,
        }
    }

    pub fn token(&self, user: i64) -> String {
        self.client.token(user)
    }

    /// Inserts an interaction; `created` defaults to a fixed time so ties are deliberate.
    pub async fn add(
        &self,
        title: &str,
        status: &str,
        assignee: Option<i64>,
        next_action_at: Option<&str>,
        created: &str,
    ) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO crm_interactions (type, title, status, assignee_id, next_action_at, \
             created_at, updated_at, person_id) \
             VALUES ('call', $1, $2::interaction_status, $3, $4, $5, $5, 1) RETURNING id",
        )
        .bind(title)
        .bind(status)
        .bind(assignee)
        .bind(next_action_at.map(at))
        .bind(at(created))
        .fetch_one(self.pool())
        .await
        .unwrap()
    }

    pub async fn get(&self, path: &str, user: Option<i64>) -> Reply {
        if path.contains("q=") {
            self.relay_settled().await;
        }
        self.client.get(path, user).await
    }

    /// Waits until the change relay has taken in every captured change, so the search index
    /// and the assignees' notifications (which follow the tables by the relay's delay) are in
    /// step with what the test wrote.
    pub async fn relay_settled(&self) {
        let started = std::time::Instant::now();
        while !(relance_inbox::search::index::caught_up(self.pool())
            .await
            .unwrap()
            && relance_inbox::live::assignee_notices::caught_up(self.pool())
                .await
                .unwrap())
        {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "the change relay did not catch up within 20 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    pub async fn send(&self, method: &str, path: &str, user: Option<i64>, body: Value) -> Reply {
        self.client.send(method, path, user, body).await
    }

    /// Titles of one inbox page.
    pub async fn titles(&self, query: &str, user: i64) -> Vec<String> {
        if query.contains("q=") {
            self.relay_settled().await;
        }
        let reply = self.client.inbox(user, query).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text);
        titles(&reply.body)
    }
}

pub fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect()
}

/// The fields a 422 names.
pub fn bad_fields(reply: &Reply) -> Vec<String> {
    reply.bad_fields()
}

/// Empties the interactions (and what cascades from them) between property-test cases. The
/// change relay may be reading the history and the interactions meanwhile, in the other
/// order than TRUNCATE locks them: a deadlock PostgreSQL breaks by failing one side, retried.
pub async fn truncate_interactions(pool: &sqlx::PgPool) {
    for _ in 0..20 {
        match sqlx::raw_sql("TRUNCATE crm_interactions CASCADE")
            .execute(pool)
            .await
        {
            Ok(_) => return,
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("40P01") => {}
            Err(e) => panic!("TRUNCATE crm_interactions: {e}"),
        }
    }
    panic!("TRUNCATE crm_interactions: deadlocked 20 times");
}
