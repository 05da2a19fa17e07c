//! The gateway: email-provider webhooks in, normalized events out to JetStream.
//!
//! - [`ingest`]: the normalized `POST /api/v1/marketing/email/ingest` endpoint and its
//!   validation.
//! - [`auth`]: the ingest bearer token check.
//! - [`publish`]: publishing events and waiting for JetStream's acknowledgements.
//! - [`startup`]: the [`Application`] tests build on port 0.

pub mod auth;
pub mod ingest;
pub mod publish;
pub mod startup;

pub use startup::Application;
