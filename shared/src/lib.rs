//! `relance-shared`: what every Relance service is built from. See `docs/architecture.md`.

pub mod config;
pub mod db;
pub mod directory;
pub mod event;
pub mod http;
pub mod local_time;
pub mod messages;
pub mod nats;
pub mod scoring;
pub mod service;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tls;
pub mod valid;
pub mod working_time;

pub use config::Settings;
