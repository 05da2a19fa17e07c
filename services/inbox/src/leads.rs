//! Hot leads (the people whose email engagement scored highest) and a person's score with the
//! history that explains it. Scores are written by the scoring service; this is read-only.

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::TryStreamExt;
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use relance_shared::http::ApiError;

use crate::csv_export::ExportSource;
use crate::scope::Scope;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct HotLead {
    pub person_id: i64,
    pub score: i32,
    pub last_event_at: Option<DateTime<Utc>>,
    pub person_name: Option<String>,
    pub person_email: Option<String>,
}

/// From `scoring.rules`: 🔥 Tiède from `warm` (the hot-lead threshold), 🔥🔥 Chaud from `hot`,
/// 🔥🔥🔥 Très chaud from `very_hot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct HeatLevels {
    pub warm: i32,
    pub hot: i32,
    pub very_hot: i32,
}

impl From<&relance_shared::scoring::ScoringRules> for HeatLevels {
    fn from(rules: &relance_shared::scoring::ScoringRules) -> Self {
        Self {
            warm: rules.hot_threshold,
            hot: rules.heat_hot,
            very_hot: rules.heat_very_hot,
        }
    }
}

/// Leads with a score of at least `threshold` whose owner `owners` holds or who have none
/// (`owners` None: every lead), hottest first (ties: the most recent activity first, then the
/// person id); `limit` None: all of them.
fn hot_rows<'a>(
    pool: &'a PgPool,
    threshold: i32,
    owners: Option<&'a [i64]>,
    limit: Option<i64>,
) -> BoxStream<'a, Result<HotLead, sqlx::Error>> {
    sqlx::query_as!(
        HotLead,
        r#"SELECT ls.person_id, ls.score, ls.last_event_at,
                  NULLIF(btrim(p.first_name || ' ' || p.last_name), '') AS person_name,
                  p.email AS person_email
           FROM lead_scores ls JOIN people p ON p.id = ls.person_id
           WHERE ls.score >= $1
             AND ($3::bigint[] IS NULL OR p.owner_id IS NULL OR p.owner_id = ANY($3))
           ORDER BY ls.score DESC, ls.last_event_at DESC NULLS LAST, ls.person_id
           LIMIT $2"#,
        threshold,
        limit,
        owners as Option<&[i64]>
    )
    .fetch(pool)
}

/// The leads at or above `threshold` in `scope` (their owner in it, or no owner), hottest
/// first, up to `limit`, and how many there are.
pub async fn hot(
    pool: &PgPool,
    scope: &Scope,
    threshold: i32,
    limit: i64,
) -> Result<(Vec<HotLead>, i64), sqlx::Error> {
    let owners = scope.users();
    let items = hot_rows(pool, threshold, owners, Some(limit)).try_collect();
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "total!" FROM lead_scores ls JOIN people p ON p.id = ls.person_id
           WHERE ls.score >= $1
             AND ($2::bigint[] IS NULL OR p.owner_id IS NULL OR p.owner_id = ANY($2))"#,
        threshold,
        owners as Option<&[i64]>
    )
    .fetch_one(pool);
    futures::try_join!(items, total)
}

/// Every lead at or above `threshold` in `scope`, as a CSV export's rows.
pub struct HotLeadsExport {
    pub threshold: i32,
    pub scope: Scope,
}

impl ExportSource for HotLeadsExport {
    type Row = HotLead;
    fn rows<'a>(&'a mut self, pool: &'a PgPool) -> BoxStream<'a, Result<HotLead, sqlx::Error>> {
        hot_rows(pool, self.threshold, self.scope.users(), None)
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct ScoreChange {
    pub id: i64,
    /// Points this change added (negative: removed, before the floor at 0).
    pub delta: i32,
    /// The score after this change; the last one is the current score.
    pub score_after: i32,
    /// Its cause: `first_open`, `later_open`, `first_click`, `later_click`, `bounce`... (the
    /// scoring rules, `relance_shared::scoring::ScoreReason`).
    pub reason: String,
    pub event_key: Option<String>,
    pub email_send_id: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonScore {
    pub person_id: i64,
    pub person_name: Option<String>,
    pub score: i32,
    pub last_event_at: Option<DateTime<Utc>>,
    /// Every change, oldest first: folding `delta` from 0 with the floor at 0 gives `score`.
    pub history: Vec<ScoreChange>,
}

pub async fn person_score(pool: &PgPool, person_id: i64) -> Result<PersonScore, ApiError> {
    // The person's name, score and last event (NULL: never scored).
    let person = sqlx::query!(
        r#"SELECT NULLIF(btrim(p.first_name || ' ' || p.last_name), '') AS name,
                  ls.score AS "score?", ls.last_event_at AS "last_event_at?"
           FROM people p LEFT JOIN lead_scores ls ON ls.person_id = p.id WHERE p.id = $1"#,
        person_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no person with id {person_id}")))?;
    let (person_name, score, last_event_at) = (person.name, person.score, person.last_event_at);
    let history = sqlx::query_as!(
        ScoreChange,
        "SELECT id, delta, score_after, reason, event_key, email_send_id, occurred_at, created_at \
         FROM lead_score_history WHERE person_id = $1 ORDER BY id",
        person_id
    )
    .fetch_all(pool)
    .await?;
    Ok(PersonScore {
        person_id,
        person_name,
        score: score.unwrap_or(0),
        last_event_at,
        history,
    })
}
