//! Weekly score decay: a lead loses `decay.points_per_week` for each full week (7 × 24 h) since
//! its last engagement (`last_event_at`), never below 0; each week's drop is a row of the score
//! history (reason `decay`, dated at the end of that week), so scores stay explainable.
//!
//! Idempotent: `decay_weeks` counts the weeks already taken off since `decay_anchor` (the
//! `last_event_at` they were counted from). A pass only takes off weeks beyond that count, in a
//! transaction that locks the rows (`FOR UPDATE SKIP LOCKED`), so two passes in a week, or two
//! replicas at once, decay each week once. New engagement moves `last_event_at`: the anchor no
//! longer matches and counting starts again from the new engagement.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use relance_shared::scoring::apply_floor;

pub const REASON: &str = "decay";

struct Candidate {
    person_id: i64,
    score: i32,
    last_event_at: DateTime<Utc>,
    applied: i32,
    idle_weeks: i32,
}

/// Decays one batch; returns how many leads it changed (0: nothing left to decay).
pub async fn decay_batch(
    pool: &PgPool,
    now: DateTime<Utc>,
    points_per_week: i32,
    batch_size: i64,
) -> Result<usize, sqlx::Error> {
    if points_per_week == 0 {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    // Locked in person order (as scoring does), skipping rows another pass holds; a row locked
    // here is re-checked against its latest version, so a concurrent pass's commit is seen.
    // The week arithmetic is the schema's (docs/schema.sql).
    let locked = sqlx::query_as!(
        Candidate,
        r#"SELECT person_id, score, last_event_at AS "last_event_at!",
                  lead_decay_weeks_applied(decay_anchor, last_event_at, decay_weeks) AS "applied!",
                  lead_idle_weeks(last_event_at, $1) AS "idle_weeks!"
           FROM lead_scores
           WHERE score > 0 AND last_event_at <= $1 - interval '7 days'
             AND lead_idle_weeks(last_event_at, $1)
                 > lead_decay_weeks_applied(decay_anchor, last_event_at, decay_weeks)
           ORDER BY person_id LIMIT $2
           FOR UPDATE SKIP LOCKED"#,
        now,
        batch_size
    )
    .fetch_all(&mut *tx)
    .await?;
    if locked.is_empty() {
        return Ok(0);
    }
    let mut history = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut people, mut scores, mut weeks, mut anchors) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for lead in locked.iter().filter(|c| c.idle_weeks > c.applied) {
        let mut score = lead.score;
        for week in (lead.applied + 1)..=lead.idle_weeks {
            let after = apply_floor(score, -points_per_week);
            if after != score {
                history.0.push(lead.person_id);
                history.1.push(after - score);
                history.2.push(after);
                history
                    .3
                    .push(lead.last_event_at + Duration::weeks(i64::from(week)));
            }
            score = after;
        }
        people.push(lead.person_id);
        scores.push(score);
        weeks.push(lead.idle_weeks);
        anchors.push(lead.last_event_at);
    }
    sqlx::query!(
        "UPDATE lead_scores l SET score = u.score, decay_anchor = u.anchor, decay_weeks = u.weeks, \
           updated_at = now() \
         FROM UNNEST($1::bigint[], $2::int[], $3::timestamptz[], $4::int[]) \
           AS u(person_id, score, anchor, weeks) \
         WHERE l.person_id = u.person_id",
        &people,
        &scores,
        &anchors,
        &weeks
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO lead_score_history (person_id, delta, score_after, reason, occurred_at) \
         SELECT person_id, delta, score_after, $5, occurred_at \
         FROM UNNEST($1::bigint[], $2::int[], $3::int[], $4::timestamptz[]) \
           AS h(person_id, delta, score_after, occurred_at)",
        &history.0,
        &history.1,
        &history.2,
        &history.3,
        REASON
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(people.len())
}
