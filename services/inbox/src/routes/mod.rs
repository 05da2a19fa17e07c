//! HTTP routes of the inbox API. Handlers validate, call the query modules, and answer; every
//! refusal is an `ApiError` (problem+json). `/openapi.json` is generated from these handlers'
//! annotations ([`crate::openapi`]).

pub mod auth;
pub mod interactions;
pub mod leads;
pub mod notifications;

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::routing::{get, patch, post};
use axum::{Json, Router};

use relance_shared::http::{ApiError, FieldError};

use crate::startup::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/auth/dev-login", post(auth::dev_login))
        .route("/api/v1/me", get(auth::me))
        .route("/api/v1/users", get(auth::users))
        .route("/api/v1/interactions", post(interactions::create))
        .route("/api/v1/interactions/inbox", get(interactions::inbox))
        .route("/api/v1/interactions/inbox/stats", get(interactions::stats))
        .route(
            "/api/v1/interactions/inbox/export",
            get(interactions::export),
        )
        .route("/api/v1/interactions/bulk", post(interactions::bulk))
        .route("/api/v1/interactions/{id}", get(interactions::get_one))
        .route(
            "/api/v1/interactions/{id}/status",
            patch(interactions::set_status),
        )
        .route(
            "/api/v1/interactions/{id}/assignee",
            patch(interactions::set_assignee),
        )
        .route(
            "/api/v1/interactions/{id}/next-action",
            patch(interactions::set_next_action),
        )
        .route("/api/v1/marketing/leads-hot", get(leads::hot))
        .route("/api/v1/marketing/leads-hot/export", get(leads::export))
        .route("/api/v1/people/{id}/score", get(leads::person_score))
        .route("/api/v1/notifications", get(notifications::list))
        .route(
            "/api/v1/notifications/{id}/read",
            patch(notifications::mark_read),
        )
        .route("/api/v1/stream", get(crate::live::sse::stream))
        .route("/openapi.json", get(openapi_json))
        .with_state(state)
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}

/// A numeric id from the path: 422 naming `id` otherwise.
pub fn path_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let invalid =
        || ApiError::Validation(vec![FieldError::new("id", "must be a positive integer")]);
    let Path(raw) = path.map_err(|_| invalid())?;
    match raw.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(invalid()),
    }
}
