//! What every Relance service process is: an [`Service`] that builds from [`Settings`] (port 0
//! in tests), tells its port, and runs until a [`CancellationToken`] is cancelled, then drains.
//! [`run_main`] is each binary's `main`: telemetry, build, run until SIGTERM or ctrl-c.

use std::future::Future;

pub use tokio_util::sync::CancellationToken;

use crate::http::serve::shutdown_token;
use crate::{telemetry, Settings};

pub trait Service: Sized + Send + 'static {
    /// The process name in logs and traces (`relance-gateway`).
    const NAME: &'static str;

    fn build(settings: Settings) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// The HTTP port actually bound (the configured one, or the one port 0 picked).
    fn port(&self) -> u16;

    /// Serves until `stop` is cancelled, then finishes in-flight work and returns.
    fn run(self, stop: CancellationToken) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// As [`Service::run`], stopping when `shutdown` completes.
    fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        async move {
            let stop = CancellationToken::new();
            let trigger = stop.clone();
            tokio::spawn(async move {
                shutdown.await;
                trigger.cancel();
            });
            self.run(stop).await
        }
    }
}

/// A service binary's whole `main`, once its settings are loaded.
pub async fn run_main<S: Service>(settings: Settings) -> anyhow::Result<()> {
    let _telemetry = telemetry::init(S::NAME, &settings.telemetry)?;
    let app = S::build(settings).await?;
    tracing::info!(port = app.port(), "{} listening", S::NAME);
    app.run(shutdown_token()).await
}
