//! The scoring service's route table: health and metrics only (its work comes from JetStream).

use axum::Router;

use relance_shared::http::health;

pub fn router(health: health::Dependencies) -> Router {
    health::routes(health)
}
