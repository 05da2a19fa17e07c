//! Building and running the inbox: settings checked, pool, routes, health.

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use relance_shared::http::{health, observe, serve};
use relance_shared::service::Service;
use relance_shared::{db, nats, Settings};

use crate::auth::oidc::Oidc;
use crate::auth::{AuthConfig, TokenKeys};
use crate::clock::Clock;
use crate::directory::consumer::DirectoryConsumer;
use crate::directory::DirectoryAccess;
use crate::leads::HeatLevels;
use crate::live::sse::Live;
use crate::slots::UserSlots;
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
        // Users' requests take `pool`; the service's own work (readiness, the relay, the
        // directory consumer, chores) takes `own`, which users cannot exhaust.
        let db::SplitPools {
            requests: pool,
            own,
            listeners,
        } = db::split_pools(&settings.database)?;
        if settings.database.migrate_on_start {
            db::migrate(&own).await?;
        }
        let client = nats::connect(&settings.nats, Self::NAME).await?;
        let closing = CancellationToken::new();
        let js = nats::jetstream(client.clone(), &settings.nats);
        let names = nats::Names::new(&settings.nats.namespace);
        nats::ensure_streams_eventually(js.clone(), names.clone(), settings.nats.clone()).await;
        spawn_own_work((&own, &listeners), &js, &names, &settings, &closing);
        let callers = Arc::new(crate::scope::Callers::default());
        tokio::spawn(
            callers
                .clone()
                .follow_changes(listeners.clone(), closing.clone()),
        );
        let state = Arc::new(AppState {
            pool: pool.clone(),
            tokens: settings.auth.jwt_secret.clone().map(|secret| {
                TokenKeys::new(secret).with_max_lifetime(chrono::Duration::seconds(
                    i64::try_from(settings.auth.max_token_lifetime_secs).unwrap_or(i64::MAX),
                ))
            }),
            oidc,
            auth_config: AuthConfig::from_settings(&settings.auth),
            clock,
            default_tz: settings.inbox.default_timezone,
            heat: HeatLevels::from(&settings.scoring.rules),
            directory: DirectoryAccess {
                token: settings.directory.token.clone(),
                max_batch: settings.directory.max_batch,
            },
            exact_total_limit: settings.inbox.exact_total_limit,
            callers: callers.clone(),
            exports: crate::csv_export::ExportLimits {
                slots: Arc::new(UserSlots::new(
                    settings.inbox.max_exports_per_user,
                    "exports_per_user",
                )),
                stall: std::time::Duration::from_secs(settings.inbox.export_stall_secs),
            },
            sla: crate::sla::SlaClock {
                minutes: settings.sla.hot_lead_minutes,
                default_tz: settings.inbox.default_timezone,
            },
            searches: crate::slots::Searches::new(
                settings.inbox.max_searches_per_user,
                std::time::Duration::from_millis(settings.inbox.search_wait_ms),
            ),
            dev_login: settings.auth.dev_login,
            token_ttl_secs: i64::try_from(settings.auth.token_ttl_secs).unwrap_or(i64::MAX),
            live: Live {
                pool: pool.clone(),
                client: client.clone(),
                js,
                names,
                heartbeat: std::time::Duration::from_secs(settings.inbox.live_heartbeat_secs),
                streams: Arc::new(UserSlots::new(
                    settings.inbox.max_streams_per_user,
                    "streams_per_user",
                )),
                closing: closing.clone(),
                callers: callers.clone(),
            },
        });
        if settings.auth.dev_login {
            tracing::warn!("auth.dev_login is on: anyone can get a token for any user");
        }
        crate::chores::spawn_all(&own, &closing);
        let app = crate::routes::router(state).merge(health::routes(health::Dependencies {
            db: Some(own),
            nats: client,
        }));
        let router = observe::layer(with_web_app(app, &settings), "inbox");
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

/// The inbox's own work, on its reserved connections, each stopped by `closing`: the CRM's
/// directory over NATS (every replica pulls from the one durable consumer), and the change
/// relay (anything not yet relayed stays in its table for the next replica or start).
fn spawn_own_work(
    (own, listeners): (&sqlx::PgPool, &sqlx::PgPool),
    js: &async_nats::jetstream::Context,
    names: &nats::Names,
    settings: &Settings,
    closing: &CancellationToken,
) {
    tokio::spawn(
        DirectoryConsumer {
            pool: own.clone(),
            js: js.clone(),
            names: names.clone(),
            batch_size: settings.directory.max_batch,
            ack_wait: std::time::Duration::from_secs(settings.directory.ack_wait_secs),
        }
        .run(closing.clone()),
    );
    tokio::spawn(crate::live::relay::relay_forever(
        (own.clone(), listeners.clone()),
        js.clone(),
        names.clone(),
        closing.clone(),
    ));
}

/// `app` with the web app's routes (when built) and every answer's security headers (the
/// policy lets the app reach the OpenID provider).
fn with_web_app(mut app: axum::Router, settings: &Settings) -> axum::Router {
    if let Some(web) = crate::web::routes(std::path::Path::new(&settings.inbox.web_dir)) {
        app = app.merge(web);
    }
    let policy = crate::web::content_security_policy(settings.auth.oidc.issuer.as_deref());
    relance_shared::http::security::layer(
        app,
        policy,
        relance_shared::http::security::Framing::SameOrigin,
    )
}
