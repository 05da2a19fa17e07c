//! `relance-bench sla`: speed to lead's two costs (issue 32's targets). Options (defaults):
//! `--leads` (100000), `--batch` (500), `--rounds` (200), `--server-url`
//! (postgres://postgres@127.0.0.1:5432), `--database` (relance_bench_sla, recreated).
//!
//! 1. The assignment step at scoring's batch size: `--rounds` transactions each assigning
//!    `--batch` hot leads of people whose owner is away, from a pool of 7 available reps
//!    (the pool row locked, its members read, the picks, the cursor saved, the deadlines in each
//!    rep's working time): p50 / p99 per batch, and each rep's count (fairness: max − min).
//! 2. The SLA pass over `--leads` open hot leads (one in a hundred past its deadline, one in
//!    a hundred at risk): the reminder's warn and breach batches (`--batch` rows each) until
//!    none is left, one notification per manager (two); then the worst pass, every lead
//!    breached at once.

use std::time::{Duration, Instant};

use anyhow::bail;
use chrono::Utc;

use relance_scoring::apply::Assignment;

use crate::args::{fresh_database, percentile, Args};

const MEMBERS: i64 = 7;

pub async fn run(args: &Args) -> anyhow::Result<()> {
    let leads: i64 = args.number("leads", 100_000)?;
    let batch: i64 = args.number("batch", 500)?;
    let rounds: usize = args.number("rounds", 200)?;
    let server = args.get("server-url", "postgres://postgres@127.0.0.1:5432");
    let database = args.get("database", "relance_bench_sla");
    if leads < 1 || batch < 1 || rounds < 1 {
        bail!("--leads, --batch and --rounds: at least 1");
    }
    let pool = fresh_database(&server, &database, 4).await?;
    sqlx::raw_sql(&format!(
        "INSERT INTO users (id, email, full_name, role, team_external_ids, away_until) VALUES
           (1, 'owner@b.test', 'Owner', 'rep', '{{T}}', now() + interval '30 days'),
           (2, 'm1@b.test', 'Manager 1', 'manager', '{{T}}', NULL),
           (3, 'm2@b.test', 'Manager 2', 'manager', '{{T}}', NULL);
         INSERT INTO users (id, email, full_name, role, team_external_ids)
           SELECT 10 + g, 'r' || g || '@b.test', 'Rep ' || g, 'rep', '{{T}}'
           FROM generate_series(1, {MEMBERS}) g;
         INSERT INTO people (id, first_name, last_name, email, owner_id)
           SELECT g, 'P', 'N' || g, 'p' || g || '@b.test', 1 FROM generate_series(1, {batch}) g;"
    ))
    .execute(&pool)
    .await?;

    measure_assignment(&pool, batch, rounds).await?;
    measure_pass(&pool, leads, batch).await
}

/// The assignment step, `rounds` batches of `batch` hot leads.
async fn measure_assignment(pool: &sqlx::PgPool, batch: i64, rounds: usize) -> anyhow::Result<()> {
    let assignment = Assignment {
        default_team: None,
        sla_minutes: 60,
        default_tz: chrono_tz::Europe::Paris,
    };
    let people: Vec<Option<i64>> = (1..=batch).map(Some).collect();
    let sla = vec![true; people.len()];
    let mut took = Vec::with_capacity(rounds);
    let mut per_rep: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    for _ in 0..rounds {
        let mut tx = pool.begin().await?;
        let started = Instant::now();
        let assigned = assignment
            .assign(&mut tx, &people, &sla, Utc::now())
            .await?;
        took.push(started.elapsed());
        for a in &assigned {
            match (a.assignee, a.sla_due_at) {
                (Some(rep), Some(_)) => *per_rep.entry(rep).or_default() += 1,
                _ => bail!("a lead was left without a rep or a deadline"),
            }
        }
        tx.commit().await?;
    }
    took.sort();
    let total = rounds as i64 * batch;
    let (least, most) = (
        per_rep.values().min().copied().unwrap_or(0),
        per_rep.values().max().copied().unwrap_or(0),
    );
    println!(
        "assignment: {rounds} batches of {batch} hot leads from a pool of {MEMBERS}: p50 {:.2} ms, p99 {:.2} ms per batch (target: p99 ≤ 2 ms); {total} leads to {} reps, {least} to {most} each (max − min {})",
        ms(percentile(&took, 50.0)),
        ms(percentile(&took, 99.0)),
        per_rep.len(),
        most - least
    );

    Ok(())
}

/// The SLA pass over `leads` open hot leads, then the worst one.
async fn measure_pass(pool: &sqlx::PgPool, leads: i64, batch: i64) -> anyhow::Result<()> {
    // The open hot leads a pass finds: one in a hundred past its deadline, one in a hundred
    // at risk, the rest due later.
    sqlx::raw_sql(&format!(
        "INSERT INTO crm_interactions (type, title, status, assignee_id, next_action_at, sla_due_at)
         SELECT 'call', 'Lead chaud ' || g, 'todo', 11 + g % {MEMBERS}, now(),
                CASE WHEN g % 100 = 0 THEN now() - interval '1 minute'
                     WHEN g % 100 = 1 THEN now() + interval '5 minutes'
                     ELSE now() + interval '2 hours' + g * interval '1 second' END
         FROM generate_series(1, {leads}) g;
         ANALYZE crm_interactions;"
    ))
    .execute(pool)
    .await?;
    let started = Instant::now();
    let (mut warned, mut rows, mut told) = (0, 0, 0);
    loop {
        let done = relance_reminder::sla::warn_batch(
            pool,
            Utc::now(),
            chrono::Duration::minutes(15),
            batch,
        )
        .await?;
        warned += done.rows;
        if done.rows < batch {
            break;
        }
    }
    loop {
        let done = relance_reminder::sla::breach_batch(pool, Utc::now(), batch, false).await?;
        rows += done.rows;
        told += done.notifications;
        if done.rows < batch {
            break;
        }
    }
    let pass = started.elapsed();
    println!(
        "SLA pass over {leads} open hot leads: {warned} warned at risk, {rows} breached with {told} notifications to their managers, in {:.3} s (target ≤ 2 s)",
        pass.as_secs_f64()
    );
    // Every lead breached at once (a reminder down for hours), the worst pass there is.
    sqlx::query("UPDATE crm_interactions SET sla_due_at = now() - interval '1 minute', sla_warned_at = NULL WHERE sla_breached_at IS NULL")
        .execute(pool)
        .await?;
    let started = Instant::now();
    let mut all = 0;
    loop {
        let done = relance_reminder::sla::breach_batch(pool, Utc::now(), batch, false).await?;
        all += done.rows;
        if done.rows < batch {
            break;
        }
    }
    println!(
        "worst pass: {all} leads breached at once (two notifications each) in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    if rows + all != leads {
        bail!("{} breached of {leads}", rows + all);
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
