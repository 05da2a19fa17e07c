//! `relance-bench directory`: the initial load of a CRM through the directory API, as a
//! company plugging Relance in would do it: its users, its organisations (one per ten people),
//! then N people (default 1,000,000), `PUT /api/v1/directory/*` in requests of `--batch`
//! versions (1,000, the API's maximum), `--concurrency` requests at once (4). The tool starts
//! its own inbox on a database of its own (`relance_bench_directory`, recreated each run) and
//! prints people/s and the request latencies.
//!
//! ```text
//! cargo run --release -p relance-bench -- directory --people 1000000
//! ```
//!
//! Options: `--people N`, `--batch B`, `--concurrency C`, `--server-url URL` (PostgreSQL server,
//! default postgres://postgres@127.0.0.1:5432), `--nats URL`, `--database NAME`.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use relance_shared::service::Service;

use crate::args::{fresh_database, percentile, Args};
use crate::stack::{delete_streams, settings};

const DIRECTORY_TOKEN: &str = "bench-directory-token-0123456789";

/// An inbox of the tool's own, its directory API open: loads a CRM's records through it.
pub struct DirectoryLoader {
    base: String,
    http: reqwest::Client,
    pub concurrency: usize,
    pub batch: usize,
    stop: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    settings: relance_shared::Settings,
}

impl DirectoryLoader {
    /// Starts the inbox on `database_url` (migrated already).
    pub async fn start(
        database_url: &str,
        nats: &str,
        batch: usize,
        concurrency: usize,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            batch >= 1 && concurrency >= 1,
            "batch and concurrency: at least 1"
        );
        let mut config = settings(database_url, nats);
        config.directory.token = Some(SecretString::from(DIRECTORY_TOKEN));
        config.directory.max_batch = batch.max(1000);
        // A connection per client and two spare for users' requests, beside the inbox's own.
        config.database.max_connections = u32::try_from(concurrency + 2)
            .unwrap_or(10)
            .saturating_add(config.database.reserved_connections);
        let inbox = relance_inbox::Application::build(config.clone()).await?;
        let base = format!("http://127.0.0.1:{}/api/v1/directory", inbox.port());
        let stop = CancellationToken::new();
        let server = tokio::spawn(inbox.run(stop.clone()));
        Ok(Self {
            base,
            http: reqwest::Client::new(),
            concurrency,
            batch,
            stop,
            server,
            settings: config,
        })
    }

    /// PUTs `count` versions of `kind` made by `version(index)`, `batch` a request,
    /// `concurrency` at once; returns each request's latency.
    pub async fn put_all(
        &self,
        kind: &'static str,
        count: usize,
        version: impl Fn(usize) -> Value,
        progress: Option<&indicatif::ProgressBar>,
    ) -> anyhow::Result<Vec<Duration>> {
        let requests = (0..count).step_by(self.batch).map(|first| {
            let last = (first + self.batch).min(count);
            let body = Value::Array((first..last).map(&version).collect());
            let request = self
                .http
                .put(format!("{}/{kind}", self.base))
                .bearer_auth(DIRECTORY_TOKEN)
                .json(&body);
            async move {
                let started = Instant::now();
                let response = request.send().await.context("inbox")?;
                let status = response.status();
                anyhow::ensure!(
                    status.is_success(),
                    "{kind}: {status}: {}",
                    response.text().await?
                );
                if let Some(progress) = progress {
                    progress.inc((last - first) as u64);
                }
                Ok::<_, anyhow::Error>(started.elapsed())
            }
        });
        futures::stream::iter(requests)
            .buffer_unordered(self.concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.server.await;
        delete_streams(&self.settings).await;
    }
}

/// Returns the people load rate, people per second.
pub async fn run(args: &Args) -> anyhow::Result<f64> {
    let people: usize = args.number("people", 1_000_000)?;
    let batch: usize = args.number("batch", 1_000)?;
    let concurrency: usize = args.number("concurrency", 4)?;
    let server = args.get("server-url", "postgres://postgres@127.0.0.1:5432");
    let nats = args.get("nats", "nats://127.0.0.1:4222");
    let name = args.get("database", "relance_bench_directory");
    fresh_database(&server, &name, 2).await?.close().await;
    let loader =
        DirectoryLoader::start(&format!("{server}/{name}"), &nats, batch, concurrency).await?;
    let at = "2026-11-20T09:00:00Z";
    loader
        .put_all(
            "users",
            100,
            |u| {
                json!({"external_id": format!("u-{u}"), "email": format!("user{u}@crm.test"),
                       "name": format!("Commercial {u}"), "updated_at": at})
            },
            None,
        )
        .await?;
    loader
        .put_all(
            "organisations",
            people.div_ceil(10).max(1),
            |o| json!({"external_id": format!("o-{o}"), "name": format!("Société {o}"), "updated_at": at}),
            None,
        )
        .await?;

    println!("loading {people} people in requests of {batch}, {concurrency} at once");
    let progress = indicatif::ProgressBar::new(people as u64);
    let started = Instant::now();
    let mut latencies = loader
        .put_all(
            "people",
            people,
            |p| {
                json!({"external_id": format!("p-{p}"), "first_name": format!("Prénom{p}"),
                       "last_name": format!("Nom{p}"), "email": format!("person{p}@client.test"),
                       "phone": format!("+33 1 {p:08}"), "organisation_external_id": format!("o-{}", p / 10),
                       "owner_external_id": format!("u-{}", p % 100), "updated_at": at})
            },
            Some(&progress),
        )
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    progress.finish_and_clear();
    latencies.sort();
    let rate = people as f64 / elapsed;
    println!(
        "people: {people} in {elapsed:.1} s: **{rate:.0} people/s**; request p50 {:.1} ms, p99 {:.1} ms",
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3,
    );
    loader.stop().await;
    Ok(rate)
}
