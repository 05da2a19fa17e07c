//! `relance-bench ingest`: posts N events through a running gateway, waits until scoring has
//! committed the last one, and prints accepted and end-to-end events/s, the gateway's request
//! latencies and the peak consumer lag. Run against the stack `scripts/start.sh` starts:
//!
//! ```text
//! cargo run --release -p relance-bench -- ingest --events 10000 --batch 100 --concurrency 4
//! ```
//!
//! Options (all optional): `--gateway URL`, `--token T` (default: the dev token),
//! `--database-url URL`, `--events N`, `--batch B` (1: one event object per request),
//! `--concurrency C`, `--rate R` (open loop: R requests/s, latencies measured from each
//! request's scheduled time so a backlog shows), `--people P`, `--nats URL`. A progress bar
//! follows the posting; the peak consumer lag (the `scoring` consumer's pending plus
//! unacknowledged messages) is sampled every 100 ms.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::args::{percentile, Args};

/// A running gateway and the database its scoring writes to.
pub struct Target {
    pub gateway: String,
    pub token: String,
    pub pool: sqlx::PgPool,
    pub nats: String,
    /// `nats.namespace` of the pipeline (empty for the stack `scripts/start.sh` runs).
    pub namespace: String,
}

/// How a run posts: `batch` events per request (1: a single event object), `concurrency`
/// requests in flight (closed loop), or `rate` requests per second (open loop).
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub events: usize,
    pub batch: usize,
    pub concurrency: usize,
    pub rate: Option<f64>,
    /// Wait until scoring has committed every event (end-to-end figures), or only measure the
    /// gateway.
    pub wait_for_commits: bool,
}

/// What one run measured.
#[derive(Debug, Clone, Copy)]
pub struct IngestFigures {
    pub load: Load,
    pub accepted_per_sec: f64,
    pub requests_per_sec: f64,
    pub end_to_end_per_sec: f64,
    /// Scoring's rate once the gateway is done: the events still pending at the last POST
    /// over the time to the last commit (scoring with the machine to itself and NATS).
    pub drain_per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub peak_lag: usize,
    /// Requests the gateway shed (429/503, nothing stored) and refused otherwise (or that got
    /// no answer); their events are not waited for.
    pub shed: usize,
    pub refused: usize,
}

impl IngestFigures {
    /// Whether the gateway took every request of the run.
    pub fn took_everything(&self) -> bool {
        self.shed == 0 && self.refused == 0
    }
}

impl IngestFigures {
    pub fn print(&self) {
        let l = self.load;
        println!(
            "  accepted by the gateway:   {:>8.0} events/s ({:.0} requests/s)",
            self.accepted_per_sec, self.requests_per_sec
        );
        if self.end_to_end_per_sec.is_finite() {
            println!(
                "  first POST to last commit: {:>8.0} events/s",
                self.end_to_end_per_sec
            );
        }
        if self.drain_per_sec.is_finite() && self.drain_per_sec > 0.0 {
            println!(
                "  scoring after the last POST: {:>6.0} events/s (the backlog, drained alone)",
                self.drain_per_sec
            );
        }
        println!(
            "  gateway latency ({} event{} per request): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            l.batch,
            if l.batch == 1 { "" } else { "s" },
            ms(self.p50),
            ms(self.p99),
            ms(self.max)
        );
        println!(
            "  peak consumer lag: {} messages (pending + unacknowledged)",
            self.peak_lag
        );
        if !self.took_everything() {
            println!(
                "  NOT TAKEN: {} requests shed (429/503), {} refused or unanswered",
                self.shed, self.refused
            );
        }
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Bench people (`Bench <i>`), reused across runs; returns their ids.
pub async fn bench_people(pool: &sqlx::PgPool, count: i64) -> anyhow::Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO people (first_name, last_name, email)
         SELECT 'Bench', i::text, 'bench-' || i || '@bench.relance.test' FROM generate_series(1, $1) i
         ON CONFLICT (lower(email)) WHERE email IS NOT NULL DO UPDATE SET updated_at = now()
         RETURNING id",
    )
    .bind(count)
    .fetch_all(pool)
    .await?)
}

