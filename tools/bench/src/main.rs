//! Benchmarks against a running Relance stack, printing figures (never asserting them):
//! - `relance-bench ingest`: events through the gateway to scoring, events/s (see `ingest.rs`);
//! - `relance-bench inbox`: inbox API latencies, p50/p99, on a seeded database, with the query
//!   plans (see `inbox.rs`; seed with `relance-seed`);
//! - `relance-bench reminder`: one reminder pass over 100,000 due interactions (see `reminder.rs`);
//! - `relance-bench baseline`: the per-event transaction and raw JetStream limits (`baseline.rs`).

mod args;
mod baseline;
mod inbox;
mod ingest;
mod reminder;

use anyhow::bail;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = argv.split_first() else {
        bail!("usage: relance-bench <ingest|inbox|reminder|baseline> [--option value]...");
    };
    let args = args::Args::parse(rest)?;
    match command.as_str() {
        "ingest" => ingest::run(&args).await,
        "inbox" => inbox::run(&args).await,
        "reminder" => reminder::run(&args).await,
        "baseline" => baseline::run(&args).await,
        other => bail!("unknown benchmark {other}: ingest, inbox, reminder or baseline"),
    }
}
