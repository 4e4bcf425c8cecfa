//! The iCalendar reader and the recurrence expansion that a calendar feed
//! or CalDAV server reaches (docs/calendar.md): no input panics, and every
//! meeting ends after it starts.
#![no_main]

use chrono::{TimeZone, Utc};
use controller_core::calendar::Calendar;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(calendar) = Calendar::parse(text, chrono_tz::Europe::Copenhagen) {
        let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        for m in calendar.meetings(from, to) {
            assert!(m.end > m.start);
        }
    }
});
