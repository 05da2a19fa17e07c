//! Benchmarks against a running Relance stack, printing figures (never asserting them):
//! - `relance-bench all`: everything below in one run, on a pipeline of its own, with the
//!   ratios to the machine's limits (see `all.rs`);
//! - `relance-bench ingest`: events through the gateway to scoring, events/s (see `ingest.rs`);
//! - `relance-bench inbox`: inbox API latencies, p50/p99, on a seeded database, with the query
//!   plans (see `inbox.rs`; seed with `relance-seed`);
//! - `relance-bench reminder`: one reminder pass over 100,000 due interactions (see `reminder.rs`);
//! - `relance-bench baseline`: the per-event transaction and raw JetStream limits (`baseline.rs`);
//! - `relance-bench seed`: the same as `relance-seed`.

use anyhow::bail;

use relance_bench::{all, args, baseline, inbox, ingest, reminder, seed};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = argv.split_first() else {
        bail!("usage: relance-bench <all|ingest|inbox|reminder|baseline|seed> [--option value]...");
    };
    let args = args::Args::parse(rest)?;
    match command.as_str() {
        "all" => all::run(&args).await,
        "ingest" => ingest::run(&args).await.map(|_| ()),
        "inbox" => inbox::run(&args).await,
        "reminder" => reminder::run(&args).await.map(|_| ()),
        "baseline" => baseline::run(&args).await.map(|_| ()),
        "seed" => seed::run(&args).await,
        other => bail!("unknown benchmark {other}: all, ingest, inbox, reminder, baseline or seed"),
    }
}
