//! A person's erasure (GDPR art. 17) and the merge of two people.
//!
//! Erasure, in the caller's transaction: nothing left that names the person. Their sends keep
//! their counters but lose the recipient, the subject and the link, and take no more events;
//! interactions about them lose the link, their title (replaced) and their text, the search
//! index is refreshed before the commit (it otherwise follows the relay) and the lexicon loses
//! the tokens no other interaction holds (docs/schema.sql); their score,
//! its history and the notifications about them go; the row goes. The address is kept only as
//! a SHA-256 digest, so later events for it identify nobody and create nothing. Their dead
//! letters are purged from `EMAIL_DLQ` by the caller (NATS is not in the transaction).
//!
//! Merge: the merged person's sends, interactions and score history move to the survivor, whose
//! score is recomputed by folding the merged history in time order with the floor at 0 (each
//! history row's `score_after` rewritten), then the merged person's row is deleted. Their
//! address is not added to the erased ones: it belongs to the survivor now, in the CRM.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use relance_shared::scoring::apply_floor;

use super::DirectoryError;

/// The title an interaction about an erased person keeps.
pub const ERASED_TITLE: &str = "Contact effacé";

/// Erases the person with this CRM id; false when there is none.
pub async fn erase_person(conn: &mut PgConnection, external_id: &str) -> Result<bool, sqlx::Error> {
    let Some(person) = sqlx::query!(
        "SELECT id, email FROM people WHERE external_id = $1 FOR UPDATE",
        external_id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(false);
    };
    erase_row(conn, person.id, person.email.as_deref()).await?;
    Ok(true)
}

