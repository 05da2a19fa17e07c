//! `relance-seed`: data at scale for benchmarks; see `relance_bench::seed`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    relance_bench::seed::run(&relance_bench::args::Args::parse(&argv)?).await
}
