//! `relance-bench inbox`: latencies of the inbox API on a seeded database, through HTTP, one
//! request at a time (so the figures are latencies, not contention), and the PostgreSQL plans
//! of the queries behind them. Seed first with `relance-seed`, then start the inbox on that
//! database (release build) and run:
//!
//! ```text
//! cargo run --release -p relance-bench -- inbox --requests 300
//! ```
//!
//! Options: `--inbox URL` (default http://127.0.0.1:8081), `--database-url URL` (default the
//! `relance_bench` database), `--jwt-secret S` (default `$RELANCE__AUTH__JWT_SECRET`, else the
//! development secret), `--requests N` (timed requests per scenario, after 20 warm-up ones),
//! `--explain yes|no`, `--patches yes|no` (the one-click PATCHes with the history off and on,
//! `one_click.rs`).

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::Utc;
use secrecy::SecretString;
use sqlx::{PgPool, Postgres, QueryBuilder};

use relance_inbox::auth::TokenKeys;
use relance_inbox::cursor::{self, Position};
use relance_inbox::filters::{self, InboxFilter, ScopeParams, SearchParams, StatusParams};
use relance_inbox::query::{count::push_count_query, page::push_page_query, Counting};
use relance_inbox::search;

use crate::args::{percentile, Args};

const DEV_JWT_SECRET: &str = "dev-jwt-secret-change-me-0123456789";
/// `inbox.exact_total_limit` as built in.
const EXACT_TOTAL_LIMIT: i64 = 10_000;

struct Scenario {
    name: String,
    path: String,
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<serde_json::Value> {
    let response = http.get(url).bearer_auth(token).send().await?;
    if !response.status().is_success() {
        bail!("{url}: {} {}", response.status(), response.text().await?);
    }
    Ok(response.json().await?)
}

/// The cursor that opens page `n` (1-based) of `query`, or of its last page when it has fewer
/// (a small smoke-test database), with the page number reached.
async fn cursor_of_page(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    n: usize,
) -> anyhow::Result<(String, usize)> {
    let mut cursor = String::new();
    let mut reached = 1;
    while reached < n {
        let page = get(
            http,
            &format!("{base}/api/v1/interactions/inbox?{query}&cursor={cursor}"),
            token,
        )
        .await?;
        match page["cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
        reached += 1;
    }
    Ok((cursor, reached))
}

fn filter(assignee: Option<&str>, due: &str, caller: i64) -> anyhow::Result<InboxFilter> {
    filter_with(assignee, due, caller, None)
}

fn filter_with(
    assignee: Option<&str>,
    due: &str,
    caller: i64,
    search: Option<&SearchParams>,
) -> anyhow::Result<InboxFilter> {
    let mut errors = Vec::new();
    let scope = ScopeParams {
        assignee: assignee.map(str::to_owned),
        due: Some(due.to_owned()),
        tz: None,
        team: None,
    };
    // The query layer as an admin sees it (everything): issue 29's figures.
    let admin = relance_inbox::scope::Caller::admin(caller);
    filters::resolve(
        &scope,
        Some(&StatusParams::default()),
        search,
        &admin,
        "Europe/Paris".parse().unwrap_or(chrono_tz::Tz::UTC),
        Utc::now(),
        &mut errors,
    )
    .with_context(|| format!("bad filter: {errors:?}"))
}

fn print_plan(title: &str, lines: &[String]) {
    println!("\n#### {title}\n\n```text");
    for line in lines {
        println!("{line}");
    }
    println!("```");
}

async fn explain(
    pool: &PgPool,
    title: &str,
    mut qb: QueryBuilder<'_, Postgres>,
) -> anyhow::Result<()> {
    let lines: Vec<String> = qb.build_query_scalar().fetch_all(pool).await?;
    print_plan(title, &lines);
    Ok(())
}

/// The busiest assignee: the worst case for a per-user inbox.
pub async fn busiest_user(pool: &PgPool) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "SELECT assignee_id FROM crm_interactions WHERE assignee_id IS NOT NULL \
         GROUP BY assignee_id ORDER BY count(*) DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?
    .context("no assigned interactions: seed the database with relance-seed first")
}

pub async fn run(args: &Args) -> anyhow::Result<()> {
    let base = args.get("inbox", "http://127.0.0.1:8081");
    let database_url = args.get(
        "database-url",
        "postgres://postgres@127.0.0.1:5432/relance_bench",
    );
    let secret = args.get(
        "jwt-secret",
        &std::env::var("RELANCE__AUTH__JWT_SECRET").unwrap_or_else(|_| DEV_JWT_SECRET.into()),
    );
    let requests: usize = args.number("requests", 300)?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&database_url)
        .await?;

