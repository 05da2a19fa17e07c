//! The inbox filters (`assignee`, `status`, `due`, `tz`), the advanced filters and search
//! (`type`, `person_id`, `organisation_id`, `from`, `to`, `q`) and page parameters (`limit`,
//! `cursor`): raw query parameters, validated into an [`InboxFilter`] with every bad parameter
//! named in one 422. All filters combine with AND.
//!
//! `from`/`to` bound `next_action_at` (`from <= next_action_at < to`, datetimes with an
//! offset), so rows without a next action never match them. `q` is split into words; each word
//! must appear, case- and accent-insensitively, in the interaction's title or description or in
//! its person's name or email (`lefevre` finds `Lefèvre`; docs/schema.sql).
//!
//! Due windows are computed in the caller's time zone (`tz`, IANA name, default
//! `inbox.default_timezone`): `overdue` is before now; `today` is from the start of today to the
//! start of tomorrow; `week` from the start of today to the start of the day seven days later.
//! Days are calendar days, so a DST change day is 23 or 25 hours long. Rows without a next
//! action only match `all`.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use relance_shared::http::{ApiError, FieldError};
use relance_shared::valid::{Id, InstantOrEmpty, SearchText, TimeZone, TimeZoneOrDefault, Valid};

use crate::interactions::{InteractionStatus, InteractionType};
use crate::scope::{Caller, Scope};

/// Who the inbox is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    Everyone,
    Unassigned,
    User(i64),
    /// Anyone but nobody: a team's members (`team=`, which narrows `visible` to them).
    Assigned,
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

/// The advanced filters and search; the default matches every row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Refinements {
    /// Any of these types; empty: every type. Sorted, without repeats.
    pub types: Vec<InteractionType>,
    pub person_id: Option<i64>,
    pub organisation_id: Option<i64>,
    /// `from <= next_action_at`.
    pub from: Option<DateTime<Utc>>,
    /// `next_action_at < to`.
    pub to: Option<DateTime<Utc>>,
    /// `q`'s words, each as a `LIKE` pattern (`%word%`, wildcards escaped), not yet folded:
    /// the SQL folds them with the same function as the indexed text.
    pub words: Vec<String>,
}

