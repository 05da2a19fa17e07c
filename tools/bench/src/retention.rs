//! `relance-bench retention`: the reminder's retention chore (`relance_reminder::retention`)
//! deleting `--rows` expired rows (1,000,000: nine tenths processed events' keys, one tenth read
//! notifications) while scoring and the inbox work on the same tables, measured on both sides.
//! Options (defaults): `--rows` (1000000), `--batch` (retention.batch_size, 1000),
//! `--server-url` (postgres://postgres@127.0.0.1:5432), `--database` (relance_bench_retention,
//! recreated).
//!
//! Beside the chore, three clients run without pause: scoring's write (a new event key, as its
//! batch inserts them), the inbox's notification list and its "mark all read" (a write to the
//! rows the chore deletes among), each timed; and a watcher that samples every 5 ms the
//! backends waiting on a lock and how long they have been in their statement. It prints the
//! deletion rate, the clients' p50/p99/max alone and during the chore, and the longest lock
//! wait seen; it fails when a client waited on a lock longer than 50 ms (issue 31's target).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::Utc;
use sqlx::PgPool;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use relance_reminder::retention::{prune, Horizons};

use crate::args::{fresh_database, percentile, Args};

/// The longest a client may wait on the chore's locks.
const LOCK_WAIT_TARGET: Duration = Duration::from_millis(50);
const USERS: i64 = 20;

/// Latencies of each client, and the longest lock wait the watcher saw.
#[derive(Default)]
struct Seen {
    scoring: Vec<Duration>,
    list: Vec<Duration>,
    mark_read: Vec<Duration>,
    longest_lock_wait: Duration,
}

pub async fn run(args: &Args) -> anyhow::Result<()> {
    let rows: i64 = args.number("rows", 1_000_000)?;
    let batch: i64 = args.number("batch", 1_000)?;
    let server = args.get("server-url", "postgres://postgres@127.0.0.1:5432");
    let database = args.get("database", "relance_bench_retention");
    if rows < 10 {
        bail!("--rows must be at least 10");
    }
    let pool = fresh_database(&server, &database, 8).await?;
    let started = Instant::now();
    seed(&pool, rows).await?;
    println!(
        "retention: {rows} expired rows seeded (and a tenth as many kept) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut settings = relance_shared::Settings::built_in().retention;
    settings.batch_size = u32::try_from(batch).unwrap_or(1_000);
    let horizons = Horizons::from_settings(&settings);

    let alone = measure(&pool, Phase::Alone(Duration::from_secs(3)), horizons).await?;
    let during = measure(&pool, Phase::Chore, horizons).await?;
    let (deleted, took) = during.1.unwrap_or_default();
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM processed_events WHERE processed_at < now() - interval '30 days')
              + (SELECT count(*) FROM notifications WHERE read_at < now() - interval '90 days')",
    )
    .fetch_one(&pool)
    .await?;

    println!(
        "\ndeleted {deleted} rows in {:.1} s ({:.0} rows/s, batches of {batch}); {left} expired left\n",
        took.as_secs_f64(),
        deleted as f64 / took.as_secs_f64().max(1e-9)
    );
    println!(
        "| client | alone p50 / p99 / max ms | during the chore p50 / p99 / max ms | requests |"
    );
    println!("|---|---|---|---|");
    let (mut a, mut d) = (alone.0, during.0);
    for (name, alone, during) in [
        ("scoring: new event key", &mut a.scoring, &mut d.scoring),
        ("inbox: notification list", &mut a.list, &mut d.list),
        ("inbox: mark all read", &mut a.mark_read, &mut d.mark_read),
    ] {
        alone.sort();
        during.sort();
        let row = |v: &[Duration]| {
            format!(
                "{:.2} / {:.2} / {:.2}",
                ms(percentile(v, 50.0)),
                ms(percentile(v, 99.0)),
                ms(v.last().copied().unwrap_or_default())
            )
        };
        println!(
            "| {name} | {} | {} | {} |",
            row(alone),
            row(during),
            during.len()
        );
    }
    println!(
        "\nlongest lock wait seen: {:.1} ms alone, {:.1} ms during the chore (target ≤ {} ms)",
        ms(a.longest_lock_wait),
        ms(d.longest_lock_wait),
        LOCK_WAIT_TARGET.as_millis()
    );
    if left != 0 {
        bail!("retention: {left} expired rows were left");
    }
    if d.longest_lock_wait > LOCK_WAIT_TARGET {
        bail!(
            "retention: a client waited {:.1} ms on a lock during the chore",
            ms(d.longest_lock_wait)
        );
    }
    println!("retention: every check passed");
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nine tenths of `rows` expired event keys and one tenth read notifications, 120 days old,
/// plus a tenth as many recent ones the chore must keep.
async fn seed(pool: &PgPool, rows: i64) -> anyhow::Result<()> {
    let notifications = rows / 10;
    let events = rows - notifications;
    sqlx::raw_sql(&format!(
        "INSERT INTO users (id, email, full_name) \
           SELECT g, 'r' || g || '@relance.test', 'Retention ' || g FROM generate_series(1, {USERS}) g; \
         INSERT INTO processed_events (event_key, provider, processed_at) \
           SELECT 'old-' || g, 'bench', now() - interval '120 days' + g * interval '1 ms' \
           FROM generate_series(1, {events}) g; \
         INSERT INTO processed_events (event_key, provider, processed_at) \
           SELECT 'new-' || g, 'bench', now() - interval '1 day' \
           FROM generate_series(1, {events} / 10) g; \
         INSERT INTO notifications (user_id, kind, title, created_at, read_at) \
           SELECT 1 + g % {USERS}, 'interaction_overdue', 'n' || g, \
                  now() - interval '121 days', now() - interval '120 days' \
           FROM generate_series(1, {notifications}) g; \
         INSERT INTO notifications (user_id, kind, title) \
           SELECT 1 + g % {USERS}, 'interaction_overdue', 'kept' || g \
           FROM generate_series(1, {notifications} / 10) g; \
         ANALYZE processed_events; ANALYZE notifications;"
    ))
    .execute(pool)
    .await?;
    Ok(())
}

