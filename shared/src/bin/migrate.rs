//! `relance-migrate`: applies the schema (a Kubernetes Job, a compose one-shot, the start
//! script). `--demo` then loads the demo follow-ups (`scripts/demo/follow-ups.sql`, idempotent)
//! on top of the demo directory, which the start script loads through the directory API first.

use anyhow::Context;
use clap::Parser;

use relance_shared::{db, Settings};

/// Applies Relance's database migrations (the one schema every service uses).
///
/// Configuration comes from config/ and RELANCE__* environment variables (docs/configuration.md).
#[derive(Parser)]
#[command(name = "relance-migrate", version)]
struct Cli {
    /// Then load the demo follow-ups (development; idempotent), after the demo directory.
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
        sqlx::raw_sql(include_str!("../../../scripts/demo/follow-ups.sql"))
            .execute(&pool)
            .await
            .context("loading demo data")?;
        tracing::info!("demo data loaded");
    }
    Ok(())
}
