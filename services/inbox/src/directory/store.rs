//! Applying directory versions: validation, then set-based upserts where the CRM's
//! `updated_at` decides (see the module above for the rules).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use relance_shared::directory::{
    Deletion, Kind, OrganisationVersion, PersonVersion, Role, TeamVersion, UserVersion,
};
use relance_shared::http::FieldError;

use super::{Counts, DirectoryError, Position, References};

/// The versions that count: for each external id, the newest (the first of equals); the
/// others are stale. Returns the kept indexes, in input order, and how many were dropped.
fn newest_per_id<T>(
    versions: &[T],
    id: impl Fn(&T) -> &str,
    at: impl Fn(&T) -> DateTime<Utc>,
) -> (Vec<usize>, i64) {
    let mut best: HashMap<&str, usize> = HashMap::new();
    for (index, version) in versions.iter().enumerate() {
        best.entry(id(version))
            .and_modify(|kept| {
                if at(version) > at(&versions[*kept]) {
                    *kept = index;
                }
            })
            .or_insert(index);
    }
    let mut kept: Vec<usize> = best.into_values().collect();
    kept.sort_unstable();
    let dropped = (versions.len() - kept.len()) as i64;
    (kept, dropped)
}

fn position(index: usize, in_batch: bool) -> Position {
    Position { index, in_batch }
}

fn utc(at: &chrono::DateTime<chrono::FixedOffset>) -> DateTime<Utc> {
    at.with_timezone(&Utc)
}

/// Two kept versions with the same address (case-insensitive): the later one is refused.
fn same_address_twice(
    emails: &[(usize, Option<&str>)],
    in_batch: bool,
    errors: &mut Vec<FieldError>,
) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, email) in emails {
        if let Some(email) = email {
            if let Some(first) = seen.insert(email.to_lowercase(), *index) {
                errors.push(FieldError::new(
                    position(*index, in_batch).field("email"),
                    format!("the same address as [{first}]"),
                ));
            }
        }
    }
}

/// A 409 on the `email` of each kept version (1-based positions in `kept`) whose address
/// another record holds: the version is well formed, the directory holds a conflicting one.
fn refuse_taken(
    taken: &[i64],
    kept: &[usize],
    in_batch: bool,
    message: &str,
) -> Result<(), DirectoryError> {
    if taken.is_empty() {
        return Ok(());
    }
    Err(DirectoryError::Conflict(
        taken
            .iter()
            .map(|n| {
                let index = kept[usize::try_from(n - 1).unwrap_or(0)];
                FieldError::new(position(index, in_batch).field("email"), message)
            })
            .collect(),
    ))
}

