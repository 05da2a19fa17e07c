use clap::Parser;

use relance_gateway::Application;
use relance_shared::{service, Settings};

/// Relance gateway: email-provider webhooks in, normalized events out to JetStream.
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
