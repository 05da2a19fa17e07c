//! Helpers the scoring integration tests share: the gateway and scoring of a test, in-process.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use relance_shared::Settings;

/// A gateway in this process; returns its ingest URL.
pub async fn spawn_gateway(settings: &Settings) -> String {
    let gateway = relance_gateway::Application::build(settings.clone())
        .await
        .unwrap();
    let url = format!(
        "http://127.0.0.1:{}/api/v1/marketing/email/ingest",
        gateway.port()
    );
    tokio::spawn(gateway.run_until_stopped(std::future::pending()));
    url
}

/// A scoring consumer in this process, running until the test ends.
pub async fn spawn_scoring(settings: &Settings) {
    let scoring = relance_scoring::Application::build(settings.clone())
        .await
        .unwrap();
    tokio::spawn(scoring.run_until_stopped(std::future::pending()));
}

/// Gateway and scoring in this process; returns the ingest URL.
pub async fn spawn_pipeline(settings: &Settings) -> String {
    let url = spawn_gateway(settings).await;
    spawn_scoring(settings).await;
    url
}