pub async fn put_users(
    conn: &mut PgConnection,
    versions: &[UserVersion],
    in_batch: bool,
) -> Result<Counts, DirectoryError> {
    let mut errors = Vec::new();
    let (kept, stale) = newest_per_id(versions, |v| &v.external_id, |v| utc(&v.updated_at));
    let emails: Vec<(usize, Option<&str>)> = kept
        .iter()
        .map(|&i| (i, Some(versions[i].email.as_str())))
        .collect();
    same_address_twice(&emails, in_batch, &mut errors);
    if !errors.is_empty() {
        return Err(DirectoryError::Invalid(errors));
    }
    let ids: Vec<&str> = kept
        .iter()
        .map(|&i| versions[i].external_id.as_str())
        .collect();
    let email: Vec<&str> = kept.iter().map(|&i| versions[i].email.as_str()).collect();
    let name: Vec<&str> = kept.iter().map(|&i| versions[i].name.trim()).collect();
    let active: Vec<bool> = kept
        .iter()
        .map(|&i| versions[i].active.unwrap_or(true))
        .collect();
    let role: Vec<&str> = kept
        .iter()
        .map(|&i| role_name(versions[i].role.unwrap_or_default()))
        .collect();
    // Each user's teams as one JSON array: UNNEST cannot take an array of arrays of lengths
    // that differ.
    let teams: Vec<String> = kept
        .iter()
        .map(|&i| serde_json::to_string(&versions[i].team_external_ids).unwrap_or_default())
        .collect();
    let at: Vec<DateTime<Utc>> = kept.iter().map(|&i| utc(&versions[i].updated_at)).collect();

    // A user entered before the sync is adopted by address.
    sqlx::query!(
        "UPDATE users u SET external_id = t.external_id
         FROM UNNEST($1::text[], $2::text[]) AS t(external_id, email)
         WHERE u.external_id IS NULL AND lower(u.email) = lower(t.email)
           AND NOT EXISTS (SELECT 1 FROM users o WHERE o.external_id = t.external_id)",
        &ids as &[&str],
        &email as &[&str]
    )
    .execute(&mut *conn)
    .await?;
    let taken = sqlx::query_scalar!(
        r#"SELECT t.n AS "n!" FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS t(external_id, email, n)
           JOIN users u ON lower(u.email) = lower(t.email)
           WHERE u.external_id IS DISTINCT FROM t.external_id"#,
        &ids as &[&str],
        &email as &[&str]
    )
    .fetch_all(&mut *conn)
    .await?;
    refuse_taken(
        &taken,
        &kept,
        in_batch,
        "already the address of another user",
    )?;
    let written = sqlx::query!(
        r#"WITH input AS (
               SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bool[], $5::timestamptz[],
                                    $6::text[], $7::text[])
                 AS t(external_id, email, full_name, is_active, updated_at, role, teams)
               WHERE NOT EXISTS (SELECT 1 FROM directory_tombstones d
                                 WHERE d.kind = 'users' AND d.external_id = t.external_id
                                   AND d.crm_updated_at >= t.updated_at)
           ), written AS (
               INSERT INTO users AS u (external_id, email, full_name, is_active, crm_updated_at,
                                       role, team_external_ids)
               SELECT external_id, email, full_name, is_active, updated_at, role::user_role,
                      ARRAY(SELECT jsonb_array_elements_text(teams::jsonb))
               FROM input
               ON CONFLICT (external_id) DO UPDATE SET
                   email = EXCLUDED.email, full_name = EXCLUDED.full_name,
                   is_active = EXCLUDED.is_active, crm_updated_at = EXCLUDED.crm_updated_at,
                   role = EXCLUDED.role, team_external_ids = EXCLUDED.team_external_ids,
                   updated_at = now()
               WHERE u.crm_updated_at IS NULL OR u.crm_updated_at < EXCLUDED.crm_updated_at
               RETURNING (xmax = 0) AS created
           )
           SELECT count(*) FILTER (WHERE created) AS "created!",
                  count(*) FILTER (WHERE NOT created) AS "updated!"
           FROM written"#,
        &ids as &[&str],
        &email as &[&str],
        &name as &[&str],
        &active,
        &at,
        &role as &[&str],
        &teams
    )
    .fetch_one(&mut *conn)
    .await?;
    // People who named these users before they arrived.
    resolve_owners(conn, &ids).await?;
    Ok(Counts {
        created: written.created,
        updated: written.updated,
        stale: stale + kept.len() as i64 - written.created - written.updated,
    })
}

/// Links people to the owners named by CRM id among `ids`.
async fn resolve_owners(conn: &mut PgConnection, ids: &[&str]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE people p SET owner_id = u.id
         FROM users u
         WHERE u.external_id = ANY($1) AND p.owner_external_id = u.external_id
           AND p.owner_id IS DISTINCT FROM u.id",
        ids as &[&str]
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Organisations' versions: nothing to refuse once read (no address, no reference), so no
/// position to name either.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Rep => "rep",
        Role::Manager => "manager",
        Role::Admin => "admin",
    }
}

/// Teams' versions. A parent need not be here yet: the tree is read through external ids
/// (`managed_users`), so nothing waits on it.
pub async fn put_teams(
    conn: &mut PgConnection,
    versions: &[TeamVersion],
) -> Result<Counts, DirectoryError> {
    let (kept, stale) = newest_per_id(versions, |v| &v.external_id, |v| utc(&v.updated_at));
    let ids: Vec<&str> = kept
        .iter()
        .map(|&i| versions[i].external_id.as_str())
        .collect();
    let name: Vec<&str> = kept.iter().map(|&i| versions[i].name.as_str()).collect();
    let parent: Vec<Option<&str>> = kept
        .iter()
        .map(|&i| versions[i].parent_external_id.as_deref())
        .collect();
    let at: Vec<DateTime<Utc>> = kept.iter().map(|&i| utc(&versions[i].updated_at)).collect();
    let written = sqlx::query!(
        r#"WITH input AS (
               SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[])
                 AS t(external_id, name, parent, updated_at)
               WHERE NOT EXISTS (SELECT 1 FROM directory_tombstones d
                                 WHERE d.kind = 'teams' AND d.external_id = t.external_id
                                   AND d.crm_updated_at >= t.updated_at)
           ), written AS (
               INSERT INTO teams AS o (external_id, name, parent_external_id, crm_updated_at)
               SELECT external_id, name, parent, updated_at FROM input
               ON CONFLICT (external_id) DO UPDATE SET
                   name = EXCLUDED.name, parent_external_id = EXCLUDED.parent_external_id,
                   crm_updated_at = EXCLUDED.crm_updated_at, updated_at = now()
               WHERE o.crm_updated_at < EXCLUDED.crm_updated_at
               RETURNING (xmax = 0) AS created
           )
           SELECT count(*) FILTER (WHERE created) AS "created!",
                  count(*) FILTER (WHERE NOT created) AS "updated!"
           FROM written"#,
        &ids as &[&str],
        &name as &[&str],
        &parent as &[Option<&str>],
        &at
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Counts {
        created: written.created,
        updated: written.updated,
        stale: stale + kept.len() as i64 - written.created - written.updated,
    })
}

