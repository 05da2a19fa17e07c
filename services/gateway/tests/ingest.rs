//! The ingest endpoint through HTTP, against the real NATS server, one namespace per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use relance_gateway::Application;
use relance_shared::testing::{self, GatewayClient, PrivateNats, TestContext, TEST_INGEST_TOKEN};
use relance_shared::Settings;

struct TestGateway {
    ctx: TestContext,
    gateway: GatewayClient,
}

impl TestGateway {
    async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> Self {
        let ctx = TestContext::with(tweak).await;
        let gateway = ctx.spawn_gateway::<Application>().await;
        Self { ctx, gateway }
    }

    async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Posts to the ingest endpoint; a refusal must be problem+json with its status.
    async fn post(
        &self,
        body: impl Into<reqwest::Body>,
        token: Option<&str>,
        content_type: &str,
    ) -> (StatusCode, Value) {
        let reply = self.gateway.ingest_raw(body, token, content_type).await;
        if !reply.status.is_success() {
            assert_eq!(
                reply.content_type, "application/problem+json",
                "{}",
                reply.text
            );
            assert_eq!(
                reply.body["status"],
                reply.status.as_u16(),
                "{}",
                reply.text
            );
        }
        (reply.status, reply.body)
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
        let js = self.ctx.jetstream().await;
        let names = self.ctx.names();
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
    let js = gw.ctx.jetstream().await;
    let names = gw.ctx.names();
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

    // A key named twice (serde would keep the last, another parser the first): 400.
    let twice = opened("d")
        .to_string()
        .replacen('{', r#"{"event": "clicked", "#, 1);
    let (status, body) = gw
        .post(twice, Some(TEST_INGEST_TOKEN), "application/json")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("duplicate key `event`"),
        "{body}"
    );

    // Nothing of all that reached the stream (the streams exist: the gateway declared them).
    assert_eq!(gw.stored().await, 0);
}

#[tokio::test]
async fn without_a_token_configured_the_endpoint_is_off() {
    let gw = TestGateway::spawn_with(|s| s.gateway.ingest_token = None).await;
    let (status, _) = gw
        .post(
            opened("a").to_string(),
            Some(TEST_INGEST_TOKEN),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_gateway_reports_health_readiness_and_metrics() {
    let gw = TestGateway::spawn().await;
    let health = gw.gateway.get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    // An API-only service: nothing may be loaded, run or framed from its answers.
    assert_eq!(
        health.headers["content-security-policy"],
        relance_shared::http::security::API_ONLY
    );
    assert_eq!(health.headers["x-content-type-options"], "nosniff");
    assert_eq!(gw.gateway.get("/readyz").await.status, StatusCode::OK);
    gw.post_json(&opened("m")).await;
    let metrics = gw.gateway.get("/metrics").await.text;
    assert!(metrics.contains("gateway_events_total"), "{metrics}");
    assert!(metrics.contains("http_requests_total"), "{metrics}");
}

#[tokio::test]
async fn nats_down_means_503_and_not_ready() {
    let mut nats = PrivateNats::start().await;
    let gw = TestGateway::spawn_with(|s| {
        s.nats.url = nats.url().into();
        s.nats.publish_timeout_ms = 1_000;
    })
    .await;
    let (status, body) = gw.post_json(&opened("before")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    nats.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = gw.post_json(&opened("during")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let ready = gw.gateway.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    // Counted for the alert RelanceNatsPublishErrors (ops/prometheus/alerts.yml).
    let metrics = gw.gateway.get("/metrics").await.text;
    assert!(
        metrics.contains("gateway_publish_failures_total{reason=\"disconnected\"}")
            || metrics.contains("gateway_publish_failures_total{reason=\"timed_out\"}")
            || metrics.contains("gateway_publish_failures_total{reason=\"not_acknowledged\"}"),
        "{metrics}"
    );

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
    let names = gw.ctx.names();
    let mut stream = js.get_stream(names.email_events_stream()).await.unwrap();
    assert_eq!(
        stream.info().await.unwrap().state.messages,
        2,
        "before + during, nothing lost"
    );
}

#[tokio::test]
async fn a_credential_past_its_rate_is_refused_before_anything_is_published() {
    let gw = TestGateway::spawn_with(|s| {
        s.gateway.rate_limit_per_second = Some(3);
        s.gateway.max_batch = 3;
    })
    .await;
    let (status, _) = gw
        .post_json(&json!([opened("r1"), opened("r2"), opened("r3")]))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let reply = gw
        .gateway
        .ingest_raw(
            opened("r4").to_string(),
            Some(TEST_INGEST_TOKEN),
            "application/json",
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.text
    );
    let retry: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert_eq!(
        gw.stored().await,
        3,
        "nothing published for the refused request"
    );
    let metrics = gw.gateway.get("/metrics").await.text;
    assert!(
        metrics.contains("gateway_refused_total{reason=\"rate_limited\",credential=\"ingest\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn past_max_in_flight_the_gateway_sheds_at_once_with_retry_after() {
    let nats = PrivateNats::start().await;
    let gw = TestGateway::spawn_with(|s| {
        s.nats.url = nats.url().into();
        s.nats.publish_timeout_ms = 2_000;
        s.gateway.max_in_flight = 1;
    })
    .await;
    assert_eq!(gw.post_json(&opened("warm")).await.0, StatusCode::ACCEPTED);
    // NATS stalled: the next request waits on JetStream for its timeout, holding the one place.
    nats.pause();
    let client = gw.gateway.http.clone();
    let url = gw.gateway.ingest_url();
    let stuck = tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(TEST_INGEST_TOKEN)
            .json(&opened("stuck"))
            .send()
            .await
            .map(|r| r.status())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let reply = gw
        .gateway
        .ingest_raw(
            opened("shed").to_string(),
            Some(TEST_INGEST_TOKEN),
            "application/json",
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.text
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "shed at once, not after the timeout"
    );
    assert_eq!(reply.headers["retry-after"], "1");
    assert!(reply.text.contains("busy"), "{}", reply.text);
    // The broker back within its timeout, the held request completes.
    nats.resume();
    assert_eq!(stuck.await.unwrap().unwrap(), StatusCode::ACCEPTED);
}

/// An event older than the deduplication horizon is refused whole (its key may be forgotten,
/// so applying it could count it twice); one just inside it is taken.
#[tokio::test]
async fn an_event_past_the_deduplication_horizon_is_refused() {
    let gw = TestGateway::spawn_with(|s| s.retention.processed_events_days = 30).await;
    let at = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339();
    let event = |id: &str, days: i64| {
        json!({"provider": "resend", "external_id": id, "event": "opened",
               "occurred_at": at(days), "person_id": 1})
    };
    let (status, body) = gw
        .post_json(&json!([event("late-1", 29), event("late-2", 31)]))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "[1].occurred_at", "{body}");
    assert_eq!(gw.stored().await, 0, "nothing of the batch");
    let (status, body) = gw.post_json(&event("late-1", 29)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

/// Every stream is bounded in bytes (design, "Data lifecycle"); `EMAIL_EVENTS`, the only copy
/// of what the gateway acknowledged, refuses new events when full instead of dropping old ones:
/// the gateway answers 503 and every event it answered 202 for is still stored.
#[tokio::test]
async fn a_full_event_stream_refuses_new_events_and_keeps_every_acknowledged_one() {
    let gw = TestGateway::spawn_with(|s| s.nats.events_max_bytes = 1 << 20).await;
    let mut accepted = 0_u64;
    let mut refused = None;
    for request in 0..200 {
        let batch: Vec<Value> = (0..100)
            .map(|n| {
                let mut event = opened(&format!("full-{request}-{n}"));
                event["subject"] = json!("Offre ".repeat(50));
                event
            })
            .collect();
        let (status, body) = gw.post_json(&Value::Array(batch)).await;
        if status == StatusCode::ACCEPTED {
            accepted += 100;
        } else {
            refused = Some((status, body));
            break;
        }
    }
    let (status, body) = refused.expect("a 1 MiB stream fills within 20,000 events");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(accepted > 0);
    // A refused batch may have stored its first events (the gateway publishes, then answers):
    // they are redelivered-safe duplicates of what the provider will retry, never a loss.
    let stored = gw.stored().await;
    assert!(
        stored >= accepted && stored < accepted + 100,
        "{stored} stored for {accepted} acknowledged"
    );
    let js = gw.ctx.jetstream().await;
    let config = js
        .get_stream(gw.ctx.names().email_events_stream())
        .await
        .unwrap()
        .cached_info()
        .config
        .clone();
    assert_eq!(config.max_bytes, 1 << 20);
    assert_eq!(
        config.discard,
        async_nats::jetstream::stream::DiscardPolicy::New
    );
}
