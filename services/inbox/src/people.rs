//! People and organisations as the web app reads them (the CRM's directory owns them): one
//! person with their organisation, owner and score; the people search behind the person
//! picker; a person's email sends; one organisation with its people.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, QueryBuilder};
use utoipa::ToSchema;

use relance_shared::http::{ApiError, FieldError};

use crate::filters::contains_pattern;
use crate::leads::HeatLevels;

/// An id and the name shown for it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Named {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Person {
    pub id: i64,
    /// The CRM's id (`null` for a person Relance made from an email address).
    pub external_id: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub organisation: Option<Named>,
    /// The salesperson who owns the relationship.
    pub owner: Option<Named>,
    /// The lead score (0: never scored).
    pub score: i32,
    /// `score >= heat.warm`: listed among the hot leads.
    pub hot: bool,
    pub last_event_at: Option<DateTime<Utc>>,
    /// The server's heat levels, so the page labels the score as the server counts it.
    pub heat: HeatLevels,
}

pub async fn person(pool: &PgPool, id: i64, heat: HeatLevels) -> Result<Person, ApiError> {
    let row = sqlx::query!(
        r#"SELECT p.id, p.external_id, p.first_name, p.last_name, p.email, p.phone,
                  o.id AS "organisation_id?", o.name AS "organisation_name?",
                  u.id AS "owner_id?", u.full_name AS "owner_name?",
                  ls.score AS "score?", ls.last_event_at AS "last_event_at?"
           FROM people p
           LEFT JOIN organisations o ON o.id = p.organisation_id
           LEFT JOIN users u ON u.id = p.owner_id
           LEFT JOIN lead_scores ls ON ls.person_id = p.id
           WHERE p.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no person with id {id}")))?;
    let named = |id: Option<i64>, name: Option<String>| {
        id.map(|id| Named {
            id,
            name: name.unwrap_or_default(),
        })
    };
    let score = row.score.unwrap_or(0);
    Ok(Person {
        id: row.id,
        external_id: row.external_id,
        first_name: row.first_name,
        last_name: row.last_name,
        email: row.email,
        phone: row.phone,
        organisation: named(row.organisation_id, row.organisation_name),
        owner: named(row.owner_id, row.owner_name),
        score,
        hot: score >= heat.warm,
        last_event_at: row.last_event_at,
        heat,
    })
}

/// One person in a list.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct PersonSummary {
    pub id: i64,
    /// First and last name; `null` when both are empty.
    pub name: Option<String>,
    pub email: Option<String>,
    pub organisation_id: Option<i64>,
    pub organisation_name: Option<String>,
    pub score: i32,
    /// The sort key (folded "last first"): what the cursor carries.
    #[serde(skip)]
    pub sort_key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeoplePage {
    /// By last name then first name, accents and case ignored.
    pub items: Vec<PersonSummary>,
    /// Pass it back as `cursor` for the next page; `null` on the last page.
    pub cursor: Option<String>,
}

/// Where a people page ended: the last row's sort key and id, opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeopleCursor {
    k: String,
    i: i64,
}

impl PeopleCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(raw: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("cursor", "not a cursor this API returned");
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| invalid())?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if cursor.i < 1 || cursor.k.chars().any(|c| c == '\0') {
            return Err(invalid());
        }
        Ok(cursor)
    }
}

/// People whose name or email holds every one of `words` (folded like the inbox's `q`), a page
/// of `limit` after `after`.
pub async fn search(
    pool: &PgPool,
    words: &[String],
    after: Option<&PeopleCursor>,
    limit: i64,
) -> Result<PeoplePage, sqlx::Error> {
    let mut query: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT p.id, NULLIF(btrim(p.first_name || ' ' || p.last_name), '') AS name, p.email, \
         o.id AS organisation_id, o.name AS organisation_name, \
         coalesce(ls.score, 0) AS score, \
         relance_fold(p.last_name || ' ' || p.first_name) AS sort_key \
         FROM people p \
         LEFT JOIN organisations o ON o.id = p.organisation_id \
         LEFT JOIN lead_scores ls ON ls.person_id = p.id \
         WHERE true",
    );
    for word in words {
        query
            .push(" AND relance_person_text(p.first_name, p.last_name, p.email) LIKE relance_fold(")
            .push_bind(contains_pattern(word))
            .push(")");
    }
    if let Some(after) = after {
        query
            .push(" AND (relance_fold(p.last_name || ' ' || p.first_name), p.id) > (")
            .push_bind(after.k.clone())
            .push(", ")
            .push_bind(after.i)
            .push(")");
    }
    query
        .push(" ORDER BY relance_fold(p.last_name || ' ' || p.first_name), p.id LIMIT ")
        .push_bind(limit + 1);
    let mut items: Vec<PersonSummary> = query.build_query_as().fetch_all(pool).await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let cursor = match items.last() {
        Some(last) if more => Some(
            PeopleCursor {
                k: last.sort_key.clone(),
                i: last.id,
            }
            .encode(),
        ),
        _ => None,
    };
    Ok(PeoplePage { items, cursor })
}