impl Refinements {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// How one word of `q` is matched (see [`crate::search`], which decides it).
#[derive(Debug, Clone, PartialEq)]
pub enum WordMatch {
    /// The interactions holding any of these lexicon tokens (none: no row matches), from the
    /// word index. `frequency`: the share of the index's rows these tokens hold, by
    /// PostgreSQL's statistics (0 for a token too rare to be among its most common values);
    /// a page walks the rarest word first.
    Tokens { tokens: Vec<String>, frequency: f64 },
    /// The `LIKE` pattern (`%word%`, not yet folded), through the trigram indexes.
    Pattern(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct InboxFilter {
    pub assignee: AssigneeFilter,
    pub status: StatusFilter,
    pub due: Due,
    pub tz: Tz,
    pub window: Window,
    pub refine: Refinements,
    /// How each of `refine.words` is matched, once [`crate::search::resolve_words`] has
    /// asked the lexicon; `None`: every word through the trigram indexes (same rows, slower).
    pub word_matches: Option<Vec<WordMatch>>,
    /// The caller's scope, narrowed to a team's members by `team`: every query of this filter
    /// keeps to it.
    pub visible: Scope,
    /// `team=`: the team's external id, and whether it is one of the caller's teams.
    pub team: Option<(String, bool)>,
}

impl InboxFilter {
    /// 403 naming `assignee` when it names someone out of the caller's scope: asking for
    /// another team's inbox is refused, not answered empty.
    pub fn check_scope(&self) -> Result<(), ApiError> {
        if let Some((_, false)) = self.team {
            return Err(ApiError::NotAllowed(vec![FieldError::new(
                "team",
                "not one of your teams",
            )]));
        }
        match self.assignee {
            AssigneeFilter::User(user) if !self.visible.contains(Some(user)) => Err(
                ApiError::NotAllowed(vec![FieldError::new("assignee", "out of your scope")]),
            ),
            _ => Ok(()),
        }
    }

    /// What a cursor is bound to: the filter as asked, not its window (which moves with the
    /// clock), so paging across midnight keeps working.
    pub fn fingerprint(&self) -> String {
        let mut fingerprint = format!(
            "{:?}|{:?}|{:?}|{}",
            self.assignee,
            self.status,
            self.due,
            self.tz.name()
        );
        // Unrefined filters keep the fingerprint they had, so cursors issued before the
        // advanced filters existed still work.
        if !self.refine.is_empty() {
            fingerprint.push_str(&format!("|{:?}", self.refine));
        }
        if let Some((team, _)) = &self.team {
            fingerprint.push_str(&format!("|team={team}"));
        }
        fingerprint
    }
}

/// Which rows: `assignee` or `team`, `due`, `tz` (the stats cards take only these).
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopeParams {
    /// `me` (the caller), a user id, or `unassigned`; absent or empty: everyone.
    #[param(pattern = "^(me|unassigned|[0-9]+)?$", example = "me")]
    pub assignee: Option<String>,
    /// A team's external id (one of `GET /api/v1/teams`): the items assigned to its members
    /// and its sub-teams' (not the unassigned ones); `assignee` then names one of them.
    /// Another team: 403.
    #[param(example = "crm-t-1")]
    pub team: Option<String>,
    /// Due window, computed in `tz`; default `all`.
    #[param(value_type = Option<Due>)]
    pub due: Option<String>,
    /// IANA time zone the due windows are computed in; default `inbox.default_timezone`.
    #[param(value_type = Option<TimeZoneOrDefault>, example = "Europe/Paris")]
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

/// The advanced filters and search (all optional, combined with AND).
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Comma-separated interaction types: any of them; empty: every type.
    #[serde(rename = "type")]
    #[param(
        rename = "type",
        pattern = "^((call|email|meeting|note)(,(call|email|meeting|note))*)?$",
        example = "call,email"
    )]
    pub kind: Option<String>,
    /// Only this person's interactions.
    #[param(value_type = Option<Id>)]
    pub person_id: Option<String>,
    /// Only this organisation's interactions.
    #[param(value_type = Option<Id>)]
    pub organisation_id: Option<String>,
    /// `from <= next_action_at` (RFC 3339 with an offset).
    #[param(value_type = Option<InstantOrEmpty>)]
    pub from: Option<String>,
    /// `next_action_at < to` (RFC 3339 with an offset; after `from`).
    #[param(value_type = Option<InstantOrEmpty>)]
    pub to: Option<String>,
    /// Words to find in the title, the description, the person's name or email; case and
    /// accents ignored (`lefevre` finds `Lefèvre`).
    #[param(value_type = Option<SearchText>, example = "lefevre")]
    pub q: Option<String>,
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

/// Validates the parameters; `me` is `caller`, whose scope the filter keeps to. Collects every
/// bad parameter.
pub fn resolve(
    scope: &ScopeParams,
    status: Option<&StatusParams>,
    search: Option<&SearchParams>,
    caller: &Caller,
    default_tz: Tz,
    now: DateTime<Utc>,
    errors: &mut Vec<FieldError>,
) -> Option<InboxFilter> {
    let assignee = match scope.assignee.as_deref().map(str::trim) {
        None | Some("") => Some(AssigneeFilter::Everyone),
        Some("me") => Some(AssigneeFilter::User(caller.id)),
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
    let tz = TimeZone::check_param("tz", scope.tz.as_deref(), default_tz, errors);
    let team = match scope.team.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) => Some(caller.teams.iter().find(|t| t.external_id == id).ok_or(id)),
    };
    let refine = match search {
        None => Some(Refinements::default()),
        Some(search) => refinements(search, errors),
    };
    let (Some(assignee), Some(status), Some(due), Some(tz), Some(refine)) =
        (assignee, status, due, tz, refine)
    else {
        return None;
    };
    let (assignee, visible, team) = match team {
        None => (assignee, caller.scope.clone(), None),
        // A team narrows to its members; an assignee asked with it must be one of them.
        Some(Ok(team)) => {
            let assignee = match assignee {
                AssigneeFilter::Everyone => AssigneeFilter::Assigned,
                AssigneeFilter::User(user) if team.members.binary_search(&user).is_ok() => assignee,
                _ => {
                    errors.push(FieldError::new(
                        "assignee",
                        format!("not a member of team {}", team.external_id),
                    ));
                    return None;
                }
            };
            (
                assignee,
                Scope::AssignedTo(team.members.clone()),
                Some((team.external_id.clone(), true)),
            )
        }
        // Refused by `check_scope`; the filter stays within the caller's scope meanwhile.
        Some(Err(id)) => (assignee, caller.scope.clone(), Some((id.to_owned(), false))),
    };
    Some(InboxFilter {
        assignee,
        status,
        due,
        tz,
        window: window(due, tz, now),
        refine,
        word_matches: None,
        visible,
        team,
    })
}

fn instant(
    field: &str,
    value: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    match value.map(str::trim) {
        None | Some("") => None,
        Some(raw) => match DateTime::parse_from_rfc3339(raw) {
            Ok(at) => Some(at.with_timezone(&Utc)),
            Err(_) => {
                errors.push(FieldError::new(
                    field,
                    "must be an RFC 3339 datetime with an offset, e.g. 2026-06-10T09:00:00+02:00",
                ));
                None
            }
        },
    }
}

/// `word` as a `LIKE` pattern matching it anywhere, its wildcards taken literally.
pub fn contains_pattern(word: &str) -> String {
    let mut pattern = String::with_capacity(word.len() + 2);
    pattern.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The advanced filters, every bad one named; `None` when any is bad.
fn refinements(search: &SearchParams, errors: &mut Vec<FieldError>) -> Option<Refinements> {
    let before = errors.len();
    let mut types = Vec::new();
    if let Some(raw) = search
        .kind
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        for name in raw.split(',').map(str::trim) {
            match InteractionType::parse(name) {
                Some(t) => types.push(t),
                None => {
                    errors.push(FieldError::new(
                        "type",
                        "must be a comma-separated list of call, email, meeting, note",
                    ));
                    break;
                }
            }
        }
        types.sort_by_key(|t| t.as_str());
        types.dedup();
    }
    let person_id = Id::check_param("person_id", search.person_id.as_deref(), errors).map(Id::get);
    let organisation_id =
        Id::check_param("organisation_id", search.organisation_id.as_deref(), errors).map(Id::get);
    let from = instant("from", search.from.as_deref(), errors);
    let to = instant("to", search.to.as_deref(), errors);
    if let (Some(from), Some(to)) = (from, to) {
        if to <= from {
            errors.push(FieldError::new("to", "must be after `from`"));
        }
    }
    let mut words = Vec::new();
    let q = search
        .q
        .clone()
        .and_then(|q| SearchText::check("q", q, errors));
    for word in q.as_deref().unwrap_or_default().split_whitespace() {
        let pattern = contains_pattern(&word.to_lowercase());
        if !words.contains(&pattern) {
            words.push(pattern);
        }
    }
    (errors.len() == before).then_some(Refinements {
        types,
        person_id,
        organisation_id,
        from,
        to,
        words,
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

/// The filter, once every parameter is valid and its assignee in scope.
pub fn into_result(
    filter: Option<InboxFilter>,
    errors: Vec<FieldError>,
) -> Result<InboxFilter, ApiError> {
    match filter {
        Some(filter) if errors.is_empty() => filter.check_scope().map(|()| filter),
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
    relance_shared::local_time::first_instant(tz, date, NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(id: i64) -> Caller {
        Caller::admin(id)
    }

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
            team: None,
        };
        let status = StatusParams {
            status: Some("closed".into()),
        };
        let filter = resolve(
            &scope,
            Some(&status),
            None,
            &admin(1),
            Tz::UTC,
            Utc::now(),
            &mut errors,
        );
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

    /// The default scope and status with these advanced filters.
    fn resolve_search(search: &SearchParams, errors: &mut Vec<FieldError>) -> Option<InboxFilter> {
        resolve(
            &ScopeParams::default(),
            None,
            Some(search),
            &admin(1),
            Tz::UTC,
            Utc::now(),
            errors,
        )
    }

    #[test]
    fn every_bad_advanced_filter_is_named() {
        let mut errors = Vec::new();
        let search = SearchParams {
            kind: Some("call,visit".into()),
            person_id: Some("0".into()),
            organisation_id: Some("acme".into()),
            from: Some("2026-06-10T09:00:00".into()),
            to: Some("tomorrow".into()),
            q: Some("x".repeat(201)),
        };
        let filter = resolve_search(&search, &mut errors);
        assert!(filter.is_none());
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["type", "person_id", "organisation_id", "from", "to", "q"]
        );
        let mut errors = Vec::new();
        let backwards = SearchParams {
            from: Some("2026-06-10T09:00:00Z".into()),
            to: Some("2026-06-10T11:00:00+02:00".into()),
            ..Default::default()
        };
        let filter = resolve_search(&backwards, &mut errors);
        assert!(filter.is_none());
        assert_eq!(errors[0].field, "to");
    }

    #[test]
    fn advanced_filters_are_parsed_and_normalized() {
        let mut errors = Vec::new();
        let search = SearchParams {
            kind: Some(" note,call ,note".into()),
            person_id: Some("12".into()),
            organisation_id: Some("".into()),
            from: Some("2026-06-10T09:00:00+02:00".into()),
            to: None,
            q: Some("  Lefèvre  50%_off lefèvre ".into()),
        };
        let filter = resolve_search(&search, &mut errors).unwrap();
        assert!(errors.is_empty());
        let r = &filter.refine;
        assert_eq!(r.types, [InteractionType::Call, InteractionType::Note]);
        assert_eq!(r.person_id, Some(12));
        assert_eq!(r.organisation_id, None);
        assert_eq!(r.from, Some(utc("2026-06-10T07:00:00Z")));
        assert_eq!(r.words, ["%lefèvre%", "%50\\%\\_off%"]);
        assert_ne!(
            filter.fingerprint(),
            InboxFilter {
                refine: Refinements::default(),
                ..filter.clone()
            }
            .fingerprint()
        );
    }

    #[test]
    fn defaults() {
        let mut errors = Vec::new();
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let filter = resolve(
            &ScopeParams::default(),
            None,
            None,
            &admin(7),
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
            None,
            &admin(7),
            paris,
            Utc::now(),
            &mut errors,
        )
        .unwrap();
        assert_eq!(me.assignee, AssigneeFilter::User(7));
        assert_eq!(limit(&PageParams::default(), &mut errors), 50);
        assert!(errors.is_empty());
    }

    #[test]
    fn a_team_narrows_to_its_members_and_another_team_is_refused() {
        use std::sync::Arc;
        let manager = Caller {
            id: 7,
            role: relance_shared::directory::Role::Manager,
            scope: Scope::AssignedTo(Arc::from([3, 5, 7])),
            teams: Arc::from([crate::scope::VisibleTeam {
                external_id: "crm-t-2".into(),
                name: "Grands comptes".into(),
                parent_external_id: Some("crm-t-1".into()),
                members: Arc::from([3, 5]),
            }]),
        };
        let ask = |team: &str, assignee: Option<&str>| {
            let mut errors = Vec::new();
            let filter = resolve(
                &ScopeParams {
                    team: Some(team.into()),
                    assignee: assignee.map(Into::into),
                    ..Default::default()
                },
                None,
                None,
                &manager,
                Tz::UTC,
                Utc::now(),
                &mut errors,
            );
            into_result(filter, errors)
        };
        let team = ask("crm-t-2", None).unwrap();
        assert_eq!(team.assignee, AssigneeFilter::Assigned);
        assert_eq!(team.visible, Scope::AssignedTo(Arc::from([3, 5])));
        assert!(team.fingerprint().ends_with("|team=crm-t-2"));
        assert_eq!(
            ask("crm-t-2", Some("5")).unwrap().assignee,
            AssigneeFilter::User(5)
        );
        let status = |result: Result<InboxFilter, ApiError>| match result {
            Err(ApiError::Validation(fields)) => format!("422 {}", fields[0].field),
            Err(ApiError::NotAllowed(fields)) => format!("403 {}", fields[0].field),
            other => format!("{other:?}"),
        };
        // Themselves (not a member), nobody, another team, an unknown one.
        assert_eq!(status(ask("crm-t-2", Some("me"))), "422 assignee");
        assert_eq!(status(ask("crm-t-2", Some("unassigned"))), "422 assignee");
        assert_eq!(status(ask("crm-t-1", None)), "403 team");
        assert_eq!(status(ask("nope", None)), "403 team");
    }
}
