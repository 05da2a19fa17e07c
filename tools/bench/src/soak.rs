//! `relance-bench soak`: the stack under a mixed load, alone and with hostile clients in
//! alternating rounds of 30 s (one of each when shorter), bounded in time, ending with an exact
//! account. Options (defaults):
//! `--seconds` (30: half without, half with the hostile clients), `--ingest-rate` (50 events/s),
//! `--inbox-rate` (20 requests/s), `--flood-rate` (200 requests/s), `--p99-floor-ms` (20),
//! `--server-url` (postgres://postgres@127.0.0.1:5432), `--nats` (nats://127.0.0.1:4222).
//!
//! The gateway, scoring and the inbox run as processes of their own (the binaries beside this
//! one), on a fresh database `relance_soak` and a NATS namespace of the run's own, with short
//! timeouts (`http.header_timeout_secs` 2) and a rate limit (`gateway.rate_limit_per_second`
//! 100) so the hostile clients meet them within the run. Healthy clients: ingest at a fixed
//! rate (one `opened` event per request, each on its own send, under the ingest token), inbox
//! readers (inbox, stats, hot leads in turn) and one live stream per user. Hostile clients:
//! slow request heads and idle connections on both HTTP services, a stream flood (20 streams
//! for one user), a flood on the Postmark credential past its rate limit, oversized and
//! malformed bodies. Then, in a third phase of each round, one admin's 20 stalled CSV exports
//! (each reads the head, then nothing, through a 4 kB receive buffer) and 20 worst-case searches
//! without pause (eight one-letter words, each in nearly every row), while `/readyz` is asked
//! every 200 ms. The data: `--interactions` (20000) rows, so a search and an export cost
//! something.
//!
//! The account (the run fails when any line fails): every event the gateway answered 2xx is
//! applied exactly once (processed events, sends and opens counted per credential); the healthy
//! clients' p99 under attack is within 3× of their p99 without it (or under the floor, a
//! debug build's noise on a small machine); every slow or idle connection was closed by the
//! server within the header timeout and 2 s; the stream flood got `max_streams_per_user`
//! streams and 429s with `Retry-After` for the rest; oversized bodies got 413 and malformed
//! ones 400/422, nothing published; each service's resident memory under attack stayed within
//! 3× of its peak without it, plus 64 MB; the exports got at most `max_exports_per_user` 200s
//! a round and 429s for the rest; `/readyz` answered 200 every time; healthy requests beside
//! that abuse all answered 2xx. Their latency beside it is a figure, printed against the same
//! rounds alone (issue 31's target: p99 within 2×), not a check.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;
use secrecy::SecretString;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use relance_inbox::auth::TokenKeys;

use crate::args::{fresh_database, percentile, Args};
use crate::mixed::{start, status_kb, wait_ready, Service};
use crate::stack::{BENCH_JWT_SECRET, BENCH_TOKEN};

const POSTMARK_AUTH: &str = "soak:soak-postmark-password";
const HEADER_TIMEOUT_SECS: u64 = 2;
const MAX_STREAMS: usize = 5;
const USERS: i64 = 3;
/// The admin whose exports stall and whose searches are the worst there are.
const HOSTILE_USER: i64 = USERS + 1;
const PEOPLE: i64 = 200;
/// The inbox's default `max_exports_per_user`.
const MAX_EXPORTS: usize = 2;
/// Eight one-letter words: too common for the word index, each a pattern over every row.
const WORST_SEARCH: &str = "a+e+i+o+u+s+r+t";

/// What the healthy clients saw in one phase.
#[derive(Default)]
struct Healthy {
    ingest: Vec<Duration>,
    inbox: Vec<Duration>,
    errors: usize,
}

/// Counters the clients share.
#[derive(Default)]
struct Tally {
    ingest_accepted: AtomicU64,
    flood_accepted: AtomicU64,
    flood_limited: AtomicU64,
    flood_other: AtomicU64,
    /// Postmark records sent, each a new message id.
    flood_sent: AtomicU64,
    live_events: AtomicU64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One healthy request: an ingest (true) or a read, its answer, its latency from when it was due.
type Outcome = (bool, Result<(), String>, Duration);

/// The healthy clients: ingest at `ingest_rate`, inbox reads at `inbox_rate`.
struct HealthyLoad<'a> {
    http: &'a reqwest::Client,
    gateway: &'a str,
    inbox: &'a str,
    tokens: &'a [String],
    ingest_rate: f64,
    inbox_rate: f64,
    next_event: &'a AtomicUsize,
    tally: &'a Tally,
}

