//! The ingest endpoint through HTTP, against the real NATS server, one namespace per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use relance_gateway::Application;
use relance_shared::nats::Names;
use relance_shared::testing::{self, test_settings, PrivateNats, TEST_INGEST_TOKEN};
use relance_shared::Settings;

struct TestGateway {
    base: String,
    settings: Settings,
    http: reqwest::Client,
}

impl TestGateway {
    async fn spawn_with(settings: Settings) -> Self {
        testing::init_tracing();
        let app = Application::build(settings.clone())
            .await
            .expect("gateway builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        Self {
            base,
            settings,
            http: reqwest::Client::new(),
        }
    }

    async fn spawn() -> Self {
        // The gateway does not touch the database; any URL will do.
        Self::spawn_with(test_settings("postgres://postgres@127.0.0.1:5432/unused")).await
    }

    async fn post(
        &self,
        body: impl Into<reqwest::Body>,
        token: Option<&str>,
        content_type: &str,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}/api/v1/marketing/email/ingest", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            assert_eq!(
                content_type.as_deref(),
                Some("application/problem+json"),
                "{body}"
            );
            assert_eq!(body["status"], status.as_u16(), "{body}");
        }
        (status, body)
    }

    async fn post_json(&self, body: &Value) -> (StatusCode, Value) {
        self.post(
            body.to_string(),
            Some(TEST_INGEST_TOKEN),
            "application/json",
        )
        .await
    }

    /// Messages stored in this test's EMAIL_EVENTS stream.
    async fn stored(&self) -> u64 {
        let client = async_nats::connect(testing::nats_url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let names = Names::new(&self.settings.nats.namespace);
        let mut stream = js.get_stream(names.email_events_stream()).await.unwrap();
        stream.info().await.unwrap().state.messages
    }
}

fn opened(external_id: &str) -> Value {
    json!({"provider": "resend", "external_id": external_id, "event": "opened",
           "occurred_at": "2026-11-20T10:00:00Z", "person_id": 1, "subject": "Offre"})
}

#[tokio::test]
async fn accepted_events_are_in_jetstream_with_their_key_and_trace() {
    let gw = TestGateway::spawn().await;
    let (status, body) = gw.post_json(&json!([opened("a"), opened("b")])).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["accepted"], 2);
    assert_eq!(body["duplicates"], 0);
    assert_eq!(gw.stored().await, 2);

    // The message carries the key as Nats-Msg-Id, a traceparent and the normalized event.
    let client = async_nats::connect(testing::nats_url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let names = Names::new(&gw.settings.nats.namespace);
    let stream = js.get_stream(names.email_events_stream()).await.unwrap();
    let message = stream.get_raw_message(1).await.unwrap();
    assert_eq!(
        message.subject.as_str(),
        names.email_event_subject("resend", relance_shared::event::EventKind::Opened)
    );
    let headers = message.headers;
    assert_eq!(
        headers.get("Nats-Msg-Id").unwrap().as_str(),
        body["event_keys"][0].as_str().unwrap()
    );
    let traceparent = headers
        .get("traceparent")
        .expect("traceparent header")
        .as_str()
        .to_owned();
    assert!(
        traceparent.starts_with("00-") && !traceparent.contains("00000000000000000000000000000000"),
        "{traceparent}"
    );
    let event: Value = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(event["schema"], 1);
    assert_eq!(event["external_id"], "a");

    // A re-post inside the duplicate window is acknowledged and dropped by JetStream.
    let (status, body) = gw.post_json(&opened("a")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["duplicates"], 1);
    assert_eq!(gw.stored().await, 2);
    testing::delete_streams(&gw.settings).await;
}

#[tokio::test]
async fn bad_requests_are_refused_and_publish_nothing() {
    let gw = TestGateway::spawn().await;
    let valid = opened("x").to_string();

    let (status, _) = gw.post(valid.clone(), None, "application/json").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = gw
        .post(
            valid.clone(),
            Some("wrong-token-0123456789012"),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _) = gw
        .post(valid.clone(), Some(TEST_INGEST_TOKEN), "text/plain")
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (status, body) = gw
        .post(
            "{\"provider\": ",
            Some(TEST_INGEST_TOKEN),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let mut unknown = opened("x");
    unknown["event"] = json!("read");
    let (status, body) = gw.post_json(&unknown).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "event", "{body}");

    let mut bad_date = opened("x");
    bad_date["occurred_at"] = json!("20/11/2026");
    let (status, body) = gw.post_json(&json!([opened("y"), bad_date])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "[1].occurred_at", "{body}");

    let huge = json!({"provider": "resend", "external_id": "z", "event": "opened",
                      "occurred_at": "2026-11-20T10:00:00Z", "subject": "x".repeat(3 * 1024 * 1024)});
    let (status, _) = gw.post_json(&huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    let too_many = Value::Array(vec![opened("w"); 1001]);
    let (status, _) = gw.post_json(&too_many).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Nothing of all that reached the stream (the streams exist: the gateway declared them).
    assert_eq!(gw.stored().await, 0);
    testing::delete_streams(&gw.settings).await;
}

#[tokio::test]
async fn without_a_token_configured_the_endpoint_is_off() {
    let mut settings = test_settings("postgres://postgres@127.0.0.1:5432/unused");
    settings.gateway.ingest_token = None;
    let gw = TestGateway::spawn_with(settings).await;
    let (status, _) = gw
        .post(
            opened("a").to_string(),
            Some(TEST_INGEST_TOKEN),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    testing::delete_streams(&gw.settings).await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let gw = TestGateway::spawn().await;
    let get = |path: &str| gw.http.get(format!("{}{path}", gw.base)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), StatusCode::OK);
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    gw.post_json(&opened("m")).await;
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("gateway_events_total"), "{metrics}");
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    testing::delete_streams(&gw.settings).await;
}

#[tokio::test]
async fn nats_down_means_503_and_not_ready() {
    let mut nats = PrivateNats::start().await;
    let mut settings = test_settings("postgres://postgres@127.0.0.1:5432/unused");
    settings.nats.url = nats.url().into();
    settings.nats.publish_timeout_ms = 1_000;
    let gw = TestGateway::spawn_with(settings).await;
    let (status, body) = gw.post_json(&opened("before")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    nats.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = gw.post_json(&opened("during")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let ready = gw
        .http
        .get(format!("{}/readyz", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Back up: the client reconnects by itself and the same event goes through.
    nats.restart().await;
    let status = testing::wait_for(Duration::from_secs(15), "gateway to reconnect", || async {
        let (status, _) = gw.post_json(&opened("during")).await;
        (status == StatusCode::ACCEPTED).then_some(status)
    })
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let names = Names::new(&gw.settings.nats.namespace);
    let mut stream = js.get_stream(names.email_events_stream()).await.unwrap();
    assert_eq!(
        stream.info().await.unwrap().state.messages,
        2,
        "before + during, nothing lost"
    );
}
