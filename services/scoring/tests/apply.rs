//! The database effects of events, against a fresh PostgreSQL database per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use sqlx::PgPool;

use relance_scoring::apply::{apply_batch, Outcome};
use relance_shared::event::{digest_event_key, EmailEvent, EventKind, SCHEMA_VERSION};
use relance_shared::scoring::ScoringRules;
use relance_shared::testing::{test_database, TestContext};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap()
}

fn event(external_id: &str, kind: EventKind, minutes: i64, person_id: Option<i64>) -> EmailEvent {
    let occurred_at = t0() + Duration::minutes(minutes);
    EmailEvent {
        schema: SCHEMA_VERSION,
        event_key: digest_event_key("test", external_id, kind, occurred_at),
        provider: "test".into(),
        external_id: external_id.into(),
        event: kind,
        occurred_at,
        received_at: occurred_at,
        person_id,
        organisation_id: None,
        person_external_id: None,
        recipient: None,
        subject: Some("Votre devis".into()),
        url: None,
        machine_open: false,
    }
}

async fn person(pool: &PgPool, email: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO users (email, full_name) VALUES ($1, 'Owner') RETURNING id",
    )
    .bind(format!("owner-{email}"))
    .fetch_one(pool)
    .await
    .map(|owner: i64| owner)
    .map(|owner| async move {
        sqlx::query_scalar(
            "INSERT INTO people (first_name, last_name, email, owner_id) VALUES ('Ana', 'Lopez', $1, $2) RETURNING id",
        )
        .bind(email)
        .bind(owner)
        .fetch_one(pool)
        .await
        .unwrap()
    })
    .unwrap()
    .await
}

#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
struct SendState {
    status: String,
    open_count: i32,
    click_count: i32,
    sent_at: Option<DateTime<Utc>>,
    last_open_at: Option<DateTime<Utc>>,
    last_click_at: Option<DateTime<Utc>>,
    interaction_id: Option<i64>,
}