struct Options {
    gateway: String,
    token: String,
    database_url: String,
    nats: String,
    events: usize,
    batch: usize,
    concurrency: usize,
    people: i64,
    rate: Option<f64>,
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
        rate: match args.get("rate", "") {
            r if r.is_empty() => None,
            r => Some(r.parse().context("--rate")?),
        },
    })
}

pub async fn run(args: &Args) -> anyhow::Result<IngestFigures> {
    let o = options(args)?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&o.database_url)
        .await?;
    let people = bench_people(&pool, o.people).await?;
    let target = Target {
        gateway: o.gateway,
        token: o.token,
        pool,
        nats: o.nats,
        namespace: String::new(),
    };
    let load = Load {
        events: o.events,
        batch: o.batch,
        concurrency: o.concurrency,
        rate: o.rate,
        wait_for_commits: true,
    };
    let figures = measure(&target, load, &people).await?;
    figures.print();
    Ok(figures)
}

/// This run's events: `events` over sends of sent, delivered, opened, opened, clicked, spread
/// over `people`, under a provider name of the run's own (to count exactly its commits).
fn events(count: usize, people: &[i64], provider: &str) -> Vec<Value> {
    let kinds = ["sent", "delivered", "opened", "opened", "clicked"];
    let start_time = chrono::Utc::now() - chrono::Duration::hours(1);
    (0..count)
        .map(|i| {
            let send = i / kinds.len();
            json!({
                "provider": provider, "external_id": format!("m{send}"), "event": kinds[i % kinds.len()],
                "occurred_at": (start_time + chrono::Duration::milliseconds(i as i64)).to_rfc3339(),
                "person_id": people[send % people.len()], "subject": "Benchmark",
            })
        })
        .collect()
}

