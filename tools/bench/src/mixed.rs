//! `relance-bench all`, section `mixed`: the inbox while ingest runs, each service a process of
//! its own — the release binaries beside this one (`cargo build --release` builds them) — so
//! each one's memory and CPU are its own:
//!
//! 1. open loop: `--inbox-rate` requests/s (1,000) for `--mixed-seconds` (10) from at most 32
//!    connections — the busiest user's inbox, everyone's overdue, the busiest user's stats, in
//!    turn — while one event per request is posted at `--ingest-rate` (2,000) and scored;
//!    latencies count from each request's scheduled time;
//! 2. closed loop: 32 connections as fast as they are answered, no ingest: the saturation
//!    throughput, and the CPU each request costs in the inbox and in PostgreSQL;
//! 3. the peak resident memory of each service over both.
//!
//! It runs on the seeded `relance_bench` database (section `inbox` seeds it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;
use secrecy::SecretString;
use tokio::sync::Semaphore;

use relance_inbox::auth::TokenKeys;

use crate::args::{percentile, Args};
use crate::ingest::{self, Load, Target};
use crate::stack::{BENCH_JWT_SECRET, BENCH_TOKEN};

const CONNECTIONS: usize = 32;

/// A service binary running as a child process, killed when dropped.
pub(crate) struct Service {
    pub(crate) name: &'static str,
    pub(crate) child: Child,
    pub(crate) port: u16,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub(crate) fn start(
    dir: &Path,
    name: &'static str,
    listen_key: &str,
    env: &[(&str, String)],
) -> anyhow::Result<Service> {
    let port = free_port()?;
    let child = Command::new(dir.join(name))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env(listen_key, format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    Ok(Service { name, child, port })
}

pub(crate) async fn wait_ready(http: &reqwest::Client, service: &Service) -> anyhow::Result<()> {
    let url = format!("http://127.0.0.1:{}/readyz", service.port);
    for _ in 0..300 {
        if let Ok(r) = http.get(&url).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{} not ready after 30 s", service.name)
}

/// `/proc/<pid>/status` field in kB.
pub(crate) fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) of a process, in clock ticks (1/100 s on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0)
}

/// CPU ticks of every PostgreSQL process.
fn postgres_ticks() -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(cpu_ticks)
        .sum()
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> bool {
    match http.get(url).bearer_auth(token).send().await {
        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
        _ => false,
    }
}

struct Latencies {
    times: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

impl Latencies {
    fn print(&self, label: &str) {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {label} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            self.times.len() as f64 / self.elapsed.as_secs_f64(),
            ms(percentile(&self.times, 50.0)),
            ms(percentile(&self.times, 99.0)),
            ms(self.times.last().copied().unwrap_or_default()),
            self.errors
        );
    }
}

/// `rate` requests/s for `seconds` over `urls` in turn, at most [`CONNECTIONS`] at once; each
/// latency counts from the request's scheduled time, so waiting for a connection shows.
async fn open_loop(
    http: &reqwest::Client,
    urls: &[String],
    token: &str,
    rate: f64,
    seconds: f64,
) -> Latencies {
    let slots = Arc::new(Semaphore::new(CONNECTIONS));
    let count = (rate * seconds).round() as usize;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let (http, url, token, slots) = (
            http.clone(),
            urls[i % urls.len()].clone(),
            token.to_owned(),
            slots.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await;
            let ok = get(&http, &url, &token).await;
            (ok, due.elapsed())
        }));
    }
    let mut result = Latencies {
        times: Vec::with_capacity(count),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        match task.await {
            Ok((true, latency)) => result.times.push(latency),
            _ => result.errors += 1,
        }
    }
    result.elapsed = started.elapsed();
    result.times.sort();
    result
}