async fn send_state(pool: &PgPool, external_id: &str) -> SendState {
    sqlx::query_as(
        "SELECT status::text AS status, open_count, click_count, sent_at, last_open_at, last_click_at,
                interaction_id
         FROM email_sends WHERE provider = 'test' AND external_id = $1",
    )
    .bind(external_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn score(pool: &PgPool, person_id: i64) -> i32 {
    sqlx::query_scalar("SELECT score FROM lead_scores WHERE person_id = $1")
        .bind(person_id)
        .fetch_optional(pool)
        .await
        .unwrap()
        .unwrap_or(0)
}

async fn count(pool: &PgPool, sql: &'static str, id: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn apply(pool: &PgPool, events: &[EmailEvent]) -> Vec<Outcome> {
    apply_batch(
        pool,
        events,
        None,
        &ScoringRules::default(),
        &Default::default(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn first_open_creates_one_linked_interaction_and_scores() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    let p = person(&db.pool, "ana@example.com").await;
    let outcomes = apply(
        &db.pool,
        &[
            event("m1", EventKind::Sent, 0, Some(p)),
            event("m1", EventKind::Opened, 5, Some(p)),
        ],
    )
    .await;
    assert_eq!(outcomes, [Outcome::Applied, Outcome::Applied]);

    let send = send_state(&db.pool, "m1").await;
    assert_eq!(send.status, "opened");
    assert_eq!(send.open_count, 1);
    assert_eq!(send.sent_at, Some(t0()));
    let interaction = send.interaction_id.expect("interaction linked");
    let (kind, title, person_id, assignee): (String, String, Option<i64>, Option<i64>) =
        sqlx::query_as(
            "SELECT type::text, title, person_id, assignee_id FROM crm_interactions WHERE id = $1",
        )
        .bind(interaction)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(kind, "email");
    assert_eq!(title, "Email ouvert : Votre devis");
    assert_eq!(person_id, Some(p));
    assert!(assignee.is_some(), "assigned to the person's owner");
    assert_eq!(score(&db.pool, p).await, 3);

    // A second open: +1, no second interaction.
    apply(&db.pool, &[event("m1", EventKind::Opened, 9, Some(p))]).await;
    assert_eq!(score(&db.pool, p).await, 4);
    assert_eq!(
        count(
            &db.pool,
            "SELECT count(*) FROM crm_interactions WHERE person_id = $1",
            p
        )
        .await,
        1
    );
    let history: Vec<(i32, i32, String)> = sqlx::query_as(
        "SELECT delta, score_after, reason FROM lead_score_history WHERE person_id = $1 ORDER BY id",
    )
    .bind(p)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        history,
        [(3, 3, "first_open".into()), (1, 4, "later_open".into())]
    );
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    let p = person(&db.pool, "bo@example.com").await;
    let open = event("m2", EventKind::Opened, 1, Some(p));
    assert_eq!(
        apply(&db.pool, std::slice::from_ref(&open)).await,
        [Outcome::Applied]
    );
    let before = send_state(&db.pool, "m2").await;
    assert_eq!(
        apply(&db.pool, std::slice::from_ref(&open)).await,
        [Outcome::Duplicate]
    );
    // Twice in one batch: applied once.
    let click = event("m2", EventKind::Clicked, 2, Some(p));
    assert_eq!(
        apply(&db.pool, &[click.clone(), click]).await,
        [Outcome::Applied, Outcome::Duplicate]
    );
    let after = send_state(&db.pool, "m2").await;
    assert_eq!(after.open_count, before.open_count);
    assert_eq!(after.click_count, 1);
    assert_eq!(score(&db.pool, p).await, 3 + 8);
}

#[tokio::test]
async fn status_never_goes_backwards_and_bounce_is_final() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    let p = person(&db.pool, "cy@example.com").await;
    apply(&db.pool, &[event("m3", EventKind::Clicked, 10, Some(p))]).await;
    apply(&db.pool, &[event("m3", EventKind::Opened, 5, Some(p))]).await;
    apply(&db.pool, &[event("m3", EventKind::Sent, 0, Some(p))]).await;
    let s = send_state(&db.pool, "m3").await;
    assert_eq!(s.status, "clicked");
    assert_eq!(s.sent_at, Some(t0()));
    assert_eq!(s.last_open_at, Some(t0() + Duration::minutes(5)));
    // An older click does not move last_click_at back.
    apply(&db.pool, &[event("m3", EventKind::Clicked, 7, Some(p))]).await;
    assert_eq!(
        send_state(&db.pool, "m3").await.last_click_at,
        Some(t0() + Duration::minutes(10))
    );

    apply(&db.pool, &[event("m4", EventKind::Bounced, 1, Some(p))]).await;
    apply(&db.pool, &[event("m4", EventKind::Opened, 2, Some(p))]).await;
    assert_eq!(send_state(&db.pool, "m4").await.status, "bounced");
}

#[tokio::test]
async fn the_score_never_goes_below_zero() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    let p = person(&db.pool, "di@example.com").await;
    apply(&db.pool, &[event("m5", EventKind::Opened, 1, Some(p))]).await; // 3
    apply(&db.pool, &[event("m6", EventKind::Bounced, 2, Some(p))]).await; // max(3-10, 0)
    assert_eq!(score(&db.pool, p).await, 0);
    apply(&db.pool, &[event("m7", EventKind::Clicked, 3, Some(p))]).await; // 0 + 8
    assert_eq!(score(&db.pool, p).await, 8);
    let last: (i32, i32) = sqlx::query_as(
        "SELECT delta, score_after FROM lead_score_history WHERE person_id = $1 AND reason = 'bounce'",
    )
    .bind(p)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        last,
        (-10, 0),
        "the history keeps the rule's delta and the floored result"
    );
}

#[tokio::test]
async fn a_person_is_matched_by_recipient_email_case_insensitively() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    let p = person(&db.pool, "Eve.Martin@Example.com").await;
    let mut open = event("m8", EventKind::Opened, 1, None);
    open.recipient = Some("eve.martin@EXAMPLE.com".into());
    apply(&db.pool, &[open]).await;
    assert_eq!(score(&db.pool, p).await, 3);
    // A later event without any person still scores the send's person.
    apply(&db.pool, &[event("m8", EventKind::Clicked, 2, None)]).await;
    assert_eq!(score(&db.pool, p).await, 11);
    // Nobody to match: the send is recorded, nothing is scored.
    let mut stranger = event("m9", EventKind::Opened, 1, None);
    stranger.recipient = Some("nobody@example.com".into());
    assert_eq!(apply(&db.pool, &[stranger]).await, [Outcome::Applied]);
    assert_eq!(send_state(&db.pool, "m9").await.open_count, 1);
}

