//! `relance-migrate`: applies the schema (a Kubernetes Job, a compose one-shot, the start
//! script). `--demo` then loads the demo data set, which is idempotent.

use anyhow::Context;
use clap::Parser;

use relance_shared::{db, Settings};

/// Applies Relance's database migrations (the one schema every service uses).
///
/// Configuration comes from config/ and RELANCE__* environment variables (docs/configuration.md).
#[derive(Parser)]
#[command(name = "relance-migrate", version)]
struct Cli {
    /// Then load the demo data set (development; idempotent).
    #[arg(long)]
    demo: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load()?;
    let _telemetry = relance_shared::telemetry::init("relance-migrate", &settings.telemetry)?;
    let pool = db::pool(&settings.database)?;
    db::migrate(&pool).await.context("applying migrations")?;
    tracing::info!(
        migrations = db::MIGRATOR.iter().count(),
        "schema up to date"
    );
    if cli.demo {
        sqlx::raw_sql(include_str!("../../../scripts/demo.sql"))
            .execute(&pool)
            .await
            .context("loading demo data")?;
        tracing::info!("demo data loaded");
    }
    Ok(())
}