/// One healthy phase of `seconds`.
async fn healthy_phase(load: &HealthyLoad<'_>, seconds: f64) -> Healthy {
    let HealthyLoad {
        http,
        gateway,
        inbox,
        tokens,
        ingest_rate,
        inbox_rate,
        next_event,
        tally,
    } = *load;
    let started = Instant::now();
    let mut tasks: Vec<JoinHandle<Outcome>> = Vec::new();
    let total = ((ingest_rate + inbox_rate) * seconds).round() as usize;
    let step = 1.0 / (ingest_rate + inbox_rate);
    let inbox_urls = [
        "/api/v1/interactions/inbox?assignee=me&due=all",
        "/api/v1/interactions/inbox/stats?assignee=me",
        "/api/v1/marketing/leads-hot?limit=10&threshold=0",
    ];
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 * step);
        tokio::time::sleep_until(due.into()).await;
        let http = http.clone();
        // Interleaved in proportion to the two rates.
        let is_ingest = ((i + 1) as f64 * ingest_rate / (ingest_rate + inbox_rate)).floor()
            > (i as f64 * ingest_rate / (ingest_rate + inbox_rate)).floor();
        if is_ingest {
            let n = next_event.fetch_add(1, Ordering::Relaxed);
            let body = json!({
                "provider": "soak", "external_id": format!("soak-{n}"), "event": "opened",
                "occurred_at": Utc::now().to_rfc3339(),
                "person_id": 1 + (n as i64 % PEOPLE), "subject": "Soak",
            });
            let url = format!("{gateway}/api/v1/marketing/email/ingest");
            tasks.push(tokio::spawn(async move {
                let ok = match http
                    .post(&url)
                    .bearer_auth(BENCH_TOKEN)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(format!("ingest answered {}", r.status())),
                    Err(e) => Err(format!("ingest: {e:?}")),
                };
                (true, ok, due.elapsed())
            }));
            continue;
        }
        let url = format!("{inbox}{}", inbox_urls[i % inbox_urls.len()]);
        let token = tokens[i % tokens.len()].clone();
        tasks.push(tokio::spawn(async move {
            let ok = match http.get(&url).bearer_auth(token).send().await {
                Ok(r) if r.status().is_success() => r
                    .bytes()
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("{url}: {e:?}")),
                Ok(r) => Err(format!("{url} answered {}", r.status())),
                Err(e) => Err(format!("{url}: {e:?}")),
            };
            (false, ok, due.elapsed())
        }));
    }
    let mut out = Healthy::default();
    for task in tasks {
        match task.await {
            Ok((true, Ok(()), latency)) => {
                tally.ingest_accepted.fetch_add(1, Ordering::Relaxed);
                out.ingest.push(latency);
            }
            Ok((false, Ok(()), latency)) => out.inbox.push(latency),
            Ok((_, Err(error), _)) => {
                out.errors += 1;
                println!("healthy request failed: {error}");
            }
            Err(error) => {
                out.errors += 1;
                println!("healthy request failed: {error}");
            }
        }
    }
    out.ingest.sort();
    out.inbox.sort();
    out
}

/// Seconds of each alone-then-attacked round.
const ROUND_SECONDS: f64 = 30.0;

impl Healthy {
    fn append(&mut self, mut other: Healthy) {
        self.ingest.append(&mut other.ingest);
        self.inbox.append(&mut other.inbox);
        self.errors += other.errors;
    }

    fn sort(&mut self) {
        self.ingest.sort();
        self.inbox.sort();
    }
}

fn max_into(peaks: &mut [u64], round: Vec<u64>) {
    for (peak, r) in peaks.iter_mut().zip(round) {
        *peak = (*peak).max(r);
    }
}

/// Where the hostile clients aim, and their own HTTP client.
struct Hostile<'a> {
    gateway_url: &'a str,
    inbox_url: &'a str,
    ports: [u16; 2],
    stream_token: &'a str,
    /// The admin's, for the stalled exports and the worst-case searches.
    admin_token: &'a str,
    flood_rate: f64,
    tally: Arc<Tally>,
    http: reqwest::Client,
}

/// What the hostile clients got, over every round.
#[derive(Default)]
struct HostileAccount {
    oversized: Vec<u16>,
    malformed: Vec<u16>,
    /// Streams opened, refused with 429 and `Retry-After`, anything else.
    streams: (usize, usize, usize),
    /// Every round: at most the cap opened, the rest refused.
    streams_per_round_ok: bool,
    closes: Vec<Duration>,
    still_open: usize,
    /// Stalled exports: answered 200, 429 with `Retry-After`, anything else.
    exports: (usize, usize, usize),
    /// Every round: at most the cap answered 200, the rest 429.
    exports_per_round_ok: bool,
    /// Worst-case searches: answered 200, 429, anything else.
    searches: (usize, usize, usize),
    /// `/readyz` asked, and answered anything but 200.
    readiness: (usize, usize),
}