enum Phase {
    /// The clients alone for this long.
    Alone(Duration),
    /// The clients while the chore runs to its end.
    Chore,
}

/// Runs the clients for `phase`; with the chore, also how many rows it deleted and how long it
/// took.
async fn measure(
    pool: &PgPool,
    phase: Phase,
    horizons: Horizons,
) -> anyhow::Result<(Seen, Option<(i64, Duration)>)> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = CancellationToken::new();
    let clients = vec![
        tokio::spawn(client(
            pool.clone(),
            Client::Scoring,
            seen.clone(),
            stop.clone(),
        )),
        tokio::spawn(client(
            pool.clone(),
            Client::List,
            seen.clone(),
            stop.clone(),
        )),
        tokio::spawn(client(
            pool.clone(),
            Client::MarkRead,
            seen.clone(),
            stop.clone(),
        )),
        tokio::spawn(watch_locks(pool.clone(), seen.clone(), stop.clone())),
    ];
    let chore = match phase {
        Phase::Alone(d) => {
            tokio::time::sleep(d).await;
            None
        }
        Phase::Chore => {
            let started = Instant::now();
            let pruned = prune(pool, Utc::now(), horizons, &CancellationToken::new()).await?;
            Some((
                pruned.processed_events + pruned.notifications + pruned.emails,
                started.elapsed(),
            ))
        }
    };
    stop.cancel();
    for c in clients {
        c.await??;
    }
    let seen = std::mem::take(&mut *seen.lock().await);
    Ok((seen, chore))
}

#[derive(Clone, Copy)]
enum Client {
    Scoring,
    List,
    MarkRead,
}

async fn client(
    pool: PgPool,
    kind: Client,
    seen: Arc<Mutex<Seen>>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let mut n: i64 = 0;
    let mut took = Vec::new();
    while !stop.is_cancelled() {
        n += 1;
        let user = 1 + n % USERS;
        let started = Instant::now();
        match kind {
            Client::Scoring => {
                sqlx::query(
                    "INSERT INTO processed_events (event_key, provider) VALUES ($1, 'bench') \
                     ON CONFLICT DO NOTHING",
                )
                .bind(uuid::Uuid::new_v4().to_string())
                .execute(&pool)
                .await?;
            }
            Client::List => {
                sqlx::query(
                    "SELECT id, kind, title, created_at, read_at FROM notifications \
                     WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20",
                )
                .bind(user)
                .fetch_all(&pool)
                .await?;
            }
            Client::MarkRead => {
                sqlx::query(
                    "INSERT INTO notifications (user_id, kind, title) VALUES ($1, 'bench', 'new')",
                )
                .bind(user)
                .execute(&pool)
                .await?;
                sqlx::query(
                    "UPDATE notifications SET read_at = now() \
                     WHERE user_id = $1 AND read_at IS NULL",
                )
                .bind(user)
                .execute(&pool)
                .await?;
            }
        }
        took.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut seen = seen.lock().await;
    match kind {
        Client::Scoring => seen.scoring = took,
        Client::List => seen.list = took,
        Client::MarkRead => seen.mark_read = took,
    }
    Ok(())
}

/// Samples every 5 ms the longest time a backend waiting on a lock has been in its statement
/// (an upper bound of its wait).
async fn watch_locks(
    pool: PgPool,
    seen: Arc<Mutex<Seen>>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let mut longest = 0.0_f64;
    while !stop.is_cancelled() {
        let waited: Option<f64> = sqlx::query_scalar(
            "SELECT max(extract(epoch FROM clock_timestamp() - query_start))::float8 \
             FROM pg_stat_activity WHERE datname = current_database() \
             AND wait_event_type = 'Lock'",
        )
        .fetch_one(&pool)
        .await?;
        longest = longest.max(waited.unwrap_or(0.0));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    seen.lock().await.longest_lock_wait = Duration::from_secs_f64(longest);
    Ok(())
}