async fn erase_row(
    conn: &mut PgConnection,
    id: i64,
    email: Option<&str>,
) -> Result<(), sqlx::Error> {
    if let Some(email) = email {
        sqlx::query!(
            "INSERT INTO erased_addresses (email_sha256)
             VALUES (sha256(convert_to(lower($1), 'UTF8'))) ON CONFLICT DO NOTHING",
            email
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!(
        "UPDATE email_sends SET person_id = NULL, recipient = NULL, subject = NULL,
                erased_at = COALESCE(erased_at, now()), updated_at = now()
         WHERE person_id = $1 OR ($2::text IS NOT NULL AND lower(recipient) = lower($2))",
        id,
        email
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM notifications
         WHERE interaction_id IN (SELECT id FROM crm_interactions WHERE person_id = $1)",
        id
    )
    .execute(&mut *conn)
    .await?;
    // The search tokens of their name and address, and of their interactions: forgotten below
    // once nothing else holds them.
    let identity = sqlx::query_scalar!(
        r#"SELECT DISTINCT t AS "word!" FROM people p,
               relance_search_tokens(relance_person_text(p.first_name, p.last_name, p.email)) t
           WHERE p.id = $1"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut tokens = sqlx::query_scalar!(
        r#"SELECT DISTINCT w.word AS "word!" FROM interaction_search_words w
           JOIN crm_interactions i ON i.id = w.interaction_id WHERE i.person_id = $1"#,
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    tokens.extend(identity.iter().cloned());
    let about = sqlx::query_scalar!("SELECT id FROM crm_interactions WHERE person_id = $1", id)
        .fetch_all(&mut *conn)
        .await?;
    sqlx::query!(
        "UPDATE crm_interactions SET person_id = NULL, title = $2, description = NULL,
                updated_at = now()
         WHERE person_id = $1",
        id,
        ERASED_TITLE
    )
    .execute(&mut *conn)
    .await?;
    // Their interactions' history held their titles and descriptions: it goes too.
    sqlx::query!(
        "DELETE FROM interaction_history WHERE interaction_id = ANY($1)",
        &about
    )
    .execute(&mut *conn)
    .await?;
    // The score and its history go with the row (ON DELETE CASCADE).
    sqlx::query!("DELETE FROM people WHERE id = $1", id)
        .execute(&mut *conn)
        .await?;
    // The index follows the tables through the relay: here, before the commit.
    crate::search::index::refresh_holding(conn, &about, &identity).await?;
    sqlx::query_scalar!("SELECT search_lexicon_forget($1)", &tokens)
        .fetch_one(&mut *conn)
        .await?;
    Ok(())
}

/// One score change, for the fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub id: i64,
    pub delta: i32,
    pub occurred_at: DateTime<Utc>,
}

/// Folds changes in time order (then id) from 0 with the floor: each change's score after it,
/// and the final score.
pub fn fold(changes: &mut [Change]) -> (Vec<(i64, i32)>, i32) {
    changes.sort_by_key(|c| (c.occurred_at, c.id));
    let mut score = 0;
    let after = changes
        .iter()
        .map(|c| {
            score = apply_floor(score, c.delta);
            (c.id, score)
        })
        .collect();
    (after, score)
}

/// The survivor's id and recomputed score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Merged {
    pub person_id: i64,
    pub score: i32,
}

/// Merges `merged` into `survivor` (CRM ids): 404 for an unknown one, 422 for the same twice.
pub async fn merge(
    conn: &mut PgConnection,
    survivor: &str,
    merged: &str,
    hot_threshold: i32,
) -> Result<Merged, DirectoryError> {
    let invalid = |field: &str, message: &str| {
        DirectoryError::Invalid(vec![relance_shared::http::FieldError::new(field, message)])
    };
    if survivor == merged {
        return Err(invalid(
            "merged_external_id",
            "must name another person than survivor_external_id",
        ));
    }
    // Both rows locked, in id order as everywhere.
    let rows = sqlx::query!(
        "SELECT id, external_id AS \"external_id!\" FROM people
         WHERE external_id = ANY($1) ORDER BY id FOR UPDATE",
        &[survivor, merged] as &[&str]
    )
    .fetch_all(&mut *conn)
    .await?;
    let id_of = |ext: &str| rows.iter().find(|r| r.external_id == ext).map(|r| r.id);
    let (Some(survivor_id), Some(merged_id)) = (id_of(survivor), id_of(merged)) else {
        let unknown = [survivor, merged]
            .into_iter()
            .filter(|ext| id_of(ext).is_none())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(DirectoryError::NotFound(format!(
            "no person with external id {unknown}"
        )));
    };
    sqlx::query!(
        "UPDATE email_sends SET person_id = $1, updated_at = now() WHERE person_id = $2",
        survivor_id,
        merged_id
    )
    .execute(&mut *conn)
    .await?;
    let moved = sqlx::query_scalar!(
        "UPDATE crm_interactions SET person_id = $1, updated_at = now() WHERE person_id = $2
         RETURNING id",
        survivor_id,
        merged_id
    )
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE lead_score_history SET person_id = $1 WHERE person_id = $2",
        survivor_id,
        merged_id
    )
    .execute(&mut *conn)
    .await?;
    let mut changes: Vec<Change> = sqlx::query_as!(
        Change,
        "SELECT id, delta, occurred_at FROM lead_score_history WHERE person_id = $1",
        survivor_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let (after, score) = fold(&mut changes);
    let (ids, scores): (Vec<i64>, Vec<i32>) = after.into_iter().unzip();
    sqlx::query!(
        "UPDATE lead_score_history h SET score_after = t.score_after
         FROM UNNEST($1::bigint[], $2::int[]) AS t(id, score_after) WHERE h.id = t.id",
        &ids,
        &scores
    )
    .execute(&mut *conn)
    .await?;
    // The survivor's score row: the latest engagement of the two (with its decay count), the
    // recomputed score, armed for a hot lead only while below the threshold.
    sqlx::query!(
        "INSERT INTO lead_scores AS l (person_id, score, last_event_at, decay_anchor, decay_weeks,
                                       hot_armed)
         SELECT $1, $2::int, s.last_event_at, s.decay_anchor, COALESCE(s.decay_weeks, 0),
                $2::int < $4::int
         FROM (SELECT last_event_at, decay_anchor, decay_weeks FROM lead_scores
               WHERE person_id IN ($1, $3)
               ORDER BY last_event_at DESC NULLS LAST LIMIT 1) s
         ON CONFLICT (person_id) DO UPDATE SET
             score = EXCLUDED.score, last_event_at = EXCLUDED.last_event_at,
             decay_anchor = EXCLUDED.decay_anchor, decay_weeks = EXCLUDED.decay_weeks,
             hot_armed = EXCLUDED.hot_armed, updated_at = now()",
        survivor_id,
        score,
        merged_id,
        hot_threshold
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM people WHERE id = $1", merged_id)
        .execute(&mut *conn)
        .await?;
    // The moved interactions no longer carry the merged person's name in the index when this
    // commits.
    crate::search::index::refresh(&mut *conn, &moved).await?;
    Ok(Merged {
        person_id: survivor_id,
        score,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn change(id: i64, delta: i32, minute: i64) -> Change {
        Change {
            id,
            delta,
            occurred_at: DateTime::from_timestamp(1_800_000_000 + minute * 60, 0)
                .unwrap_or_default(),
        }
    }

    #[test]
    fn the_floor_applies_in_time_order_not_insertion_order() {
        // Inserted: +3 (t2), -10 (t1), +8 (t3). In time order: 0 → 0 → 3 → 11.
        let mut changes = [change(1, 3, 2), change(2, -10, 1), change(3, 8, 3)];
        let (after, score) = fold(&mut changes);
        assert_eq!(after, [(2, 0), (1, 3), (3, 11)]);
        assert_eq!(score, 11);
    }

    proptest! {
        /// Two people's histories merged: whatever their interleaving, the rewritten history
        /// adds up to the score (each step is the previous one plus the delta, floored), and
        /// the score is what folding the whole history gives.
        #[test]
        fn a_merged_history_adds_up_to_the_score(
            a in prop::collection::vec((-12i32..12, 0i64..500), 0..30),
            b in prop::collection::vec((-12i32..12, 0i64..500), 0..30),
        ) {
            let mut changes: Vec<Change> = a.iter().chain(b.iter()).enumerate()
                .map(|(i, (delta, minute))| change(i as i64 + 1, *delta, *minute))
                .collect();
            let (after, score) = fold(&mut changes);
            let mut previous = 0;
            for (change, (id, score_after)) in changes.iter().zip(&after) {
                prop_assert_eq!(change.id, *id);
                prop_assert_eq!(*score_after, (previous + change.delta).max(0));
                prop_assert!(*score_after >= 0);
                previous = *score_after;
            }
            prop_assert_eq!(score, previous);
        }
    }
}
