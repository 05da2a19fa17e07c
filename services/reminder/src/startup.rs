//! Building the reminder: pool, NATS and the `NOTIFICATIONS` stream, and the pass. A
//! [`Reminder`] opens no port, so one-shot passes (`--once`, cron) can overlap each other and
//! a running service on one host; the [`Application`] adds the health/metrics port and the
//! schedule.

use std::time::Duration;

use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use relance_shared::http::{health, observe, serve};
use relance_shared::nats::{self, Names};
use relance_shared::service::Service;
use relance_shared::{db, Settings};

use crate::mail::Mailer;
use crate::pass::{self, Pass, Report};
use crate::publish::Publisher;

/// The reminder's work without a port.
pub struct Reminder {
    pass: Pass,
    pool: PgPool,
    client: async_nats::Client,
    interval: Duration,
}

impl Reminder {
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let pool = db::pool_acting_as(&settings.database, "reminder")?;
        if settings.database.migrate_on_start {
            db::migrate(&pool).await?;
        }
        let client = nats::connect(&settings.nats, Application::NAME).await?;
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
            batch_size: i64::try_from(settings.reminder.batch_size).unwrap_or(i64::MAX),
            decay_points_per_week: settings.decay.points_per_week,
            mailer: Mailer::from_settings(&settings.mail, &settings.web)?,
            default_tz: settings.inbox.default_timezone,
            retention: crate::retention::Horizons::from_settings(&settings.retention),
            sla_at_risk: chrono::Duration::minutes(i64::from(settings.sla.at_risk_minutes)),
        };
        Ok(Self {
            pass,
            pool,
            client,
            interval: Duration::from_secs(settings.reminder.interval_secs),
        })
    }

    /// One pass now; `stop` ends it between two batches.
    pub async fn run_once(&self, stop: &CancellationToken) -> anyhow::Result<Report> {
        self.pass.run(chrono::Utc::now(), stop).await
    }

    /// One pass as if the clock read `now` (tests walk through DST days and backoffs).
    pub async fn run_at(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        stop: &CancellationToken,
    ) -> anyhow::Result<Report> {
        self.pass.run(now, stop).await
    }
}

pub struct Application {
    http: relance_shared::config::HttpSettings,
    reminder: Reminder,
    listener: TcpListener,
    router: Router,
    port: u16,
}

impl Service for Application {
    const NAME: &'static str = "relance-reminder";

    async fn build(settings: Settings) -> anyhow::Result<Self> {
        let reminder = Reminder::connect(&settings).await?;
        let health = health::Dependencies {
            db: Some(reminder.pool.clone()),
            nats: reminder.client.clone(),
        };
        let router = observe::layer(
            relance_shared::http::security::api_only(crate::routes::router(health)),
            "reminder",
        );
        let listener = serve::bind(settings.reminder.listen).await?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            http: settings.http.clone(),
            reminder,
            listener,
            router,
            port,
        })
    }

    fn port(&self) -> u16 {
        self.port
    }

    /// Passes every `reminder.interval_secs` and the health port, until `stop`; a pass in
    /// progress stops between two batches.
    async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        let Reminder { pass, interval, .. } = self.reminder;
        let scheduler = tokio::spawn(pass::run_forever(pass, interval, stop.clone()));
        let served = serve::serve(self.listener, self.router, stop.clone(), &self.http).await;
        stop.cancel();
        let _ = scheduler.await;
        served?;
        Ok(())
    }
}
