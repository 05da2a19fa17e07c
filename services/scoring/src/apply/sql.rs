//! The batch's three statements. Each takes the whole batch as arrays, so a batch costs the
//! same number of round trips (begin, these three, commit) whatever its size. Locks are taken
//! in one order everywhere — event keys, then sends, then scores, each sorted — so replicas
//! (and batches in flight in one replica) wait for each other but never deadlock. Their plans
//! at a realistic size are in `docs/benchmarks.md`.

use std::collections::HashMap;

use sqlx::{Postgres, Transaction};

use relance_shared::event::EmailEvent;

use super::assign::Assignment;
use super::plan::{Effects, Resolution, SendUpserts, UpsertedSend};

/// Claims the keys of `events` (distinct keys, sorted by key) in `processed_events` and, for
/// those not there yet, resolves their references in the same statement: the person (by id,
/// else by the CRM's id, else by address: an index lookup each), whether the organisation
/// exists, whether the send or the address was erased. Returns, per claimed event, its
/// position in `events` and its [`Resolution`]; an event not returned is a duplicate.
pub async fn claim_and_resolve(
    tx: &mut Transaction<'_, Postgres>,
    events: &[&EmailEvent],
) -> Result<Vec<(usize, Resolution)>, sqlx::Error> {
    let key: Vec<&str> = events.iter().map(|e| e.event_key.as_str()).collect();
    let provider: Vec<&str> = events.iter().map(|e| e.provider.as_str()).collect();
    let external_id: Vec<&str> = events.iter().map(|e| e.external_id.as_str()).collect();
    let person_id: Vec<Option<i64>> = events.iter().map(|e| e.person_id).collect();
    let person_external_id: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.person_external_id.as_deref())
        .collect();
    let recipient: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.recipient.as_deref().map(str::trim))
        .collect();
    let organisation_id: Vec<Option<i64>> = events.iter().map(|e| e.organisation_id).collect();
    let rows = sqlx::query!(
        r#"WITH claimed AS (
               INSERT INTO processed_events (event_key, provider)
               SELECT * FROM UNNEST($1::text[], $2::text[])
               ON CONFLICT (event_key) DO NOTHING
               RETURNING event_key
           )
           SELECT e.n AS "n!",
                  p.id AS "person_id?",
                  p.organisation_id AS "person_organisation_id?",
                  (e.organisation_id IS NULL
                   OR EXISTS (SELECT 1 FROM organisations o WHERE o.id = e.organisation_id))
                      AS "organisation_known!",
                  EXISTS (SELECT 1 FROM email_sends s
                          WHERE s.provider = e.provider AND s.external_id = e.external_id
                            AND s.erased_at IS NOT NULL) AS "send_erased!",
                  (p.id IS NULL AND e.recipient IS NOT NULL AND EXISTS (
                      SELECT 1 FROM erased_addresses a
                      WHERE a.email_sha256 = sha256(convert_to(lower(e.recipient), 'UTF8'))))
                      AS "address_erased!"
           FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                       $7::bigint[]) WITH ORDINALITY
                AS e(event_key, provider, external_id, person_id, person_external_id, recipient,
                     organisation_id, n)
           JOIN claimed USING (event_key)
           LEFT JOIN LATERAL (
               (SELECT id, organisation_id FROM people WHERE id = e.person_id)
               UNION ALL
               (SELECT id, organisation_id FROM people
                WHERE e.person_id IS NULL AND external_id = e.person_external_id)
               UNION ALL
               (SELECT id, organisation_id FROM people
                WHERE e.person_id IS NULL AND lower(email) = lower(e.recipient))
               LIMIT 1
           ) p ON true"#,
        &key as &[&str],
        &provider as &[&str],
        &external_id as &[&str],
        &person_id as &[Option<i64>],
        &person_external_id as &[Option<&str>],
        &recipient as &[Option<&str>],
        &organisation_id as &[Option<i64>],
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let person = row.person_id.map(|id| (id, row.person_organisation_id));
            let resolution = Resolution {
                person,
                organisation_known: row.organisation_known,
                send_erased: row.send_erased,
                address_erased: row.address_erased,
            };
            // ORDINALITY counts from 1.
            (usize::try_from(row.n - 1).unwrap_or(usize::MAX), resolution)
        })
        .collect())
}

