//! Local wall-clock times in an IANA zone, DST included: the one rule the inbox's due windows
//! and the reminder's digest hour share.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// The first instant of `time` on `date` in `tz`. Where a DST jump skips that time (some zones
/// change at 00:00, Europe/Paris skips 02:00 in spring), the first local time after it that
/// exists; where it happens twice (autumn), its first occurrence.
pub fn first_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let start = date.and_time(time);
    (0..=24 * 4)
        .find_map(|quarter| {
            tz.from_local_datetime(&(start + TimeDelta::minutes(15 * quarter)))
                .earliest()
        })
        .map(|at| at.with_timezone(&Utc))
        // Unreachable with the IANA data (no gap lasts a day); the UTC reading is a sane answer.
        .unwrap_or_else(|| start.and_utc())
}