/// One email sent to a person, with what the provider told us about it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmailSend {
    pub id: i64,
    pub provider: String,
    pub subject: Option<String>,
    /// `sent`, `delivered`, `opened`, `clicked` or `bounced`.
    pub status: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Opens by people (machine opens are counted apart and never scored).
    pub open_count: i32,
    pub click_count: i32,
    pub first_open_at: Option<DateTime<Utc>>,
    pub last_open_at: Option<DateTime<Utc>>,
    pub last_click_at: Option<DateTime<Utc>>,
    pub bounced_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailSends {
    /// Latest first, up to `limit`.
    pub items: Vec<EmailSend>,
    /// Every send to this person.
    pub total: i64,
}

pub async fn sends(pool: &PgPool, person_id: i64, limit: i64) -> Result<EmailSends, ApiError> {
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM people WHERE id = $1) AS "exists!""#,
        person_id
    )
    .fetch_one(pool)
    .await?;
    if !exists {
        return Err(ApiError::NotFound(format!("no person with id {person_id}")));
    }
    let items = sqlx::query_as!(
        EmailSend,
        r#"SELECT id, provider, subject, status::text AS "status!", sent_at, delivered_at,
                  open_count, click_count, first_open_at, last_open_at, last_click_at, bounced_at
           FROM email_sends WHERE person_id = $1
           ORDER BY coalesce(sent_at, created_at) DESC, id DESC LIMIT $2"#,
        person_id,
        limit
    )
    .fetch_all(pool);
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "total!" FROM email_sends WHERE person_id = $1"#,
        person_id
    )
    .fetch_one(pool);
    let (items, total) = futures::try_join!(items, total)?;
    Ok(EmailSends { items, total })
}

/// At most this many of an organisation's people come with it (`people_total` counts all).
pub const ORGANISATION_PEOPLE: i64 = 500;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganisationPerson {
    pub id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub score: i32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Organisation {
    pub id: i64,
    pub external_id: Option<String>,
    pub name: String,
    /// Its people, highest score first, then by name; the first 500.
    pub people: Vec<OrganisationPerson>,
    pub people_total: i64,
    pub heat: HeatLevels,
}

pub async fn organisation(
    pool: &PgPool,
    id: i64,
    heat: HeatLevels,
) -> Result<Organisation, ApiError> {
    let org = sqlx::query!(
        "SELECT id, external_id, name FROM organisations WHERE id = $1",
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no organisation with id {id}")))?;
    let people = sqlx::query_as!(
        OrganisationPerson,
        r#"SELECT p.id, NULLIF(btrim(p.first_name || ' ' || p.last_name), '') AS name, p.email,
                  coalesce(ls.score, 0) AS "score!"
           FROM people p LEFT JOIN lead_scores ls ON ls.person_id = p.id
           WHERE p.organisation_id = $1
           ORDER BY coalesce(ls.score, 0) DESC, relance_fold(p.last_name || ' ' || p.first_name), p.id
           LIMIT $2"#,
        id,
        ORGANISATION_PEOPLE
    )
    .fetch_all(pool);
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "total!" FROM people WHERE organisation_id = $1"#,
        id
    )
    .fetch_one(pool);
    let (people, people_total) = futures::try_join!(people, total)?;
    Ok(Organisation {
        id: org.id,
        external_id: org.external_id,
        name: org.name,
        people,
        people_total,
        heat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let cursor = PeopleCursor {
            k: "lefevre anne".into(),
            i: 42,
        };
        assert_eq!(PeopleCursor::decode(&cursor.encode()), Ok(cursor));
        for bad in [
            "",
            "x",
            "eyJrIjoiYSJ9",
            &URL_SAFE_NO_PAD.encode(br#"{"k":"a","i":0}"#),
        ] {
            assert!(PeopleCursor::decode(bad).is_err(), "{bad}");
        }
    }
}
