//! The inbox API's handlers. They validate, call the query modules, and answer; every refusal
//! is an `ApiError` (problem+json). The route table is [`crate::routes`]; `/openapi.json` is
//! generated from these handlers' annotations ([`crate::openapi`]).

pub mod auth;
pub mod directory;
pub mod interactions;
pub mod leads;
pub mod notifications;
pub mod people;

use axum::extract::rejection::PathRejection;
use axum::extract::Path;

use relance_shared::http::{ApiError, FieldError};

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
