//! Who gets the interactions scoring creates (design, "Speed to lead"): the available owner,
//! else the owner's team pool in turn, else the default team's pool, else nobody; fair across
//! concurrent batches; hot leads with a first-touch deadline in their assignee's working time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sqlx::PgPool;

use relance_scoring::apply::{apply_batch, Assignment};
use relance_shared::event::{digest_event_key, EmailEvent, EventKind, SCHEMA_VERSION};
use relance_shared::scoring::ScoringRules;
use relance_shared::testing::TestContext;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap()
}

fn event(external_id: &str, kind: EventKind, minutes: i64, person_id: i64) -> EmailEvent {
    let occurred_at = t0() + Duration::minutes(minutes);
    EmailEvent {
        schema: SCHEMA_VERSION,
        event_key: digest_event_key("test", external_id, kind, occurred_at),
        provider: "test".into(),
        external_id: external_id.into(),
        event: kind,
        occurred_at,
        received_at: occurred_at,
        person_id: Some(person_id),
        organisation_id: None,
        person_external_id: None,
        recipient: None,
        subject: Some("Votre devis".into()),
        url: None,
        machine_open: false,
    }
}

/// Two sends opened and clicked: 3 + 8 + 3 + 8 = 22, past the threshold (15): two first-open
/// interactions and one hot lead.
fn heats(person: i64) -> Vec<EmailEvent> {
    use EventKind::*;
    let (a, b) = (format!("a{person}"), format!("b{person}"));
    vec![
        event(&a, Opened, 1, person),
        event(&a, Clicked, 2, person),
        event(&b, Opened, 3, person),
        event(&b, Clicked, 4, person),
    ]
}

async fn user(pool: &PgPool, name: &str, role: &str, teams: &[&str], away: bool) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO users (email, full_name, role, team_external_ids, away_until)
         VALUES ($1 || '@relance.test', $1, $2::user_role, $3,
                 CASE WHEN $4 THEN now() + interval '30 days' END) RETURNING id",
    )
    .bind(name)
    .bind(role)
    .bind(teams.iter().map(|t| t.to_string()).collect::<Vec<_>>())
    .bind(away)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn people(pool: &PgPool, owner: Option<i64>, n: usize) -> Vec<i64> {
    sqlx::query_scalar(
        "INSERT INTO people (first_name, last_name, email, owner_id)
         SELECT 'P', 'N' || g, 'p' || g || '-' || gen_random_uuid() || '@x.test', $1
         FROM generate_series(1, $2) g RETURNING id",
    )
    .bind(owner)
    .bind(n as i64)
    .fetch_all(pool)
    .await
    .unwrap()
}

fn assignment(default_team: Option<&str>) -> Assignment {
    Assignment {
        default_team: default_team.map(str::to_owned),
        sla_minutes: 60,
        default_tz: chrono_tz::Europe::Paris,
    }
}

async fn apply(pool: &PgPool, events: &[EmailEvent], assignment: &Assignment) {
    apply_batch(pool, events, None, &ScoringRules::default(), assignment)
        .await
        .unwrap();
}

