//! A user's working time (design, "Speed to lead"): the instants that fall, in their IANA zone,
//! on one of their working days between their start and end hours, and not before their
//! `away_until`. The first-touch SLA counts minutes of it; nights, weekends, DST shifts and an
//! absence do not count.
//!
//! The definition is per minute: a minute (UTC, on the minute) is worked when its first instant
//! is. [`WorkingHours::add`] and [`WorkingHours::minutes_between`] jump from one change of that
//! state to the next (a local midnight, start or end, a DST transition, the end of an absence)
//! instead of walking minutes; a property test holds them equal to the minute-by-minute walk
//! over random zones, hours, absences and dates around DST transitions.

use chrono::{DateTime, Datelike, DurationRound, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// How many state changes a computation may cross before giving up (a schedule with no working
/// minute at all is refused when built, so this only bounds absurd spans: ~5 years).
const MAX_STEPS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("at least one working day is needed")]
    NoWorkingDay,
    #[error("the working day must end after it starts")]
    EmptyDay,
}

/// One user's working time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingHours {
    tz: Tz,
    /// Monday first (ISO order).
    days: [bool; 7],
    start: NaiveTime,
    end: NaiveTime,
    away_until: Option<DateTime<Utc>>,
}

fn minute_floor(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t)
}

fn minute_ceil(t: DateTime<Utc>) -> DateTime<Utc> {
    let floor = minute_floor(t);
    if floor == t {
        t
    } else {
        floor + TimeDelta::minutes(1)
    }
}

impl WorkingHours {
    /// `days`: ISO weekdays (1 = Monday … 7 = Sunday); others are ignored.
    pub fn new(
        tz: Tz,
        days: &[u8],
        start: NaiveTime,
        end: NaiveTime,
        away_until: Option<DateTime<Utc>>,
    ) -> Result<Self, ScheduleError> {
        let mut set = [false; 7];
        for d in days {
            if (1..=7).contains(d) {
                set[usize::from(*d - 1)] = true;
            }
        }
        if !set.contains(&true) {
            return Err(ScheduleError::NoWorkingDay);
        }
        if end <= start {
            return Err(ScheduleError::EmptyDay);
        }
        Ok(Self {
            tz,
            days: set,
            start: start.with_second(0),
            end: end.with_second(0),
            away_until: away_until.map(minute_ceil),
        })
    }

    /// A schedule as the `users` table keeps it (migration 31): the zone's name (unset or
    /// unknown: `default_tz`), ISO weekdays, start and end; `None` when it has no working time.
    pub fn from_columns(
        timezone: Option<&str>,
        days: &[i16],
        start: NaiveTime,
        end: NaiveTime,
        away_until: Option<DateTime<Utc>>,
        default_tz: Tz,
    ) -> Option<Self> {
        let tz = timezone.and_then(|z| z.parse().ok()).unwrap_or(default_tz);
        let days: Vec<u8> = days.iter().filter_map(|d| u8::try_from(*d).ok()).collect();
        Self::new(tz, &days, start, end, away_until).ok()
    }

    /// Whether the instant `t` is worked.
    pub fn is_working(&self, t: DateTime<Utc>) -> bool {
        if self.away_until.is_some_and(|away| t < away) {
            return false;
        }
        let local = t.with_timezone(&self.tz);
        let day = local.weekday().number_from_monday() as usize - 1;
        let time = local.time();
        self.days[day] && self.start <= time && time < self.end
    }

    /// The next instant after `t` (on the minute) where being worked may change: the local
    /// midnight, start or end under `t`'s UTC offset, a DST transition before it, or the end
    /// of the absence.
    fn next_change(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if let Some(away) = self.away_until.filter(|away| *away > t) {
            return away;
        }
        let offset = |u: DateTime<Utc>| {
            self.tz
                .offset_from_utc_datetime(&u.naive_utc())
                .fix()
                .local_minus_utc()
        };
        let here = offset(t);
        let local_time = t.with_timezone(&self.tz).time();
        let day = TimeDelta::days(1);
        let until = |x: NaiveTime| {
            let delta = x.signed_duration_since(local_time);
            if delta <= TimeDelta::zero() {
                delta + day
            } else {
                delta
            }
        };
        let step = [self.start, self.end, NaiveTime::MIN]
            .into_iter()
            .map(until)
            .min()
            .unwrap_or(day);
        let candidate = minute_ceil(t + step);
        if offset(candidate) == here {
            return candidate;
        }
        // A transition in between: the first minute under the new offset.
        let (mut low, mut high) = (t, candidate);
        while high - low > TimeDelta::minutes(1) {
            let mid = minute_floor(low + (high - low) / 2);
            if mid <= low {
                break;
            }
            if offset(mid) == here {
                low = mid;
            } else {
                high = mid;
            }
        }
        high
    }

