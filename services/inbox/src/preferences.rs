//! A user's preferences (docs/schema.sql): how overdue follow-ups reach them by email (`off`,
//! `instant`, `daily`), the time zone of their digest hour, of the dates in their emails and of
//! their working day, the hour their daily digest arrives, and their availability (design,
//! "Speed to lead": away until when, which days and hours they work; an away user gets no new
//! hot lead, and a hot lead's deadline counts only their working time). The reminder and
//! scoring read them; the user reads and changes them through `/api/v1/me`.

use chrono::{DateTime, FixedOffset, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use relance_shared::http::{ApiError, FieldError};
use relance_shared::valid::{ClockTime, Hour, IsoWeekday, TimeZone};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, ToSchema)]
#[sqlx(type_name = "notify_email_mode", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum NotifyEmail {
    /// In-app notifications only.
    Off,
    /// One email per overdue follow-up, when it falls due.
    Instant,
    /// One email a day at `digest_hour`, listing overdue and today's follow-ups.
    Daily,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Preferences {
    pub notify_email: NotifyEmail,
    /// IANA zone (the user's, else `inbox.default_timezone`).
    #[schema(example = "Europe/Paris")]
    pub timezone: String,
    /// Local hour (0-23) of the daily digest.
    #[schema(minimum = 0, maximum = 23)]
    pub digest_hour: i16,
    /// Away until then (no new hot lead; the SLA clock waits); `null`: present.
    pub away_until: Option<DateTime<Utc>>,
    /// ISO weekdays worked (1 = Monday … 7 = Sunday), in order.
    pub work_days: Vec<i16>,
    /// The working day's local start and end, `HH:MM`.
    #[schema(value_type = String, example = "09:00")]
    pub work_start: ClockTime,
    #[schema(value_type = String, example = "18:00")]
    pub work_end: ClockTime,
}

/// A change: the fields given change, the others stay. At least one field
/// (`openapi::PROPERTY_COUNTS`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesChange {
    #[serde(default, deserialize_with = "crate::fields::not_null")]
    #[schema(nullable = false)]
    pub notify_email: Option<NotifyEmail>,
    #[serde(default, deserialize_with = "crate::fields::not_null")]
    #[schema(nullable = false, example = "Europe/Paris")]
    pub timezone: Option<TimeZone>,
    #[serde(default, deserialize_with = "crate::fields::not_null")]
    #[schema(nullable = false)]
    pub digest_hour: Option<Hour>,
    /// RFC 3339 with an offset; `null`: back now.
    #[serde(default, deserialize_with = "crate::fields::null_is_a_value")]
    #[schema(value_type = Option<DateTime<Utc>>, nullable = true)]
    pub away_until: Option<Option<DateTime<FixedOffset>>>,
    /// At least one day; a day given twice counts once.
    #[serde(default, deserialize_with = "crate::fields::not_null")]
    #[schema(nullable = false, min_items = 1, max_items = 7)]
    pub work_days: Option<Vec<IsoWeekday>>,
    /// Before `work_end` (the one given, else the one kept).
    #[serde(default, deserialize_with = "crate::fields::not_null")]
    #[schema(nullable = false)]
    pub work_start: Option<ClockTime>,
    #[serde(default, deserialize_with = "crate::fields::not_null")]
    #[schema(nullable = false)]
    pub work_end: Option<ClockTime>,
}

struct Validated {
    notify_email: Option<NotifyEmail>,
    timezone: Option<String>,
    digest_hour: Option<i16>,
    /// Whether `away_until` was given, and its value.
    away_until: (bool, Option<DateTime<Utc>>),
    work_days: Option<Vec<i16>>,
    work_start: Option<NaiveTime>,
    work_end: Option<NaiveTime>,
}

