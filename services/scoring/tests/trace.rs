//! One webhook, one trace: the gateway's request span and scoring's span for the same event
//! share a trace id, carried by the W3C `traceparent` header of the NATS message. Its own test
//! binary, because it installs an in-memory span exporter as the process's tracer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use relance_gateway::Application as Gateway;
use relance_scoring::Application as Scoring;
use relance_shared::testing::{self, TestContext};

#[tokio::test]
async fn the_webhook_trace_continues_into_scoring() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("relance-test")))
        .init();

    // The context's own tracing set-up finds this one installed and leaves it.
    let ctx = TestContext::with(|s| s.scoring.batch_wait_ms = 20).await;
    let db = &ctx.db;
    let gateway = ctx.spawn_gateway::<Gateway>().await;
    let _scoring = ctx.spawn_scoring::<Scoring>().await;

    let reply = gateway
        .ingest(
            &json!({"provider": "resend", "external_id": "trace-1", "event": "sent",
                        "occurred_at": "2026-11-20T10:00:00Z"}),
        )
        .await;
    assert_eq!(reply.status, 202);
    testing::wait_for(Duration::from_secs(20), "the event scored", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        (n == 1).then_some(())
    })
    .await;

    let spans = testing::wait_for(Duration::from_secs(10), "both spans exported", || async {
        let spans = exporter.get_finished_spans().unwrap();
        let find = |name: &str| spans.iter().find(|s| s.name == name).cloned();
        match (find("ingest"), find("scoring.event")) {
            (Some(ingest), Some(scored)) => Some((ingest, scored)),
            _ => None,
        }
    })
    .await;
    let (ingest, scored) = spans;
    assert_eq!(
        scored.span_context.trace_id(),
        ingest.span_context.trace_id(),
        "scoring's span belongs to the webhook's trace"
    );
    assert_ne!(scored.parent_span_id, opentelemetry::trace::SpanId::INVALID);
}