    let (interactions, users): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM crm_interactions), (SELECT count(*) FROM users)",
    )
    .fetch_one(&pool)
    .await?;
    let user = busiest_user(&pool).await?;
    let keys = TokenKeys::new(SecretString::from(secret));
    let token_of = |id: i64| keys.issue(id, Utc::now(), chrono::Duration::hours(1));
    // The scenarios before teams read as an admin (everything); the team's as its manager and
    // one of its reps (relance-seed: teams of 20, the first user of each its manager).
    let (admin, manager, rep) = scope_users(&pool).await?;
    let token = token_of(admin);
    let http = reqwest::Client::new();
    println!(
        "inbox at {base}: {interactions} interactions, {users} users; user {user} (the busiest), \
         admin {admin}, manager {manager}, rep {rep}\n"
    );

    let mine = format!("assignee={user}&due=all");
    let overdue = "due=overdue".to_owned();
    let mut scenarios = Vec::new();
    for (label, query) in [
        ("assignee=<user>&due=all", &mine),
        ("due=overdue", &overdue),
    ] {
        scenarios.push(Scenario {
            name: format!("inbox {label}, page 1"),
            path: format!("/api/v1/interactions/inbox?{query}"),
        });
        let (cursor, page) = cursor_of_page(&http, &base, &token, query, 10).await?;
        scenarios.push(Scenario {
            name: format!("inbox {label}, page {page}"),
            path: format!("/api/v1/interactions/inbox?{query}&cursor={cursor}"),
        });
    }
    scenarios.push(Scenario {
        name: "stats assignee=<user>".into(),
        path: format!("/api/v1/interactions/inbox/stats?assignee={user}"),
    });
    scenarios.push(Scenario {
        name: "stats everyone, due=overdue".into(),
        path: "/api/v1/interactions/inbox/stats?due=overdue".into(),
    });
    scenarios.push(Scenario {
        name: "stats everyone, due=all".into(),
        path: "/api/v1/interactions/inbox/stats".into(),
    });
    scenarios.push(Scenario {
        name: "leads-hot".into(),
        path: "/api/v1/marketing/leads-hot".into(),
    });
    let search = SearchCase::pick(&pool).await?;
    for (label, query) in search.queries(user) {
        scenarios.push(Scenario {
            name: format!("inbox {label}"),
            path: format!("/api/v1/interactions/inbox?{query}"),
        });
    }
    let mut scenarios: Vec<(Scenario, String)> =
        scenarios.into_iter().map(|s| (s, token.clone())).collect();
    scenarios.extend(scope_scenarios(&pool, &token_of, (admin, manager, rep)).await?);

    measure(&http, &base, &scenarios, requests).await?;
    if args.get("patches", "yes") == "yes" {
        let rep_token = token_of(rep);
        crate::one_click::run(
            &http,
            &base,
            &pool,
            token_of(manager),
            (rep, rep_token),
            requests,
        )
        .await?;
    }

    if args.get("explain", "yes") == "yes" {
        explain_plans(&pool, &http, &base, &token, user, &search).await?;
    }
    Ok(())
}

