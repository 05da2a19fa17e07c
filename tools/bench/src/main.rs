//! Benchmarks against PostgreSQL and NATS, printing figures (never asserting them):
//! - `relance-bench all`: everything below in one run, on a pipeline of its own, with the
//!   ratios to the machine's limits (see `all.rs`);
//! - `relance-bench ingest`: events through the gateway to scoring, events/s (see `ingest.rs`);
//! - `relance-bench inbox`: inbox API latencies, p50/p99, on a seeded database, with the query
//!   plans (see `inbox.rs`; seed with `relance-seed`);
//! - `relance-bench reminder`: one reminder pass over 100,000 due interactions (see `reminder.rs`);
//! - `relance-bench baseline`: the per-event transaction and raw JetStream limits (`baseline.rs`);
//! - `relance-bench seed`: the same as `relance-seed`;
//! - `relance-bench directory`: a CRM's initial load through the directory API, people/s
//!   (see `directory.rs`);
//! - `relance-bench retention`: the retention chore deleting 1,000,000 expired rows beside
//!   scoring's and the inbox's writes, with the longest lock wait (see `retention.rs`);
//! - `relance-bench sla`: speed to lead's assignment step and SLA pass (see `sla.rs`);
//! - `relance-bench soak`: mixed load, then with hostile clients, and an exact account (see
//!   `soak.rs`).
//!
//! `relance-bench --help` and `relance-bench <benchmark> --help` list the options.

use clap::Parser;

use relance_bench::cli::{Bench, BenchCli};
use relance_bench::{
    all, baseline, directory, inbox, ingest, reminder, retention, seed, sla, soak,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    relance_shared::tls::install_crypto_provider();
    match BenchCli::parse().command {
        Bench::All(o) => all::run(&o.into_args()).await,
        Bench::Ingest(o) => ingest::run(&o.into_args()).await.map(|_| ()),
        Bench::Inbox(o) => inbox::run(&o.into_args()).await,
        Bench::Reminder(o) => reminder::run(&o.into_args()).await.map(|_| ()),
        Bench::Baseline(o) => baseline::run(&o.into_args()).await.map(|_| ()),
        Bench::Seed(o) => seed::run(&o.into_args()).await,
        Bench::Directory(o) => directory::run(&o.into_args()).await.map(|_| ()),
        Bench::Soak(o) => soak::run(&o.into_args()).await,
        Bench::Retention(o) => retention::run(&o.into_args()).await,
        Bench::Sla(o) => sla::run(&o.into_args()).await,
    }
}
