//! HTTP building blocks every service uses: problem+json errors, health and metrics routes,
//! request spans and metrics, browser security headers, and serving with graceful shutdown.

pub mod duplicate_keys;
pub mod extract;
pub mod health;
pub mod observe;
pub mod openapi;
pub mod problem;
pub mod security;
pub mod serve;

pub use extract::{one_or_many, AnyJson, ApiJson, ApiQuery, PathId};
pub use problem::{ApiError, FieldError};
