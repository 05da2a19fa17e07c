//! `relance-seed`: data at scale for benchmarks; see `relance_bench::seed`.

use clap::Parser;

use relance_bench::cli::SeedCli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    relance_shared::tls::install_crypto_provider();
    relance_bench::seed::run(&SeedCli::parse().options.into_args()).await
}