/// Interactions created per assignee (`None`: unassigned).
async fn per_assignee(pool: &PgPool) -> HashMap<Option<i64>, i64> {
    sqlx::query_as::<_, (Option<i64>, i64)>(
        "SELECT assignee_id, count(*) FROM crm_interactions GROUP BY assignee_id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

#[tokio::test]
async fn an_away_owner_passes_the_leads_to_the_team_pool_in_turn_and_nobody_else() {
    let ctx = TestContext::new().await;
    let pool = &ctx.db.pool;
    let owner = user(pool, "owner", "rep", &["T"], true).await;
    let members = [
        user(pool, "r1", "rep", &["T"], false).await,
        user(pool, "r2", "rep", &["T"], false).await,
        user(pool, "r3", "rep", &["T"], false).await,
    ];
    let away = user(pool, "r4", "rep", &["T"], true).await;
    let manager = user(pool, "m", "manager", &["T"], false).await;
    let mut events = Vec::new();
    for p in people(pool, Some(owner), 6).await {
        events.extend(heats(p));
    }
    apply(pool, &events, &assignment(None)).await;
    // 6 people × (2 first opens + 1 hot lead) = 18, six each, in turn.
    let got = per_assignee(pool).await;
    assert_eq!(got.values().sum::<i64>(), 18, "{got:?}");
    for m in members {
        assert_eq!(got.get(&Some(m)), Some(&6), "{got:?}");
    }
    for nobody in [owner, away, manager] {
        assert_eq!(got.get(&Some(nobody)), None, "{got:?}");
    }
    // The cursor is kept for the next batch: it resumes after the last one given.
    let last: Option<i64> =
        sqlx::query_scalar("SELECT last_user_id FROM team_pools WHERE team_external_id = 'T'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(last, Some(members[2]));
    // Hot leads carry a deadline, first opens none.
    let (hot_with_due, others_with_due): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE type = 'call' AND sla_due_at IS NOT NULL),
                count(*) FILTER (WHERE type <> 'call' AND sla_due_at IS NOT NULL)
         FROM crm_interactions",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!((hot_with_due, others_with_due), (6, 0));
}

#[tokio::test]
async fn without_owner_or_team_the_default_pool_takes_it_else_nobody() {
    let ctx = TestContext::new().await;
    let pool = &ctx.db.pool;
    let present = user(pool, "present", "rep", &[], false).await;
    let desk = user(pool, "desk", "rep", &["D"], false).await;
    let orphan = people(pool, None, 1).await[0];
    let owned = people(pool, Some(present), 1).await[0];
    let mut events = heats(orphan);
    events.extend(heats(owned));
    apply(pool, &events, &assignment(Some("D"))).await;
    let got = per_assignee(pool).await;
    assert_eq!(
        got.get(&Some(desk)),
        Some(&3),
        "the orphan's three: {got:?}"
    );
    assert_eq!(
        got.get(&Some(present)),
        Some(&3),
        "the owner's own: {got:?}"
    );

    // No default team: an orphan's stay unassigned.
    let ctx = TestContext::new().await;
    let pool = &ctx.db.pool;
    let orphan = people(pool, None, 1).await[0];
    apply(pool, &heats(orphan), &assignment(None)).await;
    assert_eq!(per_assignee(pool).await.get(&None), Some(&3));
}

/// Two batches at once, as two scoring replicas would apply them: the pool's row lock makes
/// them take turns, so seven members share the leads within one of each other.
#[tokio::test]
async fn concurrent_batches_share_a_pool_fairly() {
    let ctx = TestContext::new().await;
    let pool = &ctx.db.pool;
    let mut members = Vec::new();
    for n in 0..7 {
        members.push(user(pool, &format!("r{n}"), "rep", &["T"], false).await);
    }
    let orphans = people(pool, None, 140).await;
    let (left, right) = orphans.split_at(70);
    let batches: Vec<Vec<EmailEvent>> = [left, right]
        .iter()
        .map(|half| half.iter().flat_map(|p| heats(*p)).collect())
        .collect();
    let a = assignment(Some("T"));
    let mut runs = Vec::new();
    for chunk in batches.iter().flat_map(|b| b.chunks(40)) {
        let (pool, a, chunk) = (pool.clone(), a.clone(), chunk.to_vec());
        runs.push(tokio::spawn(async move { apply(&pool, &chunk, &a).await }));
    }
    for r in runs {
        r.await.unwrap();
    }
    let got = per_assignee(pool).await;
    let counts: Vec<i64> = members
        .iter()
        .map(|m| got.get(&Some(*m)).copied().unwrap_or(0))
        .collect();
    assert_eq!(counts.iter().sum::<i64>(), 420, "{got:?}");
    let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(max - min <= 1, "{counts:?}");
}