/// Teams (issue 30): each role's whole inbox, the manager's team stats and their team filter.
async fn scope_scenarios(
    pool: &PgPool,
    token_of: &impl Fn(i64) -> String,
    (admin, manager, rep): (i64, i64, i64),
) -> anyhow::Result<Vec<(Scenario, String)>> {
    let mut scenarios = Vec::new();
    for (who, id) in [
        ("manager's team", manager),
        ("rep's", rep),
        ("admin's", admin),
    ] {
        scenarios.push((
            Scenario {
                name: format!("{who} inbox (everyone they see), page 1 + total"),
                path: "/api/v1/interactions/inbox".into(),
            },
            token_of(id),
        ));
    }
    scenarios.push((
        Scenario {
            name: "manager's team stats".into(),
            path: "/api/v1/interactions/inbox/stats".into(),
        },
        token_of(manager),
    ));
    let team: Option<String> =
        sqlx::query_scalar("SELECT team_external_ids[1] FROM users WHERE id = $1")
            .bind(manager)
            .fetch_one(pool)
            .await?;
    if let Some(team) = team {
        scenarios.push((
            Scenario {
                name: "manager's inbox, team=<their team> (its members), page 1 + total".into(),
                path: format!("/api/v1/interactions/inbox?team={team}"),
            },
            token_of(manager),
        ));
    }
    Ok(scenarios)
}

/// Each scenario `requests` times, one at a time after 20 warm-up requests, as a table.
async fn measure(
    http: &reqwest::Client,
    base: &str,
    scenarios: &[(Scenario, String)],
    requests: usize,
) -> anyhow::Result<()> {
    println!("| scenario | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|");
    for (scenario, token) in scenarios {
        let url = format!("{base}{}", scenario.path);
        for _ in 0..20 {
            get(http, &url, token).await?;
        }
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let started = Instant::now();
            get(http, &url, token).await?;
            times.push(started.elapsed());
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {} | {:.2} | {:.2} | {:.2} |",
            scenario.name,
            ms(percentile(&times, 50.0)),
            ms(percentile(&times, 99.0)),
            ms(times.last().copied().unwrap_or_default()),
        );
    }

    Ok(())
}

/// An admin, a manager with a full team and one of that team's reps, active.
async fn scope_users(pool: &PgPool) -> anyhow::Result<(i64, i64, i64)> {
    let (admin, manager): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT min(id) FROM users WHERE role = 'admin' AND is_active), \
                (SELECT min(id) FROM users WHERE role = 'manager' AND is_active \
                   AND cardinality(team_external_ids) > 0)",
    )
    .fetch_one(pool)
    .await?;
    let (Some(admin), Some(manager)) = (admin, manager) else {
        anyhow::bail!(
            "no admin or manager: seed with relance-seed (it makes teams of 20: 2 users or more)"
        );
    };
    let rep: Option<i64> = sqlx::query_scalar(
        "SELECT min(r.id) FROM users r, users m WHERE m.id = $1 AND r.role = 'rep' \
           AND r.is_active AND r.team_external_ids && m.team_external_ids",
    )
    .bind(manager)
    .fetch_one(pool)
    .await?;
    Ok((admin, manager, rep.unwrap_or(manager)))
}

/// The advanced filters and search, on ids and words the seeded data holds.
struct SearchCase {
    person: i64,
    organisation: i64,
    /// One person's address: a word that names few interactions.
    email: String,
    /// A last name many people share in the seeded data: a word that names many.
    common_name: &'static str,
}

impl SearchCase {
    async fn pick(pool: &PgPool) -> anyhow::Result<Self> {
        let (person, organisation, email): (i64, i64, String) = sqlx::query_as(
            "SELECT p.id, i.organisation_id, p.email FROM crm_interactions i \
             JOIN people p ON p.id = i.person_id \
             WHERE i.organisation_id IS NOT NULL AND p.email IS NOT NULL \
             ORDER BY i.id LIMIT 1",
        )
        .fetch_optional(pool)
        .await?
        .context("no interaction with a person and an organisation: seed first")?;
        Ok(Self {
            person,
            organisation,
            email,
            common_name: "lefevre",
        })
    }

