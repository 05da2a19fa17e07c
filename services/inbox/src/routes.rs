//! The inbox's whole route table.

use std::sync::Arc;

use axum::routing::{delete, get, patch, post, put};
use axum::Router;

use crate::state::AppState;
use crate::{handlers, live, openapi};

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/auth/dev-login", post(handlers::auth::dev_login))
        .route("/api/v1/auth/config", get(handlers::auth::config))
        .route("/api/v1/me", get(handlers::auth::me))
        .route(
            "/api/v1/me/preferences",
            patch(handlers::auth::set_preferences),
        )
        .route("/api/v1/users", get(handlers::auth::users))
        .route("/api/v1/teams", get(handlers::auth::teams))
        .route("/api/v1/interactions", post(handlers::interactions::create))
        .route(
            "/api/v1/interactions/inbox",
            get(handlers::interactions::inbox),
        )
        .route(
            "/api/v1/interactions/inbox/stats",
            get(handlers::interactions::stats),
        )
        .route(
            "/api/v1/interactions/inbox/export",
            get(handlers::interactions::export),
        )
        .route(
            "/api/v1/interactions/bulk",
            post(handlers::interactions::bulk),
        )
        .route(
            "/api/v1/interactions/{id}",
            get(handlers::interactions::get_one).patch(handlers::interactions::edit),
        )
        .route(
            "/api/v1/interactions/{id}/history",
            get(handlers::interactions::history),
        )
        .route(
            "/api/v1/interactions/{id}/status",
            patch(handlers::interactions::set_status),
        )
        .route(
            "/api/v1/interactions/{id}/assignee",
            patch(handlers::interactions::set_assignee),
        )
        .route(
            "/api/v1/interactions/{id}/next-action",
            patch(handlers::interactions::set_next_action),
        )
        .route("/api/v1/marketing/leads-hot", get(handlers::leads::hot))
        .route(
            "/api/v1/marketing/leads-hot/export",
            get(handlers::leads::export),
        )
        .route("/api/v1/people", get(handlers::people::search))
        .route("/api/v1/people/{id}", get(handlers::people::person))
        .route("/api/v1/people/{id}/sends", get(handlers::people::sends))
        .route(
            "/api/v1/organisations/{id}",
            get(handlers::people::organisation),
        )
        .route(
            "/api/v1/people/{id}/score",
            get(handlers::leads::person_score),
        )
        .route("/api/v1/notifications", get(handlers::notifications::list))
        .route(
            "/api/v1/notifications/read-all",
            post(handlers::notifications::read_all),
        )
        .route(
            "/api/v1/notifications/{id}/read",
            patch(handlers::notifications::mark_read),
        )
        .route("/api/v1/stream", get(live::sse::stream))
        .route(
            "/api/v1/directory/users",
            put(handlers::directory::put_users),
        )
        .route(
            "/api/v1/directory/organisations",
            put(handlers::directory::put_organisations),
        )
        .route(
            "/api/v1/directory/teams",
            put(handlers::directory::put_teams),
        )
        .route(
            "/api/v1/directory/people",
            put(handlers::directory::put_people),
        )
        .route(
            "/api/v1/directory/people/merge",
            post(handlers::directory::merge_people),
        )
        .route(
            "/api/v1/directory/people/{external_id}",
            delete(handlers::directory::erase_person),
        )
        .route("/openapi.json", get(openapi::openapi_json))
        .with_state(state)
}
