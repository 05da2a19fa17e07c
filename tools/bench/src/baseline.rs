//! `relance-bench baseline`: the two limits the pipeline competes with, measured on this machine
//! in a database and a stream of their own, so Relance's end-to-end rate can be read as a ratio:
//!
//! - the per-event transaction: scoring's reference apply (`apply::reference::apply_one`, a
//!   lookup per reference, an upsert per event, one commit per event), from `--concurrency`
//!   connections: what a plain synchronous design reaches;
//! - the minimal per-event transaction: one upsert of the send, one of the score, one commit,
//!   from `--concurrency` connections, none of scoring's rules: the floor any design that
//!   commits each event pays;
//! - the set-based statements (`apply_batch`) in batches of `--batch`, from `--concurrency`
//!   connections: the database's ceiling for what the consumer does;
//! - raw JetStream publish with acknowledgements (file storage, the local server).
//!
//! ```text
//! cargo run --release -p relance-bench -- baseline --events 20000 --concurrency 4
//! ```

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use futures::StreamExt;

use relance_shared::event::{EmailEvent, EventKind, SCHEMA_VERSION};
use relance_shared::scoring::ScoringRules;

use crate::args::{fresh_database, Args};

fn event(n: usize, run: &str) -> EmailEvent {
    EmailEvent {
        schema: SCHEMA_VERSION,
        event_key: format!("baseline-{run}-{n}"),
        provider: "baseline".into(),
        external_id: format!("m{}", n / 5),
        event: [
            EventKind::Sent,
            EventKind::Delivered,
            EventKind::Opened,
            EventKind::Opened,
            EventKind::Clicked,
        ][n % 5],
        occurred_at: Utc::now(),
        received_at: Utc::now(),
        person_id: Some(1 + (n % 500) as i64),
        organisation_id: None,
        person_external_id: None,
        recipient: None,
        subject: Some("Benchmark".into()),
        url: None,
        machine_open: false,
    }
}

/// The machine's limits, in events (or messages) per second.
#[derive(Debug, Clone, Copy)]
pub struct BaselineFigures {
    pub minimal_transaction: f64,
    pub per_event_transaction: f64,
    pub batched_transaction: f64,
    pub jetstream_publish: f64,
}

