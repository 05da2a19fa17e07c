//! The gateway: email-provider webhooks in, normalized events out to JetStream.
//!
//! - [`ingest`]: the normalized `POST /api/v1/marketing/email/ingest` endpoint and its
//!   validation.
//! - [`webhooks`]: the native provider webhooks (Resend, SendGrid, Mailgun, Postmark);
//!   [`signatures`]: **their signature checks**; [`providers`]: their payloads mapped onto
//!   normalized events.
//! - [`replay`]: Mailgun tokens already seen, shared by every replica.
//! - [`auth`]: the ingest bearer token check; [`admission`]: rate per credential and load
//!   shedding, before anything is published.
//! - [`publish`]: publishing events and waiting for JetStream's acknowledgements.
//! - [`state`]: what handlers share; [`routes`]: the route table; [`startup`]: the
//!   [`Application`] tests build on port 0.

pub mod admission;
pub mod auth;
pub mod ingest;
pub mod openapi;
pub mod providers;
pub mod publish;
pub mod replay;
pub mod routes;
pub mod signatures;
pub mod startup;
pub mod state;
pub mod webhooks;

pub use startup::Application;
