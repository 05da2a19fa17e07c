//! The gateway's whole route table.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use relance_shared::http::health;

use crate::state::AppState;
use crate::{ingest, openapi, webhooks};

pub fn router(state: Arc<AppState>, health: health::Dependencies) -> Router {
    let max_body_bytes = state.max_body_bytes;
    Router::new()
        .route("/api/v1/marketing/email/ingest", post(ingest::ingest))
        .route(
            "/api/v1/marketing/email/webhooks/resend",
            post(webhooks::resend),
        )
        .route(
            "/api/v1/marketing/email/webhooks/sendgrid",
            post(webhooks::sendgrid),
        )
        .route(
            "/api/v1/marketing/email/webhooks/mailgun",
            post(webhooks::mailgun),
        )
        .route(
            "/api/v1/marketing/email/webhooks/postmark",
            post(webhooks::postmark),
        )
        .route("/openapi.json", get(openapi::openapi_json))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
        .merge(health::routes(health))
}
