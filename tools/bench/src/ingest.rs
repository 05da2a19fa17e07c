//! `relance-bench ingest`: posts N events through a running gateway in batches, waits until
//! scoring has committed the last one, and prints accepted and end-to-end events/s and the
//! gateway's request latencies. Run against the stack `scripts/start.sh` starts:
//!
//! ```text
//! cargo run --release -p relance-bench -- ingest --events 10000 --batch 100 --concurrency 4
//! ```
//!
//! Options (all optional): `--gateway URL`, `--token T` (default: the dev token),
//! `--database-url URL`, `--events N`, `--batch B` (1: one event object per request),
//! `--concurrency C`, `--people P`, `--nats URL`. A progress bar follows the posting; the peak
//! consumer lag (the `scoring` consumer's pending plus unacknowledged messages) is sampled
//! every 100 ms.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::args::{percentile, Args};

struct Options {
    gateway: String,
    token: String,
    database_url: String,
    nats: String,
    events: usize,
    batch: usize,
    concurrency: usize,
    people: i64,
}

fn options(args: &Args) -> anyhow::Result<Options> {
    let get = |k: &str, default: &str| args.get(k, default);
    Ok(Options {
        gateway: get("gateway", "http://127.0.0.1:8080"),
        token: get(
            "token",
            &std::env::var("RELANCE__GATEWAY__INGEST_TOKEN")
                .unwrap_or_else(|_| "dev-ingest-token-change-me".into()),
        ),
        database_url: get("database-url", "postgres://postgres@127.0.0.1:5432/relance"),
        nats: get("nats", "nats://127.0.0.1:4222"),
        events: get("events", "10000").parse().context("--events")?,
        batch: get("batch", "100").parse().context("--batch")?,
        concurrency: get("concurrency", "4").parse().context("--concurrency")?,
        people: get("people", "500").parse().context("--people")?,
    })
}

pub async fn run(args: &Args) -> anyhow::Result<()> {
    let o = options(args)?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&o.database_url)
        .await?;
    // Bench people, reused across runs.
    let people: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO people (first_name, last_name, email)
         SELECT 'Bench', i::text, 'bench-' || i || '@bench.relance.test' FROM generate_series(1, $1) i
         ON CONFLICT (lower(email)) WHERE email IS NOT NULL DO UPDATE SET updated_at = now()
         RETURNING id",
    )
    .bind(o.people)
    .fetch_all(&pool)
    .await?;
    // A provider name of this run's own, to count exactly this run's commits.
    let provider = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let kinds = ["sent", "delivered", "opened", "opened", "clicked"];
    let start_time = chrono::Utc::now() - chrono::Duration::hours(1);
    let events: Vec<Value> = (0..o.events)
        .map(|i| {
            let send = i / kinds.len();
            json!({
                "provider": provider, "external_id": format!("m{send}"), "event": kinds[i % kinds.len()],
                "occurred_at": (start_time + chrono::Duration::milliseconds(i as i64)).to_rfc3339(),
                "person_id": people[send % people.len()], "subject": "Benchmark",
            })
        })
        .collect();
    let bodies: Vec<String> = events
        .chunks(o.batch)
        .map(|c| match c {
            [one] => one.to_string(),
            many => Value::Array(many.to_vec()).to_string(),
        })
        .collect();
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/marketing/email/ingest", o.gateway);

    println!(
        "posting {} events in {} requests of {} ({} concurrent) to {}",
        o.events,
        bodies.len(),
        o.batch,
        o.concurrency,
        o.gateway
    );
    let progress = indicatif::ProgressBar::new(o.events as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("  posting [{bar:40}] {pos}/{len} ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    // Peak consumer lag, from JetStream: messages of the `scoring` consumer not yet delivered
    // plus delivered and not yet acknowledged (scoring acks after its commit).
    let accepted = Arc::new(AtomicUsize::new(0));
    let peak_lag = Arc::new(AtomicUsize::new(0));
    let nats_url = o.nats.clone();
    let sampling = tokio::spawn({
        let peak_lag = peak_lag.clone();
        async move {
            let Ok(client) = async_nats::connect(nats_url).await else {
                return;
            };
            let js = async_nats::jetstream::new(client);
            let names = relance_shared::nats::Names::new("");
            let Ok(stream) = js.get_stream(names.email_events_stream()).await else {
                return;
            };
            let Ok(mut consumer) = stream
                .get_consumer::<async_nats::jetstream::consumer::pull::Config>(
                    relance_shared::nats::SCORING_CONSUMER,
                )
                .await
            else {
                return;
            };
            loop {
                if let Ok(info) = consumer.info().await {
                    let lag = info.num_pending as usize + info.num_ack_pending;
                    peak_lag.fetch_max(lag, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let started = Instant::now();
    let latencies: Vec<anyhow::Result<Duration>> =
        futures::stream::iter(bodies.into_iter().map(|body| {
            let http = http.clone();
            let url = url.clone();
            let token = o.token.clone();
            let progress = progress.clone();
            let accepted = accepted.clone();
            let per_request = o.batch.min(o.events);
            async move {
                let t = Instant::now();
                let response = http
                    .post(&url)
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                if response.status().as_u16() != 202 {
                    bail!(
                        "gateway answered {}: {}",
                        response.status(),
                        response.text().await.unwrap_or_default()
                    );
                }
                accepted.fetch_add(per_request, Ordering::Relaxed);
                progress.inc(per_request as u64);
                Ok(t.elapsed())
            }
        }))
        .buffer_unordered(o.concurrency)
        .collect()
        .await;
    let accepted_in = started.elapsed();
    progress.finish_and_clear();
    let mut latencies: Vec<Duration> = latencies.into_iter().collect::<anyhow::Result<_>>()?;
    latencies.sort();

    let expected = o.events as i64;
    let committed_in = loop {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM processed_events WHERE provider = $1 AND processed_at >= now() - interval '1 hour'",
        )
        .bind(&provider)
        .fetch_one(&pool)
        .await?;
        if done >= expected {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {done} of {expected} events committed after 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let rate = |d: Duration| o.events as f64 / d.as_secs_f64();
    println!(
        "accepted by the gateway:  {:>8.0} events/s ({:.2} s)",
        rate(accepted_in),
        accepted_in.as_secs_f64()
    );
    println!(
        "first POST to last commit: {:>7.0} events/s ({:.2} s)",
        rate(committed_in),
        committed_in.as_secs_f64()
    );
    println!(
        "gateway request latency (batch of {}): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        o.batch,
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    sampling.abort();
    println!(
        "peak consumer lag: {} messages (pending + unacknowledged)",
        peak_lag.load(Ordering::Relaxed)
    );
    Ok(())
}
