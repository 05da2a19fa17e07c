//! A spawned inbox with its own database and a pinned clock, and helpers to fill it.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;

use relance_inbox::auth::TokenKeys;
use relance_inbox::clock::Clock;
use relance_inbox::Application;
use relance_shared::testing::{self, test_database, test_settings, TestDatabase, TEST_JWT_SECRET};
use relance_shared::Settings;

pub const ALICE: i64 = 1;
pub const BRUNO: i64 = 2;
/// A deactivated user.
pub const CLAIRE: i64 = 3;

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

pub struct TestInbox {
    pub base: String,
    pub db: TestDatabase,
    pub now: DateTime<Utc>,
    pub http: reqwest::Client,
    pub settings: Settings,
}

impl Drop for TestInbox {
    /// The inbox declares streams under the test's namespace: delete them so the shared
    /// nats-server does not fill up (on a thread of its own, as drop cannot await).
    fn drop(&mut self) {
        let settings = self.settings.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                runtime.block_on(testing::delete_streams(&settings));
            }
        })
        .join();
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
    pub text: String,
}

impl TestInbox {
    pub async fn spawn(now: DateTime<Utc>) -> Self {
        Self::spawn_with(now, |_| {}).await
    }

    pub async fn spawn_with(now: DateTime<Utc>, tweak: impl FnOnce(&mut Settings)) -> Self {
        testing::init_tracing();
        let db = test_database().await;
        let mut settings = test_settings(&db.url);
        tweak(&mut settings);
        let app = Application::build_with_clock(settings.clone(), Clock::Fixed(now))
            .await
            .expect("inbox builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        sqlx::raw_sql(
            "INSERT INTO users (id, email, full_name, is_active) VALUES \
             (1, 'alice@relance.test', 'Alice Martin', true), \
             (2, 'bruno@relance.test', 'Bruno Petit', true), \
             (3, 'claire@relance.test', 'Claire Roux', false); \
             INSERT INTO organisations (id, name) VALUES (1, 'Acme SA'); \
             INSERT INTO people (id, first_name, last_name, email, organisation_id, owner_id) VALUES \
             (1, 'Jeanne', 'Durand', 'jeanne@acme.test', 1, 1), \
             (2, 'Marc', 'Leroy', 'marc@acme.test', 1, 2), \
             (3, 'Sophie', 'Blanc', 'sophie@acme.test', NULL, 1), \
             (4, 'Paul', 'Noir', NULL, NULL, NULL);",
        )
        .execute(&db.pool)
        .await
        .unwrap();
        Self {
            base,
            db,
            now,
            http: reqwest::Client::new(),
            settings,
        }
    }

    pub fn names(&self) -> relance_shared::nats::Names {
        relance_shared::nats::Names::new(&self.settings.nats.namespace)
    }

    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        let url = secrecy::ExposeSecret::expose_secret(&self.settings.nats.url).to_owned();
        async_nats::jetstream::new(async_nats::connect(url).await.unwrap())
    }

    pub fn token(&self, user: i64) -> String {
        TokenKeys::new(SecretString::from(TEST_JWT_SECRET)).issue(
            user,
            self.now,
            Duration::hours(1),
        )
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
        .fetch_one(&self.db.pool)
        .await
        .unwrap()
    }

    async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, user: Option<i64>) -> Reply {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(user) = user {
            request = request.bearer_auth(self.token(user));
        }
        Self::reply(request.send().await.unwrap()).await
    }

    pub async fn send(&self, method: &str, path: &str, user: Option<i64>, body: Value) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body);
        if let Some(user) = user {
            request = request.bearer_auth(self.token(user));
        }
        Self::reply(request.send().await.unwrap()).await
    }

    /// Titles of one inbox page.
    pub async fn titles(&self, query: &str, user: i64) -> Vec<String> {
        let reply = self
            .get(&format!("/api/v1/interactions/inbox?{query}"), Some(user))
            .await;
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
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text
    );
    assert_eq!(reply.content_type, "application/problem+json");
    reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}
