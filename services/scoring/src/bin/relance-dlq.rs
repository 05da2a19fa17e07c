//! `relance-dlq list [--provider P]`: what the dead-letter queue holds and why.
//! `relance-dlq replay [--provider P]`: republishes it to scoring after a fix (see the README's
//! runbook). Reads the same configuration as the services (`RELANCE__NATS__URL`, ...).

use anyhow::{bail, Context};

use relance_scoring::dlq;
use relance_shared::nats::{self, Names};
use relance_shared::{telemetry, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = args
        .split_first()
        .context("usage: relance-dlq <list|replay> [--provider P]")?;
    let provider = match rest {
        [] => None,
        [flag, value] if flag == "--provider" => Some(value.as_str()),
        _ => bail!("usage: relance-dlq <list|replay> [--provider P]"),
    };
    let settings = Settings::load()?;
    let _telemetry = telemetry::init("relance-dlq", &settings.telemetry)?;
    let client = nats::connect(&settings.nats, "relance-dlq").await?;
    let js = nats::jetstream(client, &settings.nats);
    let names = Names::new(&settings.nats.namespace);
    match command.as_str() {
        "list" => {
            let letters = dlq::list(&js, &names, provider)
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
        "replay" => {
            let report = dlq::replay(&js, &names, provider)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("replayed {} · skipped {}", report.replayed, report.skipped);
        }
        other => bail!("unknown command {other}: list or replay"),
    }
    Ok(())
}
