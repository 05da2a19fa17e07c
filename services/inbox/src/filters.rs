//! The inbox filters (`assignee`, `status`, `due`, `tz`) and page parameters (`limit`,
//! `cursor`): raw query parameters, validated into an [`InboxFilter`] with every bad parameter
//! named in one 422.
//!
//! Due windows are computed in the caller's time zone (`tz`, IANA name, default
//! `inbox.default_timezone`): `overdue` is before now; `today` is from the start of today to the
//! start of tomorrow; `week` from the start of today to the start of the day seven days later.
//! Days are calendar days, so a DST change day is 23 or 25 hours long. Rows without a next
//! action only match `all`.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use relance_shared::http::{ApiError, FieldError};

use crate::interactions::InteractionStatus;

/// Who the inbox is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    Everyone,
    Unassigned,
    User(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// The default: `todo` and `in_progress`.
    NotDone,
    Is(InteractionStatus),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Due {
    Overdue,
    Today,
    Week,
    All,
}

impl Due {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "overdue" => Some(Due::Overdue),
            "today" => Some(Due::Today),
            "week" => Some(Due::Week),
            "all" => Some(Due::All),
            _ => None,
        }
    }
}

/// `[from, until)` on `next_action_at`; both open: no condition (rows without a next action
/// included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxFilter {
    pub assignee: AssigneeFilter,
    pub status: StatusFilter,
    pub due: Due,
    pub tz: Tz,
    pub window: Window,
}

impl InboxFilter {
    /// What a cursor is bound to: the filter as asked, not its window (which moves with the
    /// clock), so paging across midnight keeps working.
    pub fn fingerprint(&self) -> String {
        format!(
            "{:?}|{:?}|{:?}|{}",
            self.assignee,
            self.status,
            self.due,
            self.tz.name()
        )
    }
}

/// Which rows: `assignee`, `due`, `tz` (the stats cards take only these).
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopeParams {
    /// `me` (the caller), a user id, or `unassigned`; absent: everyone.
    #[param(pattern = "^(me|unassigned|[0-9]+)$", example = "me")]
    pub assignee: Option<String>,
    /// Due window, computed in `tz`; default `all`.
    #[param(value_type = Option<Due>)]
    pub due: Option<String>,
    /// IANA time zone the due windows are computed in; default `inbox.default_timezone`.
    #[param(example = "Europe/Paris")]
    pub tz: Option<String>,
}

/// `status`: absent means not done.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusParams {
    /// Absent: `todo` and `in_progress`.
    #[param(value_type = Option<InteractionStatus>)]
    pub status: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `cursor` of the previous page, as returned.
    pub cursor: Option<String>,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// Validates the parameters; `me` is `caller`. Collects every bad parameter.
pub fn resolve(
    scope: &ScopeParams,
    status: Option<&StatusParams>,
    caller: i64,
    default_tz: Tz,
    now: DateTime<Utc>,
    errors: &mut Vec<FieldError>,
) -> Option<InboxFilter> {
    let assignee = match scope.assignee.as_deref().map(str::trim) {
        None | Some("") => Some(AssigneeFilter::Everyone),
        Some("me") => Some(AssigneeFilter::User(caller)),
        Some("unassigned") => Some(AssigneeFilter::Unassigned),
        Some(id) => match id.parse::<i64>() {
            Ok(id) if id > 0 => Some(AssigneeFilter::User(id)),
            _ => {
                errors.push(FieldError::new(
                    "assignee",
                    "must be `me`, `unassigned` or a user id",
                ));
                None
            }
        },
    };
    let status = match status.and_then(|s| s.status.as_deref()) {
        None | Some("") => Some(StatusFilter::NotDone),
        Some(value) => match InteractionStatus::parse(value) {
            Some(s) => Some(StatusFilter::Is(s)),
            None => {
                errors.push(FieldError::new(
                    "status",
                    "must be one of todo, in_progress, done",
                ));
                None
            }
        },
    };
    let due = match scope.due.as_deref() {
        None | Some("") => Some(Due::All),
        Some(value) => Due::parse(value).or_else(|| {
            errors.push(FieldError::new(
                "due",
                "must be one of overdue, today, week, all",
            ));
            None
        }),
    };
    let tz = match scope.tz.as_deref() {
        None | Some("") => Some(default_tz),
        Some(name) => name.parse::<Tz>().ok().or_else(|| {
            errors.push(FieldError::new(
                "tz",
                format!("`{name}` is not an IANA time zone (e.g. Europe/Paris)"),
            ));
            None
        }),
    };
    let (Some(assignee), Some(status), Some(due), Some(tz)) = (assignee, status, due, tz) else {
        return None;
    };
    Some(InboxFilter {
        assignee,
        status,
        due,
        tz,
        window: window(due, tz, now),
    })
}

/// `limit`, 1..=200, default 50.
pub fn limit(page: &PageParams, errors: &mut Vec<FieldError>) -> i64 {
    match page.limit.as_deref() {
        None | Some("") => DEFAULT_LIMIT,
        Some(value) => match value.parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                errors.push(FieldError::new("limit", "must be an integer from 1 to 200"));
                DEFAULT_LIMIT
            }
        },
    }
}

