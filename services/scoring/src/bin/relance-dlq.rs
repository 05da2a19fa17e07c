//! `relance-dlq`: what scoring's dead-letter queue holds, and replaying it after a fix (see
//! docs/runbook.md). Reads the same configuration as the services (`RELANCE__NATS__URL`, ...).

use clap::{Parser, Subcommand};

use relance_scoring::dlq;
use relance_shared::nats::{self, Names};
use relance_shared::{telemetry, Settings};

/// Inspect and replay scoring's dead-letter queue.
#[derive(Parser)]
#[command(name = "relance-dlq", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print each dead letter's sequence, original subject and reason.
    List {
        /// Only this provider's dead letters.
        #[arg(long)]
        provider: Option<String>,
    },
    /// Republish each dead letter to its original subject, removing it once JetStream has it.
    Replay {
        /// Only this provider's dead letters.
        #[arg(long)]
        provider: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load()?;
    let _telemetry = telemetry::init("relance-dlq", &settings.telemetry)?;
    let client = nats::connect(&settings.nats, "relance-dlq").await?;
    let js = nats::jetstream(client, &settings.nats);
    let names = Names::new(&settings.nats.namespace);
    match cli.command {
        Command::List { provider } => {
            let letters = dlq::list(&js, &names, provider.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for l in &letters {
                println!(
                    "{}\t{}\t{}",
                    l.sequence,
                    l.original_subject.as_deref().unwrap_or(&l.subject),
                    l.reason
                );
            }
            println!("{} message(s)", letters.len());
        }
        Command::Replay { provider } => {
            let report = dlq::replay(&js, &names, provider.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("replayed {} · skipped {}", report.replayed, report.skipped);
        }
    }
    Ok(())
}
