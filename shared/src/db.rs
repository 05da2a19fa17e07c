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

/// Whether an error is worth retrying later rather than a fault of the data. Only data
/// exceptions (SQLSTATE class 22) and integrity violations (23) blame the data; everything
/// else — the database unreachable, restarting, missing, not yet migrated, a lost
/// serialization or deadlock race — is retried, so a broken deployment delays events instead of
/// dead-lettering good ones.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => !matches!(
            db.code().as_deref().map(|c| c.get(..2)),
            Some(Some("22")) | Some(Some("23"))
        ),
        sqlx::Error::Decode(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::TypeNotFound { .. }
        | sqlx::Error::Encode(_)
        | sqlx::Error::Configuration(_) => false,
        _ => true,
    }
}
