//! relance-reminder. So far only its health, readiness and metrics port; the service itself is built
//! in its own issue.

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

use relance_shared::http::{health, observe, serve};
use relance_shared::{db, nats, Settings};

pub struct Application {
    listener: TcpListener,
    router: Router,
    port: u16,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = db::pool(&settings.database)?;
        if settings.database.migrate_on_start {
            db::migrate(&pool).await?;
        }
        let client = nats::connect(&settings.nats, "relance-reminder").await?;
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
