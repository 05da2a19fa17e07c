//! Building and running the inbox: settings checked, pool, routes, health.

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use relance_shared::http::{health, observe, serve};
use relance_shared::service::Service;
use relance_shared::{db, nats, Settings};

use crate::auth::{AuthConfig, TokenKeys};
use crate::clock::Clock;
use crate::directory::consumer::DirectoryConsumer;
use crate::directory::DirectoryAccess;
use crate::leads::HeatLevels;
use crate::live::sse::{Live, StreamSlots};
use crate::oidc::Oidc;
use crate::state::AppState;

pub struct Application {
    http: relance_shared::config::HttpSettings,
    listener: TcpListener,
    router: Router,
    port: u16,
    /// Cancelled when shutdown starts, so live streams end and the graceful shutdown (which
    /// waits for every response to finish) does not wait on them forever.
    closing: CancellationToken,
}

impl Service for Application {
    const NAME: &'static str = "relance-inbox";

    async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::System).await
    }

    fn port(&self) -> u16 {
        self.port
    }

    async fn run(self, stop: CancellationToken) -> anyhow::Result<()> {
        // Live streams end when shutdown starts, so the graceful shutdown (which waits for
        // every response to finish) does not wait on them.
        let closing = self.closing.clone();
        let stopping = stop.clone();
        tokio::spawn(async move {
            stopping.cancelled().await;
            closing.cancel();
        });
        serve::serve(self.listener, self.router, stop, &self.http).await?;
        Ok(())
    }
}

impl Application {
    /// As [`Service::build`], with "now" pinned (tests).
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        anyhow::ensure!(
            settings.auth.jwt_secret.is_some() || settings.auth.oidc.issuer.is_some(),
            "auth.jwt_secret or auth.oidc.issuer must be set: the inbox API verifies tokens with them"
        );
        relance_shared::tls::install_crypto_provider();
        let oidc = Oidc::from_settings(&settings.auth.oidc)
            .context("auth.oidc: the HTTP client for the provider")?
            .map(Arc::new);
        let pool = db::pool(&settings.database)?;
        if settings.database.migrate_on_start {
            db::migrate(&pool).await?;
        }
        let client = nats::connect(&settings.nats, Self::NAME).await?;
        let closing = CancellationToken::new();
        let js = nats::jetstream(client.clone(), &settings.nats);
        let names = nats::Names::new(&settings.nats.namespace);
        nats::ensure_streams_eventually(js.clone(), names.clone(), settings.nats.clone()).await;
        // The CRM's directory over NATS: every replica pulls from the one durable consumer.
        tokio::spawn(
            DirectoryConsumer {
                pool: pool.clone(),
                js: js.clone(),
                names: names.clone(),
                batch_size: settings.directory.max_batch,
                ack_wait: std::time::Duration::from_secs(settings.directory.ack_wait_secs),
            }
            .run(closing.clone()),
        );
        // The relay stops with the server; anything not yet relayed stays in its table for the
        // next replica (or the next start).
        tokio::spawn(crate::live::relay::relay_forever(
            pool.clone(),
            js.clone(),
            names.clone(),
            closing.clone(),
        ));
        let state = Arc::new(AppState {
            pool: pool.clone(),
            tokens: settings.auth.jwt_secret.clone().map(TokenKeys::new),
            oidc,
            auth_config: AuthConfig::from_settings(&settings.auth),
            clock,
            default_tz: settings.inbox.default_timezone,
            heat: HeatLevels::from(&settings.scoring.rules),
            directory: DirectoryAccess {
                token: settings.directory.token.clone(),
                max_batch: settings.directory.max_batch,
            },
            dev_login: settings.auth.dev_login,
            token_ttl_secs: i64::try_from(settings.auth.token_ttl_secs).unwrap_or(i64::MAX),
            live: Live {
                pool: pool.clone(),
                client: client.clone(),
                js,
                names,
                heartbeat: std::time::Duration::from_secs(settings.inbox.live_heartbeat_secs),
                streams: Arc::new(StreamSlots::new(settings.inbox.max_streams_per_user)),
                closing: closing.clone(),
            },
        });
        if settings.auth.dev_login {
            tracing::warn!("auth.dev_login is on: anyone can get a token for any user");
        }
        tokio::spawn(compact_counts_forever(pool.clone()));
        tokio::spawn(sweep_search_lexicon_forever(pool.clone()));
        tokio::spawn(refresh_search_bitmaps_forever(pool.clone()));
        tokio::spawn(rebuild_search_bitmaps_forever(pool.clone()));
        let mut app = crate::routes::router(state).merge(health::routes(health::Dependencies {
            db: Some(pool),
            nats: client,
        }));
        if let Some(web) = crate::web::routes(std::path::Path::new(&settings.inbox.web_dir)) {
            app = app.merge(web);
        }
        let router = observe::layer(app, "inbox");
        let listener = serve::bind(settings.inbox.listen).await?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            http: settings.http.clone(),
            listener,
            router,
            port,
            closing,
        })
    }
}

