//! Who may see and change what (design, "Teams, roles and scope"), decided here and nowhere
//! else: every path takes the caller's [`Scope`] from [`Caller`], which the request's
//! [`crate::auth::CurrentUser`] carries.
//!
//! - a rep sees the items assigned to them and the unassigned ones;
//! - a manager, also those of every member of the teams they belong to and of those teams'
//!   descendants (`managed_users` in docs/schema.sql);
//! - an admin, everything.
//!
//! Out of scope answers as absent does (404, `not_found`), so ids cannot be probed.
//!
//! Callers are cached per replica, so a request does not pay a query for its scope: a change
//! to the users or teams tables notifies `relance_directory` (any replica's write, the CRM's
//! included), which empties every replica's cache; while that notification channel is down,
//! the cache is not used. A deactivated user is refused from the next request on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use relance_shared::directory::Role;
use sqlx::postgres::PgListener;
use sqlx::{PgPool, Postgres, QueryBuilder};
use tokio_util::sync::CancellationToken;

/// The interactions a caller may see and change, by assignee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Everything,
    /// Those assigned to one of these users (sorted), or to nobody.
    AssignedTo(Arc<[i64]>),
}

impl Scope {
    /// Whether an item assigned to `assignee` (`None`: nobody) is in scope.
    pub fn contains(&self, assignee: Option<i64>) -> bool {
        match (self, assignee) {
            (Scope::Everything, _) | (_, None) => true,
            (Scope::AssignedTo(users), Some(user)) => users.binary_search(&user).is_ok(),
        }
    }

    /// ` AND` the scope's condition on the interactions aliased `i`.
    pub fn push_condition(&self, qb: &mut QueryBuilder<'_, Postgres>) {
        if let Scope::AssignedTo(users) = self {
            qb.push(" AND (i.assignee_id IS NULL OR i.assignee_id = ANY(")
                .push_bind(users.to_vec())
                .push("))");
        }
    }

    /// The users seen, `None` for everyone.
    pub fn users(&self) -> Option<&[i64]> {
        match self {
            Scope::Everything => None,
            Scope::AssignedTo(users) => Some(users),
        }
    }
}

/// A signed-in, active user with what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: i64,
    pub role: Role,
    pub scope: Scope,
    /// The teams they may narrow their inbox to (`team=`): every team for an admin, the teams
    /// a manager manages, a rep's own; by name.
    pub teams: Arc<[VisibleTeam]>,
}

/// A team as a caller sees it: its members (of it and of its descendants, deactivated ones
/// included) that the caller's scope holds, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibleTeam {
    pub external_id: String,
    pub name: String,
    pub parent_external_id: Option<String>,
    pub members: Arc<[i64]>,
}

impl Caller {
    /// An admin who belongs to no team: sees everything (tests, benchmarks).
    pub fn admin(id: i64) -> Self {
        Caller {
            id,
            role: Role::Admin,
            scope: Scope::Everything,
            teams: Arc::from([]),
        }
    }

    /// Whether they may give an item to `assignee` (`None`: nobody): a rep to themselves, a
    /// manager to the users they manage (themselves included), an admin to anyone. That the
    /// user is active is checked where the assignment is made.
    pub fn may_assign_to(&self, assignee: Option<i64>) -> bool {
        match (self.role, assignee) {
            (_, None) | (Role::Admin, _) => true,
            (Role::Rep, Some(user)) => user == self.id,
            (Role::Manager, Some(user)) => self.scope.contains(Some(user)),
        }
    }
}