pub async fn put_organisations(
    conn: &mut PgConnection,
    versions: &[OrganisationVersion],
) -> Result<Counts, DirectoryError> {
    let (kept, stale) = newest_per_id(versions, |v| &v.external_id, |v| utc(&v.updated_at));
    let ids: Vec<&str> = kept
        .iter()
        .map(|&i| versions[i].external_id.as_str())
        .collect();
    let name: Vec<&str> = kept.iter().map(|&i| versions[i].name.trim()).collect();
    let at: Vec<DateTime<Utc>> = kept.iter().map(|&i| utc(&versions[i].updated_at)).collect();
    let written = sqlx::query!(
        r#"WITH input AS (
               SELECT * FROM UNNEST($1::text[], $2::text[], $3::timestamptz[])
                 AS t(external_id, name, updated_at)
               WHERE NOT EXISTS (SELECT 1 FROM directory_tombstones d
                                 WHERE d.kind = 'organisations' AND d.external_id = t.external_id
                                   AND d.crm_updated_at >= t.updated_at)
           ), written AS (
               INSERT INTO organisations AS o (external_id, name, crm_updated_at)
               SELECT external_id, name, updated_at FROM input
               ON CONFLICT (external_id) DO UPDATE SET
                   name = EXCLUDED.name, crm_updated_at = EXCLUDED.crm_updated_at,
                   updated_at = now()
               WHERE o.crm_updated_at IS NULL OR o.crm_updated_at < EXCLUDED.crm_updated_at
               RETURNING (xmax = 0) AS created
           )
           SELECT count(*) FILTER (WHERE created) AS "created!",
                  count(*) FILTER (WHERE NOT created) AS "updated!"
           FROM written"#,
        &ids as &[&str],
        &name as &[&str],
        &at
    )
    .fetch_one(&mut *conn)
    .await?;
    // People who named these organisations before they arrived.
    sqlx::query!(
        "UPDATE people p SET organisation_id = o.id
         FROM organisations o
         WHERE o.external_id = ANY($1) AND p.organisation_external_id = o.external_id
           AND p.organisation_id IS DISTINCT FROM o.id",
        &ids as &[&str]
    )
    .execute(&mut *conn)
    .await?;
    Ok(Counts {
        created: written.created,
        updated: written.updated,
        stale: stale + kept.len() as i64 - written.created - written.updated,
    })
}

