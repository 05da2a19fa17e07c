//! The options a benchmark was given (checked by clap in `cli.rs`, read here by name with the
//! module's own default), and percentiles.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;

pub struct Args {
    named: HashMap<String, String>,
}

impl Args {
    /// The options given, as `(name, value)` pairs.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            named: pairs.into_iter().collect(),
        }
    }

    pub fn get(&self, name: &str, default: &str) -> String {
        self.named
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }

    pub fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        match self.named.get(name) {
            None => Ok(default),
            Some(v) => v.parse().with_context(|| format!("--{name}")),
        }
    }
}

/// Nearest-rank percentile of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Drops and recreates `name` on `server` (a benchmark's own database), migrated; returns a
/// pool of `connections` to it.
pub async fn fresh_database(
    server: &str,
    name: &str,
    connections: u32,
) -> anyhow::Result<sqlx::PgPool> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
    // Two statements: DROP/CREATE DATABASE cannot share an implicit transaction.
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(connections)
        .connect(&format!("{server}/{name}"))
        .await?;
    relance_shared::db::migrate(&pool).await?;
    Ok(pool)
}

impl Args {
    /// Options set in code (a benchmark run from `all`), over the ones given.
    pub fn with(&self, pairs: &[(&str, String)]) -> Self {
        let mut named = self.named.clone();
        for (name, value) in pairs {
            named.insert((*name).to_owned(), value.clone());
        }
        Self { named }
    }
}