    fn queries(&self, user: i64) -> Vec<(String, String)> {
        let now = Utc::now();
        let week = now + chrono::Duration::days(7);
        let stamp = |at: chrono::DateTime<Utc>| at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        vec![
            ("type=call".into(), "type=call".into()),
            ("person_id=<p>".into(), format!("person_id={}", self.person)),
            (
                "organisation_id=<o>".into(),
                format!("organisation_id={}", self.organisation),
            ),
            (
                "from=now&to=+7d".into(),
                format!("from={}&to={}", stamp(now), stamp(week)),
            ),
            ("q=<an address>".into(), format!("q={}", self.email)),
            (
                format!("q={} (a common name)", self.common_name),
                format!("q={}", self.common_name),
            ),
            (
                format!("q=demo {} (two words)", self.common_name),
                format!("q=demo%20{}", self.common_name),
            ),
            (
                format!("assignee=<user>&type=call&q={}", self.common_name),
                format!("assignee={user}&type=call&q={}", self.common_name),
            ),
        ]
    }

    fn explained(&self, user: i64) -> Vec<(String, Option<String>, SearchParams)> {
        vec![
            (
                "q=<an address>".into(),
                None,
                SearchParams {
                    q: Some(self.email.clone()),
                    ..Default::default()
                },
            ),
            (
                format!("q={}", self.common_name),
                None,
                SearchParams {
                    q: Some(self.common_name.into()),
                    ..Default::default()
                },
            ),
            (
                format!("q=demo {}", self.common_name),
                None,
                SearchParams {
                    q: Some(format!("demo {}", self.common_name)),
                    ..Default::default()
                },
            ),
            (
                "type=call".into(),
                None,
                SearchParams {
                    kind: Some("call".into()),
                    ..Default::default()
                },
            ),
            (
                format!("assignee=<user>&type=call&q={}", self.common_name),
                Some(user.to_string()),
                SearchParams {
                    kind: Some("call".into()),
                    q: Some(self.common_name.into()),
                    ..Default::default()
                },
            ),
        ]
    }
}

/// The plans of a deep page, a total and each search scenario (`--explain yes`).
async fn explain_plans(
    pool: &PgPool,
    http: &reqwest::Client,
    base: &str,
    token: &str,
    user: i64,
    search: &SearchCase,
) -> anyhow::Result<()> {
    let prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ";
    for (label, assignee, due) in [
        ("assignee=<user>&due=all", Some(user.to_string()), "all"),
        ("due=overdue", None, "overdue"),
    ] {
        let f = filter(assignee.as_deref(), due, user)?;
        let query = match &assignee {
            Some(a) => format!("assignee={a}&due={due}"),
            None => format!("due={due}"),
        };
        let (raw, _) = cursor_of_page(http, base, token, &query, 10).await?;
        let after: Position =
            cursor::decode(&raw, &f.fingerprint()).map_err(|e| anyhow::anyhow!("{}", e.message))?;
        let mut qb = QueryBuilder::new(prefix);
        push_page_query(&mut qb, &f, Some(&after), 51);
        explain(pool, &format!("page 10 of {label}"), qb).await?;
        if assignee.is_some() {
            let mut qb = QueryBuilder::new(prefix);
            push_count_query(&mut qb, &f, Some(f.status), EXACT_TOTAL_LIMIT);
            explain(pool, &format!("total of {label}"), qb).await?;
        }
    }
    for (label, assignee, params) in search.explained(user) {
        let mut f = filter_with(assignee.as_deref(), "all", user, Some(&params))?;
        search::resolve_words(pool, &mut f).await?;
        let mut qb = QueryBuilder::new(prefix);
        push_page_query(&mut qb, &f, None, 51);
        explain(pool, &format!("page 1 of {label}"), qb).await?;
        let counting = Counting::for_total(&f);
        if counting == Counting::DayCounters {
            println!("#### total of {label}\n\nfrom the day counters (docs/schema.sql)\n");
            continue;
        }
        println!("#### total of {label}: counted by {}\n", counting.as_str());
        let mut qb = QueryBuilder::new(prefix);
        push_count_query(&mut qb, &f, Some(f.status), EXACT_TOTAL_LIMIT);
        explain(pool, &format!("total of {label}"), qb).await?;
    }
    Ok(())
}
