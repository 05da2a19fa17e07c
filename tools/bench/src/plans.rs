//! The query plans of scoring's batch statements, as PostgreSQL ran them: `auto_explain`
//! (it ships with the server) logs each statement's `EXPLAIN ANALYZE` to the client, and the
//! notices sqlx receives are captured here. The statements are the real ones, run through
//! `apply_batch` on a connection of their own, so the plans cannot drift from the code.

use std::sync::{Arc, Mutex};

use tracing::instrument::WithSubscriber;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

use relance_shared::event::EmailEvent;
use relance_shared::scoring::ScoringRules;

/// Collects the `message` of every event it sees.
struct Capture(Arc<Mutex<Vec<String>>>);

struct Message<'a>(&'a mut String);

impl tracing::field::Visit for Message<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.push_str(&format!("{value:?}"));
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut message = String::new();
        event.record(&mut Message(&mut message));
        if let Ok(mut captured) = self.0.lock() {
            captured.push(message);
        }
    }
}

/// Applies `events` as one batch on `database_url` and returns the plans of its statements.
pub async fn scoring_batch_plans(
    database_url: &str,
    events: &[EmailEvent],
    rules: &ScoringRules,
) -> anyhow::Result<Vec<String>> {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("sqlx::postgres::notice", tracing::Level::TRACE);
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry().with(Capture(captured.clone()).with_filter(filter)),
    );
    // One connection, so the session settings below hold for the batch.
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(database_url)
        .await?;
    // Statistics as autovacuum keeps them in production: without them the planner guesses.
    sqlx::raw_sql(
        "ANALYZE;
         LOAD 'auto_explain';
         SET auto_explain.log_min_duration = 0;
         SET auto_explain.log_analyze = on;
         SET auto_explain.log_buffers = on;
         SET auto_explain.log_timing = on;
         SET client_min_messages = log;",
    )
    .execute(&pool)
    .await?;
    relance_scoring::apply::apply_batch(&pool, events, None, rules, &Default::default())
        .with_subscriber(dispatch)
        .await?;
    pool.close().await;
    let plans = captured.lock().map(|c| c.clone()).unwrap_or_default();
    Ok(plans
        .into_iter()
        .filter(|m| m.contains("Query Text") || m.contains("duration"))
        .collect())
}
