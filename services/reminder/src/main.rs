use clap::Parser;
use tokio_util::sync::CancellationToken;

use relance_reminder::{Application, Reminder};
use relance_shared::http::serve::shutdown_signal;
use relance_shared::{service, telemetry, Settings};

/// Relance reminder: notifies assignees of overdue next actions once, publishes the
/// notifications, and decays idle lead scores, every `reminder.interval_secs`.
///
/// Configuration comes from config/ and RELANCE__* environment variables (docs/configuration.md).
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Run one pass and exit (cron). Opens no port, so passes may overlap each other and a
    /// running reminder; prints `notified N · published N · unpublished N · decayed N`.
    #[arg(long)]
    once: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load()?;
    if !cli.once {
        return service::run_main::<Application>(settings).await;
    }
    let _telemetry = telemetry::init("relance-reminder", &settings.telemetry)?;
    let reminder = Reminder::connect(&settings).await?;
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        on_signal.cancel();
    });
    let report = reminder.run_once(&stop).await?;
    println!(
        "notified {} · published {} · unpublished {} · decayed {}",
        report.notified, report.published, report.unpublished, report.decayed
    );
    Ok(())
}
