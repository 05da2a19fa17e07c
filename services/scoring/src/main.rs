use clap::Parser;

use relance_scoring::Application;
use relance_shared::{service, Settings};

/// Relance scoring: applies email events from JetStream to sends, interactions and lead
/// scores, exactly once.
///
/// Configuration comes from config/ and RELANCE__* environment variables (docs/configuration.md).
#[derive(Parser)]
#[command(version)]
struct Cli {}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Cli::parse();
    service::run_main::<Application>(Settings::load()?).await
}