#[tokio::test]
async fn a_person_is_matched_by_the_crms_id_before_the_address() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    let jeanne = person(&db.pool, "jeanne@example.com").await;
    let marc = person(&db.pool, "marc@example.com").await;
    sqlx::query("UPDATE people SET external_id = 'crm-' || id")
        .execute(&db.pool)
        .await
        .unwrap();
    // The CRM's id names Marc, the address Jeanne (a forwarded email): Marc it is.
    let mut open = event("m10", EventKind::Opened, 1, None);
    open.person_external_id = Some(format!("crm-{marc}"));
    open.recipient = Some("jeanne@example.com".into());
    apply(&db.pool, &[open]).await;
    assert_eq!(
        (score(&db.pool, marc).await, score(&db.pool, jeanne).await),
        (3, 0)
    );
    // A CRM id Relance does not hold yet falls back to the address.
    let mut open = event("m11", EventKind::Opened, 2, None);
    open.person_external_id = Some("crm-not-synced-yet".into());
    open.recipient = Some("jeanne@example.com".into());
    apply(&db.pool, &[open]).await;
    assert_eq!(score(&db.pool, jeanne).await, 3);
}

#[tokio::test]
async fn an_unknown_person_is_poison_and_leaves_no_trace() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    let p = person(&db.pool, "fa@example.com").await;
    let good = event("m10", EventKind::Opened, 1, Some(p));
    let bad = event("m11", EventKind::Opened, 1, Some(999_999));
    let outcomes = apply(&db.pool, &[good, bad.clone()]).await;
    assert_eq!(outcomes[0], Outcome::Applied);
    assert!(matches!(&outcomes[1], Outcome::Poison(reason) if reason.contains("999999")));
    let sends: i64 =
        sqlx::query_scalar("SELECT count(*) FROM email_sends WHERE external_id = 'm11'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(sends, 0);
    // The key was released: once the data exists it can be re-driven.
    let claimed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM processed_events WHERE event_key = $1")
            .bind(&bad.event_key)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(claimed, 0);
    let mut unknown_org = event("m12", EventKind::Sent, 0, Some(p));
    unknown_org.organisation_id = Some(424_242);
    assert!(matches!(
        &apply(&db.pool, &[unknown_org]).await[0],
        Outcome::Poison(_)
    ));
}

#[tokio::test]
async fn machine_opens_are_recorded_but_not_scored() {
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    let p = person(&db.pool, "gi@example.com").await;
    let mut prefetch = event("m13", EventKind::Opened, 1, Some(p));
    prefetch.machine_open = true;
    apply(&db.pool, &[prefetch]).await;
    let s = send_state(&db.pool, "m13").await;
    assert_eq!(
        (s.status.as_str(), s.open_count, s.interaction_id),
        ("sent", 0, None)
    );
    assert_eq!(score(&db.pool, p).await, 0);
    apply(&db.pool, &[event("m13", EventKind::Opened, 2, Some(p))]).await;
    assert_eq!(
        score(&db.pool, p).await,
        3,
        "the first human open is still the first open"
    );
}

// ---- Hot leads: one interaction per crossing of the threshold, with hysteresis.

