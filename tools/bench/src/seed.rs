//! `relance-seed` (or `relance-bench seed`): fills a database with realistic CRM data at scale,
//! for benchmarks and load tests: users, organisations, people (with owners), interactions in
//! every status with assignees, due times in the past and future and nulls, and lead scores.
//! The CRM's records (users, organisations, people) go through the directory API of an inbox the
//! tool starts itself, as a real CRM's would; the rest is generated inside PostgreSQL in chunks
//! (fast, and a progress bar per table); the same `--seed` gives the same data.
//!
//! ```text
//! cargo run --release -p relance-bench --bin relance-seed -- --interactions 1000000 --users 1000
//! ```
//!
//! Options: `--database-url URL` (default `postgres://postgres@127.0.0.1:5432/relance_bench`,
//! created and migrated when missing), `--users N` (1000), `--organisations N` (5000),
//! `--people N` (50000), `--interactions N` (1000000), `--seed F` (0.42, in -1..1), `--reset
//! yes` to empty a database that already holds data (refused otherwise), `--nats URL`.
//!
//! The mix, chosen to look like a CRM after two years of use: 55 % of interactions done,
//! 30 % todo, 15 % in progress; 8 % unassigned, and some salespeople much busier than others
//! (the busiest user has about 1 % of the rows, the median one about 0.07 %); open ones have a next action spread over
//! ±45 days (15 % have none), done ones mostly in the past year; 20 % of people have a score.

use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use sqlx::{Connection, PgConnection};

use crate::args::Args;
use crate::directory::DirectoryLoader;

const CHUNK: i64 = 50_000;

fn positive(args: &Args, name: &str, default: i64) -> anyhow::Result<i64> {
    let value: i64 = args.number(name, default)?;
    if value < 1 {
        bail!("--{name} must be at least 1");
    }
    Ok(value)
}

/// Creates the database when the server does not have it.
async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let Some((server, name)) = url.rsplit_once('/') else {
        bail!("--database-url must name a database");
    };
    let name = name.split('?').next().unwrap_or(name);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("database name `{name}`: letters, digits and _ only");
    }
    let mut admin = PgConnection::connect(&format!("{server}/postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        sqlx::raw_sql(&format!(r#"CREATE DATABASE "{name}""#))
            .execute(&mut admin)
            .await?;
        println!("created database {name}");
    }
    Ok(())
}

fn bar(len: i64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>13} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_owned());
    bar
}

/// Runs `sql` (with `$1`, `$2` the first and last row number of a chunk) over `1..=total`.
async fn fill(conn: &mut PgConnection, what: &str, total: i64, sql: &str) -> anyhow::Result<()> {
    let progress = bar(total, what);
    let mut first = 1;
    while first <= total {
        let last = (first + CHUNK - 1).min(total);
        sqlx::query(sql)
            .bind(first)
            .bind(last)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("seeding {what}"))?;
        progress.inc((last - first + 1) as u64);
        first = last + 1;
    }
    progress.finish();
    Ok(())
}

/// Seeds the database `--database-url` names (see the module's documentation for options).
const FIRST_NAMES_USERS: &[&str] = &[
    "Camille", "Hugo", "Léa", "Louis", "Chloé", "Nathan", "Manon", "Lucas", "Inès", "Jules",
];
const LAST_NAMES_USERS: &[&str] = &[
    "Martin", "Bernard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre",
    "Michel", "Garcia", "Roux",
];
const ORG_KINDS: &[&str] = &[
    "Boulangeries",
    "Atelier",
    "Transports",
    "Cabinet",
    "Groupe",
    "Maison",
    "Studio",
    "Laboratoires",
];
const ORG_NAMES: &[&str] = &[
    "Dupain", "Lumière", "Rapides", "Horizon", "Azur", "Bellevue", "Cèdre", "Mistral", "Garonne",
];
const FIRST_NAMES_PEOPLE: &[&str] = &[
    "Sophie", "Marc", "Nadia", "Thomas", "Julie", "Karim", "Emma", "Paul", "Sarah", "Yann",
    "Aïcha", "Pierre",
];
const LAST_NAMES_PEOPLE: &[&str] = &[
    "Durand",
    "Lefèvre",
    "Benali",
    "Roux",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Chevalier",
];

