//! Applying email events to the database, many per transaction, each exactly once.
//!
//! For a batch, in one transaction:
//! 1. claim every event key in `processed_events` (one statement); a key already there is a
//!    duplicate and changes nothing;
//! 2. per new event, in (provider, external_id) order so concurrent replicas lock sends in the
//!    same order: resolve the person, upsert the send (status only moves up, counters add,
//!    timestamps only move forward), and on the send's first human open create its interaction;
//! 3. per person, in id order: lock the score, fold the batch's deltas with the floor at 0,
//!    store it, and write one history row per change; a score crossing up through the hot
//!    threshold while armed creates a "Lead chaud" interaction ([`create_hot_lead_interactions`]).
//!
//! Why this is order-independent: a send's status is the greatest status seen (`email_status`
//! is declared in progression order, `bounced` last and final), `first_open` is decided by the
//! counter the upsert returns under the row lock (exactly one open sees `open_count = 1`), so n
//! opens always score `first_open + (n-1)·later_open` whatever their order.
//!
//! A person is matched by `person_id`, else by recipient email (case-insensitive); events with
//! neither still update the send and score the send's person if an earlier event named one.
//! An event naming a person or organisation that does not exist is poison: it can never apply.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use tracing::Instrument;

use relance_shared::event::{EmailEvent, EventKind};
use relance_shared::scoring::{apply_floor, HotLeadTracker, ScoreReason, ScoringRules};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Already applied (a redelivery or a re-post): acknowledged, nothing changed.
    Duplicate,
    /// Can never apply; goes to the DLQ with this reason.
    Poison(String),
}

/// One score change waiting for its person's row.
#[derive(Debug)]
struct ScoreItem {
    person_id: i64,
    delta: i32,
    reason: ScoreReason,
    event_key: String,
    send_id: i64,
    occurred_at: DateTime<Utc>,
}

#[derive(Debug)]
struct SendRow {
    id: i64,
    person_id: Option<i64>,
    open_count: i32,
    click_count: i32,
    interaction_id: Option<i64>,
}

/// Applies `events` in one transaction; `spans[i]` (when given) is the span event `i`'s work
/// runs in, so each event's trace continues from its message. Any database error rolls the
/// whole batch back and is returned: the caller retries or isolates the faulty event.
pub async fn apply_batch(
    pool: &PgPool,
    events: &[EmailEvent],
    spans: Option<&[tracing::Span]>,
    rules: &ScoringRules,
) -> Result<Vec<Outcome>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let fresh = claim_event_keys(&mut tx, events).await?;

    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&events[a], &events[b]);
        (&x.provider, &x.external_id, x.occurred_at, &x.event_key).cmp(&(
            &y.provider,
            &y.external_id,
            y.occurred_at,
            &y.event_key,
        ))
    });

    let mut outcomes = vec![Outcome::Duplicate; events.len()];
    let mut claimed: HashSet<&str> = HashSet::new();
    let mut scores: BTreeMap<i64, Vec<ScoreItem>> = BTreeMap::new();
    for index in order {
        let event = &events[index];
        // A key seen twice in one batch is applied once.
        if !fresh.contains(&event.event_key) || !claimed.insert(&event.event_key) {
            continue;
        }
        let span = spans
            .and_then(|s| s.get(index).cloned())
            .unwrap_or_else(tracing::Span::none);
        match apply_event(&mut tx, event, rules).instrument(span).await? {
            Ok(score) => {
                outcomes[index] = Outcome::Applied;
                if let Some(item) = score {
                    scores.entry(item.person_id).or_default().push(item);
                }
            }
            Err(reason) => {
                // Release the key so the event can be re-driven once its data exists.
                sqlx::query!(
                    "DELETE FROM processed_events WHERE event_key = $1",
                    event.event_key
                )
                .execute(&mut *tx)
                .await?;
                outcomes[index] = Outcome::Poison(reason);
            }
        }
    }
    apply_scores(&mut tx, scores, rules).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// Inserts every key; returns those that were not there yet.