    /// The end of the `minutes`-th worked minute counted from `from` (rounded up to the
    /// minute): a deadline of `minutes` of working time. `None` past ~5 years of steps.
    pub fn add(&self, from: DateTime<Utc>, minutes: u32) -> Option<DateTime<Utc>> {
        let mut t = minute_ceil(from);
        let mut left = i64::from(minutes);
        if left == 0 {
            return Some(t);
        }
        for _ in 0..MAX_STEPS {
            let next = self.next_change(t);
            if self.is_working(t) {
                let span = (next - t).num_minutes();
                if span >= left {
                    return Some(t + TimeDelta::minutes(left));
                }
                left -= span;
            }
            t = next;
        }
        None
    }

    /// Worked minutes in `[from, to)` (each rounded up to the minute).
    pub fn minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<i64> {
        let (mut t, to) = (minute_ceil(from), minute_ceil(to));
        let mut worked = 0;
        for _ in 0..MAX_STEPS {
            if t >= to {
                return Some(worked);
            }
            let next = self.next_change(t).min(to);
            if self.is_working(t) {
                worked += (next - t).num_minutes();
            }
            t = next;
        }
        None
    }
}

trait WithSecond {
    fn with_second(self, second: u32) -> Self;
}

impl WithSecond for NaiveTime {
    fn with_second(self, second: u32) -> Self {
        chrono::Timelike::with_second(&self, second)
            .and_then(|t| chrono::Timelike::with_nanosecond(&t, 0))
            .unwrap_or(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn paris() -> WorkingHours {
        WorkingHours::new(
            chrono_tz::Europe::Paris,
            &[1, 2, 3, 4, 5],
            hm(9, 0),
            hm(18, 0),
            None,
        )
        .unwrap()
    }

    /// The definition itself: minute after minute.
    fn brute_add(w: &WorkingHours, from: DateTime<Utc>, minutes: u32) -> DateTime<Utc> {
        let mut t = minute_ceil(from);
        if minutes == 0 {
            return t;
        }
        let mut counted = 0;
        loop {
            if w.is_working(t) {
                counted += 1;
                if counted == minutes {
                    return t + TimeDelta::minutes(1);
                }
            }
            t += TimeDelta::minutes(1);
        }
    }

    fn brute_between(w: &WorkingHours, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        let (mut t, to) = (minute_ceil(from), minute_ceil(to));
        let mut n = 0;
        while t < to {
            n += i64::from(w.is_working(t));
            t += TimeDelta::minutes(1);
        }
        n
    }

    #[test]
    fn an_hour_friday_evening_ends_monday_morning() {
        // Friday 27 Nov 2026, 17:30 Paris (16:30 UTC): 30 min on Friday, 30 on Monday.
        let due = paris().add(at("2026-11-27T16:30:00Z"), 60).unwrap();
        assert_eq!(due, at("2026-11-30T08:30:00Z"));
    }

    #[test]
    fn the_spring_dst_jump_is_not_counted_twice() {
        // Sunday 29 March 2026, Paris jumps 02:00 → 03:00. A 00:00–04:00 working day on
        // Sundays has three hours that day.
        let night =
            WorkingHours::new(chrono_tz::Europe::Paris, &[7], hm(0, 0), hm(4, 0), None).unwrap();
        let day_start = at("2026-03-28T23:00:00Z");
        assert_eq!(
            night.minutes_between(day_start, at("2026-03-29T12:00:00Z")),
            Some(180)
        );
    }

    #[test]
    fn an_absence_pushes_the_deadline_past_it() {
        let away = WorkingHours::new(
            chrono_tz::Europe::Paris,
            &[1, 2, 3, 4, 5],
            hm(9, 0),
            hm(18, 0),
            Some(at("2026-12-02T12:00:00Z")),
        )
        .unwrap();
        // Monday 30 Nov 10:00 Paris; back Wednesday 13:00 Paris: 60 min → 14:00 Paris.
        assert_eq!(
            away.add(at("2026-11-30T09:00:00Z"), 60),
            Some(at("2026-12-02T13:00:00Z"))
        );
    }

    #[test]
    fn a_schedule_without_working_time_is_refused() {
        let tz = chrono_tz::Europe::Paris;
        assert_eq!(
            WorkingHours::new(tz, &[], hm(9, 0), hm(18, 0), None),
            Err(ScheduleError::NoWorkingDay)
        );
        assert_eq!(
            WorkingHours::new(tz, &[1], hm(18, 0), hm(9, 0), None),
            Err(ScheduleError::EmptyDay)
        );
    }

    const ZONES: [Tz; 8] = [
        chrono_tz::Europe::Paris,
        chrono_tz::America::New_York,
        chrono_tz::Australia::Lord_Howe, // a 30-minute DST shift
        chrono_tz::Asia::Kathmandu,      // +05:45
        chrono_tz::America::Santiago,    // DST at midnight
        chrono_tz::Pacific::Chatham,     // +12:45 / +13:45
        chrono_tz::UTC,
        chrono_tz::Asia::Tokyo,
    ];

    /// Instants around the year's DST transitions (March/April, October/November) and anywhere.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        prop_oneof![
            (0i64..20 * 24 * 60).prop_map(|m| at("2026-03-20T00:00:00Z") + TimeDelta::minutes(m)),
            (0i64..20 * 24 * 60).prop_map(|m| at("2026-10-20T00:00:00Z") + TimeDelta::minutes(m)),
            (0i64..365 * 24 * 60 * 60)
                .prop_map(|s| at("2026-01-01T00:00:00Z") + TimeDelta::seconds(s)),
        ]
    }

