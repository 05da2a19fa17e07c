//! Building the reminder: pool, NATS and the `NOTIFICATIONS` stream, the health port, and the
//! pass that runs on a schedule (or once, for cron and tests).

use std::future::Future;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use relance_shared::http::{health, observe, serve};
use relance_shared::nats::{self, Names};
use relance_shared::{db, Settings};

use crate::pass::{self, Pass, Report};
use crate::publish::Publisher;

pub struct Application {
    listener: TcpListener,
    router: Router,
    port: u16,
    pass: Pass,
    interval: Duration,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = db::pool(&settings.database)?;
        if settings.database.migrate_on_start {
            db::migrate(&pool).await?;
        }
        let client = nats::connect(&settings.nats, "relance-reminder").await?;
        let js = nats::jetstream(client.clone(), &settings.nats);
        let names = Names::new(&settings.nats.namespace);
        nats::ensure_streams_eventually(js.clone(), names.clone(), settings.nats.clone()).await;
        let pass = Pass {
            pool: pool.clone(),
            publisher: Publisher {
                js,
                names,
                timeout: Duration::from_millis(settings.nats.publish_timeout_ms),
            },
            batch_size: settings.reminder.batch_size as i64,
            decay_points_per_week: settings.decay.points_per_week,
        };
        let router = observe::layer(
            health::routes(health::Dependencies {
                db: Some(pool),
                nats: client,
            }),
            "reminder",
        );
        let listener = serve::bind(&settings.reminder.listen).await?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            listener,
            router,
            port,
            pass,
            interval: Duration::from_secs(settings.reminder.interval_secs),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// One pass now (`--once`).
    pub async fn run_once(&self, stop: &CancellationToken) -> anyhow::Result<Report> {
        self.pass.run(chrono::Utc::now(), stop).await
    }

    /// Passes every `reminder.interval_secs` and the health port, until `shutdown`; a pass in
    /// progress stops between two batches.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stop = CancellationToken::new();
        let scheduler = tokio::spawn(pass::run_forever(self.pass, self.interval, stop.clone()));
        let stop_all = stop.clone();
        let result = serve::serve(self.listener, self.router, async move {
            shutdown.await;
            stop_all.cancel();
        })
        .await;
        stop.cancel();
        let _ = scheduler.await;
        result
    }
}