async fn claim_event_keys(
    tx: &mut Transaction<'_, Postgres>,
    events: &[EmailEvent],
) -> Result<HashSet<String>, sqlx::Error> {
    let keys: Vec<&str> = events.iter().map(|e| e.event_key.as_str()).collect();
    let providers: Vec<&str> = events.iter().map(|e| e.provider.as_str()).collect();
    let fresh = sqlx::query_scalar!(
        "INSERT INTO processed_events (event_key, provider)
         SELECT * FROM UNNEST($1::text[], $2::text[])
         ON CONFLICT (event_key) DO NOTHING
         RETURNING event_key",
        &keys as &[&str],
        &providers as &[&str]
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(fresh.into_iter().collect())
}

/// The send's effects of one event. `Ok(Err(reason))`: poison, nothing written.
async fn apply_event(
    tx: &mut Transaction<'_, Postgres>,
    event: &EmailEvent,
    rules: &ScoringRules,
) -> Result<Result<Option<ScoreItem>, String>, sqlx::Error> {
    let person = match resolve_person(tx, event).await? {
        Ok(person) => person,
        Err(reason) => return Ok(Err(reason)),
    };
    // An erased person's send takes no more events, and an event for an erased address that
    // names nobody identifies nobody: nothing is written (the event is acknowledged).
    let erased = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM email_sends
                          WHERE provider = $1 AND external_id = $2 AND erased_at IS NOT NULL)
               OR ($3::text IS NOT NULL AND $4 AND EXISTS (
                   SELECT 1 FROM erased_addresses
                   WHERE email_sha256 = sha256(convert_to(lower(btrim($3)), 'UTF8'))))
               AS "erased!""#,
        event.provider,
        event.external_id,
        event.recipient,
        person.is_none()
    )
    .fetch_one(&mut **tx)
    .await?;
    if erased {
        return Ok(Ok(None));
    }
    if let Some(org) = event.organisation_id {
        let exists = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM organisations WHERE id = $1) AS "exists!""#,
            org
        )
        .fetch_one(&mut **tx)
        .await?;
        if !exists {
            return Ok(Err(format!("unknown organisation_id {org}")));
        }
    }
    let organisation_id = event.organisation_id.or(person.and_then(|(_, org)| org));
    let human_open = event.event == EventKind::Opened && !event.machine_open;
    let at = event.occurred_at;
    let when = |kind: EventKind| (event.event == kind).then_some(at);
    // The status an event proves; events that prove none pass the lowest, which changes nothing.
    let status = match event.event {
        EventKind::Delivered => "delivered",
        EventKind::Opened if human_open => "opened",
        EventKind::Clicked => "clicked",
        EventKind::Bounced => "bounced",
        _ => "sent",
    };
    let send = sqlx::query_as!(
        SendRow,
        "INSERT INTO email_sends AS s (provider, external_id, person_id, organisation_id, subject,
             recipient, status, sent_at, delivered_at, open_count, click_count, machine_open_count,
             first_open_at, last_open_at, last_click_at, bounced_at, complained_at, unsubscribed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7::email_status, $8, $9, $10, $11, $12, $13, $13, $14,
                 $15, $16, $17)
         ON CONFLICT (provider, external_id) DO UPDATE SET
             person_id = COALESCE(s.person_id, EXCLUDED.person_id),
             organisation_id = COALESCE(s.organisation_id, EXCLUDED.organisation_id),
             subject = COALESCE(s.subject, EXCLUDED.subject),
             recipient = COALESCE(s.recipient, EXCLUDED.recipient),
             status = GREATEST(s.status, EXCLUDED.status),
             sent_at = LEAST(s.sent_at, EXCLUDED.sent_at),
             delivered_at = LEAST(s.delivered_at, EXCLUDED.delivered_at),
             open_count = s.open_count + EXCLUDED.open_count,
             click_count = s.click_count + EXCLUDED.click_count,
             machine_open_count = s.machine_open_count + EXCLUDED.machine_open_count,
             first_open_at = LEAST(s.first_open_at, EXCLUDED.first_open_at),
             last_open_at = GREATEST(s.last_open_at, EXCLUDED.last_open_at),
             last_click_at = GREATEST(s.last_click_at, EXCLUDED.last_click_at),
             bounced_at = LEAST(s.bounced_at, EXCLUDED.bounced_at),
             complained_at = LEAST(s.complained_at, EXCLUDED.complained_at),
             unsubscribed_at = LEAST(s.unsubscribed_at, EXCLUDED.unsubscribed_at),
             updated_at = now()
         RETURNING id, person_id, open_count, click_count, interaction_id",
        event.provider,
        event.external_id,
        person.map(|(id, _)| id),
        organisation_id,
        event.subject,
        event.recipient,
        status as &str,
        when(EventKind::Sent),
        when(EventKind::Delivered),
        i32::from(human_open),
        i32::from(event.event == EventKind::Clicked),
        i32::from(event.event == EventKind::Opened && event.machine_open),
        human_open.then_some(at),
        when(EventKind::Clicked),
        when(EventKind::Bounced),
        when(EventKind::Complained),
        when(EventKind::Unsubscribed)
    )
    .fetch_one(&mut **tx)
    .await?;

    // Under the send's row lock exactly one open sees the counter at 1.
    let first_open = human_open && send.open_count == 1;
    if first_open && send.interaction_id.is_none() {
        create_open_interaction(tx, event, send.id).await?;
    }

    if event.event == EventKind::Opened && event.machine_open {
        return Ok(Ok(None));
    }
    let first_of_kind = match event.event {
        EventKind::Opened => first_open,
        EventKind::Clicked => send.click_count == 1,
        _ => true,
    };
    let change = rules.change_for(event.event, first_of_kind);
    Ok(Ok(match send.person_id {
        Some(person_id) if change.delta != 0 => Some(ScoreItem {
            person_id,
            delta: change.delta,
            reason: change.reason,
            event_key: event.event_key.clone(),
            send_id: send.id,
            occurred_at: at,
        }),
        _ => None,
    }))
}

