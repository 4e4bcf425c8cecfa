//! Closed days: the days a feed of holidays and closures marks, for the
//! timers that skip them (or run only on them).
//!
//! A day is closed when any event of the feed overlaps it in the feed's
//! time zone: an all-day event closes its days, a timed one every day it
//! touches. Events shown as free time count (public-holiday feeds publish
//! their days that way); cancelled ones do not.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::{Calendar, HIDDEN_TITLE};

/// The most days a closed-days window reaches ahead (a little over a
/// year: timers look no further).
pub const MAX_CLOSED_DAYS_AHEAD: u64 = 400;

/// Each closed day, with what closes it (the first event's title, or
/// "Busy" when it has none or is private).
pub type ClosedDays = BTreeMap<NaiveDate, String>;

impl Calendar {
    /// The closed days from `from`'s day in the calendar's zone to `days`
    /// days later (at most [`MAX_CLOSED_DAYS_AHEAD`]).
    pub fn closed_days(&self, from: DateTime<Utc>, days: u64) -> ClosedDays {
        let zone = self.zone();
        let first = from.with_timezone(&zone).date_naive();
        let last = first
            .checked_add_days(Days::new(days.min(MAX_CLOSED_DAYS_AHEAD)))
            .unwrap_or(first);
        let to = super::parse::local(zone, last.and_hms_opt(0, 0, 0).unwrap_or_default())
            .with_timezone(&Utc);
        let since = super::parse::local(zone, first.and_hms_opt(0, 0, 0).unwrap_or_default())
            .with_timezone(&Utc);
        let mut closed = ClosedDays::new();
        for m in self.occurrences(since, to, true) {
            let why = if m.title.trim().is_empty() || m.private {
                HIDDEN_TITLE.to_string()
            } else {
                m.title.clone()
            };
            let start = m.start.with_timezone(&zone).date_naive();
            // The end is exclusive: an event until midnight ends the day before.
            let end = (m.end - chrono::Duration::nanoseconds(1))
                .with_timezone(&zone)
                .date_naive();
            let mut day = start.max(first);
            while day <= end && day < last {
                closed.entry(day).or_insert_with(|| why.clone());
                match day.succ_opt() {
                    Some(next) => day = next,
                    None => break,
                }
            }
        }
        closed
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, NaiveDate, TimeZone, Utc};

    use super::super::Calendar;

    const ZONE: chrono_tz::Tz = chrono_tz::Europe::Copenhagen;

    /// A holiday feed: Christmas as two all-day days shown as free time
    /// (as public-holiday feeds publish them), a yearly New Year's Day, a
    /// closure from 22:30 to 01:30 local time (two days), a cancelled
    /// closure, and a private one.
    const FEED: &str = "BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//roomctl//tests//EN\r
BEGIN:VEVENT\r
UID:xmas\r
DTSTAMP:20261001T000000Z\r
DTSTART;VALUE=DATE:20261225\r
DTEND;VALUE=DATE:20261227\r
TRANSP:TRANSPARENT\r
SUMMARY:Christmas\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:new-year\r
DTSTAMP:20261001T000000Z\r
DTSTART;VALUE=DATE:20260101\r
DTEND;VALUE=DATE:20260102\r
RRULE:FREQ=YEARLY\r
SUMMARY:New Year's Day\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:works\r
DTSTAMP:20261001T000000Z\r
DTSTART;TZID=Europe/Copenhagen:20261210T223000\r
DTEND;TZID=Europe/Copenhagen:20261211T013000\r
SUMMARY:Electrical works\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:called-off\r
DTSTAMP:20261001T000000Z\r
DTSTART;VALUE=DATE:20261215\r
DTEND;VALUE=DATE:20261216\r
STATUS:CANCELLED\r
SUMMARY:Inventory\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:secret\r
DTSTAMP:20261001T000000Z\r
DTSTART;VALUE=DATE:20261218\r
DTEND;VALUE=DATE:20261219\r
CLASS:PRIVATE\r
SUMMARY:Board offsite\r
END:VEVENT\r
END:VCALENDAR\r
";

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    #[test]
    fn the_feed_closes_its_days_in_the_zone() {
        let calendar = Calendar::parse(FEED, ZONE).unwrap();
        // 7 December 2026, 10:00 in Copenhagen.
        let from = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let closed = calendar.closed_days(from, 60);
        let days: Vec<_> = closed.iter().map(|(d, why)| (*d, why.as_str())).collect();
        assert_eq!(
            days,
            vec![
                (day(12, 10), "Electrical works"),
                (day(12, 11), "Electrical works"),
                (day(12, 18), "Busy"),
                (day(12, 25), "Christmas"),
                (day(12, 26), "Christmas"),
                (
                    NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
                    "New Year's Day"
                ),
            ]
        );
    }

    #[test]
    fn the_window_starts_on_the_day_of_from_and_ends_after_its_days() {
        let calendar = Calendar::parse(FEED, ZONE).unwrap();
        // 25 December, 23:30 UTC is already the 26th in Copenhagen.
        let from = Utc.with_ymd_and_hms(2026, 12, 25, 23, 30, 0).unwrap();
        let closed = calendar.closed_days(from, 3);
        assert_eq!(
            closed.keys().copied().collect::<Vec<_>>(),
            vec![day(12, 26)]
        );
        // The window is capped at 400 days: up to 30 January 2028.
        let all = calendar.closed_days(from, 100_000);
        let new_years: Vec<_> = all.keys().filter(|d| d.ordinal() == 1).collect();
        assert_eq!(new_years.len(), 2, "2027 and 2028: {all:?}");
        assert!(all
            .keys()
            .all(|d| *d < NaiveDate::from_ymd_opt(2028, 1, 31).unwrap()));
    }
}
