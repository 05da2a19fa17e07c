//! A user's notification preferences (docs/schema.sql): how overdue follow-ups reach them by
//! email (`off`, `instant`, `daily`), the time zone of their digest hour and of the dates in
//! their emails, and the hour their daily digest arrives. The reminder reads them; the user
//! reads and changes them through `/api/v1/me`.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use relance_shared::http::{ApiError, FieldError};
use relance_shared::valid::{Hour, TimeZone};

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
}

struct Validated {
    notify_email: Option<NotifyEmail>,
    timezone: Option<String>,
    digest_hour: Option<i16>,
}

fn validate(change: PreferencesChange) -> Result<Validated, ApiError> {
    if change.notify_email.is_none() && change.timezone.is_none() && change.digest_hour.is_none() {
        return Err(ApiError::Validation(vec![FieldError::new(
            "notify_email",
            "give at least one of notify_email, timezone, digest_hour",
        )]));
    }
    Ok(Validated {
        notify_email: change.notify_email,
        timezone: change.timezone.map(|zone| zone.zone_name().to_owned()),
        digest_hour: change.digest_hour.map(Hour::get),
    })
}

/// The stored row: the user's zone or, when they chose none, the default one.
#[derive(sqlx::FromRow)]
struct Stored {
    notify_email: NotifyEmail,
    timezone: Option<String>,
    digest_hour: i16,
}

impl Stored {
    fn shown(self, default_tz: Tz) -> Preferences {
        Preferences {
            notify_email: self.notify_email,
            timezone: self
                .timezone
                .unwrap_or_else(|| default_tz.name().to_owned()),
            digest_hour: self.digest_hour,
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
        r#"SELECT notify_email AS "notify_email: NotifyEmail", timezone, digest_hour
           FROM users WHERE id = $1 AND is_active"#,
        user_id
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| row.shown(default_tz)))
}

/// Applies a validated change in one statement (all fields or none); `None`: no such active
/// user.
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
                  digest_hour = COALESCE($4, digest_hour)
           WHERE id = $1 AND is_active
           RETURNING notify_email AS "notify_email: NotifyEmail", timezone, digest_hour"#,
        user_id,
        change.notify_email as Option<NotifyEmail>,
        change.timezone,
        change.digest_hour
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| row.shown(default_tz)))
}
