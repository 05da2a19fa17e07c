//! PostgreSQL: the pool every service uses and the embedded migrator (`migrations/`).

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::config::DatabaseSettings;

/// Every migration of the one schema all services share, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// A lazy pool: the service starts even while PostgreSQL is down (and says so on `/readyz`);
/// connections are opened on first use and re-opened after a restart of the database.
pub fn pool(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = settings.url.expose_secret().parse()?;
    pool_with(
        options,
        settings.max_connections,
        settings.statement_timeout_ms,
        settings,
    )
}

/// The inbox's connections, split so that busy users cannot take what the service itself
/// needs: `requests` serve users (`max_connections - reserved_connections`, each statement
/// bounded by `interactive_statement_timeout_ms`); `own` (`reserved_connections`, the
/// general timeout) answers `/readyz` and runs the change relay and the directory consumer;
/// `listeners` holds the two connections that only wait for PostgreSQL's notifications (the
/// relay's wake-up, the callers' cache), which would otherwise sit on reserved ones for good.
pub struct SplitPools {
    pub requests: PgPool,
    pub own: PgPool,
    pub listeners: PgPool,
}

/// The inbox's listening connections: the change relay's and the callers' cache's.
const LISTENERS: u32 = 2;

pub fn split_pools(settings: &DatabaseSettings) -> Result<SplitPools, sqlx::Error> {
    let options: PgConnectOptions = settings.url.expose_secret().parse()?;
    let reserved = settings
        .reserved_connections
        .clamp(1, settings.max_connections.saturating_sub(1).max(1));
    Ok(SplitPools {
        // No JIT for users' statements: PostgreSQL compiles only plans it estimates costly,
        // which here means a search of very common words, and the compiling (about 0.4 s)
        // is most of what such a search costs.
        requests: pool_with(
            options.clone().options([("jit", "off")]),
            settings.max_connections.saturating_sub(reserved).max(1),
            settings.interactive_statement_timeout_ms,
            settings,
        )?,
        own: pool_with(
            options.clone(),
            reserved,
            settings.statement_timeout_ms,
            settings,
        )?,
        listeners: pool_with(options, LISTENERS, settings.statement_timeout_ms, settings)?,
    })
}

/// As [`pool`], each connection's changes to interactions recorded as `system:<name>`'s in
/// their history (the session's `relance.actor`; a transaction may still name another actor).
/// For services that only ever act as themselves: scoring, the reminder.
pub fn pool_acting_as(settings: &DatabaseSettings, name: &str) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = settings.url.expose_secret().parse()?;
    let actor = format!("system:{name}");
    pool_with(
        options.options([("relance.actor", actor.as_str())]),
        settings.max_connections,
        settings.statement_timeout_ms,
        settings,
    )
}

/// Every connection ends a statement running longer than `timeout_ms` (SQLSTATE 57014), so
/// one expensive request cannot hold a connection for minutes.
fn pool_with(
    options: PgConnectOptions,
    size: u32,
    timeout_ms: u64,
    settings: &DatabaseSettings,
) -> Result<PgPool, sqlx::Error> {
    let timeout = timeout_ms.to_string();
    let options = options.options([("statement_timeout", timeout.as_str())]);
    Ok(PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs))
        .connect_lazy_with(options))
}

/// Applies the migrations on a connection of its own without a statement timeout (a migration
/// may rewrite a large table), closed afterwards rather than returned to the pool so the
/// setting never reaches a request.
pub async fn migrate(pool: &PgPool) -> Result<(), MigrateError> {
    let mut conn = pool.acquire().await?.detach();
    sqlx::query("SET statement_timeout = 0")
        .execute(&mut conn)
        .await?;
    adopt_squashed_history(&mut conn).await?;
    MIGRATOR.run_direct(&mut conn).await?;
    conn.close().await?;
    Ok(())
}

/// The versions squashed into [`BASELINE`]: a database migrated before the squash holds these.
pub const SQUASHED: std::ops::RangeInclusive<i64> = 20_261_124_000_001..=20_261_207_000_023;
/// How many there were (their versions are not contiguous numbers).
const SQUASHED_COUNT: i64 = 23;
/// `migrations/20261207000024_schema_baseline.sql`: the schema the squashed ones made.
pub const BASELINE: i64 = 20_261_207_000_024;

/// A database that ran every squashed migration already has the baseline's schema: its
/// history is rewritten to say so (the squashed rows go, the baseline's row comes with its
/// checksum), so the migrator neither misses the old versions nor runs the baseline on top.
/// A database that stopped part-way is refused: migrate it with a release from before the
/// squash first. One transaction, the history table locked: concurrent starts adopt once.
async fn adopt_squashed_history(conn: &mut PgConnection) -> Result<(), MigrateError> {
    let mut tx = conn.begin().await?;
    let has_history: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut *tx)
            .await?;
    if !has_history {
        return Ok(());
    }
    sqlx::query("LOCK TABLE _sqlx_migrations IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let (squashed, applied): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE success) FROM _sqlx_migrations
         WHERE version BETWEEN $1 AND $2",
    )
    .bind(SQUASHED.start())
    .bind(SQUASHED.end())
    .fetch_one(&mut *tx)
    .await?;
    if squashed == 0 {
        return Ok(());
    }
    if applied != SQUASHED_COUNT {
        return Err(MigrateError::Source(
            format!(
                "this database ran {applied} of the {SQUASHED_COUNT} migrations squashed into \
                 {BASELINE}: migrate it with a release from before 2026-12-07 first"
            )
            .into(),
        ));
    }
    let Some(baseline) = MIGRATOR.iter().find(|m| m.version == BASELINE) else {
        return Err(MigrateError::VersionMissing(BASELINE));
    };
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version BETWEEN $1 AND $2")
        .bind(SQUASHED.start())
        .bind(SQUASHED.end())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES ($1, $2, true, $3, 0)",
    )
    .bind(baseline.version)
    .bind(baseline.description.as_ref())
    .bind(baseline.checksum.as_ref())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        baseline = BASELINE,
        "migration history adopted: the squashed versions are the baseline"
    );
    Ok(())
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
