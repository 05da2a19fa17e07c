//! The one test harness (feature `testing`), used by every suite:
//! - [`TestContext`]: a fresh migrated database and a NATS namespace of the test's own, and
//!   settings with every port 0. Dropping it deletes the database and the namespace's streams,
//!   also when the test fails.
//! - `spawn_gateway`, `spawn_scoring`, `spawn_inbox`, `spawn_reminder`: a service of the test in
//!   this process, stopped when its handle drops; the gateway and the inbox come back as typed
//!   clients ([`GatewayClient::ingest`], [`InboxClient::set_status`], ...).
//! - [`PrivateNats`], [`PrivatePostgres`], [`SmtpSink`]: servers a test may stop and restart.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod clients;
mod servers;

use std::future::Future;
use std::ops::Deref;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::nats::Names;
use crate::service::Service;

pub use crate::telemetry::init_for_tests as init_tracing;
pub use clients::{jwt, GatewayClient, InboxClient, Reply};
pub use servers::{PrivateNats, PrivatePostgres, SmtpSink};

pub const TEST_INGEST_TOKEN: &str = "test-ingest-token-0123456789";
pub const TEST_JWT_SECRET: &str = "test-jwt-secret-0123456789-0123456789";

/// The server-level URL tests create their databases through.
pub fn admin_database_url() -> String {
    std::env::var("RELANCE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn nats_url() -> String {
    std::env::var("RELANCE_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

/// Creates `relance_test_<uuid>`, migrated. [`TestContext`] drops it; the test script drops
/// what an aborted run left behind.
pub async fn test_database() -> TestDatabase {
    test_database_on(&admin_database_url()).await
}

/// As [`test_database`], on another server (`postgres://…/postgres`).
pub async fn test_database_on(admin: &str) -> TestDatabase {
    let name = format!("relance_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(admin)
        .await
        .expect("PostgreSQL must run for the tests (see README)");
    sqlx::raw_sql(&format!(r#"CREATE DATABASE "{name}""#))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let url = match admin.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("admin URL without a database: {admin}"),
    };
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(10)
        .connect(&url)
        .await
        .expect("connect test database");
    crate::db::migrate(&pool)
        .await
        .expect("migrate test database");
    TestDatabase { name, url, pool }
}

/// Settings for one test: its own database, its own NATS namespace, every port 0.
pub fn test_settings(database_url: &str) -> Settings {
    let mut s = Settings::built_in();
    s.database.url = SecretString::from(database_url.to_owned());
    s.nats.url = SecretString::from(nats_url());
    s.nats.namespace = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    s.nats.publish_timeout_ms = 2_000;
    // JetStream reserves each stream's size on disk at creation, and tests run by the dozen
    // on one server: small streams.
    s.nats.events_max_bytes = 64 << 20;
    s.nats.max_stream_bytes = 8 << 20;
    let any_port: std::net::SocketAddr = ([127, 0, 0, 1], 0).into();
    s.gateway.listen = any_port;
    s.gateway.ingest_token = Some(SecretString::from(TEST_INGEST_TOKEN));
    s.auth.jwt_secret = Some(SecretString::from(TEST_JWT_SECRET));
    s.scoring.listen = any_port;
    s.inbox.listen = any_port;
    s.reminder.listen = any_port;
    // Fixtures are written with fixed dates (providers' real payloads): the gateway's
    // deduplication horizon must not turn them into refusals as the calendar moves on. The
    // tests of the horizon set it back.
    s.retention.processed_events_days = 36_500;
    s
}

/// One test's world. Everything it created goes when it drops.
pub struct TestContext {
    pub db: TestDatabase,
    pub settings: Settings,
    admin_url: String,
}

impl TestContext {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// A context whose settings `tweak` changes before anything is spawned.
    pub async fn with(tweak: impl FnOnce(&mut Settings)) -> Self {
        Self::on(&admin_database_url(), tweak).await
    }

    /// As [`TestContext::with`], the database on another server (`postgres://…/postgres`,
    /// a [`PrivatePostgres`]).
    pub async fn on(admin_url: &str, tweak: impl FnOnce(&mut Settings)) -> Self {
        init_tracing();
        let db = test_database_on(admin_url).await;
        let mut settings = test_settings(&db.url);
        tweak(&mut settings);
        Self {
            db,
            settings,
            admin_url: admin_url.to_owned(),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    pub fn names(&self) -> Names {
        Names::new(&self.settings.nats.namespace)
    }

    /// A JetStream context on the test's NATS server.
    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        let url = self.settings.nats.url.expose_secret().to_owned();
        async_nats::jetstream::new(async_nats::connect(url).await.expect("NATS must run"))
    }

    /// Builds `S` from this context's settings and runs it until the handle drops.
    pub async fn spawn<S: Service>(&self) -> Running {
        self.serve(
            S::build(self.settings.clone())
                .await
                .expect("service builds"),
        )
    }

    /// Runs an already built service until the handle drops.
    pub fn serve<S: Service>(&self, app: S) -> Running {
        Running::start(app)
    }

    /// A gateway of this test (`S` = `relance_gateway::Application`).
    pub async fn spawn_gateway<S: Service>(&self) -> GatewayClient {
        GatewayClient::new(self.spawn::<S>().await, TEST_INGEST_TOKEN)
    }

    /// A scoring consumer of this test (`S` = `relance_scoring::Application`).
    pub async fn spawn_scoring<S: Service>(&self) -> Running {
        self.spawn::<S>().await
    }

    /// An inbox of this test (`S` = `relance_inbox::Application`); tokens are minted at `now`.
    pub async fn spawn_inbox<S: Service>(&self, now: chrono::DateTime<chrono::Utc>) -> InboxClient {
        self.serve_inbox(
            S::build(self.settings.clone()).await.expect("inbox builds"),
            now,
        )
    }

    /// An already built inbox (one with a pinned clock, say).
    pub fn serve_inbox<S: Service>(
        &self,
        app: S,
        now: chrono::DateTime<chrono::Utc>,
    ) -> InboxClient {
        InboxClient::new(self.serve(app), TEST_JWT_SECRET, now)
    }

    /// A reminder service of this test (`S` = `relance_reminder::Application`).
    pub async fn spawn_reminder<S: Service>(&self) -> Running {
        self.spawn::<S>().await
    }
}

impl Drop for TestContext {
    /// Deletes the namespace's streams and drops the database (its connections cut), on a
    /// thread of its own since drop cannot await.
    fn drop(&mut self) {
        let settings = self.settings.clone();
        let admin = self.admin_url.clone();
        let name = self.db.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                delete_streams(&settings).await;
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let _ =
                        sqlx::raw_sql(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
                            .execute(&mut conn)
                            .await;
                }
            });
        })
        .join();
    }
}

/// A service running in this process; stopped (gracefully) when dropped or by [`Running::stop`].
pub struct Running {
    pub port: u16,
    stop: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    fn start<S: Service>(app: S) -> Self {
        let port = app.port();
        let stop = CancellationToken::new();
        let task = tokio::spawn(app.run(stop.clone()));
        Self {
            port,
            stop,
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Asks the service to stop and waits until it has (its graceful shutdown included).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        match self.task.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }

    /// Stops the service abruptly, as a crash would: its task is aborted mid-work.
    pub fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Deref for GatewayClient {
    type Target = Running;
    fn deref(&self) -> &Running {
        &self.running
    }
}

impl Deref for InboxClient {
    type Target = Running;
    fn deref(&self) -> &Running {
        &self.running
    }
}

/// Deletes a namespace's streams so the shared server does not fill up.
pub async fn delete_streams(settings: &Settings) {
    let Ok(client) = async_nats::connect(settings.nats.url.expose_secret()).await else {
        return;
    };
    let js = async_nats::jetstream::new(client);
    let names = Names::new(&settings.nats.namespace);
    for stream in names.all_streams() {
        let _ = js.delete_stream(stream).await;
    }
}

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
