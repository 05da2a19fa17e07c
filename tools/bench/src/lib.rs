//! Benchmarks printing figures (never asserting them), and the data-at-scale seeder. The
//! `relance-bench` binary dispatches to these modules; `all` runs every one in a single run.

pub mod all;
pub mod args;
pub mod baseline;
pub mod cli;
pub mod directory;
pub mod inbox;
pub mod ingest;
pub mod mixed;
pub mod one_click;
pub mod plans;
pub mod reminder;
pub mod retention;
pub mod seed;
pub mod sla;
pub mod soak;
pub mod stack;
