//! Building and running the gateway: NATS and its streams, the state, the port.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use relance_shared::service::CancellationToken;
use tokio::net::TcpListener;

use relance_shared::http::{health, observe, serve};
use relance_shared::nats::{self, Names};
use relance_shared::service::Service;
use relance_shared::Settings;

use crate::admission::Admission;
use crate::publish::Publisher;
use crate::replay::TokenStore;
use crate::signatures::ProviderKeys;
use crate::state::AppState;

pub struct Application {
    http: relance_shared::config::HttpSettings,
    listener: TcpListener,
    router: Router,
    port: u16,
}

impl Service for Application {
    const NAME: &'static str = "relance-gateway";

    async fn build(settings: Settings) -> anyhow::Result<Self> {
        let providers = ProviderKeys::from_settings(&settings.providers)?;
        let client = nats::connect(&settings.nats, Self::NAME).await?;
        let js = nats::jetstream(client.clone(), &settings.nats);
        let names = Names::new(&settings.nats.namespace);
        nats::ensure_streams_eventually(js.clone(), names.clone(), settings.nats.clone()).await;
        let mailgun_tokens = TokenStore::new(js.clone(), &names, settings.nats.replicas);
        let publisher = Publisher::new(
            client.clone(),
            js,
            names,
            Duration::from_millis(settings.nats.publish_timeout_ms),
        );
        let state = Arc::new(AppState {
            publisher,
            providers,
            mailgun_tokens,
            ingest_token: settings.gateway.ingest_token.clone(),
            max_body_bytes: settings.gateway.max_body_bytes,
            max_batch: settings.gateway.max_batch,
            max_webhook_events: settings.gateway.max_webhook_events,
            dedupe_horizon: chrono::Duration::days(i64::from(
                settings.retention.processed_events_days,
            )),
            admission: Admission::new(
                settings.gateway.rate_limit_per_second,
                settings.gateway.max_batch,
                settings.gateway.max_in_flight,
            ),
        });
        // The gateway never touches PostgreSQL: JetStream holds events while the database is
        // down, so its readiness depends on NATS alone.
        let health = health::Dependencies {
            db: None,
            nats: client,
        };
        let router = observe::layer(
            relance_shared::http::security::api_only(crate::routes::router(state, health)),
            "gateway",
        );
        let listener = serve::bind(settings.gateway.listen).await?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            http: settings.http.clone(),
            listener,
            router,
            port,
        })
    }

    fn port(&self) -> u16 {
        self.port
    }

    async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        serve::serve(self.listener, self.router, stop, &self.http).await?;
        Ok(())
    }
}
