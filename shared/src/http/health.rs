//! `/healthz` (the process answers), `/readyz` (PostgreSQL and NATS answer) and `/metrics`
//! (Prometheus text), the same on every service.

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use sqlx::PgPool;

/// The process-wide Prometheus recorder, installed on first use.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
            .map(|b| b.build_recorder())
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        // Fails only if another recorder is installed, in which case ours just stays empty.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// What `/readyz` checks. A service that does not use the database passes `db: None`.
#[derive(Clone)]
pub struct Dependencies {
    pub db: Option<PgPool>,
    pub nats: async_nats::Client,
}

pub fn routes(deps: Dependencies) -> Router {
    // Install the recorder before any metric is recorded.
    let _ = prometheus();
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(deps)
}

async fn readyz(State(deps): State<Dependencies>) -> impl IntoResponse {
    let db = match &deps.db {
        Some(pool) => tokio::time::timeout(
            Duration::from_secs(2),
            sqlx::query_scalar!(r#"SELECT 1 AS "one!""#).fetch_one(pool),
        )
        .await
        .is_ok_and(|r| r.is_ok()),
        None => true,
    };
    let nats = crate::nats::is_connected(&deps.nats);
    let status = if db && nats {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "down" };
    (
        status,
        Json(json!({
            "status": if db && nats { "ready" } else { "not ready" },
            "database": if deps.db.is_some() { word(db) } else { "not used" },
            "nats": word(nats),
        })),
    )
}

async fn metrics_text() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        prometheus().render(),
    )
}