/// `Ok(Some((person, organisation)))` by `person_id`, else by the CRM's id
/// (`person_external_id`), else by address; `Ok(None)` when the event names nobody we know,
/// `Err` when it names a person id that does not exist. An unknown CRM id falls back to the
/// address (the CRM may not have sent that person yet).
async fn resolve_person(
    tx: &mut Transaction<'_, Postgres>,
    event: &EmailEvent,
) -> Result<Result<Option<(i64, Option<i64>)>, String>, sqlx::Error> {
    if let Some(id) = event.person_id {
        let found = sqlx::query!("SELECT id, organisation_id FROM people WHERE id = $1", id)
            .fetch_optional(&mut **tx)
            .await?;
        return Ok(found
            .map(|p| Some((p.id, p.organisation_id)))
            .ok_or_else(|| format!("unknown person_id {id}")));
    }
    if let Some(external_id) = &event.person_external_id {
        let found = sqlx::query!(
            "SELECT id, organisation_id FROM people WHERE external_id = $1",
            external_id
        )
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(p) = found {
            return Ok(Ok(Some((p.id, p.organisation_id))));
        }
    }
    if let Some(recipient) = &event.recipient {
        let found = sqlx::query!(
            "SELECT id, organisation_id FROM people WHERE lower(email) = lower($1)",
            recipient.trim()
        )
        .fetch_optional(&mut **tx)
        .await?;
        return Ok(Ok(found.map(|p| (p.id, p.organisation_id))));
    }
    Ok(Ok(None))
}

