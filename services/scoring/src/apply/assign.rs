//! Who gets a new first-open or hot-lead interaction (design, "Speed to lead"), decided in the
//! transaction that creates it: the person's owner when active and not away; else the next
//! available rep of the owner's team's pool (the owner's first team); else of
//! `assignment.default_team`'s pool; else nobody.
//!
//! A pool ([`team_pools`](../../../../migrations/20261207000031_speed_to_lead.sql)) shares in
//! round robin by user id after its cursor, the member given the last one, or to the member
//! with the fewest open items (`least_loaded`, ties in round-robin order). Its row is locked
//! for the rest of the transaction, pools in name order: two scoring replicas or concurrent
//! batches take turns on a pool, so no member gets a second before every available member has
//! had one. Available: active, a rep, not away; a pool whose members are all away passes the
//! lead on to the default pool.
//!
//! A hot lead's first-touch deadline is `sla.hot_lead_minutes` of its assignee's working time
//! from now ([`relance_shared::working_time`]); an unassigned one has none.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::{Postgres, Transaction};

use relance_shared::working_time::WorkingHours;

/// What assignment needs from the settings (`assignment.*`, `sla.*`, the inbox's zone).
#[derive(Debug, Clone)]
pub struct Assignment {
    /// The pool of the leads nobody's team takes (`assignment.default_team`).
    pub default_team: Option<String>,
    /// `sla.hot_lead_minutes` of working time to touch a hot lead.
    pub sla_minutes: u32,
    /// The zone of a user who has not set theirs.
    pub default_tz: Tz,
}

impl Default for Assignment {
    fn default() -> Self {
        Self {
            default_team: None,
            sla_minutes: 60,
            default_tz: chrono_tz::Europe::Paris,
        }
    }
}

/// A user's schedule as stored.
struct Schedule {
    timezone: Option<String>,
    work_days: Vec<i16>,
    work_start: NaiveTime,
    work_end: NaiveTime,
    away_until: Option<DateTime<Utc>>,
}

impl Schedule {
    fn hours(&self, default_tz: Tz) -> Option<WorkingHours> {
        WorkingHours::from_columns(
            self.timezone.as_deref(),
            &self.work_days,
            self.work_start,
            self.work_end,
            self.away_until,
            default_tz,
        )
    }
}

/// Where an interaction's assignee came from (the metric's label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Owner,
    TeamPool,
    DefaultPool,
    Nobody,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Source::Owner => "owner",
            Source::TeamPool => "team_pool",
            Source::DefaultPool => "default_pool",
            Source::Nobody => "unassigned",
        }
    }
}

/// One pool while a batch assigns from it.
struct Pool {
    least_loaded: bool,
    last: Option<i64>,
    /// Available members in id order, with their open items.
    members: Vec<(i64, i64)>,
    changed: bool,
}

impl Pool {
    /// The next member: round robin after the cursor, or the least loaded (ties in that order).
    fn pick(&mut self) -> Option<i64> {
        if self.members.is_empty() {
            return None;
        }
        let after = self
            .members
            .iter()
            .position(|(id, _)| Some(*id) > self.last)
            .unwrap_or(0);
        let order = (0..self.members.len()).map(|k| (after + k) % self.members.len());
        let chosen = if self.least_loaded {
            order.min_by_key(|&n| self.members[n].1)?
        } else {
            after
        };
        self.members[chosen].1 += 1;
        let id = self.members[chosen].0;
        self.last = Some(id);
        self.changed = true;
        Some(id)
    }
}

/// Each interaction's assignee, and a hot lead's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigned {
    pub assignee: Option<i64>,
    pub sla_due_at: Option<DateTime<Utc>>,
}