/// Samples the `scoring` consumer's lag every 100 ms, keeping the peak.
/// `current` starts at `usize::MAX` (unknown) until the first sample.
struct LagSampler {
    peak: Arc<AtomicUsize>,
    current: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

fn sample_lag(nats_url: String, namespace: String) -> LagSampler {
    let peak = Arc::new(AtomicUsize::new(0));
    let current = Arc::new(AtomicUsize::new(usize::MAX));
    let task = tokio::spawn({
        let (peak, current) = (peak.clone(), current.clone());
        async move {
            let sampled = sample_until_aborted(&nats_url, &namespace, &peak, &current).await;
            if let Err(error) = sampled {
                // Without samples, the end of the run is found by counting commits alone.
                eprintln!("consumer lag not sampled: {error:#}");
                current.store(0, Ordering::Relaxed);
            }
        }
    });
    LagSampler {
        peak,
        current,
        task,
    }
}

async fn sample_until_aborted(
    nats_url: &str,
    namespace: &str,
    peak: &AtomicUsize,
    current: &AtomicUsize,
) -> anyhow::Result<()> {
    let client = async_nats::connect(nats_url).await?;
    let js = async_nats::jetstream::new(client);
    let names = relance_shared::nats::Names::new(namespace);
    let stream = js
        .get_stream(names.email_events_stream())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut consumer = stream
        .get_consumer::<async_nats::jetstream::consumer::pull::Config>(
            relance_shared::nats::SCORING_CONSUMER,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    loop {
        if let Ok(info) = consumer.info().await {
            let lag = info.num_pending as usize + info.num_ack_pending;
            peak.fetch_max(lag, Ordering::Relaxed);
            current.store(lag, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the gateway made of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// 202: every event of the request stored.
    Accepted,
    /// 429 or 503 with `Retry-After`: load shedding or a rate limit, nothing stored (a provider
    /// retries later).
    Shed,
    /// Any other answer, or no answer: counted, and reported.
    Refused,
}

async fn post(http: &reqwest::Client, url: &str, token: &str, body: String) -> Outcome {
    let response = http
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    match response.map(|r| r.status().as_u16()) {
        Ok(202) => Outcome::Accepted,
        Ok(429 | 503) => Outcome::Shed,
        Ok(_) | Err(_) => Outcome::Refused,
    }
}

/// Posts `load` to `target`, waits for scoring's last commit, and returns the figures.
pub async fn measure(target: &Target, load: Load, people: &[i64]) -> anyhow::Result<IngestFigures> {
    if load.batch == 0 || load.events == 0 || load.concurrency == 0 || people.is_empty() {
        bail!("--events, --batch, --concurrency and --people must be at least 1");
    }
    let provider = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let bodies: Vec<String> = events(load.events, people, &provider)
        .chunks(load.batch)
        .map(|c| match c {
            [one] => one.to_string(),
            many => Value::Array(many.to_vec()).to_string(),
        })
        .collect();
    let requests = bodies.len();
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/marketing/email/ingest", target.gateway);
    match load.rate {
        Some(rate) => println!(
            "posting {} events in {requests} requests of {} at {rate:.0} requests/s (open loop)",
            load.events, load.batch
        ),
        None => println!(
            "posting {} events in {requests} requests of {} ({} concurrent)",
            load.events, load.batch, load.concurrency
        ),
    }
    let progress = indicatif::ProgressBar::new(load.events as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("  posting [{bar:40}] {pos}/{len} ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let lag = sample_lag(target.nats.clone(), target.namespace.clone());
    let per_request = load.batch.min(load.events);
    let started = Instant::now();
    let answers = post_all(&http, &url, &target.token, bodies, load, &progress).await;
    let accepted_in = started.elapsed();
    // usize::MAX until the first sample: unknown, reported as no figure.
    let left_at_last_post = match lag.current.load(Ordering::Relaxed) {
        usize::MAX => 0,
        n => n,
    };
    progress.finish_and_clear();
    // Latencies of every answered request, shed ones included (a shed request is answered
    // fast, and counted apart).
    let count = |o: Outcome| answers.iter().filter(|(a, _)| *a == o).count();
    let (accepted, shed, refused) = (
        count(Outcome::Accepted),
        count(Outcome::Shed),
        count(Outcome::Refused),
    );
    let mut latencies: Vec<Duration> = answers
        .iter()
        .filter(|(a, _)| *a != Outcome::Refused)
        .map(|(_, d)| *d)
        .collect();
    latencies.sort();
    // Requests hold `per_request` events each but the last, which may hold fewer: the events
    // a run waits for are those of accepted requests, counted exactly when all were.
    let accepted_events = if accepted == requests {
        load.events
    } else {
        accepted * per_request
    };

    // End to end, and scoring's rate on the backlog left at the last POST (only a backlog of
    // some size says anything about it): measured only when the run waits for the commits.
    let (end_to_end_per_sec, drain_per_sec) = if load.wait_for_commits {
        let committed_in =
            wait_for_commits(target, &provider, accepted_events, &lag, started).await?;
        let drain = if left_at_last_post * 20 >= load.events {
            left_at_last_post as f64 / (committed_in - accepted_in).as_secs_f64()
        } else {
            f64::NAN
        };
        (accepted_events as f64 / committed_in.as_secs_f64(), drain)
    } else {
        (f64::NAN, f64::NAN)
    };
    lag.task.abort();
    Ok(IngestFigures {
        load,
        accepted_per_sec: accepted_events as f64 / accepted_in.as_secs_f64(),
        requests_per_sec: requests as f64 / accepted_in.as_secs_f64(),
        end_to_end_per_sec,
        drain_per_sec,
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
        max: latencies.last().copied().unwrap_or_default(),
        peak_lag: lag.peak.load(Ordering::Relaxed),
        shed,
        refused,
    })
}

/// One step of [`rate_ladder`].
#[derive(Debug, Clone, Copy)]
pub struct LadderStep {
    pub rate: f64,
    pub figures: IngestFigures,
    pub held: bool,
}

/// Single events, open loop, at each of `rates` in turn for `seconds` each (scoring running,
/// each step drained before the next): which rates the gateway holds with a p99 within
/// `p99_goal` and nothing shed or refused. Stops after two steps in a row that miss. Prints a
/// table and the highest rate held.
pub async fn rate_ladder(
    target: &Target,
    rates: &[f64],
    seconds: f64,
    p99_goal: Duration,
    people: &[i64],
) -> anyhow::Result<Vec<LadderStep>> {
    let mut steps = Vec::new();
    let mut misses = 0;
    for &rate in rates {
        let load = Load {
            events: ((rate * seconds).round() as usize).max(1),
            batch: 1,
            concurrency: 1,
            rate: Some(rate),
            wait_for_commits: true,
        };
        let figures = measure(target, load, people).await?;
        let held = figures.took_everything() && figures.p99 <= p99_goal;
        steps.push(LadderStep {
            rate,
            figures,
            held,
        });
        misses = if held { 0 } else { misses + 1 };
        if misses == 2 {
            break;
        }
    }
    println!(
        "\n| requests/s offered | accepted events/s | p50 ms | p99 ms | max ms | shed | refused | p99 ≤ {:.0} ms, nothing shed |",
        ms(p99_goal)
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---|");
    for s in &steps {
        let f = &s.figures;
        println!(
            "| {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} |",
            s.rate,
            f.accepted_per_sec,
            ms(f.p50),
            ms(f.p99),
            ms(f.max),
            f.shed,
            f.refused,
            if s.held { "held" } else { "missed" }
        );
    }
    match steps
        .iter()
        .filter(|s| s.held)
        .map(|s| s.rate)
        .reduce(f64::max)
    {
        Some(best) => println!("\nhighest rate held: {best:.0} requests/s\n"),
        None => println!("\nno rate held\n"),
    }
    Ok(steps)
}

/// Posts every body: `load.concurrency` in flight (closed loop), or one every `1 / rate`
/// seconds (open loop, latencies from each request's due time). Each request's outcome and
/// latency.
async fn post_all(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    bodies: Vec<String>,
    load: Load,
    progress: &indicatif::ProgressBar,
) -> Vec<(Outcome, Duration)> {
    let per_request = load.batch.min(load.events);
    let requests = bodies.len();
    match load.rate {
        None => {
            futures::stream::iter(bodies.into_iter().map(|body| {
                let (http, url, token, progress) = (
                    http.clone(),
                    url.to_owned(),
                    token.to_owned(),
                    progress.clone(),
                );
                async move {
                    let t = Instant::now();
                    let outcome = post(&http, &url, &token, body).await;
                    progress.inc(per_request as u64);
                    (outcome, t.elapsed())
                }
            }))
            .buffer_unordered(load.concurrency)
            .collect()
            .await
        }
        Some(rate) => {
            // Open loop: request i is due at i / rate; its latency counts from then, so a
            // gateway that falls behind shows it instead of slowing the sender down.
            let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut tasks = Vec::with_capacity(requests);
            for body in bodies {
                let due = ticks.tick().await;
                let (http, url, token, progress) = (
                    http.clone(),
                    url.to_owned(),
                    token.to_owned(),
                    progress.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let outcome = post(&http, &url, &token, body).await;
                    progress.inc(per_request as u64);
                    (outcome, due.elapsed())
                }));
            }
            let mut out = Vec::with_capacity(tasks.len());
            for task in tasks {
                out.push(task.await.unwrap_or((Outcome::Refused, Duration::ZERO)));
            }
            out
        }
    }
}

/// Waits until scoring has committed this run's accepted events (at most 30 minutes); how long
/// from the first POST.
async fn wait_for_commits(
    target: &Target,
    provider: &str,
    accepted_events: usize,
    lag: &LagSampler,
    started: Instant,
) -> anyhow::Result<Duration> {
    // A shed request stored nothing; a refused or unanswered one may have (a timeout after
    // the commit), so at least the accepted events are waited for.
    let expected = accepted_events as i64;
    // Counting commits is a query over this run's rows: done only once JetStream says the
    // consumer has nothing pending (cheap to ask), so the polling does not compete with scoring.
    Ok(loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if lag.current.load(Ordering::Relaxed) != 0 && started.elapsed() < Duration::from_secs(1800)
        {
            continue;
        }
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM processed_events WHERE provider = $1 AND processed_at >= now() - interval '1 hour'",
        )
        .bind(provider)
        .fetch_one(&target.pool)
        .await?;
        if done >= expected {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(1800) {
            eprintln!("  only {done} of {expected} accepted events committed after 30 minutes");
            break started.elapsed();
        }
    })
}
