//! `relance-bench all`: every figure in one run, on this machine, in databases and NATS
//! namespaces of its own (nothing else needs to run but PostgreSQL and NATS):
//!
//! 1. a gateway and a scoring consumer in this process on a fresh `relance_bench_pipeline`
//!    database; N events (default 100,000) posted in batches of 100, then N one event per
//!    request, then one event per request open loop at rising rates around 4,000 requests/s:
//!    the highest rate the gateway holds with p99 ≤ 10 ms and nothing shed. Shed (429/503) and
//!    refused requests are counted and printed, never fatal;
//! 2. the machine's limits (`baseline`): scoring's per-event transaction, batched, and raw
//!    JetStream publish, and the end-to-end rates as ratios of them;
//! 3. inbox latencies at 1,000,000 interactions (`relance_bench`, seeded when it holds fewer),
//!    against an inbox in this process;
//! 4. the inbox under mixed load (1,000 requests/s open loop while 2,000 events/s are
//!    ingested, then its closed-loop saturation), each service a process of its own, with their
//!    peak memory (`mixed.rs`);
//! 5. a reminder pass over 100,000 due rows.
//!
//! ```text
//! cargo run --release -p relance-bench -- all
//! ```
//!
//! Options: `--events N` (100000), `--rate R` and `--seconds S` (4000 requests/s for 10 s),
//! `--ladder-seconds S` (each step of the open-loop ladder, from a quarter of R to 1.5×R;
//! default `--seconds`),
//! `--concurrency C` (4 for batches, 2×C for single events), `--baseline-events N` (20000),
//! `--interactions N` (1000000), `--due N` (100000), `--requests N` (500 per inbox scenario),
//! `--database-prefix P` (`relance_bench`: databases P, P_pipeline, P_baseline, P_reminder),
//! `--server-url URL`, `--nats URL`. CI runs it with tiny sizes as a smoke test.

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use relance_shared::service::Service;

use crate::args::{fresh_database, Args};
use crate::ingest::{self, IngestFigures, Load, Target};
use crate::stack::{delete_streams, settings, BENCH_JWT_SECRET, BENCH_TOKEN};
use crate::{baseline, inbox, mixed, reminder, seed};

/// A service running on a tokio runtime of its own, in a thread of its own.
struct OwnRuntime {
    port: u16,
    stop: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OwnRuntime {
    /// A Relance service built from `settings` on a runtime of its own.
    fn service<A: Service>(
        name: &'static str,
        settings: &relance_shared::Settings,
    ) -> anyhow::Result<Self> {
        let settings = settings.clone();
        Self::start(name, move |stop| async move {
            let app = A::build(settings).await?;
            let port = app.port();
            Ok((port, async move { app.run(stop).await }))
        })
    }

    /// `build` makes the service (inside the new runtime, where its sockets must live) and
    /// returns its port and the future that runs it until the token is cancelled.
    fn start<B, BF, R>(name: &'static str, build: B) -> anyhow::Result<Self>
    where
        B: FnOnce(CancellationToken) -> BF + Send + 'static,
        BF: std::future::Future<Output = anyhow::Result<(u16, R)>>,
        R: std::future::Future<Output = anyhow::Result<()>>,
    {
        let stop = CancellationToken::new();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<u16>>();
        let token = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .thread_name(name)
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready_tx.send(Err(error.into()));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match build(token).await {
                        Ok((port, run)) => {
                            let _ = ready_tx.send(Ok(port));
                            if let Err(error) = run.await {
                                eprintln!("{name} stopped: {error:#}");
                            }
                        }
                        Err(error) => {
                            let _ = ready_tx.send(Err(error));
                        }
                    }
                });
            })?;
        let port = ready_rx.recv()??;
        Ok(Self {
            port,
            stop,
            thread: Some(thread),
        })
    }

    fn stop(mut self) {
        self.stop.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or("?".into(), |kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0));
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores ({cpu}), {memory}")
}