async fn hot_leads(pool: &PgPool, person_id: i64) -> Vec<(String, String, Option<i64>, bool)> {
    sqlx::query_as(
        "SELECT title, type::text, assignee_id, next_action_at IS NOT NULL
         FROM crm_interactions WHERE person_id = $1 AND title LIKE 'Lead chaud%' ORDER BY id",
    )
    .bind(person_id)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_score_crossing_the_threshold_creates_one_hot_lead_then_needs_to_fall_below_the_mark() {
    use EventKind::*;
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    let pool = &db.pool;
    let p = person(pool, "hot@example.com").await;
    let owner: i64 = sqlx::query_scalar("SELECT owner_id FROM people WHERE id = $1")
        .bind(p)
        .fetch_one(pool)
        .await
        .unwrap();
    let mut minute = 0;
    let mut step = |external_id: &str, kind: EventKind| {
        minute += 1;
        event(external_id, kind, minute, Some(p))
    };
    // 3 + 8 + 3 = 14: just under the threshold (15), nothing yet.
    let below = [step("a", Opened), step("a", Clicked), step("b", Opened)];
    apply(pool, &below).await;
    assert_eq!(score(pool, p).await, 14);
    assert!(hot_leads(pool, p).await.is_empty());

    // +8 = 22: crosses once.
    apply(pool, &[step("b", Clicked)]).await;
    assert_eq!(score(pool, p).await, 22);
    assert_eq!(
        hot_leads(pool, p).await,
        vec![(
            "Lead chaud : Ana Lopez".into(),
            "call".into(),
            Some(owner),
            true
        )]
    );

    // Bounce to 12 (inside the band, 10..15), then back up to 16 and 18: no new lead.
    apply(pool, &[step("c", Bounced)]).await;
    assert_eq!(score(pool, p).await, 12);
    for _ in 0..3 {
        apply(pool, &[step("a", Clicked)]).await;
    }
    assert_eq!(score(pool, p).await, 18);
    assert_eq!(hot_leads(pool, p).await.len(), 1, "jitter inside the band");

    // Bounce to 8 (below the mark: re-armed), then up to 19: a second crossing, a second lead.
    apply(pool, &[step("d", Bounced)]).await;
    assert_eq!(score(pool, p).await, 8);
    apply(pool, &[step("e", Opened), step("e", Clicked)]).await;
    assert_eq!(score(pool, p).await, 19);
    assert_eq!(hot_leads(pool, p).await.len(), 2);

    // A redelivery of the crossing event changes nothing.
    apply(pool, &[event("e", Clicked, minute, Some(p))]).await;
    assert_eq!(hot_leads(pool, p).await.len(), 2);
}

#[tokio::test]
async fn a_hot_lead_without_an_active_owner_is_unassigned_and_decay_rearms() {
    use EventKind::*;
    let ctx = TestContext::new().await;
    let db = &ctx.db;
    let pool = &db.pool;
    let p = person(pool, "nobody@example.com").await;
    sqlx::query(
        "UPDATE users SET is_active = false WHERE id = (SELECT owner_id FROM people WHERE id = $1)",
    )
    .bind(p)
    .execute(pool)
    .await
    .unwrap();
    let crossing = [
        event("a", Opened, 1, Some(p)),
        event("a", Clicked, 2, Some(p)),
        event("b", Opened, 3, Some(p)),
        event("b", Clicked, 4, Some(p)),
    ];
    apply(pool, &crossing).await;
    assert_eq!(hot_leads(pool, p).await.len(), 1);
    assert_eq!(hot_leads(pool, p).await[0].2, None, "unassigned");
    // The reminder's weekly decay lowers scores without scoring seeing it: a score found below
    // the mark re-arms on the next event.
    sqlx::query("UPDATE lead_scores SET score = 5 WHERE person_id = $1")
        .bind(p)
        .execute(pool)
        .await
        .unwrap();
    apply(
        pool,
        &[
            event("c", Opened, 5, Some(p)),
            event("c", Clicked, 6, Some(p)),
        ],
    )
    .await;
    assert_eq!(score(pool, p).await, 16);
    assert_eq!(hot_leads(pool, p).await.len(), 2);
}

// ---- Property: any permutation and duplication of one send's events gives the same result.

#[derive(Debug, Clone)]
struct Scenario {
    events: Vec<(EventKind, i64)>,
    /// Delivery order: indices into `events`, each at least once, some repeated.
    deliveries: Vec<usize>,
    batch_size: usize,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let kinds = prop_oneof![
        Just(EventKind::Sent),
        Just(EventKind::Delivered),
        Just(EventKind::Opened),
        Just(EventKind::Opened),
        Just(EventKind::Clicked),
    ];
    proptest::collection::vec((kinds, 0i64..10_000), 1..12)
        .prop_flat_map(|events| {
            let n = events.len();
            let dupes = proptest::collection::vec(0..n, 0..n * 2);
            (Just(events), dupes, 1usize..6)
        })
        .prop_flat_map(|(events, dupes, batch_size)| {
            let mut deliveries: Vec<usize> = (0..events.len()).collect();
            deliveries.extend(dupes);
            (
                Just(events),
                Just(deliveries).prop_shuffle(),
                Just(batch_size),
            )
        })
        .prop_map(|(events, deliveries, batch_size)| Scenario {
            events,
            deliveries,
            batch_size,
        })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

fn pool() -> &'static PgPool {
    static POOL: std::sync::OnceLock<PgPool> = std::sync::OnceLock::new();
    // One database for all the cases of the property, left for the test script to drop.
    POOL.get_or_init(|| runtime().block_on(async { test_database().await.pool }))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn any_order_and_duplication_gives_the_same_result(s in scenario()) {
        let pool = pool();
        runtime().block_on(async {
            let tag = uuid::Uuid::new_v4().simple().to_string();
            let p = person(pool, &format!("{tag}@example.com")).await;
            let id = format!("send-{tag}");
            let events: Vec<EmailEvent> = s.events.iter()
                .map(|(kind, minutes)| event(&id, *kind, *minutes, Some(p)))
                .collect();
            for chunk in s.deliveries.chunks(s.batch_size) {
                let batch: Vec<EmailEvent> = chunk.iter().map(|&i| events[i].clone()).collect();
                apply(pool, &batch).await;
            }
            // Expected, from the distinct events alone (equal keys collapse).
            let mut distinct = events.clone();
            distinct.sort_by(|a, b| a.event_key.cmp(&b.event_key));
            distinct.dedup_by(|a, b| a.event_key == b.event_key);
            let opens = distinct.iter().filter(|e| e.event == EventKind::Opened).count() as i32;
            let clicks = distinct.iter().filter(|e| e.event == EventKind::Clicked).count() as i32;
            let status = distinct.iter().map(|e| match e.event {
                EventKind::Clicked => 3, EventKind::Opened => 2, EventKind::Delivered => 1, _ => 0,
            }).max().unwrap_or(0);
            let expected_status = ["sent", "delivered", "opened", "clicked"][status];
            let expected_score = if opens > 0 { 3 + (opens - 1) } else { 0 }
                + if clicks > 0 { 8 + 2 * (clicks - 1) } else { 0 };
            let expected_last_open = distinct.iter().filter(|e| e.event == EventKind::Opened).map(|e| e.occurred_at).max();

            let state = send_state(pool, &id).await;
            prop_assert_eq!(state.open_count, opens);
            prop_assert_eq!(state.click_count, clicks);
            prop_assert_eq!(state.status.as_str(), expected_status);
            prop_assert_eq!(state.last_open_at, expected_last_open);
            prop_assert_eq!(state.interaction_id.is_some(), opens > 0);
            let interactions = count(pool, "SELECT count(*) FROM crm_interactions WHERE person_id = $1 AND type = 'email'", p).await;
            prop_assert_eq!(interactions, i64::from(opens > 0));
            // No bounce here, so the score only rises: one hot lead iff it reached 15.
            let hot = count(pool, "SELECT count(*) FROM crm_interactions WHERE person_id = $1 AND title LIKE 'Lead chaud%'", p).await;
            prop_assert_eq!(hot, i64::from(expected_score >= 15));
            prop_assert_eq!(score(pool, p).await, expected_score);
            let history_sum: i64 = sqlx::query_scalar("SELECT COALESCE(sum(delta), 0) FROM lead_score_history WHERE person_id = $1")
                .bind(p).fetch_one(pool).await.unwrap();
            prop_assert_eq!(history_sum, i64::from(expected_score), "the history explains the score");
            Ok(())
        })?;
    }
}

// ---- Property: the set-based batch apply reaches the state the one-event-at-a-time
// reference reaches, for random events over several sends and people, with duplicates, split
// into random batches.

/// How a send's events name their recipient (every event of a send the same way, as
/// providers do).
#[derive(Debug, Clone, Copy)]
enum Names {
    PersonId(usize),
    CrmId(usize),
    Address(usize),
    UnknownAddress,
    Nobody,
    /// A person id that does not exist: every event of the send is poison.
    UnknownPersonId,
}

#[derive(Debug, Clone)]
struct Mixed {
    names: Vec<Names>,
    /// (send, kind, machine open, minute), distinct minutes.
    events: Vec<(usize, EventKind, bool, i64)>,
    /// Redeliveries: (event, how far after its first delivery).
    redeliveries: Vec<(usize, usize)>,
    batch_sizes: Vec<usize>,
}

const PEOPLE: usize = 3;

fn mixed() -> impl Strategy<Value = Mixed> {
    let names = prop_oneof![
        (0..PEOPLE).prop_map(Names::PersonId),
        (0..PEOPLE).prop_map(Names::CrmId),
        (0..PEOPLE).prop_map(Names::Address),
        Just(Names::UnknownAddress),
        Just(Names::Nobody),
        Just(Names::UnknownPersonId),
    ];
    let kind = prop_oneof![
        1 => Just(EventKind::Sent),
        1 => Just(EventKind::Delivered),
        4 => Just(EventKind::Opened),
        3 => Just(EventKind::Clicked),
        1 => Just(EventKind::Bounced),
        1 => Just(EventKind::Complained),
    ];
    (proptest::collection::vec(names, 1..5), 1usize..30)
        .prop_flat_map(move |(names, n)| {
            let sends = names.len();
            (
                Just(names),
                proptest::collection::vec(
                    (0..sends, kind.clone(), proptest::bool::weighted(0.1)),
                    n,
                ),
                proptest::collection::hash_set(0i64..100_000, n),
                proptest::collection::vec((0..n, 0usize..10), 0..n),
                proptest::collection::vec(1usize..9, 1..40),
            )
        })
        .prop_map(|(names, events, minutes, redeliveries, batch_sizes)| {
            let mut minutes: Vec<i64> = minutes.into_iter().collect();
            minutes.sort_unstable();
            let events = events
                .into_iter()
                .zip(minutes)
                .map(|((send, kind, machine), minute)| {
                    (send, kind, machine && kind == EventKind::Opened, minute)
                })
                .collect();
            Mixed {
                names,
                events,
                redeliveries,
                batch_sizes,
            }
        })
}

/// The same people in a database: returns their ids.
async fn people_for(pool: &PgPool, tag: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for k in 0..PEOPLE {
        let owner: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, full_name, is_active) VALUES ($1, 'Owner', $2) RETURNING id",
        )
        .bind(format!("owner{k}-{tag}@example.com"))
        .bind(k != 1)
        .fetch_one(pool)
        .await
        .unwrap();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO people (first_name, last_name, email, owner_id, external_id)
             VALUES ('P', $1, $2, $3, $4) RETURNING id",
        )
        .bind(format!("n{k}"))
        .bind(format!("p{k}-{tag}@example.com"))
        .bind(owner)
        .bind(format!("crm-{k}-{tag}"))
        .fetch_one(pool)
        .await
        .unwrap();
        ids.push(id);
    }
    ids
}

