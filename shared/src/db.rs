//! PostgreSQL: the pool every service uses and the embedded migrator (`migrations/`).

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::DatabaseSettings;

/// Every migration of the one schema all services share, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// A lazy pool: the service starts even while PostgreSQL is down (and says so on `/readyz`);
/// connections are opened on first use and re-opened after a restart of the database.
pub fn pool(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = settings.url.expose_secret().parse()?;
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        .connect_lazy_with(options))
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Whether an error is worth retrying later (the database is unreachable, restarting, or the
/// transaction lost a serialization/deadlock race) rather than a fault of the data.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // serialization_failure, deadlock_detected
            Some("40001") | Some("40P01") => true,
            // Class 08: connection exceptions; 53: insufficient resources; 57: operator
            // intervention (admin shutdown, crash shutdown, cannot connect now).
            Some(code) => {
                code.starts_with("08") || code.starts_with("53") || code.starts_with("57")
            }
            None => true,
        },
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        _ => false,
    }
}
