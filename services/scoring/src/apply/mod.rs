//! Applying email events to the database, a batch per transaction, each event exactly once,
//! in a fixed number of statements whatever the batch's size.
//!
//! For a batch, in one transaction (round trips: begin, three statements, commit):
//! 1. [`sql::claim_and_resolve`]: claim every distinct event key in `processed_events`, in key
//!    order (a key already there is a duplicate and changes nothing), and resolve the claimed
//!    events' people, organisations and erasures. [`plan::decide`] sorts out the poison (an
//!    unknown person or organisation id: it can never apply) and the erased;
//! 2. [`sql::upsert_sends_and_lock_scores`]: one upsert per send folding the batch's events
//!    of that send ([`plan::SendUpserts`]: greatest status, summed counters, earliest and
//!    latest timestamps), sends in (provider, external_id) order, then create-or-lock the
//!    score rows of their people in id order;
//! 3. in Rust, [`plan::score_changes`] decides each send's first open and first click from
//!    its counters before the batch (the row's minus the batch's) and the events' rank inside
//!    it, and [`plan::Effects::fold_scores`] folds each person's changes with the floor at 0
//!    (the property-tested [`relance_shared::scoring`] rules and hot-lead tracker);
//! 4. [`sql::write_effects`]: scores, history, first-open and hot-lead interactions, and the
//!    poison events' released keys, in one statement.
//!
//! Why this is order-independent: a send's status is the greatest status seen (`email_status`
//! is declared in progression order, `bounced` last and final), and its first open is the
//! earliest open of the batch that finds the counter at 0 under the row lock, so n opens
//! always score `first_open + (n-1)·later_open` whatever their order and batching.
//! [`reference`] applies one event per transaction, the straightforward way; a property test
//! checks that both reach the same state for random events split into random batches.
//!
//! A person is matched by `person_id`, else by the CRM's id, else by recipient email
//! (case-insensitive). Events naming nobody still update the send, and score the send's
//! person when one is known: named by an earlier batch, or by another event of the send in
//! the same batch (a batch links all of a send's events to the person it resolves to; one
//! event at a time would leave out those before the naming one).

mod assign;
mod plan;
pub mod reference;
mod sql;

pub use assign::{Assigned, Assignment};

use std::collections::HashMap;

use sqlx::PgPool;

use relance_shared::event::EmailEvent;
use relance_shared::scoring::ScoringRules;

use plan::{Decision, Effects, LiveEvent, SendUpserts};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Already applied (a redelivery or a re-post): acknowledged, nothing changed.
    Duplicate,
    /// Can never apply; goes to the DLQ with this reason.
    Poison(String),
}

/// Applies `events` in one transaction; `spans[i]` (when given) is event `i`'s span, where its
/// outcome is recorded, so each event's trace continues from its message. Any database error
/// rolls the whole batch back and is returned: the caller retries or isolates the faulty event.
pub async fn apply_batch(
    pool: &PgPool,
    events: &[EmailEvent],
    spans: Option<&[tracing::Span]>,
    rules: &ScoringRules,
    assignment: &Assignment,
) -> Result<Vec<Outcome>, sqlx::Error> {
    let mut outcomes = vec![Outcome::Duplicate; events.len()];
    // A key seen twice in one batch is applied once: its first occurrence stands for it.
    let mut distinct: Vec<usize> = (0..events.len()).collect();
    distinct.sort_by(|&a, &b| (&events[a].event_key, a).cmp(&(&events[b].event_key, b)));
    distinct.dedup_by(|a, b| events[*a].event_key == events[*b].event_key);
    let claim: Vec<&EmailEvent> = distinct.iter().map(|&i| &events[i]).collect();

    let mut tx = pool.begin().await?;
    let resolved = sql::claim_and_resolve(&mut tx, &claim).await?;

    let mut effects = Effects::default();
    let mut live = Vec::with_capacity(resolved.len());
    for (n, resolution) in resolved {
        let Some(&index) = distinct.get(n) else {
            continue;
        };
        let event = &events[index];
        outcomes[index] = match plan::decide(event, &resolution) {
            Decision::Poison(reason) => {
                // Released so the event can be re-driven once its data exists.
                effects.released_keys.push(event.event_key.clone());
                Outcome::Poison(reason)
            }
            Decision::Erased => Outcome::Applied,
            Decision::Live(person) => {
                live.push(LiveEvent { event, person });
                Outcome::Applied
            }
        };
    }

    let groups = plan::group_by_send(live);
    if !groups.is_empty() {
        let upserts = SendUpserts::fold(&groups, rules);
        let sends = sql::upsert_sends_and_lock_scores(&mut tx, &upserts).await?;
        let mut items = Vec::new();
        let mut locked = HashMap::new();
        for group in &groups {
            // Not returned: erased while this batch waited for it; its events change nothing.
            let key = (group.provider.to_owned(), group.external_id.to_owned());
            let Some(send) = sends.get(&key) else {
                continue;
            };
            if let (Some(person_id), Some(score)) = (send.person_id, send.score) {
                locked.insert(person_id, score);
            }
            effects
                .first_opens
                .extend(plan::score_changes(group, send, rules, &mut items));
        }
        effects
            .fold_scores(items, &locked, rules)
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    }
    if !effects.is_empty() {
        sql::write_effects(&mut tx, &effects, rules.hot_threshold, assignment).await?;
    }
    tx.commit().await?;

    if let Some(spans) = spans {
        for (span, outcome) in spans.iter().zip(&outcomes) {
            span.in_scope(|| tracing::debug!(?outcome, "event settled in its batch"));
        }
    }
    Ok(outcomes)
}