fn mixed_event(tag: &str, people: &[i64], m: &Mixed, i: usize) -> EmailEvent {
    let (send, kind, machine, minute) = m.events[i];
    let mut e = event(&format!("s{send}"), kind, minute, None);
    e.provider = format!("p{tag}");
    e.event_key = format!("{tag}-{i}");
    e.machine_open = machine;
    match m.names[send] {
        Names::PersonId(k) => e.person_id = Some(people[k]),
        Names::CrmId(k) => e.person_external_id = Some(format!("crm-{k}-{tag}")),
        Names::Address(k) => e.recipient = Some(format!(" P{k}-{tag}@Example.com")),
        Names::UnknownAddress => e.recipient = Some(format!("nobody-{tag}@example.com")),
        Names::Nobody => {}
        Names::UnknownPersonId => e.person_id = Some(i64::MAX - 7),
    }
    e
}

/// Everything scoring wrote for one case, with database ids replaced by what they stand for.
async fn final_state(pool: &PgPool, tag: &str) -> Vec<String> {
    let provider = format!("p{tag}");
    let like = format!("%-{tag}@example.com");
    let mut state: Vec<String> = sqlx::query_scalar(
        "SELECT concat_ws(' | ', 'send', s.external_id, p.email, s.subject, s.recipient,
                s.status::text, s.sent_at, s.delivered_at, s.open_count, s.click_count,
                s.machine_open_count, s.first_open_at, s.last_open_at, s.last_click_at,
                s.bounced_at, s.complained_at, i.title, i.description, i.status::text,
                (i.assignee_id IS NOT NULL)::text)
         FROM email_sends s LEFT JOIN people p ON p.id = s.person_id
         LEFT JOIN crm_interactions i ON i.id = s.interaction_id
         WHERE s.provider = $1 ORDER BY s.external_id",
    )
    .bind(&provider)
    .fetch_all(pool)
    .await
    .unwrap();
    let scores: Vec<String> = sqlx::query_scalar(
        "SELECT concat_ws(' | ', 'score', p.email, l.score, l.hot_armed::text, l.last_event_at)
         FROM lead_scores l JOIN people p ON p.id = l.person_id
         WHERE p.email LIKE $1 ORDER BY p.email",
    )
    .bind(&like)
    .fetch_all(pool)
    .await
    .unwrap();
    let history: Vec<String> = sqlx::query_scalar(
        "SELECT concat_ws(' | ', 'history', p.email, h.delta, h.score_after, h.reason,
                h.event_key, s.external_id, h.occurred_at)
         FROM lead_score_history h JOIN people p ON p.id = h.person_id
         LEFT JOIN email_sends s ON s.id = h.email_send_id
         WHERE p.email LIKE $1 ORDER BY p.email, h.id",
    )
    .bind(&like)
    .fetch_all(pool)
    .await
    .unwrap();
    let mut interactions: Vec<String> = sqlx::query_scalar(
        "SELECT concat_ws(' | ', 'interaction', i.type::text, i.title, i.description, p.email,
                (i.assignee_id IS NOT NULL)::text, i.status::text,
                (i.next_action_at IS NOT NULL)::text)
         FROM crm_interactions i JOIN people p ON p.id = i.person_id
         WHERE p.email LIKE $1",
    )
    .bind(&like)
    .fetch_all(pool)
    .await
    .unwrap();
    interactions.sort();
    let processed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM processed_events WHERE provider = $1")
            .bind(&provider)
            .fetch_one(pool)
            .await
            .unwrap();
    state.extend(scores);
    state.extend(history);
    state.extend(interactions);
    state.push(format!("processed {processed}"));
    state
}

