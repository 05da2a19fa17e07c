//! What the history costs a one-click change: PATCHes through HTTP, one at a time, in eight
//! rounds alternating the interactions' history triggers off and on (`ALTER TABLE … DISABLE
//! TRIGGER` between rounds, so both states see the same data, cache and machine), as a table
//! of p50/p99 per state. Two cases: a rep moving their own item's next action (a history row)
//! and a manager changing a team member's item's status (a history row and a notification to
//! its assignee). The items only move between two open states, so the inbox stays as seeded.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{Duration as Days, Utc};
use serde_json::json;
use sqlx::PgPool;

use crate::args::percentile;

const TRIGGERS: [&str; 2] = ["interaction_history_insert", "interaction_history_update"];

/// One kind of PATCH: who sends it, to which item, with which two bodies (alternated).
struct Case {
    name: &'static str,
    token: String,
    url: String,
    bodies: [serde_json::Value; 2],
}

async fn set_history(pool: &PgPool, on: bool) -> anyhow::Result<()> {
    let verb = if on { "ENABLE" } else { "DISABLE" };
    for trigger in TRIGGERS {
        sqlx::query(&format!(
            "ALTER TABLE crm_interactions {verb} TRIGGER {trigger}"
        ))
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// An open item assigned to `user`.
async fn open_item_of(pool: &PgPool, user: i64) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "SELECT id FROM crm_interactions WHERE assignee_id = $1 AND status <> 'done' \
         ORDER BY id LIMIT 1",
    )
    .bind(user)
    .fetch_optional(pool)
    .await?
    .with_context(|| format!("user {user} has no open item"))
}

async fn patch(
    http: &reqwest::Client,
    case: &Case,
    body: &serde_json::Value,
) -> anyhow::Result<()> {
    let response = http
        .patch(&case.url)
        .bearer_auth(&case.token)
        .json(body)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!(
            "{}: {} {}",
            case.url,
            response.status(),
            response.text().await?
        );
    }
    Ok(())
}

/// Measures both cases, `requests` PATCHes per case and state (a quarter of them in each of
/// its four rounds); the triggers are on afterwards whatever happened.
pub async fn run(
    http: &reqwest::Client,
    base: &str,
    pool: &PgPool,
    manager_token: String,
    (rep, rep_token): (i64, String),
    requests: usize,
) -> anyhow::Result<()> {
    let soon = Utc::now() + Days::days(3);
    let cases = [
        Case {
            name: "a rep moves their own item's next action",
            url: format!(
                "{base}/api/v1/interactions/{}/next-action",
                open_item_of(pool, rep).await?
            ),
            token: rep_token,
            bodies: [
                json!({ "next_action_at": soon.to_rfc3339() }),
                json!({ "next_action_at": (soon + Days::days(1)).to_rfc3339() }),
            ],
        },
        Case {
            name: "a manager changes a member's item's status (+ a notification)",
            url: format!(
                "{base}/api/v1/interactions/{}/status",
                open_item_of(pool, rep).await?
            ),
            token: manager_token,
            bodies: [
                json!({ "status": "in_progress" }),
                json!({ "status": "todo" }),
            ],
        },
    ];
    let measured = measure(http, pool, &cases, requests).await;
    set_history(pool, true).await?;
    let times = measured?;

    println!("\nOne-click PATCH with the history triggers off and on (8 alternating rounds):\n");
    println!("| PATCH | history | p50 ms | p99 ms | p50 cost | p99 cost |");
    println!("|---|---|---:|---:|---:|---:|");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (case, [off, on]) in cases.iter().zip(times) {
        let (off50, off99) = (ms(percentile(&off, 50.0)), ms(percentile(&off, 99.0)));
        let (on50, on99) = (ms(percentile(&on, 50.0)), ms(percentile(&on, 99.0)));
        println!("| {} | off | {off50:.2} | {off99:.2} | | |", case.name);
        println!(
            "| {} | on | {on50:.2} | {on99:.2} | {:+.1} % | {:+.1} % |",
            case.name,
            (on50 / off50 - 1.0) * 100.0,
            (on99 / off99 - 1.0) * 100.0
        );
    }
    Ok(())
}

/// Per case, the sorted latencies with the history off and on.
async fn measure(
    http: &reqwest::Client,
    pool: &PgPool,
    cases: &[Case],
    requests: usize,
) -> anyhow::Result<Vec<[Vec<Duration>; 2]>> {
    let mut times: Vec<[Vec<Duration>; 2]> = cases.iter().map(|_| Default::default()).collect();
    // Eight short rounds rather than two long ones: the machine's drift over a minute (other
    // load, autovacuum) then falls on both sides alike.
    for on in [false, true].repeat(4) {
        set_history(pool, on).await?;
        for (case, times) in cases.iter().zip(times.iter_mut()) {
            for i in 0..20 {
                patch(http, case, &case.bodies[i % 2]).await?;
            }
            for i in 0..requests.div_ceil(4) {
                let started = Instant::now();
                patch(http, case, &case.bodies[i % 2]).await?;
                times[usize::from(on)].push(started.elapsed());
            }
        }
    }
    for [off, on] in times.iter_mut() {
        off.sort();
        on.sort();
    }
    Ok(times)
}