/// Upserts every send of the batch in one statement (in the order given: (provider,
/// external_id)), then creates-or-locks the score rows of their people, in id order. A send
/// erased meanwhile is left alone and not returned. Returns the sends by (provider,
/// external_id), each with its person's score and hot-lead state when locked.
pub async fn upsert_sends_and_lock_scores(
    tx: &mut Transaction<'_, Postgres>,
    sends: &SendUpserts,
) -> Result<HashMap<(String, String), UpsertedSend>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"WITH upserted AS (
               INSERT INTO email_sends AS s (provider, external_id, person_id, organisation_id,
                   subject, recipient, status, sent_at, delivered_at, open_count, click_count,
                   machine_open_count, first_open_at, last_open_at, last_click_at, bounced_at,
                   complained_at, unsubscribed_at)
               SELECT u.provider, u.external_id, u.person_id, u.organisation_id, u.subject,
                      u.recipient, u.status::email_status, u.sent_at, u.delivered_at, u.open_count,
                      u.click_count, u.machine_open_count, u.first_open_at, u.last_open_at,
                      u.last_click_at, u.bounced_at, u.complained_at, u.unsubscribed_at
               FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[],
                           $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[],
                           $10::int[], $11::int[], $12::int[], $13::timestamptz[],
                           $14::timestamptz[], $15::timestamptz[], $16::timestamptz[],
                           $17::timestamptz[], $18::timestamptz[])
                    AS u(provider, external_id, person_id, organisation_id, subject, recipient,
                         status, sent_at, delivered_at, open_count, click_count,
                         machine_open_count, first_open_at, last_open_at, last_click_at,
                         bounced_at, complained_at, unsubscribed_at)
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
               -- Re-checked on the latest row version: an erasure committed while this
               -- waited for the row is never undone.
               WHERE s.erased_at IS NULL
               RETURNING s.id, s.provider, s.external_id, s.person_id, s.open_count,
                         s.click_count, s.interaction_id
           ), locked AS (
               INSERT INTO lead_scores AS l (person_id, score)
               SELECT DISTINCT up.person_id, 0
               FROM upserted up
               JOIN UNNEST($1::text[], $2::text[], $19::bool[]) AS w(provider, external_id, scores)
                 ON w.provider = up.provider AND w.external_id = up.external_id
               WHERE w.scores AND up.person_id IS NOT NULL
               ORDER BY 1
               ON CONFLICT (person_id) DO UPDATE SET person_id = EXCLUDED.person_id
               RETURNING l.person_id, l.score, l.hot_armed
           )
           SELECT up.id AS "id!", up.provider AS "provider!", up.external_id AS "external_id!",
                  up.person_id AS "person_id?", up.open_count AS "open_count!",
                  up.click_count AS "click_count!", up.interaction_id AS "interaction_id?",
                  locked.score AS "score?", locked.hot_armed AS "hot_armed?"
           FROM upserted up LEFT JOIN locked ON locked.person_id = up.person_id"#,
        &sends.provider,
        &sends.external_id,
        &sends.person_id as &[Option<i64>],
        &sends.organisation_id as &[Option<i64>],
        &sends.subject as &[Option<String>],
        &sends.recipient as &[Option<String>],
        &sends.status as &[&str],
        &sends.sent_at as _,
        &sends.delivered_at as _,
        &sends.open_count,
        &sends.click_count,
        &sends.machine_open_count,
        &sends.first_open_at as _,
        &sends.last_open_at as _,
        &sends.last_click_at as _,
        &sends.bounced_at as _,
        &sends.complained_at as _,
        &sends.unsubscribed_at as _,
        &sends.may_score,
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let send = UpsertedSend {
                id: row.id,
                person_id: row.person_id,
                open_count: row.open_count,
                click_count: row.click_count,
                interaction_id: row.interaction_id,
                score: row.score.zip(row.hot_armed),
            };
            ((row.provider, row.external_id), send)
        })
        .collect())
}

/// Who gets each new interaction (and a hot lead's deadline), decided under the batch's
/// transaction: the first opens' people (read from their sends), then the hot leads'.
async fn assign_new(
    tx: &mut Transaction<'_, Postgres>,
    open_send: &[i64],
    hot_people: &[i64],
    assignment: &Assignment,
) -> Result<
    (
        Vec<Option<i64>>,
        Vec<Option<i64>>,
        Vec<Option<chrono::DateTime<chrono::Utc>>>,
    ),
    sqlx::Error,
> {
    let mut people: Vec<Option<i64>> = if open_send.is_empty() {
        Vec::new()
    } else {
        let of_send: HashMap<i64, Option<i64>> = sqlx::query!(
            "SELECT id, person_id FROM email_sends WHERE id = ANY($1)",
            open_send
        )
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|r| (r.id, r.person_id))
        .collect();
        open_send
            .iter()
            .map(|s| of_send.get(s).copied().flatten())
            .collect()
    };
    people.extend(hot_people.iter().map(|p| Some(*p)));
    let sla: Vec<bool> = (0..people.len()).map(|n| n >= open_send.len()).collect();
    let assigned = assignment
        .assign(tx, &people, &sla, chrono::Utc::now())
        .await?;
    let (opens, hot) = assigned.split_at(open_send.len().min(assigned.len()));
    Ok((
        opens.iter().map(|a| a.assignee).collect(),
        hot.iter().map(|a| a.assignee).collect(),
        hot.iter().map(|a| a.sla_due_at).collect(),
    ))
}