fn reference_pool() -> &'static PgPool {
    static POOL: std::sync::OnceLock<PgPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| runtime().block_on(async { test_database().await.pool }))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn batches_reach_the_state_of_one_event_at_a_time(m in mixed()) {
        let (batched, reference) = (pool(), reference_pool());
        runtime().block_on(async {
            let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
            let people_batched = people_for(batched, &tag).await;
            let people_reference = people_for(reference, &tag).await;
            // Deliveries in the order the events happened, with redeliveries later on.
            let mut deliveries: Vec<usize> = (0..m.events.len()).collect();
            for &(i, after) in &m.redeliveries {
                let first = deliveries.iter().position(|&d| d == i).unwrap();
                let at = (first + 1 + after).min(deliveries.len());
                deliveries.insert(at, i);
            }
            let rules = ScoringRules::default();
            for &i in &deliveries {
                let e = mixed_event(&tag, &people_reference, &m, i);
                relance_scoring::apply::reference::apply_one(reference, &e, &rules, &Default::default()).await.unwrap();
            }
            let mut rest = deliveries.as_slice();
            for &size in m.batch_sizes.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (batch, tail) = rest.split_at(size.min(rest.len()));
                rest = tail;
                let events: Vec<EmailEvent> = batch
                    .iter()
                    .map(|&i| mixed_event(&tag, &people_batched, &m, i))
                    .collect();
                apply(batched, &events).await;
            }
            let (got, want) = (final_state(batched, &tag).await, final_state(reference, &tag).await);
            prop_assert_eq!(got, want);
            Ok(())
        })?;
    }
}
