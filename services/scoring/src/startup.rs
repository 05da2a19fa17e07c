//! Building and running the scoring service: the consumer loop and a small HTTP port for
//! `/healthz`, `/readyz` and `/metrics`.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use relance_shared::http::{health, observe, serve};
use relance_shared::nats::{self, Names};
use relance_shared::{db, Settings};

use crate::consumer::ScoringConsumer;

pub struct Application {
    listener: TcpListener,
    router: Router,
    port: u16,
    consumer: ScoringConsumer,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = db::pool(&settings.database)?;
        if settings.database.migrate_on_start {
            db::migrate(&pool).await?;
        }
        let client = nats::connect(&settings.nats, "relance-scoring").await?;
        let js = nats::jetstream(client.clone(), &settings.nats);
        let names = Names::new(&settings.nats.namespace);
        nats::ensure_streams_eventually(js.clone(), names.clone(), settings.nats.clone()).await;
        let consumer = ScoringConsumer {
            pool: pool.clone(),
            js,
            names,
            rules: settings.scoring.rules,
            batch_size: settings.scoring.batch_size,
            batch_wait: Duration::from_millis(settings.scoring.batch_wait_ms),
            ack_wait: Duration::from_secs(settings.scoring.ack_wait_secs),
        };
        let router = observe::layer(
            health::routes(health::Dependencies {
                db: Some(pool),
                nats: client,
            }),
            "scoring",
        );
        let listener = serve::bind(&settings.scoring.listen).await?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            listener,
            router,
            port,
            consumer,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until `shutdown` completes: the batch in hand is finished and acknowledged, then
    /// the consumer and the HTTP port stop.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let token = CancellationToken::new();
        let trigger = token.clone();
        tokio::spawn(async move {
            shutdown.await;
            trigger.cancel();
        });
        let consumer = tokio::spawn(self.consumer.run(token.clone()));
        serve::serve(self.listener, self.router, token.cancelled_owned()).await?;
        consumer.await??;
        Ok(())
    }
}
