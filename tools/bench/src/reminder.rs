//! `relance-bench reminder`: one reminder pass over N due interactions (default 100,000) in a
//! database of its own (`relance_bench_reminder`, recreated each run), publishing to the local
//! NATS under a namespace of its own. Prints the pass time and notifications per second, for
//! notifying (claim, insert, mark) and publishing (JetStream acks, mark published).
//!
//! ```text
//! cargo run --release -p relance-bench -- reminder --due 100000
//! ```
//!
//! Options: `--due N`, `--batch B` (rows per transaction, default 500), `--server-url URL`
//! (PostgreSQL server, default postgres://postgres@127.0.0.1:5432), `--nats URL`.

use std::time::Instant;

use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use relance_reminder::Reminder;
use relance_shared::Settings;

use crate::args::{fresh_database, Args};

/// Returns the pass's end-to-end rate, notifications per second.
pub async fn run(args: &Args) -> anyhow::Result<f64> {
    let due: i64 = args.number("due", 100_000)?;
    let batch: usize = args.number("batch", 500)?;
    let server = args.get("server-url", "postgres://postgres@127.0.0.1:5432");
    let nats = args.get("nats", "nats://127.0.0.1:4222");
    let name = args.get("database", "relance_bench_reminder");
    let name = name.as_str();
    let url = format!("{server}/{name}");
    let pool = fresh_database(&server, name, 5).await?;
    sqlx::query(
        "INSERT INTO users (id, email, full_name) \
         SELECT g, 'user' || g || '@relance.test', 'User ' || g FROM generate_series(1, 1000) g",
    )
    .execute(&pool)
    .await?;
    sqlx::query(
        "INSERT INTO crm_interactions (type, title, status, assignee_id, next_action_at) \
         SELECT 'call', 'Rappeler le client ' || g, 'todo', 1 + g % 1000, \
                now() - (g % 86400) * interval '1 second' \
         FROM generate_series(1, $1) g",
    )
    .bind(due)
    .execute(&pool)
    .await?;
    sqlx::raw_sql("VACUUM ANALYZE").execute(&pool).await?;

    let mut settings = Settings::default();
    settings.database.url = SecretString::from(url.clone());
    settings.nats.url = SecretString::from(nats);
    settings.nats.namespace = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    settings.reminder.batch_size = batch;
    let app = Reminder::connect(&settings).await?;

    println!("one pass over {due} due interactions, batches of {batch}");
    let started = Instant::now();
    let report = app.run_once(&CancellationToken::new()).await?;
    let elapsed = started.elapsed().as_secs_f64();
    // The split between notifying and publishing, from the rows' own timestamps.
    let (notify_secs, publish_secs): (f64, f64) = sqlx::query_as(
        "SELECT extract(epoch FROM max(created_at) - min(created_at))::float8, \
                extract(epoch FROM max(published_at) - max(created_at))::float8 FROM notifications",
    )
    .fetch_one(&pool)
    .await?;
    println!(
        "notified {} and published {} in {:.2} s: {:.0} notifications/s end to end",
        report.notified,
        report.published,
        elapsed,
        report.notified as f64 / elapsed
    );
    // Below 10 ms the rows' timestamps cannot split the phases meaningfully.
    if notify_secs >= 0.01 && publish_secs >= 0.01 {
        println!(
            "  notifying ~{:.2} s ({:.0}/s), publishing ~{:.2} s ({:.0}/s)",
            notify_secs,
            report.notified as f64 / notify_secs,
            publish_secs,
            report.published as f64 / publish_secs
        );
    }
    if let Ok(client) =
        async_nats::connect(secrecy::ExposeSecret::expose_secret(&settings.nats.url)).await
    {
        let js = async_nats::jetstream::new(client);
        let names = relance_shared::nats::Names::new(&settings.nats.namespace);
        for stream in names.all_streams() {
            let _ = js.delete_stream(stream).await;
        }
    }
    Ok(report.notified as f64 / elapsed)
}
