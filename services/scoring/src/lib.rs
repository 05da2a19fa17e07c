//! Scoring: the JetStream consumer that applies email events to the database.
//!
//! - [`apply`]: the database effects of a batch of events, exactly once (the scoring rules
//!   themselves are in `relance_shared::scoring`).
//! - [`consumer`]: pulling batches, acking after commit, nak with delay, the DLQ.
//! - [`routes`]: the health/metrics routes; [`startup`]: the [`Application`] (consumer +
//!   health/metrics port).

pub mod apply;
pub mod consumer;
pub mod dlq;
pub mod routes;
pub mod startup;

pub use startup::Application;
