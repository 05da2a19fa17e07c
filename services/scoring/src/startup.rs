//! Building and running the scoring service: the consumer loop and a small HTTP port for
//! `/healthz`, `/readyz` and `/metrics`.

use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use relance_shared::http::{health, observe, serve};
use relance_shared::nats::{self, Names};
use relance_shared::service::Service;
use relance_shared::{db, Settings};

use crate::consumer::ScoringConsumer;

pub struct Application {
    http: relance_shared::config::HttpSettings,
    listener: TcpListener,
    router: Router,
    port: u16,
    consumer: ScoringConsumer,
}

impl Service for Application {
    const NAME: &'static str = "relance-scoring";

    async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = db::pool_acting_as(&settings.database, "scoring")?;
        if settings.database.migrate_on_start {
            db::migrate(&pool).await?;
        }
        let client = nats::connect(&settings.nats, Self::NAME).await?;
        let js = nats::jetstream(client.clone(), &settings.nats);
        let names = Names::new(&settings.nats.namespace);
        nats::ensure_streams_eventually(js.clone(), names.clone(), settings.nats.clone()).await;
        let consumer = ScoringConsumer {
            pool: pool.clone(),
            js,
            names,
            rules: settings.scoring.rules,
            assignment: crate::apply::Assignment {
                default_team: settings.assignment.default_team(),
                sla_minutes: settings.sla.hot_lead_minutes,
                default_tz: settings.inbox.default_timezone,
            },
            batch_size: settings.scoring.batch_size,
            batch_wait: Duration::from_millis(settings.scoring.batch_wait_ms),
            in_flight: settings.scoring.in_flight,
            ack_wait: Duration::from_secs(settings.scoring.ack_wait_secs),
        };
        let health = health::Dependencies {
            db: Some(pool),
            nats: client,
        };
        let router = observe::layer(
            relance_shared::http::security::api_only(crate::routes::router(health)),
            "scoring",
        );
        let listener = serve::bind(settings.scoring.listen).await?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            http: settings.http.clone(),
            listener,
            router,
            port,
            consumer,
        })
    }

    fn port(&self) -> u16 {
        self.port
    }

    /// The batch in hand is finished and acknowledged, then the consumer and the port stop.
    async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        let consumer = tokio::spawn(self.consumer.run(stop.clone()));
        serve::serve(self.listener, self.router, stop, &self.http).await?;
        consumer.await??;
        Ok(())
    }
}
