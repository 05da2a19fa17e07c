//! The reminder's route table: health and metrics only (its work runs on a schedule).

use axum::Router;

use relance_shared::http::health;

pub fn router(health: health::Dependencies) -> Router {
    health::routes(health)
}
