//! OpenAPI pieces every service's `/openapi.json` shares: the problem+json body and the health,
//! readiness and metrics operations.

use serde::Serialize;
use utoipa::ToSchema;

/// An `application/problem+json` error (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For 422: each bad field or parameter and what is wrong with it.
    pub errors: Option<Vec<ProblemField>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive")))]
#[allow(dead_code)]
pub fn healthz() {}

/// Readiness: the service's dependencies answer.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "a dependency is down"),
))]
#[allow(dead_code)]
pub fn readyz() {}

/// Prometheus metrics, text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
#[allow(dead_code)]
pub fn metrics() {}