fn validate(change: PreferencesChange) -> Result<Validated, ApiError> {
    if change.notify_email.is_none()
        && change.timezone.is_none()
        && change.digest_hour.is_none()
        && change.away_until.is_none()
        && change.work_days.is_none()
        && change.work_start.is_none()
        && change.work_end.is_none()
    {
        return Err(ApiError::Validation(vec![FieldError::new(
            "notify_email",
            "give at least one of notify_email, timezone, digest_hour, away_until, work_days, \
             work_start, work_end",
        )]));
    }
    let work_days = match change.work_days {
        Some(days) if days.is_empty() => {
            return Err(ApiError::Validation(vec![FieldError::new(
                "work_days",
                "give at least one working day",
            )]))
        }
        Some(mut days) => {
            days.sort();
            days.dedup();
            Some(days.into_iter().map(IsoWeekday::get).collect())
        }
        None => None,
    };
    Ok(Validated {
        notify_email: change.notify_email,
        timezone: change.timezone.map(|zone| zone.zone_name().to_owned()),
        digest_hour: change.digest_hour.map(Hour::get),
        away_until: match change.away_until {
            None => (false, None),
            Some(at) => (true, at.map(|at| at.with_timezone(&Utc))),
        },
        work_days,
        work_start: change.work_start.map(ClockTime::get),
        work_end: change.work_end.map(ClockTime::get),
    })
}

/// The stored row: the user's zone or, when they chose none, the default one.
#[derive(sqlx::FromRow)]
struct Stored {
    notify_email: NotifyEmail,
    timezone: Option<String>,
    digest_hour: i16,
    away_until: Option<DateTime<Utc>>,
    work_days: Vec<i16>,
    work_start: NaiveTime,
    work_end: NaiveTime,
}

impl Stored {
    fn shown(self, default_tz: Tz) -> Preferences {
        Preferences {
            notify_email: self.notify_email,
            timezone: self
                .timezone
                .unwrap_or_else(|| default_tz.name().to_owned()),
            digest_hour: self.digest_hour,
            away_until: self.away_until,
            work_days: self.work_days,
            work_start: ClockTime::from_time(self.work_start),
            work_end: ClockTime::from_time(self.work_end),
        }
    }
}

/// The user's preferences; `None`: no such active user.
pub async fn get(
    pool: &PgPool,
    user_id: i64,
    default_tz: Tz,
) -> Result<Option<Preferences>, sqlx::Error> {
    let row = sqlx::query_as!(
        Stored,
        r#"SELECT notify_email AS "notify_email: NotifyEmail", timezone, digest_hour,
                  away_until, work_days, work_start, work_end
           FROM users WHERE id = $1 AND is_active"#,
        user_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| row.shown(default_tz)))
}

/// Applies a validated change in one statement (all fields or none); `None`: no such active
/// user. A working day that would end before it starts (with the hour kept for the one not
/// given) is a 422 naming `work_end`, and changes nothing.
pub async fn update(
    pool: &PgPool,
    user_id: i64,
    change: PreferencesChange,
    default_tz: Tz,
) -> Result<Option<Preferences>, ApiError> {
    let change = validate(change)?;
    let row = sqlx::query_as!(
        Stored,
        r#"UPDATE users SET notify_email = COALESCE($2, notify_email),
                  timezone = COALESCE($3, timezone),
                  digest_hour = COALESCE($4, digest_hour),
                  away_until = CASE WHEN $5 THEN $6 ELSE away_until END,
                  work_days = COALESCE($7, work_days),
                  work_start = COALESCE($8, work_start),
                  work_end = COALESCE($9, work_end)
           WHERE id = $1 AND is_active
             AND COALESCE($8, work_start) < COALESCE($9, work_end)
           RETURNING notify_email AS "notify_email: NotifyEmail", timezone, digest_hour,
                     away_until, work_days, work_start, work_end"#,
        user_id,
        change.notify_email as Option<NotifyEmail>,
        change.timezone,
        change.digest_hour,
        change.away_until.0,
        change.away_until.1,
        change.work_days.as_deref(),
        change.work_start,
        change.work_end
    )
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => Ok(Some(row.shown(default_tz))),
        // Nothing written: no such active user, or a day ending before it starts.
        None => match get(pool, user_id, default_tz).await? {
            None => Ok(None),
            Some(_) => Err(ApiError::Validation(vec![FieldError::new(
                "work_end",
                "the working day must end after it starts",
            )])),
        },
    }
}
