//! `relance-reminder` runs a pass every `reminder.interval_secs` until SIGTERM;
//! `relance-reminder --once` runs one pass and exits (0 when it succeeded), for cron and tests.

use relance_reminder::Application;
use relance_shared::http::serve::shutdown_signal;
use relance_shared::{telemetry, Settings};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let once = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--once") => true,
        Some(other) => anyhow::bail!("unknown argument {other}; usage: relance-reminder [--once]"),
    };
    let settings = Settings::load()?;
    let _telemetry = telemetry::init("relance-reminder", &settings.telemetry)?;
    let app = Application::build(settings).await?;
    if once {
        let stop = CancellationToken::new();
        let on_signal = stop.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            on_signal.cancel();
        });
        let report = app.run_once(&stop).await?;
        println!(
            "notified {} · published {} · unpublished {} · decayed {}",
            report.notified, report.published, report.unpublished, report.decayed
        );
        return Ok(());
    }
    tracing::info!(port = app.port(), "reminder running");
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(())
}
