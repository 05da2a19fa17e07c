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
use crate::signatures;
use crate::webhooks::{self, ProviderKeys, TokenStore};

/// Decodes the configured provider secrets; a malformed one stops the start, naming its key.
fn provider_keys(settings: &Settings) -> anyhow::Result<ProviderKeys> {
    use secrecy::ExposeSecret;
    let p = &settings.providers;
    Ok(ProviderKeys {
        resend: p
            .resend
            .signing_secret
            .as_ref()
            .map(|s| signatures::svix_key(s.expose_secret()))
            .transpose()
            .map_err(|e| {
                anyhow::anyhow!("providers.resend.signing_secret: {e} (expected whsec_…)")
            })?,
        sendgrid: p
            .sendgrid
            .public_key
            .as_ref()
            .map(|s| signatures::sendgrid_key(s.expose_secret()))
            .transpose()
            .map_err(|e| anyhow::anyhow!("providers.sendgrid.public_key: {e}"))?,
        mailgun: p
            .mailgun
            .signing_key
            .as_ref()
            .map(|s| s.expose_secret().as_bytes().to_vec()),
        postmark: p
            .postmark
            .basic_auth
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .filter(|s| s.contains(':')),
    })
}

pub struct AppState {
    pub publisher: Publisher,
    pub providers: ProviderKeys,
    pub mailgun_tokens: TokenStore,
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
            providers: provider_keys(&settings)?,
            mailgun_tokens,
            ingest_token: settings.gateway.ingest_token.clone(),
            max_body_bytes: settings.gateway.max_body_bytes,
            max_batch: settings.gateway.max_batch,
        });
        let api = Router::new()
            .route(
                "/api/v1/marketing/email/ingest",
                post(crate::ingest::ingest),
            )
            .route(
                "/openapi.json",
                axum::routing::get(crate::openapi::openapi_json),
            )
            .route(
                "/api/v1/marketing/email/webhooks/resend",
                post(webhooks::resend),
            )
            .route(
                "/api/v1/marketing/email/webhooks/sendgrid",
                post(webhooks::sendgrid),
            )
            .route(
                "/api/v1/marketing/email/webhooks/mailgun",
                post(webhooks::mailgun),
            )
            .route(
                "/api/v1/marketing/email/webhooks/postmark",
                post(webhooks::postmark),
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