/// A well-mixed number from an index and a salt (splitmix64), so the seeded data looks random
/// but is the same every run.
fn mix(index: usize, salt: u64) -> u64 {
    let mut z = (index as u64)
        .wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick(names: &[&'static str], index: usize, salt: u64) -> &'static str {
    names[(index + mix(index, salt) as usize % 3) % names.len()]
}

pub async fn run(args: &Args) -> anyhow::Result<()> {
    let url = args.get(
        "database-url",
        "postgres://postgres@127.0.0.1:5432/relance_bench",
    );
    let nats = args.get("nats", "nats://127.0.0.1:4222");
    let users = positive(args, "users", 1_000)?;
    let organisations = positive(args, "organisations", 5_000)?;
    let people = positive(args, "people", 50_000)?;
    let interactions = positive(args, "interactions", 1_000_000)?;
    let seed: f64 = args.number("seed", 0.42)?;
    if !(-1.0..=1.0).contains(&seed) {
        bail!("--seed must be between -1 and 1");
    }

    ensure_database(&url).await?;
    let pool = sqlx::PgPool::connect(&url).await?;
    relance_shared::db::migrate(&pool).await?;
    pool.close().await;
    let mut conn = PgConnection::connect(&url).await?;
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut conn)
        .await?;
    if existing > 0 {
        if args.get("reset", "no") != "yes" {
            bail!(
                "the database already holds {existing} users; pass --reset yes to empty it first"
            );
        }
        sqlx::raw_sql(
            "TRUNCATE users, teams, organisations, people, tasks, crm_interactions, email_sends, \
             lead_scores, lead_score_history, processed_events, notifications, \
             directory_tombstones, erased_addresses RESTART IDENTITY CASCADE",
        )
        .execute(&mut conn)
        .await?;
    }
    let started = Instant::now();
    sqlx::query("SELECT setseed($1)")
        .bind(seed)
        .execute(&mut conn)
        .await?;

    // The CRM's records go through the directory API, as a real CRM's would (an inbox of the
    // tool's own serves it); on a database emptied with RESTART IDENTITY their ids are 1..N,
    // which the interactions below pick from.
    load_directory(
        &url,
        &nats,
        users as usize,
        organisations as usize,
        people as usize,
    )
    .await?;
    println!(
        "directory loaded through the API in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let people = people as usize;
    let interactions_sql = format!(
        "INSERT INTO crm_interactions (id, type, title, status, assignee_id, next_action_at, \
           person_id, organisation_id, author_id, created_at, updated_at) \
         SELECT g, (ARRAY['call','email','meeting','note'])[1 + floor(r.t * 4)::int]::interaction_type, \
           (ARRAY['Rappeler','Relancer','Envoyer le devis à','Préparer la démo pour','Point d''étape avec','Confirmer le rendez-vous avec'])[1 + g % 6] \
             || ' ' || p.first_name || ' ' || p.last_name, \
           s.status, \
           CASE WHEN r.a < 0.08 THEN NULL ELSE 1 + floor(power(random(), 1.5) * {users})::bigint END, \
           CASE \
             WHEN s.status <> 'done' AND r.n < 0.15 THEN NULL \
             WHEN s.status <> 'done' THEN now() + (random() * 90 - 45) * interval '1 day' \
             WHEN r.n < 0.30 THEN NULL \
             ELSE now() - random() * interval '365 days' END, \
           p.id, p.organisation_id, p.owner_id, c.at, c.at + random() * (now() - c.at) \
         FROM generate_series($1::bigint, $2::bigint) g \
         CROSS JOIN LATERAL (SELECT random() AS s, random() AS a, random() AS n, random() AS t, \
           1 + floor(random() * {people})::bigint AS person, g AS pin) r \
         CROSS JOIN LATERAL (SELECT CASE WHEN r.s < 0.55 THEN 'done' WHEN r.s < 0.85 THEN 'todo' \
           ELSE 'in_progress' END::interaction_status AS status) s \
         CROSS JOIN LATERAL (SELECT now() - random() * interval '730 days' AS at, g AS pin) c \
         JOIN people p ON p.id = r.person"
    );
    insert_interactions(&mut conn, interactions, &interactions_sql).await?;
    let scored = (people / 5).max(1);
    let scores_sql = format!(
        "INSERT INTO lead_scores (person_id, score, last_event_at, updated_at) \
         SELECT p, floor(power(random(), 2) * 60)::int, now() - random() * interval '60 days', now() \
         FROM (SELECT DISTINCT 1 + floor(random() * {people})::bigint AS p \
               FROM generate_series($1::bigint, $2::bigint)) picked \
         ON CONFLICT (person_id) DO NOTHING"
    );
    fill(&mut conn, "lead scores", scored as i64, &scores_sql).await?;

    finish(&mut conn).await?;
    println!(
        "seeded {users} users, {organisations} organisations, {people} people, \
         {interactions} interactions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Users per team (`relance-bench inbox` measures a manager's team inbox of this size).
pub const TEAM_SIZE: usize = 20;

/// The CRM's teams, users, organisations and people through the directory API, with progress
/// bars.
async fn load_directory(
    url: &str,
    nats: &str,
    users: usize,
    organisations: usize,
    people: usize,
) -> anyhow::Result<()> {
    let loader = DirectoryLoader::start(url, nats, 1_000, 4).await?;
    let at = "2026-01-01T00:00:00Z";
    let bar_for = |n: usize, what: &str| bar(n as i64, what);
    // Teams of TEAM_SIZE: the second of each its manager, the very first user an admin (who
    // sees everything, as the benchmarks before teams did), the rest reps.
    let teams = users.div_ceil(TEAM_SIZE);
    loader
        .put_all(
            "teams",
            teams,
            |t| json!({"external_id": format!("t-{t}"), "name": format!("Équipe {t}"), "updated_at": at}),
            None,
        )
        .await?;
    let progress = bar_for(users, "users");
    loader
        .put_all(
            "users",
            users,
            |u| {
                let role = match u {
                    0 => "admin",
                    u if u % TEAM_SIZE == 1 => "manager",
                    _ => "rep",
                };
                json!({"external_id": format!("u-{u}"), "email": format!("user{u}@relance.test"),
                       "name": format!("{} {}", pick(FIRST_NAMES_USERS, u, 1), pick(LAST_NAMES_USERS, u / 10, 2)),
                       "active": u % TEAM_SIZE < 2 || mix(u, 3) % 50 != 0, "role": role,
                       "team_external_ids": [format!("t-{}", u / TEAM_SIZE)], "updated_at": at})
            },
            Some(&progress),
        )
        .await?;
    progress.finish();
    let progress = bar_for(organisations, "organisations");
    loader
        .put_all(
            "organisations",
            organisations,
            |o| {
                json!({"external_id": format!("o-{o}"),
                       "name": format!("{} {} {o}", pick(ORG_KINDS, o, 4), pick(ORG_NAMES, o / 8, 5)),
                       "updated_at": at})
            },
            Some(&progress),
        )
        .await?;
    progress.finish();
    let progress = bar_for(people, "people");
    loader
        .put_all(
            "people",
            people,
            |p| {
                json!({"external_id": format!("p-{p}"),
                       "first_name": pick(FIRST_NAMES_PEOPLE, p, 6), "last_name": pick(LAST_NAMES_PEOPLE, p / 12, 7),
                       "email": format!("contact{p}@client.test"), "phone": format!("+33 6 {:08}", p % 100_000_000),
                       "organisation_external_id": format!("o-{}", mix(p, 8) as usize % organisations),
                       "owner_external_id": format!("u-{}", mix(p, 9) as usize % users),
                       "updated_at": at})
            },
            Some(&progress),
        )
        .await?;
    progress.finish();
    loader.stop().await;
    Ok(())
}

/// What follows a bulk load: the search index built, no change left for the relay, hot leads
/// armed, sequences past the explicit ids, fresh statistics.
async fn finish(conn: &mut PgConnection) -> anyhow::Result<()> {
    // The search index, which the change relay keeps for new changes (docs/schema.sql).
    let started = Instant::now();
    let indexed = build_search_index(conn).await?;
    println!(
        "search index built for {indexed} interactions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The counters' deltas folded now, so that reads do not walk a million dead delta rows
    // until autovacuum comes by (the VACUUM below clears them).
    sqlx::query("SELECT inbox_counts_compact()")
        .execute(&mut *conn)
        .await?;
    // A bulk load is not news: the live relay (docs/schema.sql) would otherwise publish a
    // million "created" changes to whoever is watching, and people seeded hot are not new
    // hot leads.
    sqlx::raw_sql("TRUNCATE interaction_changes")
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE lead_scores SET hot_armed = score < $1")
        .bind(
            relance_shared::Settings::built_in()
                .scoring
                .rules
                .hot_threshold,
        )
        .execute(&mut *conn)
        .await?;
    // Identities continue after the explicit ids; fresh statistics and visibility map so the
    // planner sees the real data and count(*) can use index-only scans.
    sqlx::raw_sql(
        "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users)); \
         SELECT setval(pg_get_serial_sequence('organisations', 'id'), (SELECT max(id) FROM organisations)); \
         SELECT setval(pg_get_serial_sequence('people', 'id'), (SELECT max(id) FROM people)); \
         SELECT setval(pg_get_serial_sequence('crm_interactions', 'id'), (SELECT max(id) FROM crm_interactions));",
    )
    .execute(&mut *conn)
    .await?;
    let vacuum = ProgressBar::new_spinner();
    vacuum.set_message("VACUUM ANALYZE");
    vacuum.enable_steady_tick(std::time::Duration::from_millis(200));
    sqlx::raw_sql("VACUUM ANALYZE").execute(&mut *conn).await?;
    vacuum.finish_and_clear();
    Ok(())
}

/// Runs `load` with the indexes of `table` but `keep` (and its primary key when `keep_key`)
/// dropped, then builds them once from sorted rows, as a restore would. Their definitions are
/// read from the catalog, so they stay the migrations'.
async fn with_indexes_deferred<F>(
    conn: &mut PgConnection,
    table: &str,
    keep: &[&str],
    keep_key: bool,
    load: F,
) -> anyhow::Result<i64>
where
    F: for<'c> FnOnce(&'c mut PgConnection) -> futures::future::BoxFuture<'c, anyhow::Result<i64>>,
{
    let deferred: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.indexname::text, i.indexdef FROM pg_indexes i \
         WHERE i.schemaname = current_schema() AND i.tablename = $1 \
           AND i.indexname <> ALL($2) \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
                           WHERE c.conrelid = $1::regclass AND c.conname = i.indexname)",
    )
    .bind(table)
    .bind(keep)
    .fetch_all(&mut *conn)
    .await?;
    let primary_key: Option<(String, String)> = if keep_key {
        None
    } else {
        sqlx::query_as(
            "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE conrelid = $1::regclass AND contype = 'p'",
        )
        .bind(table)
        .fetch_optional(&mut *conn)
        .await?
    };
    for (name, _) in &deferred {
        sqlx::raw_sql(&format!("DROP INDEX \"{name}\""))
            .execute(&mut *conn)
            .await?;
    }
    if let Some((name, _)) = &primary_key {
        sqlx::raw_sql(&format!("ALTER TABLE {table} DROP CONSTRAINT \"{name}\""))
            .execute(&mut *conn)
            .await?;
    }
    let loaded = load(&mut *conn).await?;
    sqlx::raw_sql("SET maintenance_work_mem = '512MB'")
        .execute(&mut *conn)
        .await?;
    if let Some((name, definition)) = &primary_key {
        sqlx::raw_sql(&format!(
            "ALTER TABLE {table} ADD CONSTRAINT \"{name}\" {definition}"
        ))
        .execute(&mut *conn)
        .await?;
    }
    for (_, definition) in &deferred {
        sqlx::raw_sql(definition).execute(&mut *conn).await?;
    }
    Ok(loaded)
}

/// The search index of a bulk load: the word rows inserted with only the index the refresh's
/// DELETE needs (interaction ids, in ascending order: appends), the others built at the end
/// (94 s → 51 s at 1,000,000 interactions).
async fn build_search_index(conn: &mut PgConnection) -> anyhow::Result<i64> {
    with_indexes_deferred(
        conn,
        "interaction_search_words",
        &["idx_interaction_search_words_interaction"],
        false,
        |conn| {
            Box::pin(async move { Ok(relance_inbox::search::index::rebuild(conn, 20_000).await?) })
        },
    )
    .await
}

/// The interactions, `sql` a chunk at a time, with their secondary indexes (the inbox orders,
/// the trigram index) built once at the end and the change capture and the history off
/// meanwhile (a bulk load is not news, see `finish`, and nobody's change): 48 s → 29 s at
/// 1,000,000.
async fn insert_interactions(
    conn: &mut PgConnection,
    interactions: i64,
    sql: &str,
) -> anyhow::Result<()> {
    let at = Instant::now();
    sqlx::raw_sql(
        "ALTER TABLE crm_interactions DISABLE TRIGGER interaction_changes_insert; \
         ALTER TABLE crm_interactions DISABLE TRIGGER interaction_history_insert",
    )
    .execute(&mut *conn)
    .await?;
    let sql = sql.to_owned();
    with_indexes_deferred(&mut *conn, "crm_interactions", &[], true, |conn| {
        Box::pin(async move {
            fill(conn, "interactions", interactions, &sql).await?;
            Ok(interactions)
        })
    })
    .await?;
    sqlx::raw_sql(
        "ALTER TABLE crm_interactions ENABLE TRIGGER interaction_changes_insert; \
         ALTER TABLE crm_interactions ENABLE TRIGGER interaction_history_insert",
    )
    .execute(&mut *conn)
    .await?;
    println!(
        "{interactions} interactions inserted in {:.1} s",
        at.elapsed().as_secs_f64()
    );
    Ok(())
}