/// One healthy phase of `seconds` with every hostile client at work; their outcomes are added
/// to `account`.
async fn attacked_phase(
    load: &HealthyLoad<'_>,
    hostile: &Hostile<'_>,
    seconds: f64,
    account: &mut HostileAccount,
) -> anyhow::Result<Healthy> {
    let first_round = account.closes.is_empty() && account.still_open == 0;
    let give_up = Duration::from_secs(HEADER_TIMEOUT_SECS + 10);
    let slow: Vec<_> = hostile
        .ports
        .into_iter()
        .flat_map(|port| (0..40).map(move |i| (port, i % 2 == 0)))
        .map(|(port, half_head)| tokio::spawn(slow_client(port, half_head, give_up)))
        .collect();
    let stop_flood = CancellationToken::new();
    let flood_streams: Vec<_> = (0..20)
        .map(|_| {
            tokio::spawn(live_stream(
                hostile.http.clone(),
                format!("{}/api/v1/stream", hostile.inbox_url),
                hostile.stream_token.to_owned(),
                stop_flood.clone(),
                Arc::new(Tally::default()),
            ))
        })
        .collect();
    let flooder = tokio::spawn(flood(
        hostile.http.clone(),
        format!(
            "{}/api/v1/marketing/email/webhooks/postmark",
            hostile.gateway_url
        ),
        hostile.flood_rate,
        hostile.tally.clone(),
        stop_flood.clone(),
    ));
    let junk = tokio::spawn(junk(
        hostile.http.clone(),
        format!("{}/api/v1/marketing/email/ingest", hostile.gateway_url),
        stop_flood.clone(),
    ));
    let attacked = healthy_phase(load, seconds).await;
    stop_flood.cancel();
    let _ = flooder.await;
    let (mut oversized, mut malformed) = junk.await?;
    account.oversized.append(&mut oversized);
    account.malformed.append(&mut malformed);
    let mut streams = (0usize, 0usize, 0usize);
    for s in flood_streams {
        match s.await? {
            (200, _) => streams.0 += 1,
            (429, true) => streams.1 += 1,
            _ => streams.2 += 1,
        }
    }
    let round_ok = streams.0 < MAX_STREAMS && streams.0 + streams.1 == 20;
    account.streams_per_round_ok = round_ok && (first_round || account.streams_per_round_ok);
    account.streams.0 += streams.0;
    account.streams.1 += streams.1;
    account.streams.2 += streams.2;
    for s in slow {
        match s.await? {
            Some(d) => account.closes.push(d),
            None => account.still_open += 1,
        }
    }
    Ok(attacked)
}

/// One admin abusing what users share: 20 stalled exports, 20 worst-case searches without
/// pause, and a watcher asking `/readyz` meanwhile.
struct UserAbuse {
    exports: Vec<JoinHandle<u16>>,
    searches: Vec<JoinHandle<(usize, usize, usize)>>,
    readiness: JoinHandle<(usize, usize)>,
}

impl UserAbuse {
    fn start(hostile: &Hostile<'_>, stop_flood: &CancellationToken) -> Self {
        let exports: Vec<_> = (0..20)
            .map(|_| {
                tokio::spawn(stalled_export(
                    hostile.ports[1],
                    hostile.admin_token.to_owned(),
                    stop_flood.clone(),
                ))
            })
            .collect();
        let searches: Vec<_> = (0..20)
            .map(|_| {
                tokio::spawn(worst_searches(
                    hostile.http.clone(),
                    format!(
                        "{}/api/v1/interactions/inbox?q={WORST_SEARCH}",
                        hostile.inbox_url
                    ),
                    hostile.admin_token.to_owned(),
                    stop_flood.clone(),
                ))
            })
            .collect();
        let readiness = tokio::spawn(readiness(
            hostile.http.clone(),
            format!("{}/readyz", hostile.inbox_url),
            stop_flood.clone(),
        ));
        Self {
            exports,
            searches,
            readiness,
        }
    }

    /// Waits for every client (they stop with the phase) and adds what they got to `account`.
    async fn finish(self, account: &mut HostileAccount, first_round: bool) -> anyhow::Result<()> {
        let Self {
            exports,
            searches,
            readiness,
        } = self;
        let mut exported = (0usize, 0usize, 0usize);
        for e in exports {
            match e.await? {
                200 => exported.0 += 1,
                429 => exported.1 += 1,
                _ => exported.2 += 1,
            }
        }
        account.exports_per_round_ok = exported.0 <= MAX_EXPORTS
            && exported.0 + exported.1 == 20
            && (first_round || account.exports_per_round_ok);
        account.exports.0 += exported.0;
        account.exports.1 += exported.1;
        account.exports.2 += exported.2;
        for s in searches {
            let (ok, limited, other) = s.await?;
            account.searches.0 += ok;
            account.searches.1 += limited;
            account.searches.2 += other;
        }
        let (asked, unready) = readiness.await?;
        account.readiness.0 += asked;
        account.readiness.1 += unready;
        Ok(())
    }
}

