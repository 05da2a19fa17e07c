//! Building and running the gateway: routes, state, NATS, health.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use axum::Router;
use secrecy::SecretString;
use tokio::net::TcpListener;

use relance_shared::http::{health, observe, serve};
use relance_shared::nats::{self, Names};
use relance_shared::Settings;

use crate::publish::Publisher;

pub struct AppState {
    pub publisher: Publisher,
    pub ingest_token: Option<SecretString>,
    pub max_body_bytes: usize,
    pub max_batch: usize,
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    port: u16,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let client = nats::connect(&settings.nats, "relance-gateway").await?;
        let js = nats::jetstream(client.clone(), &settings.nats);
        let names = Names::new(&settings.nats.namespace);
        nats::ensure_streams_eventually(js.clone(), names.clone(), settings.nats.replicas).await;
        let publisher = Publisher::new(
            client.clone(),
            js,
            names,
            Duration::from_millis(settings.nats.publish_timeout_ms),
        );
        let state = Arc::new(AppState {
            publisher,
            ingest_token: settings.gateway.ingest_token.clone(),
            max_body_bytes: settings.gateway.max_body_bytes,
            max_batch: settings.gateway.max_batch,
        });
        let api = Router::new()
            .route(
                "/api/v1/marketing/email/ingest",
                post(crate::ingest::ingest),
            )
            .layer(DefaultBodyLimit::max(settings.gateway.max_body_bytes))
            .with_state(state);
        // The gateway never touches PostgreSQL: JetStream holds events while the database is
        // down, so its readiness depends on NATS alone.
        let router = observe::layer(
            api.merge(health::routes(health::Dependencies {
                db: None,
                nats: client,
            })),
            "gateway",
        );
        let listener = serve::bind(&settings.gateway.listen).await?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            listener,
            router,
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        serve::serve(self.listener, self.router, shutdown).await
    }
}
