//! A span and metrics for every request: `http_requests_total` and
//! `http_request_duration_seconds`, labelled by service, route template and status.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tracing::Instrument;

/// Wraps `router` so each request runs in an `http.request` span (continuing the caller's W3C
/// trace when it sends `traceparent`) and is counted and timed.
pub fn layer(router: Router, service: &'static str) -> Router {
    router.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| observe(service, req, next),
    ))
}

struct HttpHeaders<'a>(&'a axum::http::HeaderMap);

impl opentelemetry::propagation::Extractor for HttpHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

async fn observe(service: &'static str, req: Request, next: Next) -> Response {
    use opentelemetry::propagation::TextMapPropagator;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().clone();
    let span = tracing::info_span!(
        "http.request",
        service,
        http.method = %method,
        http.route = %route,
        http.status = tracing::field::Empty,
        // How the inbox counted a total (its `query::Counting`), where it counted one.
        query.counting = tracing::field::Empty,
    );
    if req.headers().contains_key("traceparent") {
        let cx = opentelemetry_sdk::propagation::TraceContextPropagator::new()
            .extract(&HttpHeaders(req.headers()));
        let _ = span.set_parent(cx);
    }
    let started = Instant::now();
    let response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.status", status);
    let labels = [
        ("service", service.to_owned()),
        ("method", method.to_string()),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
