use relance_reminder::Application;
use relance_shared::{http::serve::shutdown_signal, telemetry, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let _telemetry = telemetry::init("relance-reminder", &settings.telemetry)?;
    let app = Application::build(settings).await?;
    tracing::info!(port = app.port(), "reminder listening");
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(())
}
