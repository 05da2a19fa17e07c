//! Typed request helpers over a spawned gateway or inbox: the tests say what they do
//! (`gateway.ingest(&events)`, `inbox.set_status(ALICE, id, "done")`), not how a request is
//! built.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

use super::Running;

/// An answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub content_type: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            content_type,
            body,
            text,
        }
    }

    /// Panics unless the status is `expected`, showing the body.
    #[track_caller]
    pub fn expect(self, expected: StatusCode) -> Self {
        assert_eq!(self.status, expected, "{}", self.text);
        self
    }

    /// The fields a 422 problem names, asserting it is one.
    #[track_caller]
    pub fn bad_fields(&self) -> Vec<String> {
        assert_eq!(
            self.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            self.text
        );
        assert_eq!(self.content_type, "application/problem+json");
        self.body["errors"]
            .as_array()
            .expect("an errors list")
            .iter()
            .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// An HS256 token for `user`, valid for an hour from `now`, as the inbox verifies them.
pub fn jwt(secret: &str, user: i64, now: DateTime<Utc>) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(
        json!({"sub": user.to_string(), "exp": now.timestamp() + 3600, "iat": now.timestamp()})
            .to_string(),
    );
    let input = format!("{header}.{claims}");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// A spawned gateway.
pub struct GatewayClient {
    pub(super) running: Running,
    pub http: reqwest::Client,
    pub token: String,
}

impl GatewayClient {
    pub(super) fn new(running: Running, token: &str) -> Self {
        Self {
            running,
            http: reqwest::Client::new(),
            token: token.to_owned(),
        }
    }

    /// Stops the gateway gracefully and waits until it has.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await
    }

    pub fn ingest_url(&self) -> String {
        self.url("/api/v1/marketing/email/ingest")
    }

    /// Posts events (one object, or an array) to the normalized endpoint with the test token.
    pub async fn ingest(&self, events: &Value) -> Reply {
        self.ingest_raw(events.to_string(), Some(&self.token), "application/json")
            .await
    }

    /// Posts any body to the normalized endpoint.
    pub async fn ingest_raw(
        &self,
        body: impl Into<reqwest::Body>,
        token: Option<&str>,
        content_type: &str,
    ) -> Reply {
        let mut request = self
            .http
            .post(self.ingest_url())
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Reply::read(request.send().await.expect("gateway answers")).await
    }

    /// Posts a provider's webhook (`resend`, `sendgrid`, ...) with its headers.
    pub async fn webhook(
        &self,
        provider: &str,
        headers: &[(&str, String)],
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let mut request = self
            .http
            .post(self.url(&format!("/api/v1/marketing/email/webhooks/{provider}")))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        Reply::read(request.send().await.expect("gateway answers")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        Reply::read(self.http.get(self.url(path)).send().await.expect("answer")).await
    }
}

/// A spawned inbox; requests are made as a user (a token minted for them) or anonymously.
pub struct InboxClient {
    pub(super) running: Running,
    pub http: reqwest::Client,
    secret: String,
    pub now: DateTime<Utc>,
}

impl InboxClient {
    pub(super) fn new(running: Running, secret: &str, now: DateTime<Utc>) -> Self {
        Self {
            running,
            http: reqwest::Client::new(),
            secret: secret.to_owned(),
            now,
        }
    }

    /// Stops the inbox gracefully and waits until it has.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.running.stop().await
    }

    pub fn base(&self) -> String {
        self.url("")
    }

    /// A token for `user`, valid an hour from the inbox's "now".
    pub fn token(&self, user: i64) -> String {
        jwt(&self.secret, user, self.now)
    }

    pub async fn get(&self, path: &str, user: Option<i64>) -> Reply {
        self.request(Method::GET, path, user, None).await
    }

    /// Any method with a JSON body.
    pub async fn send(&self, method: &str, path: &str, user: Option<i64>, body: Value) -> Reply {
        let method = Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        self.request(method, path, user, Some(body)).await
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        user: Option<i64>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(user) = user {
            request = request.bearer_auth(self.token(user));
        }
        Reply::read(request.send().await.expect("inbox answers")).await
    }

    /// `GET /api/v1/interactions/inbox?<query>` as `user`.
    pub async fn inbox(&self, user: i64, query: &str) -> Reply {
        self.get(&format!("/api/v1/interactions/inbox?{query}"), Some(user))
            .await
    }

    /// `PATCH /api/v1/interactions/{id}/status`.
    pub async fn set_status(&self, user: i64, id: i64, status: &str) -> Reply {
        self.send(
            "PATCH",
            &format!("/api/v1/interactions/{id}/status"),
            Some(user),
            json!({ "status": status }),
        )
        .await
    }

    /// `PATCH /api/v1/interactions/{id}/assignee` (`None`: unassign).
    pub async fn set_assignee(&self, user: i64, id: i64, assignee: Option<i64>) -> Reply {
        self.send(
            "PATCH",
            &format!("/api/v1/interactions/{id}/assignee"),
            Some(user),
            json!({ "assignee_id": assignee }),
        )
        .await
    }

    /// `PATCH /api/v1/interactions/{id}/next-action` (`None`: clear it).
    pub async fn set_next_action(&self, user: i64, id: i64, at: Option<&str>) -> Reply {
        self.send(
            "PATCH",
            &format!("/api/v1/interactions/{id}/next-action"),
            Some(user),
            json!({ "next_action_at": at }),
        )
        .await
    }

    /// `GET /api/v1/marketing/leads-hot?<query>` as `user`.
    pub async fn hot_leads(&self, user: i64, query: &str) -> Reply {
        self.get(&format!("/api/v1/marketing/leads-hot?{query}"), Some(user))
            .await
    }
}