/// Postmark webhooks at `rate` on one credential until `stop`, each a new send, tallied by
/// answer.
async fn flood(
    http: reqwest::Client,
    url: String,
    rate: f64,
    tally: Arc<Tally>,
    stop: CancellationToken,
) {
    let (user, password) = POSTMARK_AUTH.split_once(':').unwrap_or_default();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let mut tasks = Vec::new();
    while !stop.is_cancelled() {
        ticks.tick().await;
        let n = tally.flood_sent.fetch_add(1, Ordering::Relaxed) + 1;
        let body = json!({"RecordType": "Open", "MessageID": format!("flood-{n}"),
                          "Recipient": format!("p{}@soak.test", 1 + n % PEOPLE as u64),
                          "ReceivedAt": Utc::now().to_rfc3339()});
        let (http, url, tally) = (http.clone(), url.clone(), tally.clone());
        let (user, password) = (user.to_owned(), password.to_owned());
        tasks.push(tokio::spawn(async move {
            match http
                .post(&url)
                .basic_auth(user, Some(password))
                .json(&body)
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => {
                    tally.flood_accepted.fetch_add(1, Ordering::Relaxed)
                }
                Ok(r) if r.status() == 429 && r.headers().contains_key("retry-after") => {
                    tally.flood_limited.fetch_add(1, Ordering::Relaxed)
                }
                _ => tally.flood_other.fetch_add(1, Ordering::Relaxed),
            };
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
}

/// Oversized and malformed bodies on the ingest endpoint, ten rounds a second until `stop`:
/// the statuses they got.
async fn junk(http: reqwest::Client, url: String, stop: CancellationToken) -> (Vec<u16>, Vec<u16>) {
    let (mut oversized, mut malformed) = (Vec::new(), Vec::new());
    let big = vec![b'['; 3 * 1024 * 1024];
    while !stop.is_cancelled() {
        if let Ok(r) = http
            .post(&url)
            .bearer_auth(BENCH_TOKEN)
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
        {
            oversized.push(r.status().as_u16());
        }
        for body in [
            &b"{\"provider\": "[..],
            &b"[1, 2"[..],
            &b"{\"event\": \"opened\"}"[..],
        ] {
            if let Ok(r) = http
                .post(&url)
                .bearer_auth(BENCH_TOKEN)
                .header("content-type", "application/json")
                .body(body.to_vec())
                .send()
                .await
            {
                malformed.push(r.status().as_u16());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (oversized, malformed)
}

/// An export of every row whose client reads the status line, then nothing, through a 4 kB
/// receive buffer, until `stop`: the status it got (0: no answer).
async fn stalled_export(port: u16, token: String, stop: CancellationToken) -> u16 {
    let request = format!(
        "GET /api/v1/interactions/inbox/export HTTP/1.1\r\nHost: soak\r\n\
         Authorization: Bearer {token}\r\n\r\n"
    );
    let status = async {
        let socket = tokio::net::TcpSocket::new_v4().ok()?;
        socket.set_recv_buffer_size(4096).ok()?;
        let mut stream = socket.connect(([127, 0, 0, 1], port).into()).await.ok()?;
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        let status = std::str::from_utf8(&head[9..12])
            .ok()?
            .parse::<u16>()
            .ok()?;
        Some((status, stream))
    }
    .await;
    match status {
        Some((status, stream)) => {
            // Held, unread, until the phase ends.
            stop.cancelled().await;
            drop(stream);
            status
        }
        None => 0,
    }
}

/// The worst search there is, again and again until `stop`: how many were answered 200, 429,
/// anything else.
async fn worst_searches(
    http: reqwest::Client,
    url: String,
    token: String,
    stop: CancellationToken,
) -> (usize, usize, usize) {
    let mut seen = (0, 0, 0);
    while !stop.is_cancelled() {
        let answer = tokio::select! {
            _ = stop.cancelled() => break,
            answer = http.get(&url).bearer_auth(&token).send() => answer,
        };
        match answer {
            Ok(r) if r.status() == 200 => {
                let _ = r.bytes().await;
                seen.0 += 1;
            }
            Ok(r) if r.status() == 429 => seen.1 += 1,
            _ => seen.2 += 1,
        }
    }
    seen
}

/// `/readyz` every 200 ms until `stop`: how many times asked, and answered anything but 200.
async fn readiness(http: reqwest::Client, url: String, stop: CancellationToken) -> (usize, usize) {
    let (mut asked, mut unready) = (0, 0);
    while !stop.is_cancelled() {
        asked += 1;
        match http.get(&url).send().await {
            Ok(r) if r.status() == 200 => {}
            _ => unready += 1,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (asked, unready)
}

/// A connection that sends half a request head (or nothing) and waits: how long until the
/// server closes it (None: still open at `give_up`).
async fn slow_client(port: u16, half_head: bool, give_up: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    if half_head {
        stream
            .write_all(b"GET /api/v1/interactions/inbox HTTP/1.1\r\nHost: soak\r\nX-Slow: ")
            .await
            .ok()?;
    }
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((started + give_up).into(), stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue, // a 408 or the like before the close
        }
    }
}

/// Opens a live stream and counts its events until `stop`; returns the status it got.
async fn live_stream(
    http: reqwest::Client,
    url: String,
    token: String,
    stop: CancellationToken,
    tally: Arc<Tally>,
) -> (u16, bool) {
    let response = match http.get(&url).bearer_auth(token).send().await {
        Ok(r) => r,
        Err(_) => return (0, false),
    };
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    if status != 200 {
        return (status, retry_after);
    }
    let mut response = response;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            chunk = response.chunk() => match chunk {
                Ok(Some(bytes)) => {
                    let events = bytes.windows(6).filter(|w| w == b"event:").count();
                    tally.live_events.fetch_add(events as u64, Ordering::Relaxed);
                }
                _ => break,
            },
        }
    }
    (status, retry_after)
}

/// Peak resident memory of each service while `stop` is not cancelled.
fn sample_rss(pids: Vec<u32>, stop: CancellationToken) -> JoinHandle<Vec<u64>> {
    tokio::spawn(async move {
        let mut peaks = vec![0u64; pids.len()];
        while !stop.is_cancelled() {
            for (peak, pid) in peaks.iter_mut().zip(&pids) {
                *peak = (*peak).max(status_kb(*pid, "VmRSS:"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        peaks
    })
}

pub async fn run(args: &Args) -> anyhow::Result<()> {
    let seconds: f64 = args.number("seconds", 30.0)?;
    let ingest_rate: f64 = args.number("ingest-rate", 50.0)?;
    let inbox_rate: f64 = args.number("inbox-rate", 20.0)?;
    let flood_rate: f64 = args.number("flood-rate", 200.0)?;
    let interactions: i64 = args.number("interactions", 20_000)?;
    let floor = Duration::from_secs_f64(args.number::<f64>("p99-floor-ms", 20.0)? / 1e3);
    let server = args.get("server-url", "postgres://postgres@127.0.0.1:5432");
    let nats = args.get("nats", "nats://127.0.0.1:4222");
    if seconds < 4.0 {
        bail!("--seconds must be at least 4");
    }
    let dir = std::env::current_exe()?
        .parent()
        .context("the benchmark's own directory")?
        .to_owned();
    for binary in ["relance-gateway", "relance-scoring", "relance-inbox"] {
        if !dir.join(binary).exists() {
            bail!("{binary} is not built beside relance-bench (cargo build --bins)");
        }
    }
    let pool = fresh_database(&server, "relance_soak", 4).await?;
    sqlx::raw_sql(&format!(
        "INSERT INTO users (id, email, full_name) SELECT g, 'soak' || g || '@relance.test', 'Soak ' || g FROM generate_series(1, {USERS}) g; \
         INSERT INTO users (id, email, full_name, role) VALUES ({HOSTILE_USER}, 'hostile@relance.test', 'Hostile Admin', 'admin'); \
         INSERT INTO people (id, first_name, last_name, email, owner_id) \
           SELECT g, 'P' || g, 'Soak', 'p' || g || '@soak.test', 1 + g % {USERS} FROM generate_series(1, {PEOPLE}) g; \
         INSERT INTO crm_interactions (type, title, description, status, assignee_id, next_action_at, person_id) \
           SELECT 'call', 'Soak ' || g || ' ' || (ARRAY['rappeler', 'relancer le devis', 'envoyer la proposition', 'confirmer le rendez-vous'])[1 + g % 4], \
                  'Suivi numero ' || g, 'todo', 1 + g % {USERS}, now() + g * interval '1 minute', 1 + g % {PEOPLE} \
           FROM generate_series(1, {interactions}) g;"
    ))
    .execute(&pool)
    .await?;
    let namespace = format!("soak{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let database = format!("{server}/relance_soak");
    let env = [
        ("RELANCE__DATABASE__URL", database),
        ("RELANCE__DATABASE__MIGRATE_ON_START", "false".to_owned()),
        ("RELANCE__NATS__URL", nats.clone()),
        ("RELANCE__NATS__NAMESPACE", namespace.clone()),
        ("RELANCE__GATEWAY__INGEST_TOKEN", BENCH_TOKEN.to_owned()),
        ("RELANCE__GATEWAY__RATE_LIMIT_PER_SECOND", "100".to_owned()),
        // The limiter's burst is one full batch: a small batch lets the flood meet the limit.
        ("RELANCE__GATEWAY__MAX_BATCH", "100".to_owned()),
        (
            "RELANCE__PROVIDERS__POSTMARK__BASIC_AUTH",
            POSTMARK_AUTH.to_owned(),
        ),
        ("RELANCE__AUTH__JWT_SECRET", BENCH_JWT_SECRET.to_owned()),
        (
            "RELANCE__HTTP__HEADER_TIMEOUT_SECS",
            HEADER_TIMEOUT_SECS.to_string(),
        ),
        (
            "RELANCE__INBOX__MAX_STREAMS_PER_USER",
            MAX_STREAMS.to_string(),
        ),
        ("RELANCE__TELEMETRY__LOG_LEVEL", "error".to_owned()),
    ];
    let services = [
        start(&dir, "relance-gateway", "RELANCE__GATEWAY__LISTEN", &env)?,
        start(&dir, "relance-scoring", "RELANCE__SCORING__LISTEN", &env)?,
        start(&dir, "relance-inbox", "RELANCE__INBOX__LISTEN", &env)?,
    ];
    // A client keeps an idle connection for less than the servers' header timeout (which also
    // bounds the wait for a keep-alive connection's next request), as a well-behaved client
    // does: else a request sent as the server closes that connection fails, a race of HTTP
    // keep-alive that says nothing about the load.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .pool_idle_timeout(Duration::from_millis(HEADER_TIMEOUT_SECS * 1000 / 2))
        .build()?;
    for service in &services {
        wait_ready(&http, service).await?;
    }
    // The change relay indexes the seeded rows for search: both phases start after it.
    let started = Instant::now();
    while sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM interaction_changes)")
        .fetch_one(&pool)
        .await?
    {
        if started.elapsed() > Duration::from_secs(300) {
            bail!("the inbox's change relay did not index the seeded rows within 300 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let result = soak(
        &http,
        &services,
        &pool,
        (ingest_rate, inbox_rate, flood_rate),
        seconds,
        floor,
    )
    .await;
    drop(services);
    let mut settings = relance_shared::Settings::default();
    settings.nats.url = SecretString::from(nats);
    settings.nats.namespace = namespace;
    crate::stack::delete_streams(&settings).await;
    result
}

async fn soak(
    http: &reqwest::Client,
    services: &[Service; 3],
    pool: &sqlx::PgPool,
    (ingest_rate, inbox_rate, flood_rate): (f64, f64, f64),
    seconds: f64,
    floor: Duration,
) -> anyhow::Result<()> {
    let [gateway, _, inbox] = services;
    let gateway_url = format!("http://127.0.0.1:{}", gateway.port);
    let inbox_url = format!("http://127.0.0.1:{}", inbox.port);
    let keys = TokenKeys::new(SecretString::from(BENCH_JWT_SECRET));
    let tokens: Vec<String> = (1..=USERS)
        .map(|u| keys.issue(u, Utc::now(), chrono::Duration::hours(2)))
        .collect();
    let admin_token = keys.issue(HOSTILE_USER, Utc::now(), chrono::Duration::hours(2));
    let tally = Arc::new(Tally::default());
    let next_event = AtomicUsize::new(0);
    let half = seconds / 2.0;
    let rounds = ((half / ROUND_SECONDS).floor() as usize).max(1);
    println!(
        "soak: {seconds:.0} s ({half:.0} s healthy alone, {half:.0} s with hostile clients, alternating in {rounds} round(s)); ingest {ingest_rate:.0} events/s, inbox {inbox_rate:.0} requests/s, one live stream per user\n"
    );

    // The healthy live streams, open for the whole run.
    let stop_live = CancellationToken::new();
    let live: Vec<_> = tokens
        .iter()
        .map(|t| {
            let url = format!("{inbox_url}/api/v1/stream");
            tokio::spawn(live_stream(
                http.clone(),
                url,
                t.clone(),
                stop_live.clone(),
                tally.clone(),
            ))
        })
        .collect();

    let pids: Vec<u32> = services.iter().map(|s| s.child.id()).collect();
    let load = HealthyLoad {
        http,
        gateway: &gateway_url,
        inbox: &inbox_url,
        tokens: &tokens,
        ingest_rate,
        inbox_rate,
        next_event: &next_event,
        tally: &tally,
    };
    // Alone and under attack alternate in rounds of about 30 s, so both sides meet the same
    // data: accepted events create interactions, and a second half that alone started with
    // three times the rows would be slower for that reason, not for the attack.
    let round = half / rounds as f64;
    let hostile = Hostile {
        gateway_url: &gateway_url,
        inbox_url: &inbox_url,
        ports: [gateway.port, inbox.port],
        stream_token: &tokens[1],
        admin_token: &admin_token,
        flood_rate,
        tally: tally.clone(),
        // The hostile clients have connection pools of their own: a connection the gateway
        // closes after refusing an oversized body must not be handed to a healthy request.
        http: reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_millis(HEADER_TIMEOUT_SECS * 1000 / 2))
            .build()?,
    };
    let (mut baseline, mut attacked, mut abused, rss_alone, rss_attacked, mut account) =
        alternate(&load, &hostile, &pids, rounds, round).await?;
    baseline.sort();
    attacked.sort();
    abused.sort();
    account.closes.sort();

    // The exact account: wait for scoring to drain, then count per credential.
    let expected_ingest = tally.ingest_accepted.load(Ordering::Relaxed) as i64;
    let expected_flood = tally.flood_accepted.load(Ordering::Relaxed) as i64;
    let (ingest_applied, flood_applied, sends, opens) =
        applied_when_drained(pool, expected_ingest, expected_flood).await?;
    stop_live.cancel();
    for l in live {
        let _ = l.await;
    }

    let failures = Run {
        baseline: &baseline,
        attacked: &attacked,
        abused: &abused,
        account,
        tally: &tally,
        applied: (ingest_applied, flood_applied, sends, opens),
        expected: (expected_ingest, expected_flood),
        rss: (&rss_alone, &rss_attacked),
        rounds,
    }
    .judge(services, floor);
    if failures.is_empty() {
        println!("\nsoak: every check passed");
        Ok(())
    } else {
        bail!(
            "soak: {} check(s) failed: {}",
            failures.len(),
            failures.join("; ")
        )
    }
}

/// What one soak measured, to be judged.
struct Run<'a> {
    baseline: &'a Healthy,
    attacked: &'a Healthy,
    /// The healthy clients while one admin stalls exports and runs worst-case searches.
    abused: &'a Healthy,
    account: HostileAccount,
    tally: &'a Tally,
    /// Events applied for the ingest token and the flood; sends and their opens.
    applied: (i64, i64, i64, i64),
    /// Events answered 2xx for the ingest token and the flood.
    expected: (i64, i64),
    /// Each service's peak RSS alone and under attack.
    rss: (&'a [u64], &'a [u64]),
    rounds: usize,
}

impl Run<'_> {
    /// Prints the latency table and every check; returns the failed ones.
    fn judge(self, services: &[Service; 3], floor: Duration) -> Vec<String> {
        let mut failures = self.judge_latency(floor);
        failures.extend(self.judge_abuse());
        failures.extend(self.judge_account(services));
        failures
    }

    /// The healthy clients' latencies alone and under attack.
    fn judge_latency(&self, floor: Duration) -> Vec<String> {
        let Run {
            baseline, attacked, ..
        } = self;
        let p99 = |v: &[Duration]| percentile(v, 99.0);
        let within = |alone: Duration, attacked: Duration| attacked <= (alone * 3).max(floor);
        let mut failures = Vec::new();
        let mut check = |ok: bool, what: String| {
            println!("{} {what}", if ok { "ok  " } else { "FAIL" });
            if !ok {
                failures.push(what);
            }
        };
        println!("| healthy client | alone p50 / p99 ms | under attack p50 / p99 ms | errors alone / attacked |");
        println!("|---|---:|---:|---:|");
        for (label, a, b) in [
            ("ingest (gateway)", &baseline.ingest, &attacked.ingest),
            ("inbox readers", &baseline.inbox, &attacked.inbox),
        ] {
            println!(
                "| {label} | {:.1} / {:.1} | {:.1} / {:.1} | {} / {} |",
                ms(percentile(a, 50.0)),
                ms(p99(a)),
                ms(percentile(b, 50.0)),
                ms(p99(b)),
                baseline.errors,
                attacked.errors
            );
        }
        println!();
        check(
            baseline.errors == 0 && attacked.errors == 0,
            format!(
                "healthy requests all answered 2xx ({} and {} errors)",
                baseline.errors, attacked.errors
            ),
        );
        check(
            within(p99(&baseline.ingest), p99(&attacked.ingest)),
            format!(
                "ingest p99 under attack {:.1} ms within 3x of {:.1} ms (floor {:.0} ms)",
                ms(p99(&attacked.ingest)),
                ms(p99(&baseline.ingest)),
                ms(floor)
            ),
        );
        check(
            within(p99(&baseline.inbox), p99(&attacked.inbox)),
            format!(
                "inbox p99 under attack {:.1} ms within 3x of {:.1} ms (floor {:.0} ms)",
                ms(p99(&attacked.inbox)),
                ms(p99(&baseline.inbox)),
                ms(floor)
            ),
        );
        println!(
            "     ratios under attack / alone (issue 31's target: 2x): ingest p99 {:.2}x, inbox p99 {:.2}x",
            ms(p99(&attacked.ingest)) / ms(p99(&baseline.ingest)).max(1e-9),
            ms(p99(&attacked.inbox)) / ms(p99(&baseline.inbox)).max(1e-9)
        );
        failures
    }

    /// What the admin's stalled exports and worst-case searches got, and readiness meanwhile.
    fn judge_abuse(&self) -> Vec<String> {
        let HostileAccount {
            exports,
            exports_per_round_ok,
            searches,
            readiness,
            ..
        } = &self.account;
        let rounds = self.rounds;
        let (alone, abused) = (self.baseline, self.abused);
        let p99 = |v: &[Duration]| percentile(v, 99.0);
        println!("\n| healthy client, one admin's 20 stalled exports and 20 worst-case searches | alone p50 / p99 ms | meanwhile p50 / p99 ms | p99 ratio (target 2x) |");
        println!("|---|---:|---:|---:|");
        for (label, a, b) in [
            ("ingest (gateway)", &alone.ingest, &abused.ingest),
            ("inbox readers", &alone.inbox, &abused.inbox),
        ] {
            println!(
                "| {label} | {:.1} / {:.1} | {:.1} / {:.1} | {:.2}x |",
                ms(percentile(a, 50.0)),
                ms(p99(a)),
                ms(percentile(b, 50.0)),
                ms(p99(b)),
                ms(p99(b)) / ms(p99(a)).max(1e-9)
            );
        }
        println!();
        let mut failures = Vec::new();
        let mut check = |ok: bool, what: String| {
            println!("{} {what}", if ok { "ok  " } else { "FAIL" });
            if !ok {
                failures.push(what);
            }
        };
        check(
            abused.errors == 0,
            format!(
                "healthy requests all answered 2xx beside the abuse ({} errors)",
                abused.errors
            ),
        );
        check(*exports_per_round_ok, format!("stalled exports, 20 a round from one admin in {rounds} round(s): {} answered 200 (at most {MAX_EXPORTS} a round), {} refused 429, {} other", exports.0, exports.1, exports.2));
        check(
            searches.0 + searches.1 > 0,
            format!(
                "worst-case searches, 20 at once without pause: {} answered 200, {} refused 429 (one at a time per user), {} other",
                searches.0, searches.1, searches.2
            ),
        );
        check(
            readiness.0 > 0 && readiness.1 == 0,
            format!(
                "/readyz asked {} times beside the abuse, not ready {} times",
                readiness.0, readiness.1
            ),
        );
        failures
    }

    /// The exact account of events, the hostile clients' answers, the memory.
    fn judge_account(self, services: &[Service; 3]) -> Vec<String> {
        let Run {
            baseline: _,
            attacked: _,
            abused: _,
            account:
                HostileAccount {
                    oversized,
                    malformed,
                    streams,
                    streams_per_round_ok,
                    closes,
                    still_open,
                    ..
                },
            tally,
            applied: (ingest_applied, flood_applied, sends, opens),
            expected: (expected_ingest, expected_flood),
            rss: (rss_alone, rss_attacked),
            rounds,
        } = self;
        let mut failures = Vec::new();
        let mut check = |ok: bool, what: String| {
            println!("{} {what}", if ok { "ok  " } else { "FAIL" });
            if !ok {
                failures.push(what);
            }
        };
        check(
            ingest_applied == expected_ingest,
            format!(
                "ingest token: {expected_ingest} events answered 2xx, {ingest_applied} applied"
            ),
        );
        check(flood_applied == expected_flood, format!("postmark flood: {expected_flood} events answered 2xx, {flood_applied} applied; {} answered 429 with Retry-After, {} other", tally.flood_limited.load(Ordering::Relaxed), tally.flood_other.load(Ordering::Relaxed)));
        check(
            sends == expected_ingest + expected_flood && opens == sends,
            format!(
                "exactly once: {sends} sends with {opens} opens for {} accepted events",
                expected_ingest + expected_flood
            ),
        );
        check(
            tally.flood_limited.load(Ordering::Relaxed) > 0,
            "the flood met the rate limit".to_owned(),
        );
        let limit = Duration::from_secs(HEADER_TIMEOUT_SECS + 2);
        check(
            still_open == 0 && closes.last().is_some_and(|d| *d <= limit),
            format!("{} slow-head and idle connections closed by the servers, median {:.1} s, slowest {:.1} s (limit {:.0} s); {still_open} still open", closes.len(), percentile(&closes, 50.0).as_secs_f64(), closes.last().copied().unwrap_or_default().as_secs_f64(), limit.as_secs_f64()),
        );
        check(streams_per_round_ok, format!("stream flood, 20 streams a round in {rounds} round(s): {} opened (at most {} a round: cap {MAX_STREAMS}, the user's healthy stream counts), {} refused 429 with Retry-After, {} other", streams.0, MAX_STREAMS - 1, streams.1, streams.2));
        check(
            !oversized.is_empty() && oversized.iter().all(|s| *s == 413),
            format!(
                "oversized bodies: {} sent, all 413: {}",
                oversized.len(),
                oversized.iter().all(|s| *s == 413)
            ),
        );
        check(
            !malformed.is_empty() && malformed.iter().all(|s| *s == 400 || *s == 422),
            format!(
                "malformed bodies: {} sent, all 400/422: {}",
                malformed.len(),
                malformed.iter().all(|s| *s == 400 || *s == 422)
            ),
        );
        check(
            tally.live_events.load(Ordering::Relaxed) > 0,
            format!(
                "healthy live streams received {} events",
                tally.live_events.load(Ordering::Relaxed)
            ),
        );
        for ((service, alone), attacked) in services.iter().zip(rss_alone).zip(rss_attacked) {
            check(
                *attacked <= alone * 3 + 64 * 1024,
                format!(
                    "{} RSS peak {:.1} MB alone, {:.1} MB under attack",
                    service.name,
                    *alone as f64 / 1024.0,
                    *attacked as f64 / 1024.0
                ),
            );
        }
        failures
    }
}

/// Once scoring has drained (or after two minutes): events applied for the ingest token and
/// the flood, sends, and their opens.
async fn applied_when_drained(
    pool: &sqlx::PgPool,
    expected_ingest: i64,
    expected_flood: i64,
) -> anyhow::Result<(i64, i64, i64, i64)> {
    let deadline = Instant::now() + Duration::from_secs(120);
    Ok(loop {
        let row: (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM processed_events WHERE provider = 'soak'), \
                    (SELECT count(*) FROM processed_events WHERE provider = 'postmark'), \
                    (SELECT count(*) FROM email_sends), \
                    (SELECT coalesce(sum(open_count + machine_open_count), 0) FROM email_sends)",
        )
        .fetch_one(pool)
        .await?;
        if (row.0 >= expected_ingest && row.1 >= expected_flood) || Instant::now() > deadline {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    })
}

/// `rounds` rounds of `round` seconds healthy alone, then as long under attack: the healthy
/// figures of each side, each service's peak RSS on each side, and the hostile clients'
/// account.
async fn alternate(
    load: &HealthyLoad<'_>,
    hostile: &Hostile<'_>,
    pids: &[u32],
    rounds: usize,
    round: f64,
) -> anyhow::Result<(
    Healthy,
    Healthy,
    Healthy,
    Vec<u64>,
    Vec<u64>,
    HostileAccount,
)> {
    let (mut baseline, mut attacked, mut abused) =
        (Healthy::default(), Healthy::default(), Healthy::default());
    let (mut rss_alone, mut rss_attacked) = (vec![0u64; pids.len()], vec![0u64; pids.len()]);
    let mut account = HostileAccount::default();
    for _ in 0..rounds {
        let stop_rss = CancellationToken::new();
        let rss = sample_rss(pids.to_vec(), stop_rss.clone());
        baseline.append(healthy_phase(load, round).await);
        stop_rss.cancel();
        max_into(&mut rss_alone, rss.await?);

        let stop_rss = CancellationToken::new();
        let rss = sample_rss(pids.to_vec(), stop_rss.clone());
        attacked.append(attacked_phase(load, hostile, round, &mut account).await?);
        stop_rss.cancel();
        max_into(&mut rss_attacked, rss.await?);

        // Then one user abusing what users share, as a phase of its own: its figures are
        // printed against the same rounds alone (issue 31's target), not judged by the 3x.
        let first_round = abused.inbox.is_empty() && abused.ingest.is_empty();
        let stop = CancellationToken::new();
        let abuse = UserAbuse::start(hostile, &stop);
        abused.append(healthy_phase(load, round).await);
        stop.cancel();
        abuse.finish(&mut account, first_round).await?;
    }
    Ok((baseline, attacked, abused, rss_alone, rss_attacked, account))
}