/// The caller `id` as the database has them now; `None` when unknown or deactivated.
pub async fn load(pool: &PgPool, id: i64) -> Result<Option<Caller>, sqlx::Error> {
    let Some(user) = sqlx::query!(
        r#"SELECT role AS "role: Role", is_active FROM users WHERE id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    if !user.is_active {
        return Ok(None);
    }
    let scope = match user.role {
        Role::Admin => Scope::Everything,
        Role::Rep => Scope::AssignedTo(Arc::from([id])),
        Role::Manager => {
            let mut users =
                sqlx::query_scalar!(r#"SELECT user_id AS "user_id!" FROM managed_users($1)"#, id)
                    .fetch_all(pool)
                    .await?;
            users.push(id);
            users.sort_unstable();
            users.dedup();
            Scope::AssignedTo(users.into())
        }
    };
    let teams = visible_teams(pool, id, user.role, &scope).await?;
    Ok(Some(Caller {
        id,
        role: user.role,
        scope,
        teams: teams.into(),
    }))
}

async fn visible_teams(
    pool: &PgPool,
    id: i64,
    role: Role,
    scope: &Scope,
) -> Result<Vec<VisibleTeam>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT t.external_id, t.name, t.parent_external_id,
                  ARRAY(SELECT m.user_id FROM team_members(t.external_id) m) AS "members!"
           FROM teams t
           WHERE $2::user_role = 'admin'
              OR ($2 = 'manager' AND t.external_id IN (SELECT external_id FROM managed_teams($1)))
              OR t.external_id = ANY (SELECT unnest(team_external_ids) FROM users WHERE id = $1)
           ORDER BY t.name, t.external_id"#,
        id,
        role as Role
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut members = row.members;
            members.retain(|&member| scope.contains(Some(member)));
            members.sort_unstable();
            members.dedup();
            VisibleTeam {
                external_id: row.external_id,
                name: row.name,
                parent_external_id: row.parent_external_id,
                members: members.into(),
            }
        })
        .collect())
}

/// The channel a change to users or teams notifies.
const CHANNEL: &str = "relance_directory";

/// The replica's cache of callers (see the module's documentation).
#[derive(Default)]
pub struct Callers {
    entries: Mutex<HashMap<i64, Arc<Caller>>>,
    /// Bumped at each invalidation: a caller loaded across one is not kept.
    generation: AtomicU64,
    /// Whether invalidations are being received; the cache is bypassed otherwise.
    listening: AtomicBool,
}

impl Callers {
    /// The caller `id`, from the cache or the database.
    pub async fn get(&self, pool: &PgPool, id: i64) -> Result<Option<Arc<Caller>>, sqlx::Error> {
        let listening = self.listening.load(Ordering::Acquire);
        if listening {
            if let Some(caller) = self.lock().get(&id) {
                return Ok(Some(caller.clone()));
            }
        }
        let generation = self.generation.load(Ordering::Acquire);
        let Some(caller) = load(pool, id).await?.map(Arc::new) else {
            return Ok(None);
        };
        if listening {
            let mut entries = self.lock();
            if self.generation.load(Ordering::Acquire) == generation {
                entries.insert(id, caller.clone());
            }
        }
        Ok(Some(caller))
    }

    fn invalidate(&self) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Caller>>> {
        // A panic while holding it leaves a map that is still a valid cache.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Empties the cache at each change notified, until `stop`.
    pub async fn follow_changes(self: Arc<Self>, pool: PgPool, stop: CancellationToken) {
        while !stop.is_cancelled() {
            let listener = async {
                let mut listener = PgListener::connect_with(&pool).await?;
                listener.listen(CHANNEL).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            let mut listener = match listener.await {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "not following directory changes; callers not cached");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            // Changes made while nobody listened are unknown: start afresh.
            self.invalidate();
            self.listening.store(true, Ordering::Release);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    received = listener.try_recv() => match received {
                        Ok(Some(_)) => self.invalidate(),
                        // The connection dropped (notifications may be lost) or failed.
                        Ok(None) | Err(_) => break,
                    },
                }
            }
            self.listening.store(false, Ordering::Release);
            self.invalidate();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, users: &[i64]) -> Caller {
        Caller {
            id: 1,
            role,
            scope: match role {
                Role::Admin => Scope::Everything,
                _ => Scope::AssignedTo(users.into()),
            },
            teams: Arc::from([]),
        }
    }

    #[test]
    fn reassignment_follows_the_role() {
        let rep = caller(Role::Rep, &[1]);
        assert!(rep.may_assign_to(Some(1)) && rep.may_assign_to(None));
        assert!(!rep.may_assign_to(Some(2)));
        let manager = caller(Role::Manager, &[1, 2, 5]);
        assert!(manager.may_assign_to(Some(5)) && !manager.may_assign_to(Some(3)));
        assert!(caller(Role::Admin, &[]).may_assign_to(Some(42)));
        assert!(manager.scope.contains(None) && !manager.scope.contains(Some(4)));
    }
}