pub fn into_result<T>(value: Option<T>, errors: Vec<FieldError>) -> Result<T, ApiError> {
    match value {
        Some(value) if errors.is_empty() => Ok(value),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// The due window of `due` at `now`, in `tz`.
pub fn window(due: Due, tz: Tz, now: DateTime<Utc>) -> Window {
    let today = now.with_timezone(&tz).date_naive();
    let days_later = |n: u64| today.checked_add_days(Days::new(n)).unwrap_or(today);
    match due {
        Due::All => Window::default(),
        Due::Overdue => Window {
            from: None,
            until: Some(now),
        },
        Due::Today => Window {
            from: Some(start_of_day(tz, today)),
            until: Some(start_of_day(tz, days_later(1))),
        },
        Due::Week => Window {
            from: Some(start_of_day(tz, today)),
            until: Some(start_of_day(tz, days_later(7))),
        },
    }
}

/// The first instant of `date` in `tz`: local midnight, or where a DST jump skips midnight
/// (some zones change at 00:00), the first local time that exists after it.
pub fn start_of_day(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    (0..=24 * 4)
        .find_map(|quarter| {
            tz.from_local_datetime(&(midnight + TimeDelta::minutes(15 * quarter)))
                .earliest()
        })
        .map(|at| at.with_timezone(&Utc))
        // Unreachable with the IANA data (no gap lasts a day); UTC midnight is a sane answer.
        .unwrap_or_else(|| midnight.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn windows_in_the_callers_time_zone() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        // 23:30 in Paris (UTC+2) on 10 June is 21:30 UTC: today is the 10th in both.
        let now = utc("2026-06-10T21:30:00Z");
        assert_eq!(
            window(Due::Today, paris, now),
            Window {
                from: Some(utc("2026-06-09T22:00:00Z")),
                until: Some(utc("2026-06-10T22:00:00Z")),
            }
        );
        assert_eq!(
            window(Due::Today, Tz::UTC, now),
            Window {
                from: Some(utc("2026-06-10T00:00:00Z")),
                until: Some(utc("2026-06-11T00:00:00Z")),
            }
        );
        // 00:30 in Paris on the 11th is still the 10th in UTC.
        let now = utc("2026-06-10T22:30:00Z");
        assert_eq!(
            window(Due::Today, paris, now).from,
            Some(utc("2026-06-10T22:00:00Z"))
        );
        assert_eq!(
            window(Due::Today, Tz::UTC, now).from,
            Some(utc("2026-06-10T00:00:00Z"))
        );
        assert_eq!(
            window(Due::Overdue, paris, now),
            Window {
                from: None,
                until: Some(now)
            }
        );
        assert_eq!(window(Due::All, paris, now), Window::default());
    }

    #[test]
    fn dst_days_are_23_and_25_hours_long() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let spring = window(Due::Today, paris, utc("2026-03-29T12:00:00Z"));
        assert_eq!(spring.from, Some(utc("2026-03-28T23:00:00Z")));
        assert_eq!(spring.until, Some(utc("2026-03-29T22:00:00Z")));
        let autumn = window(Due::Today, paris, utc("2026-10-25T12:00:00Z"));
        assert_eq!(autumn.from, Some(utc("2026-10-24T22:00:00Z")));
        assert_eq!(autumn.until, Some(utc("2026-10-25T23:00:00Z")));
        // A week from the day before spring-forward ends on local midnight, in summer time.
        let week = window(Due::Week, paris, utc("2026-03-28T12:00:00Z"));
        assert_eq!(week.from, Some(utc("2026-03-27T23:00:00Z")));
        assert_eq!(week.until, Some(utc("2026-04-03T22:00:00Z")));
    }

    #[test]
    fn a_day_that_skips_midnight_starts_at_the_first_existing_minute() {
        // Chile (America/Santiago) springs forward at 24:00: 2026-09-06 has no 00:00.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        let start = start_of_day(santiago, date);
        assert_eq!(start.with_timezone(&santiago).date_naive(), date);
        assert_eq!(start, utc("2026-09-06T04:00:00Z"));
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let mut errors = Vec::new();
        let scope = ScopeParams {
            assignee: Some("bob".into()),
            due: Some("tomorrow".into()),
            tz: Some("Mars/Olympus".into()),
        };
        let status = StatusParams {
            status: Some("closed".into()),
        };
        let filter = resolve(&scope, Some(&status), 1, Tz::UTC, Utc::now(), &mut errors);
        assert!(filter.is_none());
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["assignee", "status", "due", "tz"]);
        let mut errors = Vec::new();
        for bad in ["0", "201", "-1", "ten"] {
            limit(
                &PageParams {
                    limit: Some(bad.into()),
                    cursor: None,
                },
                &mut errors,
            );
        }
        assert_eq!(errors.len(), 4);
    }

    #[test]
    fn defaults() {
        let mut errors = Vec::new();
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let filter = resolve(
            &ScopeParams::default(),
            None,
            7,
            paris,
            Utc::now(),
            &mut errors,
        )
        .unwrap();
        assert_eq!(filter.assignee, AssigneeFilter::Everyone);
        assert_eq!(filter.status, StatusFilter::NotDone);
        assert_eq!(filter.due, Due::All);
        assert_eq!(filter.tz, paris);
        let me = resolve(
            &ScopeParams {
                assignee: Some("me".into()),
                ..Default::default()
            },
            None,
            7,
            paris,
            Utc::now(),
            &mut errors,
        )
        .unwrap();
        assert_eq!(me.assignee, AssigneeFilter::User(7));
        assert_eq!(limit(&PageParams::default(), &mut errors), 50);
        assert!(errors.is_empty());
    }
}
