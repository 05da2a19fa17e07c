//! When a `daily` user's digest is due: at `digest_hour` in their zone, once per local day.
//!
//! Calendar arithmetic is the zone's, so DST days need no special case: on the spring day a
//! digest hour that does not exist (02:00 in Europe/Paris) is sent at the first local time that
//! does (03:00); on the autumn day an hour that occurs twice is sent at its first occurrence.
//! A pass that runs late (the reminder was down) still sends that day's digest, once; a day
//! whose every pass was missed is not sent afterwards.

#[cfg(test)]
use chrono::TimeDelta;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

/// The first instant of `hour:00` on `date` in `tz`, or of the first local time after it that
/// exists.
pub fn local_hour(tz: Tz, date: NaiveDate, hour: u32) -> DateTime<Utc> {
    let time = NaiveTime::from_hms_opt(hour.min(23), 0, 0).unwrap_or(NaiveTime::MIN);
    relance_shared::local_time::first_instant(tz, date, time)
}

/// The local day whose digest is due at `now`, if any: today in `tz`, once its digest hour has
/// come, unless `last_sent_for` is already today.
pub fn due(now: DateTime<Utc>, tz: Tz, hour: u32, last: Option<NaiveDate>) -> Option<NaiveDate> {
    let today = now.with_timezone(&tz).date_naive();
    if last.is_some_and(|last| last >= today) {
        return None;
    }
    (now >= local_hour(tz, today, hour)).then_some(today)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// Walks a day in 5-minute steps and returns the instants a digest became due, keeping
    /// `last` as a sender would.
    fn sent_during(tz: Tz, hour: u32, from: &str, to: &str) -> Vec<DateTime<Utc>> {
        let (mut now, end) = (utc(from), utc(to));
        let mut last = None;
        let mut sent = Vec::new();
        while now < end {
            if let Some(day) = due(now, tz, hour, last) {
                last = Some(day);
                sent.push(now);
            }
            now += TimeDelta::minutes(5);
        }
        sent
    }

    #[test]
    fn once_per_local_day_at_the_digest_hour_across_dst() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        // Spring forward on 29 March 2026: 08:00 is CEST (UTC+2).
        assert_eq!(
            sent_during(paris, 8, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"),
            [utc("2026-03-29T06:00:00Z")]
        );
        // Autumn back on 25 October 2026: 08:00 is CET (UTC+1).
        assert_eq!(
            sent_during(paris, 8, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),
            [utc("2026-10-25T07:00:00Z")]
        );
        // 02:00 does not exist on the spring day: the first local time after it, 03:00 CEST.
        assert_eq!(
            sent_during(paris, 2, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"),
            [utc("2026-03-29T01:00:00Z")]
        );
        // 02:00 happens twice on the autumn day: the first one (CEST), once.
        assert_eq!(
            sent_during(paris, 2, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"),
            [utc("2026-10-25T00:00:00Z")]
        );
        // Local midnight digests over four local days (the first one late, at the first
        // pass): the day before DST at 23:00 UTC, after it at 22:00 UTC.
        assert_eq!(
            sent_during(paris, 0, "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z"),
            [
                utc("2026-03-28T00:00:00Z"),
                utc("2026-03-28T23:00:00Z"),
                utc("2026-03-29T22:00:00Z"),
                utc("2026-03-30T22:00:00Z"),
            ]
        );
    }

    #[test]
    fn a_late_pass_still_sends_the_day_once() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
        assert_eq!(
            due(utc("2026-06-10T15:00:00Z"), paris, 8, None),
            Some(today)
        );
        assert_eq!(
            due(utc("2026-06-10T15:00:00Z"), paris, 8, Some(today)),
            None
        );
        assert_eq!(due(utc("2026-06-10T05:59:00Z"), paris, 8, None), None);
    }
}