pub async fn run(args: &Args) -> anyhow::Result<()> {
    let prefix = args.get("database-prefix", "relance_bench");
    if prefix.is_empty()
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        anyhow::bail!("--database-prefix: letters, digits and _ only");
    }
    let server = args.get("server-url", "postgres://postgres@127.0.0.1:5432");
    let nats = args.get("nats", "nats://127.0.0.1:4222");
    let sections = args.get("sections", "ingest,limits,inbox,mixed,reminder");
    let section = |name: &str| sections.split(',').any(|s| s.trim() == name);
    let started = Instant::now();

    let pg_version: String = {
        let pool = sqlx::PgPool::connect(&format!("{server}/postgres")).await?;
        sqlx::query_scalar("SHOW server_version")
            .fetch_one(&pool)
            .await?
    };
    let nats_version = async_nats::connect(&nats)
        .await
        .map(|c| c.server_info().version)
        .unwrap_or_else(|_| "?".into());
    println!("# relance-bench all\n");
    println!("machine: {}", machine());
    println!("PostgreSQL {pg_version}, nats-server {nats_version}, release build\n");

    let (mut runs, mut drain): (Vec<(&str, IngestFigures)>, f64) = (Vec::new(), f64::NAN);
    if section("ingest") {
        (runs, drain) = ingest_section(args, &server, &nats, &prefix).await?;
    }
    if section("limits") {
        limits_section(args, &prefix, &runs, drain).await?;
    }
    if section("inbox") {
        inbox_section(args, &server, &nats, &prefix).await?;
    }
    if section("mixed") {
        // 4. The inbox under load while ingest runs, services as processes of their own.
        println!("## 4. Inbox under mixed load, services as processes\n");
        mixed::run(args, &format!("{server}/{prefix}"), &nats).await?;
        println!();
    }

    if section("reminder") {
        // 5. A reminder pass.
        println!("## 5. Reminder pass\n");
        reminder::run(&args.with(&[("database", format!("{prefix}_reminder"))])).await?;
    }

    println!(
        "\nall benchmarks done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Section 1: the pipeline, in this process, on a database of its own: batches, single
/// events, the open-loop ladder, and the gateway alone.
async fn ingest_section(
    args: &Args,
    server: &str,
    nats: &str,
    prefix: &str,
) -> anyhow::Result<(Vec<(&'static str, IngestFigures)>, f64)> {
    let events: usize = args.number("events", 100_000)?;
    let rate: f64 = args.number("rate", 4_000.0)?;
    let seconds: f64 = args.number("seconds", 10.0)?;
    let concurrency: usize = args.number("concurrency", 4)?;
    let mut runs = Vec::new();
    println!("## 1. Ingest: gateway → JetStream → scoring → PostgreSQL\n");
    let db_name = format!("{prefix}_pipeline");
    let pool = fresh_database(server, &db_name, 4).await?;
    let mut settings = settings(&format!("{server}/{db_name}"), nats);
    settings.scoring.batch_size = args.number("scoring-batch", settings.scoring.batch_size)?;
    settings.scoring.in_flight = args.number("scoring-in-flight", settings.scoring.in_flight)?;
    println!(
        "scoring: batches of {}, {} in flight\n",
        settings.scoring.batch_size, settings.scoring.in_flight
    );
    // Each service on a runtime (and threads) of its own, as separate processes would be, so the
    // load generator's tasks and scoring's batches do not queue behind each other's.
    let gateway = OwnRuntime::service::<relance_gateway::Application>("gateway", &settings)?;
    let gateway_url = format!("http://127.0.0.1:{}", gateway.port);
    let people = ingest::bench_people(&pool, 500).await?;
    // `--history off`: the interactions' history triggers off, to measure what they cost.
    if args.get("history", "on") == "off" {
        println!("history triggers off\n");
        sqlx::raw_sql(
            "ALTER TABLE crm_interactions DISABLE TRIGGER interaction_history_insert; \
             ALTER TABLE crm_interactions DISABLE TRIGGER interaction_history_update",
        )
        .execute(&pool)
        .await?;
    }
    let target = Target {
        gateway: gateway_url,
        token: BENCH_TOKEN.into(),
        pool,
        nats: nats.to_owned(),
        namespace: settings.nats.namespace.clone(),
    };
    // First, on the fresh database (as the baseline's statements run on one): scoring alone on
    // a backlog. The scoring it starts serves the runs that follow.
    let (drain, scoring) = drain_backlog(&settings, &target, &people, events, concurrency).await?;
    for (label, load) in [
        (
            "batches of 100",
            Load {
                events,
                batch: 100,
                concurrency,
                rate: None,
                wait_for_commits: true,
            },
        ),
        (
            "one event per request",
            Load {
                events,
                batch: 1,
                concurrency: concurrency * 2,
                rate: None,
                wait_for_commits: true,
            },
        ),
    ] {
        println!("### {label}");
        let figures = ingest::measure(&target, load, &people).await?;
        figures.print();
        println!();
        runs.push((label, figures));
    }
    if let Some(at_rate) = ladder(args, &target, rate, seconds, &people).await? {
        runs.push(("one event per request, fixed rate", at_rate));
    }
    // The gateway alone at the same rate: scoring stopped, so the difference is what sharing
    // two cores with the consumer and PostgreSQL's commits costs the gateway's tail.
    scoring.stop();
    println!("### one event per request, fixed rate, scoring stopped (gateway alone)");
    let alone = ingest::measure(
        &target,
        Load {
            events: (rate * seconds).round() as usize,
            batch: 1,
            concurrency: 1,
            rate: Some(rate),
            wait_for_commits: false,
        },
        &people,
    )
    .await?;
    alone.print();
    println!();
    gateway.stop();
    delete_streams(&settings).await;
    Ok((runs, drain))
}

/// Scoring alone on a backlog: `events` posted in batches before scoring runs, then scoring
/// started, the machine to itself, until nothing is pending or unacknowledged. The backlog's
/// events per second, from the start of the service, and the scoring it started.
async fn drain_backlog(
    settings: &relance_shared::Settings,
    target: &Target,
    people: &[i64],
    events: usize,
    concurrency: usize,
) -> anyhow::Result<(f64, OwnRuntime)> {
    use secrecy::ExposeSecret;
    println!("### scoring alone, draining a backlog of {events} events");
    let backlog = Load {
        events,
        batch: 100,
        concurrency,
        rate: None,
        wait_for_commits: false,
    };
    ingest::measure(target, backlog, people).await?;
    // Both sides of the ratio start from a fresh checkpoint (the baseline's statements too):
    // a checkpoint of earlier writes landing in the middle of one of them is most of the noise.
    sqlx::raw_sql("CHECKPOINT").execute(&target.pool).await?;
    let client = async_nats::connect(settings.nats.url.expose_secret()).await?;
    let js = async_nats::jetstream::new(client);
    let names = relance_shared::nats::Names::new(&settings.nats.namespace);
    let mut consumer = relance_shared::nats::scoring_consumer(
        &js,
        &names,
        std::time::Duration::from_secs(settings.scoring.ack_wait_secs),
    )
    .await?;
    let info = consumer.info().await?;
    let backlog = info.num_pending as usize + info.num_ack_pending;
    let started = Instant::now();
    let scoring = OwnRuntime::service::<relance_scoring::Application>("scoring", settings)?;
    loop {
        // Each look is a JetStream API request: not so often that it competes with the drain.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let info = consumer.info().await?;
        if info.num_pending == 0 && info.num_ack_pending == 0 {
            break;
        }
        if started.elapsed() > std::time::Duration::from_secs(1800) {
            eprintln!("  the backlog was not drained after 30 minutes");
            break;
        }
    }
    let rate = backlog as f64 / started.elapsed().as_secs_f64();
    println!("  drained at {rate:.0} events/s\n");
    Ok((rate, scoring))
}

/// Section 2: the limits the pipeline competes with, and the ingest runs as ratios of them.
async fn limits_section(
    args: &Args,
    prefix: &str,
    runs: &[(&str, IngestFigures)],
    drain: f64,
) -> anyhow::Result<()> {
    let baseline_events: usize = args.number("baseline-events", 20_000)?;
    println!("## 2. This machine's limits\n");
    let limits = baseline::run(
        &args.with(&[
            ("events", baseline_events.to_string()),
            ("database", format!("{prefix}_baseline")),
            // The ceiling of what scoring does: its statements at its batch size.
            (
                "batch",
                args.get(
                    "scoring-batch",
                    &relance_shared::Settings::built_in()
                        .scoring
                        .batch_size
                        .to_string(),
                ),
            ),
        ]),
    )
    .await?;
    println!();
    println!("| ingest run | end to end, events/s | ÷ minimal transaction (goal ≥ 4×) | ÷ scoring's per-event transaction | ÷ set-based ceiling (goal ≥ 0.6×) | ÷ raw JetStream |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (label, f) in runs {
        println!(
            "| {label} | {:.0} | {:.2}× | {:.2}× | {:.2}× | {:.3}× |",
            f.end_to_end_per_sec,
            f.end_to_end_per_sec / limits.minimal_transaction,
            f.end_to_end_per_sec / limits.per_event_transaction,
            f.end_to_end_per_sec / limits.batched_transaction,
            f.end_to_end_per_sec / limits.jetstream_publish
        );
    }
    // Scoring alone on a backlog, against its own statements driven directly.
    if drain.is_finite() {
        println!(
            "\nscoring alone draining a backlog: {drain:.0} events/s, {:.2}× its set-based \
             statements driven directly (goal ≥ 0.8×)",
            drain / limits.batched_transaction
        );
    }
    println!();
    Ok(())
}

/// Section 3: the inbox at a million interactions (seeded when the database holds fewer).
async fn inbox_section(args: &Args, server: &str, nats: &str, prefix: &str) -> anyhow::Result<()> {
    let interactions: i64 = args.number("interactions", 1_000_000)?;
    println!("## 3. Inbox API at {interactions} interactions\n");
    let bench_db = format!("{server}/{prefix}");
    // Data seeded before teams existed (no manager to measure) is seeded again.
    let held: i64 = match sqlx::PgPool::connect(&bench_db).await {
        Ok(pool) => sqlx::query_scalar(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE role = 'manager') \
                    THEN (SELECT count(*) FROM crm_interactions) ELSE 0 END",
        )
        .fetch_one(&pool)
        .await
        .unwrap_or(0),
        Err(_) => 0,
    };
    if held < interactions {
        println!("seeding {prefix} ({held} interactions held)");
        seed::run(&args.with(&[
            ("database-url", bench_db.clone()),
            ("interactions", interactions.to_string()),
            ("reset", "yes".into()),
        ]))
        .await?;
    }
    // A database seeded by an earlier version gets this version's migrations, as a deploy would.
    let pool = sqlx::PgPool::connect(&bench_db).await?;
    relance_shared::db::migrate(&pool).await?;
    // The word index's statistics (a search walks its rarest word first by them).
    sqlx::raw_sql("VACUUM ANALYZE interaction_search_words")
        .execute(&pool)
        .await?;
    pool.close().await;
    let inbox_settings = crate::stack::settings(&bench_db, nats);
    let stop = CancellationToken::new();
    let inbox_app = relance_inbox::Application::build(inbox_settings.clone()).await?;
    let inbox_url = format!("http://127.0.0.1:{}", inbox_app.port());
    let inbox_task = tokio::spawn(inbox_app.run(stop.clone()));
    inbox::run(&args.with(&[
        ("inbox", inbox_url),
        ("database-url", bench_db),
        ("jwt-secret", BENCH_JWT_SECRET.into()),
        ("requests", args.get("requests", "500")),
        ("explain", args.get("explain", "no")),
        ("patches", args.get("patches", "yes")),
    ]))
    .await?;
    stop.cancel();
    let _ = inbox_task.await;
    delete_streams(&inbox_settings).await;
    println!();
    Ok(())
}

/// Single events, open loop, at rising rates with scoring running: the highest rate the
/// gateway holds with p99 ≤ 10 ms and nothing shed (each step drained before the next). The
/// step at `rate`, for the ratios.
async fn ladder(
    args: &Args,
    target: &Target,
    rate: f64,
    seconds: f64,
    people: &[i64],
) -> anyhow::Result<Option<IngestFigures>> {
    println!("### one event per request, open loop, rising rates (scoring running)\n");
    let ladder: Vec<f64> = [0.25, 0.5, 0.75, 1.0, 1.25, 1.5]
        .iter()
        .map(|f| (rate * f).round())
        .collect();
    let steps = ingest::rate_ladder(
        target,
        &ladder,
        args.number("ladder-seconds", seconds)?,
        std::time::Duration::from_millis(10),
        people,
    )
    .await?;
    Ok(steps
        .iter()
        .find(|s| s.rate == rate.round())
        .map(|s| s.figures))
}
