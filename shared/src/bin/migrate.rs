//! `relance-migrate`: applies the schema (a Kubernetes Job, a compose one-shot, the start
//! script). `--demo` then loads the demo data set, which is idempotent.

use anyhow::Context;
use relance_shared::{db, Settings};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let _telemetry = relance_shared::telemetry::init("relance-migrate", &settings.telemetry)?;
    let demo = std::env::args().any(|a| a == "--demo");
    let pool = db::pool(&settings.database)?;
    db::migrate(&pool).await.context("applying migrations")?;
    tracing::info!(
        migrations = db::MIGRATOR.iter().count(),
        "schema up to date"
    );
    if demo {
        sqlx::raw_sql(include_str!("../../../scripts/demo.sql"))
            .execute(&pool)
            .await
            .context("loading demo data")?;
        tracing::info!("demo data loaded");
    }
    Ok(())
}