/// The first open of a send puts a follow-up in the inbox: an email interaction for the
/// person (and organisation), assigned to the person's owner when they have one, status todo,
/// no due date (it sorts after dated work). Linked to the send in the same statement.
async fn create_open_interaction(
    tx: &mut Transaction<'_, Postgres>,
    event: &EmailEvent,
    send_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH send AS (
             SELECT id, person_id, organisation_id, subject FROM email_sends WHERE id = $1
         ), created AS (
             INSERT INTO crm_interactions (type, title, description, organisation_id, person_id,
                                           assignee_id, status)
             SELECT 'email',
                    CASE WHEN send.subject IS NULL OR send.subject = '' THEN 'Email ouvert'
                         ELSE 'Email ouvert : ' || send.subject END,
                    $2, send.organisation_id, send.person_id,
                    (SELECT owner_id FROM people WHERE id = send.person_id), 'todo'
             FROM send
             RETURNING id
         )
         UPDATE email_sends SET interaction_id = (SELECT id FROM created) WHERE id = $1",
        send_id,
        format!(
            "Première ouverture le {} ({} · {})",
            event.occurred_at.format("%d/%m/%Y à %H:%M UTC"),
            event.provider,
            event.external_id
        )
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Per person, in id order (one lock order for every replica): fold the deltas onto the
/// current score with the floor, store it, and record each change; then the hot-lead
/// interactions of the people whose score crossed the threshold.
async fn apply_scores(
    tx: &mut Transaction<'_, Postgres>,
    scores: BTreeMap<i64, Vec<ScoreItem>>,
    rules: &ScoringRules,
) -> Result<(), sqlx::Error> {
    if scores.is_empty() {
        return Ok(());
    }
    let mut history = HistoryRows::default();
    let mut hot = HotLeads::default();
    for (person_id, mut items) in scores {
        items.sort_by(|a, b| (a.occurred_at, &a.event_key).cmp(&(b.occurred_at, &b.event_key)));
        // Creates the row if needed and locks it either way, returning the current state.
        let current = sqlx::query!(
            "INSERT INTO lead_scores (person_id, score) VALUES ($1, 0)
             ON CONFLICT (person_id) DO UPDATE SET person_id = EXCLUDED.person_id
             RETURNING score, hot_armed",
            person_id
        )
        .fetch_one(&mut **tx)
        .await?;
        let (mut score, armed) = (current.score, current.hot_armed);
        let mut tracker = HotLeadTracker::new(rules, score, armed);
        let mut crossed = false;
        let mut last_event_at = None;
        for item in items {
            score = apply_floor(score, item.delta);
            crossed |= tracker.move_to(score);
            last_event_at = last_event_at.max(Some(item.occurred_at));
            history.push(item, score);
        }
        sqlx::query!(
            "UPDATE lead_scores SET score = $2, last_event_at = GREATEST(last_event_at, $3),
                    hot_armed = $4, updated_at = now()
             WHERE person_id = $1",
            person_id,
            score,
            last_event_at,
            tracker.armed()
        )
        .execute(&mut **tx)
        .await?;
        if crossed {
            hot.person_id.push(person_id);
            hot.score.push(score);
        }
    }
    history.insert(tx).await?;
    hot.create_interactions(tx, rules).await
}

/// People who became hot leads in this batch. Several crossings of one person inside one
/// batch (up, below the re-arm mark, up again within the same transaction) make one
/// interaction: they would be identical, moments apart.
#[derive(Default)]
struct HotLeads {
    person_id: Vec<i64>,
    score: Vec<i32>,
}

impl HotLeads {
    /// One "Lead chaud : <name>" call to make now, for the person's owner (unassigned when the
    /// person has none or the owner is deactivated), in the same transaction as the score.
    async fn create_interactions(
        self,
        tx: &mut Transaction<'_, Postgres>,
        rules: &ScoringRules,
    ) -> Result<(), sqlx::Error> {
        if self.person_id.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "INSERT INTO crm_interactions (type, title, description, person_id, organisation_id,
                                           assignee_id, status, next_action_at)
             SELECT 'call',
                    'Lead chaud : ' || COALESCE(NULLIF(btrim(p.first_name || ' ' || p.last_name), ''),
                                                p.email, 'personne n° ' || p.id),
                    'Score de ' || hot.score || ' : le seuil de ' || $3::int
                        || ' est franchi. À appeler pendant que l''intérêt est là.',
                    p.id, p.organisation_id,
                    (SELECT u.id FROM users u WHERE u.id = p.owner_id AND u.is_active),
                    'todo', now()
             FROM UNNEST($1::bigint[], $2::int[]) AS hot(person_id, score)
             JOIN people p ON p.id = hot.person_id
             ORDER BY p.id",
            &self.person_id,
            &self.score,
            rules.hot_threshold
        )
        .execute(&mut **tx)
        .await?;
        metrics::counter!("scoring_hot_leads_total").increment(self.person_id.len() as u64);
        Ok(())
    }
}

#[derive(Default)]
struct HistoryRows {
    person_id: Vec<i64>,
    delta: Vec<i32>,
    score_after: Vec<i32>,
    reason: Vec<&'static str>,
    event_key: Vec<String>,
    send_id: Vec<i64>,
    occurred_at: Vec<DateTime<Utc>>,
}

impl HistoryRows {
    fn push(&mut self, item: ScoreItem, score_after: i32) {
        self.person_id.push(item.person_id);
        self.delta.push(item.delta);
        self.score_after.push(score_after);
        self.reason.push(item.reason.as_str());
        self.event_key.push(item.event_key);
        self.send_id.push(item.send_id);
        self.occurred_at.push(item.occurred_at);
    }

    async fn insert(self, tx: &mut Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "INSERT INTO lead_score_history
                 (person_id, delta, score_after, reason, event_key, email_send_id, occurred_at)
             SELECT * FROM UNNEST($1::bigint[], $2::int[], $3::int[], $4::text[], $5::text[],
                                  $6::bigint[], $7::timestamptz[])",
            &self.person_id,
            &self.delta,
            &self.score_after,
            &self.reason as &[&str],
            &self.event_key,
            &self.send_id,
            &self.occurred_at
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