    /// A schedule, and an instant to start from; the absence (if any) ends within four days
    /// of it, so the minute-by-minute walk stays short.
    fn case() -> impl Strategy<Value = (WorkingHours, DateTime<Utc>)> {
        (
            0usize..ZONES.len(),
            prop::collection::vec(1u8..=7, 2..7),
            (0u32..22 * 4),
            (8u32..10 * 4),
            instant(),
            prop::option::of(0i64..4 * 24 * 60),
        )
            .prop_map(|(zone, days, start, length, from, away)| {
                let start_minutes = start * 15;
                let end_minutes = (start_minutes + length * 15).min(24 * 60 - 1);
                let w = WorkingHours::new(
                    ZONES[zone],
                    &days,
                    hm(start_minutes / 60, start_minutes % 60),
                    hm(end_minutes / 60, end_minutes % 60),
                    away.map(|m| from + TimeDelta::minutes(m)),
                )
                .unwrap();
                (w, from)
            })
    }

    /// The instants of 2026 where `tz`'s UTC offset changes (to the hour: every zone here
    /// changes on the hour or the half hour).
    fn transitions(tz: Tz) -> Vec<DateTime<Utc>> {
        let offset = |u: DateTime<Utc>| tz.offset_from_utc_datetime(&u.naive_utc()).fix();
        let start = at("2026-01-01T00:00:00Z");
        (0..365 * 48)
            .map(|h| start + TimeDelta::minutes(30 * h))
            .filter(|u| offset(*u) != offset(*u - TimeDelta::minutes(30)))
            .collect()
    }

    /// A schedule working every day around the zone's night (where DST transitions happen),
    /// and an instant within a day and a half of one of its transitions.
    fn around_dst() -> impl Strategy<Value = (WorkingHours, DateTime<Utc>)> {
        (
            0usize..ZONES.len(),
            0u32..5 * 4,
            1u32..8 * 4,
            any::<prop::sample::Index>(),
            -36 * 60i64..36 * 60,
            prop::option::of(0i64..24 * 60),
        )
            .prop_filter_map(
                "a zone with DST",
                |(zone, start, length, which, shift, away)| {
                    let tz = ZONES[zone];
                    let all = transitions(tz);
                    if all.is_empty() {
                        return None;
                    }
                    let from = *which.get(&all) + TimeDelta::minutes(shift);
                    let (s, e) = (start * 15, (start * 15 + length * 15).min(24 * 60 - 1));
                    let w = WorkingHours::new(
                        tz,
                        &[1, 2, 3, 4, 5, 6, 7],
                        hm(s / 60, s % 60),
                        hm(e / 60, e % 60),
                        away.map(|m| from + TimeDelta::minutes(m)),
                    )
                    .ok()?;
                    Some((w, from))
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn around_dst_transitions_adding_is_the_walk(
            (w, from) in around_dst(),
            minutes in 0u32..600,
        ) {
            prop_assert_eq!(w.add(from, minutes), Some(brute_add(&w, from, minutes)));
        }

        #[test]
        fn around_dst_transitions_counting_is_the_count(
            (w, from) in around_dst(),
            span in 0i64..3 * 24 * 60,
        ) {
            let to = from + TimeDelta::minutes(span);
            prop_assert_eq!(w.minutes_between(from, to), Some(brute_between(&w, from, to)));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn adding_working_minutes_is_the_minute_by_minute_walk(
            (w, from) in case(),
            minutes in 0u32..180,
        ) {
            prop_assert_eq!(w.add(from, minutes), Some(brute_add(&w, from, minutes)));
        }

        #[test]
        fn counting_working_minutes_is_the_minute_by_minute_count(
            (w, from) in case(),
            span in 0i64..4 * 24 * 60,
        ) {
            let to = from + TimeDelta::minutes(span);
            prop_assert_eq!(w.minutes_between(from, to), Some(brute_between(&w, from, to)));
        }
    }
}
