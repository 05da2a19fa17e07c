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

// The refusals every API answers the same way, as problem+json, documented once: a route lists
// `Unauthorized, Invalid, ...` in its `responses(...)` and keeps tuples only for a status whose
// meaning is its own (the gateway's 503, dev-login's 404).

/// The body is not JSON.
#[derive(utoipa::IntoResponses)]
#[response(status = 400, content_type = "application/problem+json")]
pub struct BadJson(pub Problem);

/// No valid bearer token.
#[derive(utoipa::IntoResponses)]
#[response(status = 401, content_type = "application/problem+json")]
pub struct Unauthorized(pub Problem);

/// Valid credentials of nobody allowed in (an unknown or deactivated user).
#[derive(utoipa::IntoResponses)]
#[response(status = 403, content_type = "application/problem+json")]
pub struct Forbidden(pub Problem);

/// No such resource.
#[derive(utoipa::IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
pub struct NotFound(pub Problem);

/// The body is larger than the service accepts.
#[derive(utoipa::IntoResponses)]
#[response(status = 413, content_type = "application/problem+json")]
pub struct TooLarge(pub Problem);

/// The body is not `application/json`.
#[derive(utoipa::IntoResponses)]
#[response(status = 415, content_type = "application/problem+json")]
pub struct NotJsonMediaType(pub Problem);

/// A field or parameter is invalid; each one is named in `errors`.
#[derive(utoipa::IntoResponses)]
#[response(status = 422, content_type = "application/problem+json")]
pub struct Invalid(pub Problem);

/// The request conflicts with what is stored (an address another record holds); each field
/// at fault is named in `errors`.
#[derive(utoipa::IntoResponses)]
#[response(status = 409, content_type = "application/problem+json")]
pub struct Conflict(pub Problem);

/// A limit reached: retry after `Retry-After` seconds.
#[derive(utoipa::IntoResponses)]
#[response(status = 429, content_type = "application/problem+json")]
pub struct TooMany(pub Problem);

/// A dependency (NATS, PostgreSQL) is not available: retry.
#[derive(utoipa::IntoResponses)]
#[response(status = 503, content_type = "application/problem+json")]
pub struct Unavailable(pub Problem);