/// Writes everything else in one statement: releases the poison events' keys, stores the
/// folded scores, appends the history, creates the first-open and hot-lead interactions (one
/// insert, so the inbox's statement triggers fire once per batch) and links each send to its
/// first-open interaction.
pub async fn write_effects(
    tx: &mut Transaction<'_, Postgres>,
    effects: &Effects,
    hot_threshold: i32,
    assignment: &Assignment,
) -> Result<(), sqlx::Error> {
    let (scores, history, hot) = (&effects.scores, &effects.history, &effects.hot_leads);
    let open_send: Vec<i64> = effects.first_opens.iter().map(|f| f.send_id).collect();
    let open_description: Vec<&str> = effects
        .first_opens
        .iter()
        .map(|f| f.description.as_str())
        .collect();
    let (open_assignee, hot_assignee, hot_sla) =
        assign_new(tx, &open_send, &hot.person_id, assignment).await?;
    sqlx::query!(
        r#"WITH released AS (
               DELETE FROM processed_events WHERE event_key = ANY($1::text[])
           ), scores AS (
               UPDATE lead_scores l SET score = u.score,
                      last_event_at = GREATEST(l.last_event_at, u.last_event_at),
                      hot_armed = u.armed, updated_at = now()
               FROM UNNEST($2::bigint[], $3::int[], $4::timestamptz[], $5::bool[])
                    AS u(person_id, score, last_event_at, armed)
               WHERE l.person_id = u.person_id
           ), history AS (
               INSERT INTO lead_score_history
                   (person_id, delta, score_after, reason, event_key, email_send_id, occurred_at)
               SELECT * FROM UNNEST($6::bigint[], $7::int[], $8::int[], $9::text[], $10::text[],
                                    $11::bigint[], $12::timestamptz[])
           ), opened AS (
               -- Ids drawn first, so the sends can point at the rows created with them.
               SELECT nextval(pg_get_serial_sequence('crm_interactions', 'id')) AS id,
                      o.send_id, o.description, o.assignee_id
               FROM UNNEST($13::bigint[], $14::text[], $18::bigint[])
                    AS o(send_id, description, assignee_id)
           ), created AS (
               INSERT INTO crm_interactions (id, type, title, description, organisation_id,
                                             person_id, assignee_id, status, next_action_at,
                                             sla_due_at)
               SELECT opened.id, 'email'::interaction_type,
                      CASE WHEN s.subject IS NULL OR s.subject = '' THEN 'Email ouvert'
                           ELSE 'Email ouvert : ' || s.subject END,
                      opened.description, s.organisation_id, s.person_id, opened.assignee_id,
                      'todo'::interaction_status, NULL::timestamptz, NULL::timestamptz
               FROM opened
               JOIN email_sends s ON s.id = opened.send_id
               UNION ALL
               -- A call to make now, for whom assign.rs chose, with its first-touch deadline.
               SELECT nextval(pg_get_serial_sequence('crm_interactions', 'id')),
                      'call'::interaction_type,
                      'Lead chaud : ' || COALESCE(NULLIF(btrim(p.first_name || ' ' || p.last_name), ''),
                                                  p.email, 'personne n° ' || p.id),
                      'Score de ' || hot.score || ' : le seuil de ' || $17::int
                          || ' est franchi. À appeler pendant que l''intérêt est là.',
                      p.organisation_id, p.id, hot.assignee_id,
                      'todo'::interaction_status, now(), hot.sla_due_at
               FROM UNNEST($15::bigint[], $16::int[], $19::bigint[], $20::timestamptz[])
                    AS hot(person_id, score, assignee_id, sla_due_at)
               JOIN people p ON p.id = hot.person_id
               RETURNING id
           )
           UPDATE email_sends s SET interaction_id = opened.id
           FROM opened WHERE s.id = opened.send_id"#,
        &effects.released_keys,
        &scores.person_id,
        &scores.score,
        &scores.last_event_at as _,
        &scores.armed,
        &history.person_id,
        &history.delta,
        &history.score_after,
        &history.reason as &[&str],
        &history.event_key,
        &history.send_id,
        &history.occurred_at,
        &open_send,
        &open_description as &[&str],
        &hot.person_id,
        &hot.score,
        hot_threshold,
        &open_assignee as &[Option<i64>],
        &hot_assignee as &[Option<i64>],
        &hot_sla as &[Option<chrono::DateTime<chrono::Utc>>],
    )
    .execute(&mut **tx)
    .await?;
    if !hot.person_id.is_empty() {
        metrics::counter!("scoring_hot_leads_total").increment(hot.person_id.len() as u64);
    }
    Ok(())
}
