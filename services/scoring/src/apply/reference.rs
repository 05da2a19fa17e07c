//! The reference: one event per transaction, the straightforward way (a lookup per reference,
//! an upsert per event, the first open decided by the counter the upsert returns). It is what
//! [`super::apply_batch`] must agree with — the property test in `tests/apply.rs` runs both on
//! random events split into random batches and compares the databases — and the benchmark's
//! "one commit per event" baseline. The score fold and its writes are the batch's own
//! ([`Effects`]): with one event per transaction they are a single step. Its send upsert
//! repeats the batch's merge rules on purpose: a reference sharing them could not catch a
//! mistake in them.

use std::collections::HashMap;

use sqlx::{PgPool, Postgres, Transaction};

use relance_shared::event::{EmailEvent, EventKind};
use relance_shared::scoring::ScoringRules;

use super::plan::{self, Effects, FirstOpen, Person, ScoreItem};
use super::{sql, Assignment, Outcome};

/// Applies one event in a transaction of its own.
pub async fn apply_one(
    pool: &PgPool,
    event: &EmailEvent,
    rules: &ScoringRules,
    assignment: &Assignment,
) -> Result<Outcome, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let claimed = sqlx::query_scalar!(
        "INSERT INTO processed_events (event_key, provider) VALUES ($1, $2)
         ON CONFLICT (event_key) DO NOTHING RETURNING event_key",
        event.event_key,
        event.provider
    )
    .fetch_optional(&mut *tx)
    .await?;
    if claimed.is_none() {
        return Ok(Outcome::Duplicate);
    }
    let mut effects = Effects::default();
    let outcome = match apply_event(&mut tx, event, rules, &mut effects).await? {
        Ok(()) => Outcome::Applied,
        Err(reason) => {
            effects.released_keys.push(event.event_key.clone());
            Outcome::Poison(reason)
        }
    };
    if !effects.is_empty() {
        sql::write_effects(&mut tx, &effects, rules.hot_threshold, assignment).await?;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// What happens to an event before any write.
enum Gate {
    Apply,
    /// Its send, or its unmatched recipient, was erased: nothing happens.
    Erased,
    Poison(String),
}

/// Erased sends and addresses (`unmatched`: no person was found for the event) take no more
/// events; an unknown organisation is poison.
async fn gate(
    tx: &mut Transaction<'_, Postgres>,
    event: &EmailEvent,
    unmatched: bool,
) -> Result<Gate, sqlx::Error> {
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
        unmatched
    )
    .fetch_one(&mut **tx)
    .await?;
    if erased {
        return Ok(Gate::Erased);
    }
    if let Some(org) = event.organisation_id {
        let exists = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM organisations WHERE id = $1) AS "exists!""#,
            org
        )
        .fetch_one(&mut **tx)
        .await?;
        if !exists {
            return Ok(Gate::Poison(format!("unknown organisation_id {org}")));
        }
    }
    Ok(Gate::Apply)
}

/// The event's effects. `Ok(Err(reason))`: poison, nothing written.
async fn apply_event(
    tx: &mut Transaction<'_, Postgres>,
    event: &EmailEvent,
    rules: &ScoringRules,
    effects: &mut Effects,
) -> Result<Result<(), String>, sqlx::Error> {
    let person = match resolve_person(tx, event).await? {
        Ok(person) => person,
        Err(reason) => return Ok(Err(reason)),
    };
    match gate(tx, event, person.is_none()).await? {
        Gate::Apply => {}
        Gate::Erased => return Ok(Ok(())),
        Gate::Poison(reason) => return Ok(Err(reason)),
    }
    let organisation_id = event.organisation_id.or(person.and_then(|(_, org)| org));
    let human_open = plan::human_open(event);
    let at = event.occurred_at;
    let when = |kind: EventKind| (event.event == kind).then_some(at);
    let send = sqlx::query!(
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
        plan::status_of(event) as &str,
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
        effects.first_opens.push(FirstOpen::new(event, send.id));
    }
    if event.event == EventKind::Opened && event.machine_open {
        return Ok(Ok(()));
    }
    let first_of_kind = match event.event {
        EventKind::Opened => first_open,
        EventKind::Clicked => send.click_count == 1,
        _ => true,
    };
    let change = rules.change_for(event.event, first_of_kind);
    let Some(person_id) = send.person_id.filter(|_| change.delta != 0) else {
        return Ok(Ok(()));
    };
    let current = sqlx::query!(
        "INSERT INTO lead_scores (person_id, score) VALUES ($1, 0)
         ON CONFLICT (person_id) DO UPDATE SET person_id = EXCLUDED.person_id
         RETURNING score, hot_armed",
        person_id
    )
    .fetch_one(&mut **tx)
    .await?;
    let item = ScoreItem {
        person_id,
        delta: change.delta,
        reason: change.reason,
        event_key: event.event_key.clone(),
        send_id: send.id,
        occurred_at: at,
    };
    let locked = HashMap::from([(person_id, (current.score, current.hot_armed))]);
    effects
        .fold_scores(vec![item], &locked, rules)
        .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    Ok(Ok(()))
}

/// `Ok(Some(person))` by `person_id`, else by the CRM's id (`person_external_id`), else by
/// address; `Ok(None)` when the event names nobody we know, `Err` when it names a person id
/// that does not exist. An unknown CRM id falls back to the address.
async fn resolve_person(
    tx: &mut Transaction<'_, Postgres>,
    event: &EmailEvent,
) -> Result<Result<Option<Person>, String>, sqlx::Error> {
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
