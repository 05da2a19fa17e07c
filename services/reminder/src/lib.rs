//! relance-reminder: scheduled jobs. Where to look:
//! - [`overdue`]: due next actions → notifications, exactly once (SKIP LOCKED batches);
//! - [`publish`]: notifications → JetStream, marked once acknowledged;
//! - [`decay`]: the weekly score decay, idempotent;
//! - [`pass`]: one pass of all three, and the schedule;
//! - [`routes`]: health and metrics; [`startup`]: the [`Reminder`] (no port, for `--once`) and
//!   the [`Application`].

pub mod decay;
pub mod overdue;
pub mod pass;
pub mod publish;
pub mod routes;
pub mod startup;

pub use startup::{Application, Reminder};
