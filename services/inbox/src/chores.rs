//! The inbox's background chores on the database, each every so often on every replica (any
//! may run it; a failure only delays it), all stopped by the shutdown token:
//! - fold the inbox counters' pending deltas (every 5 s, docs/schema.sql), so reads sum a few
//!   thousand rows whatever the write rate;
//! - drop the search tokens nothing holds any more (every 10 min, docs/schema.sql): a renamed
//!   person's old name, an edited title's old words.
//!
//! The change relay (which also keeps the search index) and the directory consumer run beside
//! them, in [`crate::live::relay`] and [`crate::directory::consumer`].

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Starts every chore; each stops when `stop` is cancelled.
pub fn spawn_all(pool: &PgPool, stop: &CancellationToken) {
    tokio::spawn(every(
        Duration::from_secs(5),
        "inbox counters compacted",
        pool.clone(),
        stop.clone(),
        |pool| async move { crate::query::count::compact_counts(&pool).await },
    ));
    tokio::spawn(every(
        Duration::from_secs(600),
        "search lexicon swept",
        pool.clone(),
        stop.clone(),
        |pool| async move { crate::search::index::sweep_lexicon(&pool).await },
    ));
}

/// Runs `job` every `period` from now until `stop`. `job` returns how many rows it handled.
async fn every<F, Fut>(
    period: Duration,
    what: &'static str,
    pool: PgPool,
    stop: CancellationToken,
    job: F,
) where
    F: Fn(PgPool) -> Fut,
    Fut: Future<Output = Result<i64, sqlx::Error>>,
{
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let outcome = tokio::select! {
            _ = stop.cancelled() => return,
            outcome = job(pool.clone()) => outcome,
        };
        match outcome {
            Ok(0) => {}
            Ok(rows) => tracing::debug!(rows, "{what}"),
            Err(error) => tracing::warn!(%error, "{what}: failed"),
        }
    }
}