pub async fn put_people(
    conn: &mut PgConnection,
    versions: &[PersonVersion],
    in_batch: bool,
    references: References,
) -> Result<Counts, DirectoryError> {
    let mut errors = Vec::new();
    let (kept, stale) = newest_per_id(versions, |v| &v.external_id, |v| utc(&v.updated_at));
    let emails: Vec<(usize, Option<&str>)> = kept
        .iter()
        .map(|&i| (i, versions[i].email.as_deref()))
        .collect();
    same_address_twice(&emails, in_batch, &mut errors);
    if !errors.is_empty() {
        return Err(DirectoryError::Invalid(errors));
    }
    let column = |f: fn(&PersonVersion) -> Option<&str>| -> Vec<Option<String>> {
        kept.iter()
            .map(|&i| f(&versions[i]).map(|s| s.trim().to_owned()))
            .collect()
    };
    let ids: Vec<&str> = kept
        .iter()
        .map(|&i| versions[i].external_id.as_str())
        .collect();
    let first_name = column(|v| v.first_name.as_deref());
    let last_name = column(|v| v.last_name.as_deref());
    let email = column(|v| v.email.as_deref());
    let phone = column(|v| v.phone.as_deref());
    let organisation = column(|v| v.organisation_external_id.as_deref());
    let owner = column(|v| v.owner_external_id.as_deref());
    let at: Vec<DateTime<Utc>> = kept.iter().map(|&i| utc(&versions[i].updated_at)).collect();

    if references == References::MustExist {
        refuse_unknown_references(conn, &organisation, &owner, &kept, in_batch).await?;
    }

    adopt_by_address(conn, &ids, &email, &kept, in_batch).await?;
    let written = sqlx::query!(
        r#"WITH input AS (
               SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                    $6::text[], $7::text[], $8::timestamptz[])
                 AS t(external_id, first_name, last_name, email, phone, organisation, owner,
                      updated_at)
               WHERE NOT EXISTS (SELECT 1 FROM directory_tombstones d
                                 WHERE d.kind = 'people' AND d.external_id = t.external_id
                                   AND d.crm_updated_at >= t.updated_at)
           ), written AS (
               INSERT INTO people AS p (external_id, first_name, last_name, email, phone,
                                        organisation_external_id, owner_external_id,
                                        organisation_id, owner_id, crm_updated_at)
               SELECT i.external_id, COALESCE(i.first_name, ''), COALESCE(i.last_name, ''),
                      i.email, i.phone, i.organisation, i.owner,
                      (SELECT o.id FROM organisations o WHERE o.external_id = i.organisation),
                      (SELECT u.id FROM users u WHERE u.external_id = i.owner),
                      i.updated_at
               FROM input i
               ON CONFLICT (external_id) DO UPDATE SET
                   first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
                   email = EXCLUDED.email, phone = EXCLUDED.phone,
                   organisation_external_id = EXCLUDED.organisation_external_id,
                   owner_external_id = EXCLUDED.owner_external_id,
                   organisation_id = EXCLUDED.organisation_id, owner_id = EXCLUDED.owner_id,
                   crm_updated_at = EXCLUDED.crm_updated_at, updated_at = now()
               WHERE p.crm_updated_at IS NULL OR p.crm_updated_at < EXCLUDED.crm_updated_at
               RETURNING (xmax = 0) AS created
           )
           SELECT count(*) FILTER (WHERE created) AS "created!",
                  count(*) FILTER (WHERE NOT created) AS "updated!"
           FROM written"#,
        &ids as &[&str],
        &first_name as &[Option<String>],
        &last_name as &[Option<String>],
        &email as &[Option<String>],
        &phone as &[Option<String>],
        &organisation as &[Option<String>],
        &owner as &[Option<String>],
        &at
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Counts {
        created: written.created,
        updated: written.updated,
        stale: stale + kept.len() as i64 - written.created - written.updated,
    })
}