impl Assignment {
    /// Assignees for new interactions about `people` (in order; `None`: nobody known), and for
    /// those with `sla[i]` their first-touch deadline from `now`.
    pub async fn assign(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        people: &[Option<i64>],
        sla: &[bool],
        now: DateTime<Utc>,
    ) -> Result<Vec<Assigned>, sqlx::Error> {
        if people.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = people.iter().flatten().copied().collect();
        let owners = sqlx::query!(
            r#"SELECT p.id AS "person_id!", u.id AS "owner_id?",
                      coalesce(u.is_active AND (u.away_until IS NULL OR u.away_until <= $2), false)
                          AS "available!",
                      u.team_external_ids[1] AS "team?",
                      u.timezone, u.work_days AS "work_days?", u.work_start AS "work_start?",
                      u.work_end AS "work_end?", u.away_until
               FROM people p LEFT JOIN users u ON u.id = p.owner_id
               WHERE p.id = ANY($1)"#,
            &ids,
            now
        )
        .fetch_all(&mut **tx)
        .await?;
        let mut schedules: HashMap<i64, Schedule> = HashMap::new();
        // Per person: the owner when available, else the pool to ask.
        let mut by_person: HashMap<i64, Result<i64, Option<String>>> = HashMap::new();
        for row in owners {
            let choice = match row.owner_id {
                Some(owner) if row.available => {
                    if let (Some(work_days), Some(work_start), Some(work_end)) =
                        (row.work_days, row.work_start, row.work_end)
                    {
                        schedules.insert(
                            owner,
                            Schedule {
                                timezone: row.timezone,
                                work_days,
                                work_start,
                                work_end,
                                away_until: row.away_until,
                            },
                        );
                    }
                    Ok(owner)
                }
                _ => Err(row.team.or_else(|| self.default_team.clone())),
            };
            by_person.insert(row.person_id, choice);
        }
        let mut teams: Vec<String> = by_person
            .values()
            .filter_map(|c| c.as_ref().err().cloned().flatten())
            .chain(self.default_team.clone())
            .collect();
        teams.sort();
        teams.dedup();
        let needs_pool = by_person.values().any(Result::is_err);
        let mut pools = if needs_pool {
            self.lock_pools(tx, &teams, now, &mut schedules).await?
        } else {
            BTreeMap::new()
        };

        let mut out = Vec::with_capacity(people.len());
        for (n, person) in people.iter().enumerate() {
            let choice = person.and_then(|p| by_person.get(&p).cloned());
            let (assignee, source) = self.choose(choice, &mut pools);
            metrics::counter!("scoring_assignments_total", "source" => source.label()).increment(1);
            let sla_due_at = match (assignee, sla.get(n).copied().unwrap_or(false)) {
                (Some(id), true) => schedules
                    .get(&id)
                    .and_then(|s| s.hours(self.default_tz))
                    .and_then(|h| h.add(now, self.sla_minutes)),
                _ => None,
            };
            out.push(Assigned {
                assignee,
                sla_due_at,
            });
        }
        self.save_cursors(tx, &pools).await?;
        Ok(out)
    }

    /// The assignee for one person's choice: the owner, or a pick from the team's pool, then
    /// from the default pool.
    fn choose(
        &self,
        choice: Option<Result<i64, Option<String>>>,
        pools: &mut BTreeMap<String, Pool>,
    ) -> (Option<i64>, Source) {
        if let Some(Ok(owner)) = choice {
            return (Some(owner), Source::Owner);
        }
        if let Some(Err(Some(team))) = &choice {
            if Some(team) != self.default_team.as_ref() {
                if let Some(id) = pools.get_mut(team).and_then(Pool::pick) {
                    return (Some(id), Source::TeamPool);
                }
            }
        }
        match self
            .default_team
            .as_ref()
            .and_then(|t| pools.get_mut(t))
            .and_then(Pool::pick)
        {
            Some(id) => (Some(id), Source::DefaultPool),
            None => (None, Source::Nobody),
        }
    }

