//! Timer schedules: a cron expression with seconds, read in a time zone.
//!
//! `sec min hour day-of-month month day-of-week`, e.g. `0 0 7 * * MON-FRI`
//! (07:00:00 on weekdays). Parsing and the calendar arithmetic are the
//! `croner` crate's (which follows the Open Cron Pattern Specification,
//! including daylight-saving gaps and overlaps); the zone database is
//! `chrono-tz`'s. No clock is read here: the caller says what "now" is.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("invalid cron expression {expr:?}: {reason} (six fields: sec min hour day-of-month month day-of-week, e.g. \"0 0 7 * * MON-FRI\")")]
    Cron { expr: String, reason: String },
    #[error("unknown time zone {0:?}; use an IANA name such as \"Europe/Copenhagen\" or \"UTC\"")]
    TimeZone(String),
}

/// A parsed timer schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    zone: Tz,
}

/// Parses a six-field cron expression (seconds required, no year field).
pub fn parse_cron(expr: &str) -> Result<Cron, ScheduleError> {
    let fields = expr.split_whitespace().count();
    if fields != 6 {
        return Err(ScheduleError::Cron {
            expr: expr.into(),
            reason: format!("it has {fields} fields, not 6"),
        });
    }
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Disallowed)
        .build()
        .parse(expr)
        .map_err(|e| ScheduleError::Cron {
            expr: expr.into(),
            reason: e.to_string(),
        })
}

pub fn parse_time_zone(name: &str) -> Result<Tz, ScheduleError> {
    Tz::from_str(name).map_err(|_| ScheduleError::TimeZone(name.into()))
}

impl Schedule {
    pub fn parse(cron: &str, time_zone: &str) -> Result<Schedule, ScheduleError> {
        Ok(Schedule {
            cron: parse_cron(cron)?,
            zone: parse_time_zone(time_zone)?,
        })
    }

    /// The first time strictly after `now` that the schedule fires, or
    /// `None` when it never fires again (e.g. `0 0 0 30 2 *`).
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&self.zone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The zone the schedule is read in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// `t` as local time in the schedule's zone, e.g. "2026-11-26 07:00:00 CET".
    pub fn local_text(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.zone)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn next_run_in_a_time_zone() {
        // 07:00 on weekdays in Copenhagen (UTC+1 in winter).
        let s = Schedule::parse("0 0 7 * * MON-FRI", "Europe/Copenhagen").unwrap();
        // Wednesday 2026-11-25 08:00 UTC = 09:00 local, so next is Thursday 06:00 UTC.
        assert_eq!(
            s.next_after(utc(2026, 11, 25, 8, 0, 0)),
            Some(utc(2026, 11, 26, 6, 0, 0))
        );
        // Friday 2026-11-27 07:00 UTC: next is Monday 06:00 UTC.
        assert_eq!(
            s.next_after(utc(2026, 11, 27, 7, 0, 0)),
            Some(utc(2026, 11, 30, 6, 0, 0))
        );
        assert_eq!(
            s.local_text(utc(2026, 11, 26, 6, 0, 0)),
            "2026-11-26 07:00:00 CET"
        );
        // Summer time (UTC+2).
        assert_eq!(
            s.next_after(utc(2026, 6, 1, 12, 0, 0)),
            Some(utc(2026, 6, 2, 5, 0, 0))
        );
    }

    #[test]
    fn strictly_after_and_with_seconds() {
        let s = Schedule::parse("*/15 * * * * *", "UTC").unwrap();
        assert_eq!(
            s.next_after(utc(2026, 1, 1, 0, 0, 0)),
            Some(utc(2026, 1, 1, 0, 0, 15))
        );
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(matches!(
            Schedule::parse("0 7 * * *", "UTC"),
            Err(ScheduleError::Cron { .. })
        ));
        assert!(matches!(
            Schedule::parse("0 61 7 * * *", "UTC"),
            Err(ScheduleError::Cron { .. })
        ));
        assert_eq!(
            Schedule::parse("0 0 7 * * *", "Mars/Olympus").unwrap_err(),
            ScheduleError::TimeZone("Mars/Olympus".into())
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(expr in "[0-9*/,\\- A-Z?LW#]{0,30}") {
            if let Ok(s) = Schedule::parse(&expr, "UTC") {
                if let Some(next) = s.next_after(utc(2026, 1, 1, 0, 0, 0)) {
                    prop_assert!(next > utc(2026, 1, 1, 0, 0, 0));
                }
            }
        }
    }
}