pub async fn run(args: &Args) -> anyhow::Result<BaselineFigures> {
    let events: usize = args.number("events", 20_000)?;
    let concurrency: usize = args.number("concurrency", 4)?;
    let batch: usize = args.number(
        "batch",
        relance_shared::Settings::built_in().scoring.batch_size,
    )?;
    let server = args.get("server-url", "postgres://postgres@127.0.0.1:5432");
    let nats_url = args.get("nats", "nats://127.0.0.1:4222");
    let name = args.get("database", "relance_bench_baseline");
    let name = name.as_str();
    let pool = fresh_database(&server, name, concurrency as u32 + 1).await?;
    sqlx::raw_sql(
        "INSERT INTO users (id, email, full_name) VALUES (1, 'o@bench.test', 'Owner'); \
         INSERT INTO people (id, first_name, owner_id, email, external_id) \
         SELECT g, 'p' || g, 1, 'p' || g || '@bench.test', 'crm-' || g FROM generate_series(1, 500) g",
    )
    .execute(&pool)
    .await?;
    let rules = Arc::new(ScoringRules::default());

    println!("baseline on this machine: {events} events, {concurrency} connections");
    // From a fresh checkpoint, as the benchmark's backlog drain (earlier writes' checkpoint
    // landing in the middle of a measure is most of its noise).
    sqlx::raw_sql("CHECKPOINT").execute(&pool).await?;
    let minimal = minimal_rate(&pool, events, concurrency).await?;
    println!("  minimal per-event transaction (2 upserts, 1 commit):  {minimal:>8.0} events/s");
    // One transaction per event.
    let started = Instant::now();
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..events)
        .map(|n| {
            let pool = pool.clone();
            let rules = rules.clone();
            async move {
                apply_single(&pool, &event(n, "single"), &rules).await?;
                Ok(())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<()>>()?;
    let single = events as f64 / started.elapsed().as_secs_f64();
    println!("  per-event transaction (scoring's SQL, 1 commit/event): {single:>8.0} events/s");

    sqlx::raw_sql("CHECKPOINT").execute(&pool).await?;
    // The same SQL, a batch per transaction.
    let all: Vec<EmailEvent> = (0..events).map(|n| event(n, "batch")).collect();
    let started = Instant::now();
    let results: Vec<anyhow::Result<()>> =
        futures::stream::iter(all.chunks(batch).map(<[EmailEvent]>::to_vec))
            .map(|chunk| {
                let pool = pool.clone();
                let rules = rules.clone();
                async move {
                    relance_scoring::apply::apply_batch(
                        &pool,
                        &chunk,
                        None,
                        &rules,
                        &Default::default(),
                    )
                    .await?;
                    Ok(())
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
    results.into_iter().collect::<anyhow::Result<()>>()?;
    let batched = events as f64 / started.elapsed().as_secs_f64();
    println!("  set-based batches ({batch} events/commit):              {batched:>8.0} events/s");

    if args.get("explain", "no") == "yes" {
        // One more batch of `batch` on the sends above, its people named all three ways.
        let events: Vec<EmailEvent> = (0..batch)
            .map(|n| {
                let mut e = event(n, "plans");
                match n % 3 {
                    0 => {}
                    1 => e.person_external_id = e.person_id.take().map(|p| format!("crm-{p}")),
                    _ => e.recipient = e.person_id.take().map(|p| format!("P{p}@bench.test")),
                }
                e
            })
            .collect();
        let url = format!("{server}/{name}");
        println!("\n  plans of one batch of {batch} (auto_explain, EXPLAIN ANALYZE):\n");
        for plan in crate::plans::scoring_batch_plans(&url, &events, &rules).await? {
            println!("```\n{}\n```", plan.trim_end());
        }
        println!();
    }

    let jetstream = jetstream_publish(&nats_url, events).await?;
    println!("  raw JetStream publish (acked, file storage):      {jetstream:>8.0} messages/s");
    println!(
        "  batching gains {:.1}× over one commit per event",
        batched / single
    );
    Ok(BaselineFigures {
        minimal_transaction: minimal,
        per_event_transaction: single,
        batched_transaction: batched,
        jetstream_publish: jetstream,
    })
}

/// One event the simplest way that still commits it: upsert the send, upsert the score
/// (floored at 0), commit.
async fn minimal_one(pool: &sqlx::PgPool, e: &EmailEvent) -> Result<(), sqlx::Error> {
    let delta: i32 = match e.event {
        EventKind::Opened => 1,
        EventKind::Clicked => 2,
        _ => 0,
    };
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO email_sends (provider, external_id, person_id, status, updated_at) \
         VALUES ($1, $2, $3, 'sent', $4) \
         ON CONFLICT (provider, external_id) DO UPDATE SET updated_at = EXCLUDED.updated_at",
    )
    .bind(&e.provider)
    .bind(&e.external_id)
    .bind(e.person_id)
    .bind(e.occurred_at)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO lead_scores (person_id, score, last_event_at) VALUES ($1, $2, $3) \
         ON CONFLICT (person_id) DO UPDATE SET score = greatest(0, lead_scores.score + EXCLUDED.score), \
         last_event_at = EXCLUDED.last_event_at",
    )
    .bind(e.person_id)
    .bind(delta)
    .bind(e.occurred_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Raw JetStream publish, acknowledged, file storage, in a stream of its own: messages/s.
async fn jetstream_publish(nats_url: &str, events: usize) -> anyhow::Result<f64> {
    let client = async_nats::connect(nats_url).await?;
    let js = async_nats::jetstream::new(client);
    let stream = format!("BENCH_BASELINE_{}", std::process::id());
    js.create_stream(async_nats::jetstream::stream::Config {
        name: stream.clone(),
        subjects: vec![format!("bench.baseline.{}", std::process::id())],
        storage: async_nats::jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    let payload = bytes::Bytes::from(serde_json::to_vec(&event(0, "js"))?);
    let subject = format!("bench.baseline.{}", std::process::id());
    let started = Instant::now();
    let mut pending = Vec::with_capacity(256);
    for _ in 0..events {
        pending.push(js.publish(subject.clone(), payload.clone()).await?);
        if pending.len() == 256 {
            for ack in pending.drain(..) {
                ack.await?;
            }
        }
    }
    for ack in pending {
        ack.await?;
    }
    let jetstream = events as f64 / started.elapsed().as_secs_f64();
    js.delete_stream(&stream).await?;
    Ok(jetstream)
}

/// Events per second of [`minimal_one`] from `concurrency` connections.
async fn minimal_rate(
    pool: &sqlx::PgPool,
    events: usize,
    concurrency: usize,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let results: Vec<Result<(), sqlx::Error>> = futures::stream::iter(0..events)
        .map(|n| {
            let pool = pool.clone();
            async move { minimal_one(&pool, &event(n, "minimal")).await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.into_iter().collect::<Result<(), sqlx::Error>>()?;
    let minimal = events as f64 / started.elapsed().as_secs_f64();
    Ok(minimal)
}

/// Scoring's SQL for one event in its own transaction (the reference path), nobody assigned.
async fn apply_single(
    pool: &sqlx::PgPool,
    event: &EmailEvent,
    rules: &relance_shared::scoring::ScoringRules,
) -> Result<(), sqlx::Error> {
    let unassigned = relance_scoring::apply::Assignment::default();
    relance_scoring::apply::reference::apply_one(pool, event, rules, &unassigned).await?;
    Ok(())
}
