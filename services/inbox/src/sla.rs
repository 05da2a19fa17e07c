//! The first-touch SLA on the inbox's side (design, "Speed to lead"): a hot lead's first
//! touch is its assignee's first change (status, next action, edit), recorded by the
//! statements that make it (`first_touched_at`, see [`crate::interactions`] and
//! [`crate::bulk`]); a reassignment restarts the clock for the new assignee, with a deadline in
//! their working time. Scoring sets the first deadline (services/scoring/src/apply/assign.rs);
//! the reminder warns and escalates (services/reminder/src/sla.rs).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::PgExecutor;

use relance_shared::working_time::WorkingHours;

/// `sla.hot_lead_minutes`, and the zone of users who chose none.
#[derive(Debug, Clone, Copy)]
pub struct SlaClock {
    pub minutes: u32,
    pub default_tz: Tz,
}

impl SlaClock {
    /// `user`'s deadline for a hot lead given to them at `now` (`None`: no such user, or a
    /// schedule without working time).
    pub async fn due_for(
        &self,
        db: impl PgExecutor<'_>,
        user: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        let schedule = sqlx::query!(
            "SELECT timezone, work_days, work_start, work_end, away_until FROM users WHERE id = $1",
            user
        )
        .fetch_optional(db)
        .await?;
        Ok(schedule.and_then(|s| {
            WorkingHours::from_columns(
                s.timezone.as_deref(),
                &s.work_days,
                s.work_start,
                s.work_end,
                s.away_until,
                self.default_tz,
            )?
            .add(now, self.minutes)
        }))
    }
}