/// [`CONNECTIONS`] clients, each sending its next request when the last is answered.
async fn closed_loop(
    http: &reqwest::Client,
    urls: &[String],
    token: &str,
    seconds: f64,
) -> Latencies {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (http, urls, token, next) =
                (http.clone(), urls.to_vec(), token.to_owned(), next.clone());
            tokio::spawn(async move {
                let (mut times, mut errors) = (Vec::new(), 0);
                while Instant::now() < until {
                    let url = &urls[next.fetch_add(1, Ordering::Relaxed) % urls.len()];
                    let t = Instant::now();
                    if get(&http, url, &token).await {
                        times.push(t.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (times, errors)
            })
        })
        .collect();
    let mut result = Latencies {
        times: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for worker in workers {
        if let Ok((times, errors)) = worker.await {
            result.times.extend(times);
            result.errors += errors;
        }
    }
    result.elapsed = started.elapsed();
    result.times.sort();
    result
}

pub async fn run(args: &Args, bench_db: &str, nats: &str) -> anyhow::Result<()> {
    let inbox_rate: f64 = args.number("inbox-rate", 1_000.0)?;
    let ingest_rate: f64 = args.number("ingest-rate", 2_000.0)?;
    let seconds: f64 = args.number("mixed-seconds", 10.0)?;
    let Some(dir) = service_binaries()? else {
        return Ok(());
    };

    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(bench_db)
        .await?;
    relance_shared::db::migrate(&pool).await?;
    let user = crate::inbox::busiest_user(&pool).await?;
    let (namespace, services, http) = start_services(&dir, bench_db, nats).await?;
    let [gateway, _, inbox] = &services;
    let base = format!("http://127.0.0.1:{}", inbox.port);
    let token = TokenKeys::new(SecretString::from(BENCH_JWT_SECRET)).issue(
        user,
        Utc::now(),
        chrono::Duration::hours(1),
    );
    let urls = [
        format!("{base}/api/v1/interactions/inbox?assignee={user}&due=all"),
        format!("{base}/api/v1/interactions/inbox?due=overdue"),
        format!("{base}/api/v1/interactions/inbox/stats?assignee={user}"),
    ];
    // Warm-up: connections, caches, plans.
    closed_loop(&http, &urls, &token, 1.0).await;

    // Peak resident memory, sampled while the loads run.
    let pids: Vec<(&'static str, u32)> = services.iter().map(|s| (s.name, s.child.id())).collect();
    let (peaks, sampler) = sample_peak_memory(&pids);
    println!(
        "services as processes of their own; user {user} (the busiest); {CONNECTIONS} connections\n"
    );
    println!("| load | requests/s | p50 ms | p99 ms | max ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    let people = ingest::bench_people(&pool, 500).await?;
    let target = Target {
        gateway: format!("http://127.0.0.1:{}", gateway.port),
        token: BENCH_TOKEN.into(),
        pool: pool.clone(),
        nats: nats.to_owned(),
        namespace: namespace.clone(),
    };
    let ingest = tokio::spawn(async move {
        ingest::measure(
            &target,
            Load {
                events: (ingest_rate * seconds).round() as usize,
                batch: 1,
                concurrency: 1,
                rate: Some(ingest_rate),
                wait_for_commits: true,
            },
            &people,
        )
        .await
    });
    let mixed = open_loop(&http, &urls, &token, inbox_rate, seconds).await;
    let ingested = ingest.await??;
    mixed.print(&format!(
        "inbox open loop at {inbox_rate:.0}/s, ingest at {ingest_rate:.0} events/s"
    ));

    let (inbox_before, pg_before) = (cpu_ticks(inbox.child.id()), postgres_ticks());
    let saturated = closed_loop(&http, &urls, &token, seconds).await;
    let (inbox_cpu, pg_cpu) = (
        cpu_ticks(inbox.child.id()).saturating_sub(inbox_before),
        postgres_ticks().saturating_sub(pg_before),
    );
    saturated.print("inbox closed loop, no ingest");
    let costs = cost_per_request(&http, &urls, &token, inbox.child.id(), seconds).await;
    sampler.abort();
    println!(
        "\ningest meanwhile: {:.0} events/s accepted, {:.0} events/s scored; gateway p99 {:.1} ms",
        ingested.accepted_per_sec,
        ingested.end_to_end_per_sec,
        ingest::ms(ingested.p99)
    );
    let requests = saturated.times.len().max(1) as f64;
    println!(
        "CPU per request at saturation: inbox {:.2} ms, PostgreSQL {:.2} ms",
        inbox_cpu as f64 * 10.0 / requests,
        pg_cpu as f64 * 10.0 / requests
    );
    for (label, inbox_ms, pg_ms) in costs {
        println!("  {label}: inbox {inbox_ms:.2} ms, PostgreSQL {pg_ms:.2} ms");
    }
    print_memory(&pids, &peaks);
    drop(services);
    let mut settings = relance_shared::Settings::default();
    settings.nats.url = SecretString::from(nats.to_owned());
    settings.nats.namespace = namespace;
    crate::stack::delete_streams(&settings).await;
    Ok(())
}

/// Each process's peak resident memory (kB), sampled every 100 ms until the task is aborted.
fn sample_peak_memory(
    pids: &[(&'static str, u32)],
) -> (Arc<Vec<AtomicUsize>>, tokio::task::JoinHandle<()>) {
    let peaks: Arc<Vec<AtomicUsize>> = Arc::new(pids.iter().map(|_| AtomicUsize::new(0)).collect());
    let sampler = {
        let (pids, peaks) = (pids.to_vec(), peaks.clone());
        tokio::spawn(async move {
            loop {
                for (i, (_, pid)) in pids.iter().enumerate() {
                    let kb = status_kb(*pid, "VmRSS:") as usize;
                    peaks[i].fetch_max(kb, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    (peaks, sampler)
}

/// Where the CPU goes, request by request: each request type alone in a closed loop, with the
/// inbox's and PostgreSQL's CPU milliseconds per request.
async fn cost_per_request(
    http: &reqwest::Client,
    urls: &[String],
    token: &str,
    inbox_pid: u32,
    seconds: f64,
) -> Vec<(&'static str, f64, f64)> {
    let mut costs = Vec::new();
    for (label, url) in [
        "busiest user's inbox",
        "everyone's overdue",
        "busiest user's stats",
    ]
    .into_iter()
    .zip(urls)
    {
        let (inbox_before, pg_before) = (cpu_ticks(inbox_pid), postgres_ticks());
        let alone = closed_loop(http, std::slice::from_ref(url), token, seconds / 2.0).await;
        let n = alone.times.len().max(1) as f64;
        costs.push((
            label,
            cpu_ticks(inbox_pid).saturating_sub(inbox_before) as f64 * 10.0 / n,
            postgres_ticks().saturating_sub(pg_before) as f64 * 10.0 / n,
        ));
        alone.print(&format!("closed loop, {label} only"));
    }
    costs
}

/// The directory of the services' binaries, built beside the benchmark's; `None` (and why,
/// printed) when one is missing.
fn service_binaries() -> anyhow::Result<Option<PathBuf>> {
    let dir: PathBuf = std::env::current_exe()?
        .parent()
        .context("the benchmark's own directory")?
        .to_owned();
    let missing: Vec<&str> = ["relance-gateway", "relance-scoring", "relance-inbox"]
        .into_iter()
        .filter(|b| !dir.join(b).exists())
        .collect();
    if !missing.is_empty() {
        println!(
            "skipped: {} not built beside relance-bench (run `cargo build --release` first)",
            missing.join(", ")
        );
        return Ok(None);
    }
    Ok(Some(dir))
}

/// Each service's peak resident memory under the loads, and since it started.
fn print_memory(pids: &[(&'static str, u32)], peaks: &[AtomicUsize]) {
    println!("\n| service | peak RSS under load | peak RSS since start |");
    println!("|---|---:|---:|");
    for (i, (name, pid)) in pids.iter().enumerate() {
        println!(
            "| {name} | {:.1} MB | {:.1} MB |",
            peaks[i].load(Ordering::Relaxed) as f64 / 1024.0,
            status_kb(*pid, "VmHWM:") as f64 / 1024.0
        );
    }
}

/// The gateway, scoring and the inbox as processes of their own, on a NATS namespace of their
/// own, once each answers `/readyz`; and an HTTP client for them.
async fn start_services(
    dir: &std::path::Path,
    bench_db: &str,
    nats: &str,
) -> anyhow::Result<(String, [Service; 3], reqwest::Client)> {
    let namespace = format!("mixed{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let env = [
        ("RELANCE__DATABASE__URL", bench_db.to_owned()),
        ("RELANCE__DATABASE__MIGRATE_ON_START", "false".to_owned()),
        ("RELANCE__NATS__URL", nats.to_owned()),
        ("RELANCE__NATS__NAMESPACE", namespace.clone()),
        ("RELANCE__GATEWAY__INGEST_TOKEN", BENCH_TOKEN.to_owned()),
        ("RELANCE__AUTH__JWT_SECRET", BENCH_JWT_SECRET.to_owned()),
    ];
    let services = [
        start(dir, "relance-gateway", "RELANCE__GATEWAY__LISTEN", &env)?,
        start(dir, "relance-scoring", "RELANCE__SCORING__LISTEN", &env)?,
        start(dir, "relance-inbox", "RELANCE__INBOX__LISTEN", &env)?,
    ];
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    for service in &services {
        wait_ready(&http, service).await?;
    }
    Ok((namespace, services, http))
}
