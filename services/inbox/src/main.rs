use clap::Parser;

use relance_inbox::Application;
use relance_shared::{service, Settings};

/// Relance inbox: the workflow inbox API, hot leads, the live stream and the web app.
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