/// Runs a database chore every `period`, for ever, from now: any replica may, and a failure
/// only delays it. `job` returns how many rows it handled.
async fn every<F, Fut>(period: std::time::Duration, what: &'static str, pool: PgPool, job: F)
where
    F: Fn(PgPool) -> Fut,
    Fut: std::future::Future<Output = Result<i64, sqlx::Error>>,
{
    every_from(tokio::time::Instant::now(), period, what, pool, job).await;
}

/// [`every`], the first run at `start`.
async fn every_from<F, Fut>(
    start: tokio::time::Instant,
    period: std::time::Duration,
    what: &'static str,
    pool: PgPool,
    job: F,
) where
    F: Fn(PgPool) -> Fut,
    Fut: std::future::Future<Output = Result<i64, sqlx::Error>>,
{
    let mut ticks = tokio::time::interval_at(start, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match job(pool.clone()).await {
            Ok(0) => {}
            Ok(rows) => tracing::debug!(rows, "{what}"),
            Err(error) => tracing::warn!(%error, "{what}: failed"),
        }
    }
}

/// Folds the inbox counters' deltas every few seconds (migration 0006), so reads sum a few
/// thousand rows whatever the write rate.
async fn compact_counts_forever(pool: PgPool) {
    every(
        std::time::Duration::from_secs(5),
        "inbox counters compacted",
        pool,
        |pool| async move { crate::inbox_query::compact_counts(&pool).await },
    )
    .await;
}

/// Drops the search tokens nothing holds any more (a renamed person's old name, an edited
/// title's old words) every ten minutes, so they do not outlive their text (migration 0018).
async fn sweep_search_lexicon_forever(pool: PgPool) {
    every(
        std::time::Duration::from_secs(600),
        "search lexicon swept",
        pool,
        |pool| async move { crate::inbox_query::sweep_search_lexicon(&pool).await },
    )
    .await;
}

/// Folds the search bitmaps' journal every two seconds (migration 0021): a total counts the
/// journaled interactions one by one, so the journal is kept short.
async fn refresh_search_bitmaps_forever(pool: PgPool) {
    every(
        std::time::Duration::from_secs(2),
        "search bitmaps refreshed",
        pool,
        |pool| async move {
            let folded = crate::inbox_query::refresh_search_bitmaps(&pool).await?;
            Ok(folded.unwrap_or(0))
        },
    )
    .await;
}

/// Rebuilds the search bitmaps every ten minutes, which gives bitmaps to tokens that became
/// common (migration 0021); at start too when no token has any yet (a new deployment). Not at
/// every start otherwise: at 1,000,000 interactions a rebuild reads every open row's words
/// (about 4 s of the database's time).
async fn rebuild_search_bitmaps_forever(pool: PgPool) {
    let period = std::time::Duration::from_secs(600);
    let now = tokio::time::Instant::now();
    let start = match crate::inbox_query::search_bitmaps_built(&pool).await {
        Ok(true) => now + period,
        Ok(false) | Err(_) => now,
    };
    every_from(
        start,
        period,
        "search bitmaps rebuilt",
        pool,
        |pool| async move {
            let tokens = crate::inbox_query::rebuild_search_bitmaps(
                &pool,
                crate::inbox_query::BITMAP_MIN_ROWS,
            )
            .await?;
            Ok(tokens.unwrap_or(0))
        },
    )
    .await;
}
