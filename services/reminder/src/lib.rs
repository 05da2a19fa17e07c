//! relance-reminder: scheduled jobs. Where to look:
//! - [`overdue`]: due next actions → notifications, exactly once (SKIP LOCKED batches);
//! - [`publish`]: notifications → JetStream, marked once acknowledged;
//! - [`decay`]: the weekly score decay, idempotent;
//! - [`mail`]: notifications by email (instant and the daily digest) through an outbox;
//! - [`retention`]: what is past its horizon deleted, in short batches;
//! - [`pass`]: one pass of all of them, and the schedule;
//! - [`routes`]: health and metrics; [`startup`]: the [`Reminder`] (no port, for `--once`) and
//!   the [`Application`].

pub mod decay;
pub mod mail;
pub mod overdue;
pub mod pass;
pub mod publish;
pub mod retention;
pub mod routes;
pub mod sla;
pub mod startup;

pub use startup::{Application, Reminder};