    /// Creates the pools not yet known, locks them in name order and reads their available
    /// members (their schedules into `schedules`).
    async fn lock_pools(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        teams: &[String],
        now: DateTime<Utc>,
        schedules: &mut HashMap<i64, Schedule>,
    ) -> Result<BTreeMap<String, Pool>, sqlx::Error> {
        // Two statements: a pool another batch creates meanwhile is seen (and waited for) by
        // the second, whose snapshot is taken after the first has waited on it.
        sqlx::query!(
            "INSERT INTO team_pools (team_external_id)
             SELECT t FROM unnest($1::text[]) AS t ORDER BY t
             ON CONFLICT (team_external_id) DO NOTHING",
            teams
        )
        .execute(&mut **tx)
        .await?;
        let rows = sqlx::query!(
            r#"SELECT team_external_id, mode::text AS "mode!", last_user_id
               FROM team_pools WHERE team_external_id = ANY($1)
               ORDER BY team_external_id FOR UPDATE"#,
            teams
        )
        .fetch_all(&mut **tx)
        .await?;
        let mut pools: BTreeMap<String, Pool> = teams
            .iter()
            .map(|t| {
                (
                    t.clone(),
                    Pool {
                        least_loaded: false,
                        last: None,
                        members: Vec::new(),
                        changed: false,
                    },
                )
            })
            .collect();
        for row in rows {
            if let Some(pool) = pools.get_mut(&row.team_external_id) {
                pool.least_loaded = row.mode == "least_loaded";
                pool.last = row.last_user_id;
            }
        }
        let least_loaded: Vec<String> = pools
            .iter()
            .filter(|(_, p)| p.least_loaded)
            .map(|(t, _)| t.clone())
            .collect();
        let members = sqlx::query!(
            r#"SELECT t.team AS "team!", u.id, u.timezone, u.work_days, u.work_start,
                      u.work_end, u.away_until,
                      CASE WHEN t.team = ANY($3) THEN
                          (SELECT count(*) FROM crm_interactions i
                           WHERE i.assignee_id = u.id AND i.status <> 'done')
                      ELSE 0 END AS "open!"
               FROM unnest($1::text[]) AS t(team)
               JOIN users u ON u.team_external_ids @> ARRAY[t.team]
               WHERE u.is_active AND u.role = 'rep'
                 AND (u.away_until IS NULL OR u.away_until <= $2)
               ORDER BY t.team, u.id"#,
            teams,
            now,
            &least_loaded
        )
        .fetch_all(&mut **tx)
        .await?;
        for m in members {
            if let Some(pool) = pools.get_mut(&m.team) {
                pool.members.push((m.id, m.open));
            }
            schedules.entry(m.id).or_insert(Schedule {
                timezone: m.timezone,
                work_days: m.work_days,
                work_start: m.work_start,
                work_end: m.work_end,
                away_until: m.away_until,
            });
        }
        Ok(pools)
    }

    async fn save_cursors(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        pools: &BTreeMap<String, Pool>,
    ) -> Result<(), sqlx::Error> {
        let (teams, last): (Vec<String>, Vec<i64>) = pools
            .iter()
            .filter(|(_, p)| p.changed)
            .filter_map(|(t, p)| Some((t.clone(), p.last?)))
            .unzip();
        if teams.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "UPDATE team_pools p SET last_user_id = c.last, updated_at = now()
             FROM unnest($1::text[], $2::bigint[]) AS c(team, last)
             WHERE p.team_external_id = c.team",
            &teams,
            &last
        )
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(least_loaded: bool, last: Option<i64>, members: &[(i64, i64)]) -> Pool {
        Pool {
            least_loaded,
            last,
            members: members.to_vec(),
            changed: false,
        }
    }

    #[test]
    fn round_robin_goes_round_from_the_cursor() {
        let mut p = pool(false, Some(5), &[(3, 0), (5, 0), (9, 0)]);
        let picks: Vec<_> = (0..5).filter_map(|_| p.pick()).collect();
        assert_eq!(picks, [9, 3, 5, 9, 3]);
    }

    #[test]
    fn least_loaded_takes_the_fewest_open_then_the_round_robin_order() {
        let mut p = pool(true, Some(3), &[(3, 2), (5, 4), (9, 2)]);
        let picks: Vec<_> = (0..4).filter_map(|_| p.pick()).collect();
        // 9 and 3 tie at 2 (9 first after the cursor 3), then 3 (2 < 3), then 9 and 3 tie at
        // 3 and 5 has 4: 9 comes after the cursor 3.
        assert_eq!(picks, [9, 3, 9, 3]);
    }

    #[test]
    fn an_empty_pool_gives_nobody() {
        assert_eq!(pool(false, None, &[]).pick(), None);
    }

    #[test]
    fn seven_members_share_ten_thousand_within_one() {
        let members: Vec<(i64, i64)> = (1..=7).map(|id| (id * 10, 0)).collect();
        let mut p = pool(false, None, &members);
        let mut got: HashMap<i64, i64> = HashMap::new();
        for _ in 0..10_000 {
            *got.entry(p.pick().unwrap_or_default()).or_default() += 1;
        }
        let (min, max) = (got.values().min(), got.values().max());
        assert_eq!(got.len(), 7);
        assert!(max.zip(min).is_some_and(|(a, b)| a - b <= 1), "{got:?}");
    }
}