/// Records a deletion's version, keeping the newest, so no older version recreates the record.
pub async fn tombstone(
    conn: &mut PgConnection,
    kind: Kind,
    external_id: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO directory_tombstones (kind, external_id, crm_updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (kind, external_id) DO UPDATE
         SET crm_updated_at = GREATEST(directory_tombstones.crm_updated_at, EXCLUDED.crm_updated_at)",
        kind.as_str(),
        external_id,
        at
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What a deletion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The record held was older than the deletion: deactivated (a user), deleted (an
    /// organisation) or erased (a person).
    Applied,
    /// The record held is newer than the deletion: it stays.
    Stale,
    /// No such record: the tombstone alone keeps an older version from creating it.
    Unknown,
}

/// A deletion from the CRM. A user is deactivated, not deleted (work assigned to them keeps
/// its history); an organisation is deleted (people and interactions lose the link), a team
/// too (its members and children stop counting under it); a person is erased ([`super::erase::erase_person`]).
pub async fn delete(
    conn: &mut PgConnection,
    kind: Kind,
    deletion: &Deletion,
) -> Result<Deleted, DirectoryError> {
    let at = utc(&deletion.updated_at);
    tombstone(conn, kind, &deletion.external_id, at).await?;
    let held = match kind {
        Kind::Users => {
            sqlx::query_scalar!(
                "SELECT crm_updated_at FROM users WHERE external_id = $1 FOR UPDATE",
                deletion.external_id.as_str()
            )
            .fetch_optional(&mut *conn)
            .await?
        }
        Kind::Organisations => {
            sqlx::query_scalar!(
                "SELECT crm_updated_at FROM organisations WHERE external_id = $1 FOR UPDATE",
                deletion.external_id.as_str()
            )
            .fetch_optional(&mut *conn)
            .await?
        }
        Kind::Teams => sqlx::query_scalar!(
            "SELECT crm_updated_at FROM teams WHERE external_id = $1 FOR UPDATE",
            deletion.external_id.as_str()
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(Some),
        Kind::People => {
            sqlx::query_scalar!(
                "SELECT crm_updated_at FROM people WHERE external_id = $1 FOR UPDATE",
                deletion.external_id.as_str()
            )
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    match held {
        None => return Ok(Deleted::Unknown),
        Some(Some(held)) if held >= at => return Ok(Deleted::Stale),
        Some(_) => {}
    }
    match kind {
        Kind::Users => {
            sqlx::query!(
                "UPDATE users SET is_active = false, crm_updated_at = $2, updated_at = now()
                 WHERE external_id = $1",
                deletion.external_id.as_str(),
                at
            )
            .execute(&mut *conn)
            .await?;
        }
        Kind::Organisations => {
            sqlx::query!(
                "DELETE FROM organisations WHERE external_id = $1",
                deletion.external_id.as_str()
            )
            .execute(&mut *conn)
            .await?;
        }
        Kind::Teams => {
            // Memberships and children name it by external id: they stop counting with it.
            sqlx::query!(
                "DELETE FROM teams WHERE external_id = $1",
                deletion.external_id.as_str()
            )
            .execute(&mut *conn)
            .await?;
        }
        Kind::People => {
            super::erase::erase_person(conn, &deletion.external_id).await?;
        }
    }
    Ok(Deleted::Applied)
}

/// A 422 naming each organisation or owner no row has (`References::MustExist`).
async fn refuse_unknown_references(
    conn: &mut PgConnection,
    organisation: &[Option<String>],
    owner: &[Option<String>],
    kept: &[usize],
    in_batch: bool,
) -> Result<(), DirectoryError> {
    let mut errors = Vec::new();
    let unknown = sqlx::query!(
        r#"SELECT t.n AS "n!",
                  (t.organisation IS NOT NULL AND NOT EXISTS
                      (SELECT 1 FROM organisations o WHERE o.external_id = t.organisation))
                      AS "organisation!",
                  (t.owner IS NOT NULL AND NOT EXISTS
                      (SELECT 1 FROM users u WHERE u.external_id = t.owner)) AS "owner!"
           FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS t(organisation, owner, n)"#,
        organisation as &[Option<String>],
        owner as &[Option<String>]
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in unknown {
        let at = position(kept[usize::try_from(row.n - 1).unwrap_or(0)], in_batch);
        if row.organisation {
            errors.push(FieldError::new(
                at.field("organisation_external_id"),
                "no organisation with this external id",
            ));
        }
        if row.owner {
            errors.push(FieldError::new(
                at.field("owner_external_id"),
                "no user with this external id",
            ));
        }
    }
    refuse_any(errors)
}

/// A person entered before the sync is adopted by address; an address another person already
/// holds is a 422.
async fn adopt_by_address(
    conn: &mut PgConnection,
    ids: &[&str],
    email: &[Option<String>],
    kept: &[usize],
    in_batch: bool,
) -> Result<(), DirectoryError> {
    sqlx::query!(
        "UPDATE people p SET external_id = t.external_id
         FROM UNNEST($1::text[], $2::text[]) AS t(external_id, email)
         WHERE p.external_id IS NULL AND t.email IS NOT NULL AND lower(p.email) = lower(t.email)
           AND NOT EXISTS (SELECT 1 FROM people o WHERE o.external_id = t.external_id)",
        ids as &[&str],
        email as &[Option<String>]
    )
    .execute(&mut *conn)
    .await?;
    let taken = sqlx::query_scalar!(
        r#"SELECT t.n AS "n!" FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS t(external_id, email, n)
           JOIN people p ON lower(p.email) = lower(t.email)
           WHERE t.email IS NOT NULL AND p.external_id IS DISTINCT FROM t.external_id"#,
        ids as &[&str],
        email as &[Option<String>]
    )
    .fetch_all(&mut *conn)
    .await?;
    refuse_taken(
        &taken,
        kept,
        in_batch,
        "already the address of another person",
    )
}

/// A 422 naming every fault, or nothing to refuse.
fn refuse_any(errors: Vec<FieldError>) -> Result<(), DirectoryError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DirectoryError::Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_version_of_each_id_counts_and_the_others_are_stale() {
        let versions = [("a", 1), ("b", 5), ("a", 3), ("a", 2), ("b", 5)];
        let (kept, stale) = newest_per_id(
            &versions,
            |v| v.0,
            |v| DateTime::from_timestamp(v.1, 0).unwrap_or_default(),
        );
        assert_eq!(kept, [1, 2]);
        assert_eq!(stale, 3);
    }
}
