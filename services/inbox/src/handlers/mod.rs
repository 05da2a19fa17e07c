//! The inbox API's handlers. They validate, call the query modules, and answer; every refusal
//! is an `ApiError` (problem+json). The route table is [`crate::routes`]; `/openapi.json` is
//! generated from these handlers' annotations ([`crate::openapi`]).

pub mod auth;
pub mod directory;
pub mod interactions;
pub mod leads;
pub mod notifications;
pub mod people;
