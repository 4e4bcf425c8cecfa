//! Unit and property tests of the calendar core.

use chrono::{DateTime, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;

const CPH: Tz = chrono_tz::Europe::Copenhagen;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// A weekly Monday 09:00-10:00 meeting in Copenhagen from 12 October 2026
/// (summer time ends on 25 October), with 2 November excluded, 9 November
/// moved to Tuesday 10 November 14:00-15:30, 16 November cancelled on its
/// own; an all-day event; a meeting in UTC; a cancelled and a "free" event.
pub(crate) const WEEKLY: &str = "BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//roomctl//tests//EN\r
BEGIN:VTIMEZONE\r
TZID:Europe/Copenhagen\r
BEGIN:STANDARD\r
DTSTART:19701025T030000\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
END:STANDARD\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:weekly-1\r
DTSTAMP:20261001T000000Z\r
DTSTART;TZID=Europe/Copenhagen:20261012T090000\r
DTEND;TZID=Europe/Copenhagen:20261012T100000\r
RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=8\r
EXDATE;TZID=Europe/Copenhagen:20261102T090000\r
SUMMARY:Team meeting\\, weekly\r
ORGANIZER;CN=\"Ada Lovelace\":mailto:ada@example.org\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:weekly-1\r
DTSTAMP:20261001T000000Z\r
RECURRENCE-ID;TZID=Europe/Copenhagen:20261109T090000\r
DTSTART;TZID=Europe/Copenhagen:20261110T140000\r
DTEND;TZID=Europe/Copenhagen:20261110T153000\r
SUMMARY:Team meeting (moved)\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:weekly-1\r
DTSTAMP:20261001T000000Z\r
RECURRENCE-ID;TZID=Europe/Copenhagen:20261116T090000\r
DTSTART;TZID=Europe/Copenhagen:20261116T090000\r
DTEND;TZID=Europe/Copenhagen:20261116T100000\r
STATUS:CANCELLED\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:allday-1\r
DTSTAMP:20261001T000000Z\r
DTSTART;VALUE=DATE:20261030\r
DTEND;VALUE=DATE:20261031\r
SUMMARY:Workshop\r
CLASS:PRIVATE\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:utc-1\r
DTSTAMP:20261001T000000Z\r
DTSTART:20261019T120000Z\r
DURATION:PT45M\r
SUMMARY:Lunch talk\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:cancelled-1\r
DTSTAMP:20261001T000000Z\r
DTSTART:20261020T120000Z\r
DURATION:PT1H\r
STATUS:CANCELLED\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:free-1\r
DTSTAMP:20261001T000000Z\r
DTSTART:20261021T120000Z\r
DURATION:PT1H\r
TRANSP:TRANSPARENT\r
END:VEVENT\r
END:VCALENDAR\r
";

fn weekly() -> Calendar {
    Calendar::parse(WEEKLY, CPH).unwrap()
}

fn starts(ms: &[Meeting]) -> Vec<(DateTime<Utc>, DateTime<Utc>, &str)> {
    ms.iter()
        .map(|m| (m.start, m.end, m.uid.as_str()))
        .collect()
}

#[test]
fn a_recurring_meeting_with_an_exception_a_moved_occurrence_and_a_dst_change() {
    let cal = weekly();
    assert_eq!(cal.event_count(), 7);
    assert!(cal.warnings().is_empty(), "{:?}", cal.warnings());
    let ms = cal.meetings(utc(2026, 10, 1, 0, 0), utc(2027, 1, 1, 0, 0));
    assert_eq!(
        starts(&ms),
        vec![
            // 09:00 CEST (UTC+2)
            (utc(2026, 10, 12, 7, 0), utc(2026, 10, 12, 8, 0), "weekly-1"),
            (utc(2026, 10, 19, 7, 0), utc(2026, 10, 19, 8, 0), "weekly-1"),
            (utc(2026, 10, 19, 12, 0), utc(2026, 10, 19, 12, 45), "utc-1"),
            // After the change: 09:00 CET (UTC+1).
            (utc(2026, 10, 26, 8, 0), utc(2026, 10, 26, 9, 0), "weekly-1"),
            // All day on 30 October, local midnight to midnight.
            (
                utc(2026, 10, 29, 23, 0),
                utc(2026, 10, 30, 23, 0),
                "allday-1"
            ),
            // 2 November excluded; 9 November moved to the 10th, 14:00-15:30.
            (
                utc(2026, 11, 10, 13, 0),
                utc(2026, 11, 10, 14, 30),
                "weekly-1"
            ),
            // 16 November cancelled; COUNT=8 ends on 30 November.
            (utc(2026, 11, 23, 8, 0), utc(2026, 11, 23, 9, 0), "weekly-1"),
            (utc(2026, 11, 30, 8, 0), utc(2026, 11, 30, 9, 0), "weekly-1"),
        ]
    );
    let moved = &ms[5];
    assert_eq!(moved.title, "Team meeting (moved)");
    assert_eq!(moved.recurrence_id, Some(utc(2026, 11, 9, 8, 0)));
    assert_eq!(ms[0].title, "Team meeting, weekly");
    assert_eq!(ms[0].organizer, "Ada Lovelace");
    assert_eq!(ms[0].recurrence_id, Some(utc(2026, 10, 12, 7, 0)));
    assert!(ms[4].all_day && ms[4].private);
    assert_eq!(ms[2].recurrence_id, None);
}

#[test]
fn the_window_cuts_occurrences_but_keeps_one_running() {
    let cal = weekly();
    // From 09:30 local on 19 October: the 09:00 meeting is still on.
    let ms = cal.meetings(utc(2026, 10, 19, 7, 30), utc(2026, 10, 20, 0, 0));
    assert_eq!(
        starts(&ms),
        vec![
            (utc(2026, 10, 19, 7, 0), utc(2026, 10, 19, 8, 0), "weekly-1"),
            (utc(2026, 10, 19, 12, 0), utc(2026, 10, 19, 12, 45), "utc-1"),
        ]
    );
}

#[test]
fn booking_now_next_and_free_until() {
    let cal = weekly();
    let ms = cal.meetings(utc(2026, 10, 1, 0, 0), utc(2027, 1, 1, 0, 0));
    let b = Booking::at(&ms, utc(2026, 10, 19, 7, 30));
    assert_eq!(b.now.unwrap().title, "Team meeting, weekly");
    assert_eq!(b.busy_until, Some(utc(2026, 10, 19, 8, 0)));
    assert_eq!(b.next.unwrap().uid, "utc-1");
    assert_eq!(b.free_until, None);
    let b = Booking::at(&ms, utc(2026, 10, 19, 9, 0));
    assert!(!b.is_busy());
    assert_eq!(b.free_until, Some(utc(2026, 10, 19, 12, 0)));
    // The end instant is free (end exclusive).
    assert!(!Booking::at(&ms, utc(2026, 10, 19, 8, 0)).is_busy());
    // During the all-day event, the room is busy with it.
    let b = Booking::at(&ms, utc(2026, 10, 30, 10, 0));
    assert_eq!(b.now.unwrap().uid, "allday-1");
    // After the last one: free, nothing next.
    let b = Booking::at(&ms, utc(2026, 12, 1, 0, 0));
    assert_eq!((b.now, b.next, b.free_until), (None, None, None));
}

#[test]
fn last_meeting_of_a_day_in_the_rooms_zone() {
    let cal = weekly();
    let ms = cal.meetings(utc(2026, 10, 1, 0, 0), utc(2027, 1, 1, 0, 0));
    let day = NaiveDate::from_ymd_opt(2026, 10, 19).unwrap();
    assert_eq!(last_meeting_of_day(&ms, day, CPH).unwrap().uid, "utc-1");
    let day = NaiveDate::from_ymd_opt(2026, 11, 9).unwrap();
    assert_eq!(last_meeting_of_day(&ms, day, CPH), None);
    let day = NaiveDate::from_ymd_opt(2026, 10, 30).unwrap();
    assert_eq!(
        last_meeting_of_day(&ms, day, CPH),
        None,
        "all-day events are not meetings that end"
    );
}

fn one_event(lines: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n{lines}END:VEVENT\r\nEND:VCALENDAR\r\n")
}

#[test]
fn floating_times_unknown_zones_and_folded_lines_are_the_rooms() {
    let text = one_event(
        "DTSTART:20260301T100000\r\nDTEND;TZID=W. Europe Standard Time:20260301T110000\r\nSUMMARY:A lo\r\n ng title\r\n",
    );
    let cal = Calendar::parse(&text, CPH).unwrap();
    let ms = cal.meetings(utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
    assert_eq!(
        starts(&ms),
        vec![(utc(2026, 3, 1, 9, 0), utc(2026, 3, 1, 10, 0), "x")]
    );
    assert_eq!(ms[0].title, "A long title");
    let text =
        one_event("DTSTART;TZID=/mozilla.org/20050126_1/America/New_York:20260301T100000\r\n");
    let ms = Calendar::parse(&text, CPH)
        .unwrap()
        .meetings(utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
    assert_eq!(ms[0].start, utc(2026, 3, 1, 15, 0));
    assert_eq!(ms[0].end, utc(2026, 3, 1, 15, 1), "no end: one minute");
}

#[test]
fn a_meeting_in_the_spring_gap_moves_forward() {
    // 02:30 does not exist in Copenhagen on 29 March 2026.
    let text = one_event(
        "DTSTART;TZID=Europe/Copenhagen:20260328T023000\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=3\r\n",
    );
    let ms = Calendar::parse(&text, CPH)
        .unwrap()
        .meetings(utc(2026, 3, 1, 0, 0), utc(2026, 4, 1, 0, 0));
    assert_eq!(ms.len(), 3);
    assert_eq!(ms[0].start, utc(2026, 3, 28, 1, 30));
    assert_eq!(ms[2].start, utc(2026, 3, 30, 0, 30));
    for m in &ms {
        assert!(m.end > m.start);
    }
}

#[test]
fn a_bad_repeat_rule_leaves_one_occurrence_and_a_warning() {
    let text = one_event("DTSTART:20260301T100000Z\r\nRRULE:FREQ=SOMETIMES\r\n");
    let cal = Calendar::parse(&text, CPH).unwrap();
    assert_eq!(cal.warnings().len(), 1, "{:?}", cal.warnings());
    assert!(cal.warnings()[0].contains("repeat rule"));
    assert_eq!(
        cal.meetings(utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0))
            .len(),
        1
    );
}

#[test]
fn refused_documents_say_why() {
    assert_eq!(
        Calendar::parse("hello", CPH).unwrap_err(),
        CalendarError::NotICalendar
    );
    let huge = "X".repeat(MAX_CALENDAR_BYTES + 1);
    assert!(matches!(
        Calendar::parse(&huge, CPH),
        Err(CalendarError::TooLarge(_))
    ));
    let deep = format!(
        "BEGIN:VCALENDAR\r\n{}{}END:VCALENDAR\r\n",
        "BEGIN:X\r\n".repeat(20),
        "END:X\r\n".repeat(20)
    );
    assert_eq!(
        Calendar::parse(&deep, CPH).unwrap_err(),
        CalendarError::TooDeep
    );
    let many = format!(
        "BEGIN:VCALENDAR\r\n{}END:VCALENDAR\r\n",
        "BEGIN:VEVENT\r\nEND:VEVENT\r\n".repeat(MAX_EVENTS + 1)
    );
    assert_eq!(
        Calendar::parse(&many, CPH).unwrap_err(),
        CalendarError::TooManyEvents
    );
    let broken = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20260101T000000Z\r\n";
    assert!(matches!(
        Calendar::parse(broken, CPH),
        Err(CalendarError::Syntax(_))
    ));
}

#[test]
fn an_endless_rule_is_bounded_by_the_window() {
    let text = one_event("DTSTART:20000101T100000Z\r\nDURATION:PT1M\r\nRRULE:FREQ=MINUTELY\r\n");
    let cal = Calendar::parse(&text, CPH).unwrap();
    let ms = cal.meetings(utc(2026, 1, 1, 0, 0), utc(2026, 2, 1, 0, 0));
    assert!(ms.len() <= MAX_MEETINGS);
    for w in ms.windows(2) {
        assert!(w[0].start <= w[1].start);
    }
}

const ZONES: &[Tz] = &[
    chrono_tz::Europe::Copenhagen,
    chrono_tz::America::New_York,
    chrono_tz::Australia::Sydney,
    chrono_tz::Asia::Kolkata,
    chrono_tz::UTC,
];

proptest! {
    #[test]
    fn parse_never_panics(text in "\\PC{0,400}") {
        let _ = Calendar::parse(&text, CPH).map(|c| c.meetings(utc(2026, 1, 1, 0, 0), utc(2026, 2, 1, 0, 0)));
    }

    #[test]
    fn event_lines_never_panic(lines in proptest::collection::vec(
        "(DTSTART|DTEND|RRULE|EXDATE|RDATE|RECURRENCE-ID|DURATION|SUMMARY|TRANSP)(;TZID=[A-Za-z/_]{0,20}|;VALUE=DATE)?:[0-9TZ=;,A-Z+-]{0,30}", 0..8)
    ) {
        let text = one_event(&lines.iter().map(|l| format!("{l}\r\n")).collect::<String>());
        if let Ok(c) = Calendar::parse(&text, CPH) {
            for m in c.meetings(utc(2026, 1, 1, 0, 0), utc(2026, 3, 1, 0, 0)) {
                prop_assert!(m.end > m.start);
            }
        }
    }

    /// A daily meeting keeps its local wall-clock time through every
    /// daylight-saving change of its zone, and no excluded day appears.
    #[test]
    fn daily_meetings_keep_local_time(
        zone in proptest::sample::select(ZONES),
        hour in 6u32..20,
        excluded in proptest::collection::btree_set(0u32..360, 0..10),
    ) {
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(hour, 0, 0).unwrap();
        let exdates: String = excluded.iter().map(|d| {
            let day = start + chrono::Duration::days(i64::from(*d));
            format!("EXDATE;TZID={}:{}\r\n", zone.name(), day.format("%Y%m%dT%H%M%S"))
        }).collect();
        let text = one_event(&format!(
            "DTSTART;TZID={}:{}\r\nDTEND;TZID={}:{}\r\nRRULE:FREQ=DAILY;COUNT=360\r\n{exdates}",
            zone.name(), start.format("%Y%m%dT%H%M%S"),
            zone.name(), (start + chrono::Duration::minutes(30)).format("%Y%m%dT%H%M%S"),
        ));
        let cal = Calendar::parse(&text, CPH).unwrap();
        let ms = cal.meetings(utc(2025, 12, 1, 0, 0), utc(2027, 1, 1, 0, 0));
        prop_assert_eq!(ms.len(), 360 - excluded.len());
        for m in &ms {
            let local = m.start.with_timezone(&zone);
            prop_assert_eq!((local.hour(), local.minute()), (hour, 0));
            let end = m.end.with_timezone(&zone);
            prop_assert_eq!((end.hour(), end.minute()), (hour, 30));
            let day = (local.date_naive() - start.date()).num_days() as u32;
            prop_assert!(!excluded.contains(&day));
        }
    }
}

fn rule(
    id: &str,
    at: crate::project::MeetingEdge,
    offset: i32,
    unless: bool,
) -> crate::project::ScheduleRule {
    crate::project::ScheduleRule {
        id: id.into(),
        at,
        offset_minutes: offset,
        press: Some("b".into()),
        sequence: None,
        unless_pressed_since: unless,
        all_day: false,
    }
}

#[test]
fn rules_fire_around_meetings_in_the_rooms_day() {
    use crate::project::MeetingEdge::*;
    let cal = weekly();
    let ms = cal.meetings(utc(2026, 10, 1, 0, 0), utc(2027, 1, 1, 0, 0));
    let rules = vec![
        rule("wake", Start, -5, false),
        rule("shutdown", LastEnd, 10, true),
    ];
    let day = |d| {
        firings(
            &rules,
            &ms,
            CPH,
            utc(2026, 10, d, 0, 0),
            utc(2026, 10, d + 1, 0, 0),
        )
        .iter()
        .map(|f| (f.rule.id.as_str(), f.at))
        .collect::<Vec<_>>()
    };
    // 19 October: two meetings; shutdown after the last (the UTC one).
    assert_eq!(
        day(19),
        vec![
            ("wake", utc(2026, 10, 19, 6, 55)),
            ("wake", utc(2026, 10, 19, 11, 55)),
            ("shutdown", utc(2026, 10, 19, 12, 55)),
        ]
    );
    // 26 October, after the DST change: an hour later in UTC.
    assert_eq!(
        day(26),
        vec![
            ("wake", utc(2026, 10, 26, 7, 55)),
            ("shutdown", utc(2026, 10, 26, 9, 10))
        ]
    );
    // The all-day event on the 30th fires nothing (the rules say timed only).
    assert_eq!(day(30), vec![]);
    assert_eq!(
        next_firing(&rules, &ms, CPH, utc(2026, 10, 27, 0, 0)),
        Some(utc(2026, 11, 10, 12, 55)),
        "2 November is excluded; the moved occurrence is on the 10th at 14:00 local"
    );
    let shutdown = firings(
        &rules,
        &ms,
        CPH,
        utc(2026, 10, 26, 9, 0),
        utc(2026, 10, 26, 9, 10),
    )[0];
    assert!(shutdown.suppressed_by(Some(utc(2026, 10, 26, 9, 5))));
    assert!(!shutdown.suppressed_by(Some(utc(2026, 10, 26, 8, 59))));
    assert!(!shutdown.suppressed_by(None));
}

#[test]
fn booking_variables_keep_titles_private_by_default() {
    use crate::project::Value;
    let cal = weekly();
    let ms = cal.meetings(utc(2026, 10, 1, 0, 0), utc(2027, 1, 1, 0, 0));
    let now = utc(2026, 10, 19, 7, 30);
    let b = Booking::at(&ms, now);
    let get = |privacy| {
        variables(&b, now, CPH, privacy, Changes::NONE)
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>()
    };
    let v = get(Privacy::default());
    assert_eq!(v["calendar_busy"], Value::Bool(true));
    assert_eq!(v["meeting_title"], Value::Text("Busy".into()));
    assert_eq!(v["meeting_organizer"], Value::Text(String::new()));
    assert_eq!(v["meeting_start"], Value::Text("09:00".into()));
    assert_eq!(v["meeting_end"], Value::Text("10:00".into()));
    assert_eq!(v["meeting_minutes_left"], Value::Number(30.0));
    assert_eq!(v["next_meeting_start"], Value::Text("14:00".into()));
    let v = get(Privacy::TitleAndOrganizer);
    assert_eq!(
        v["meeting_title"],
        Value::Text("Team meeting, weekly".into())
    );
    assert_eq!(v["meeting_organizer"], Value::Text("Ada Lovelace".into()));
    // A private event stays "Busy" whatever the setting.
    let b = Booking::at(&ms, utc(2026, 10, 30, 10, 0));
    let v: std::collections::HashMap<_, _> =
        variables(&b, now, CPH, Privacy::TitleAndOrganizer, Changes::NONE)
            .into_iter()
            .collect();
    assert_eq!(v["meeting_title"], Value::Text("Busy".into()));
}

#[test]
fn the_meeting_tile_variables_say_free_until_free_all_day_and_what_may_change() {
    use crate::project::Value;
    let cal = weekly();
    let ms = cal.meetings(utc(2026, 10, 1, 0, 0), utc(2027, 1, 1, 0, 0));
    let at = |now, changes| {
        variables(&Booking::at(&ms, now), now, CPH, Privacy::Busy, changes)
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>()
    };
    let may = |minutes| Changes {
        allowed: true,
        extend_minutes: minutes,
    };
    // 19 October 09:30 local: the weekly meeting until 10:00, the lunch
    // talk at 14:00 local.
    let v = at(utc(2026, 10, 19, 7, 30), may(15));
    assert_eq!(v["meeting_can_end"], Value::Bool(true));
    assert_eq!(v["meeting_can_extend"], Value::Bool(true));
    assert_eq!(v["meeting_extend_minutes"], Value::Number(15.0));
    assert_eq!(v["free_all_day"], Value::Bool(false));
    assert_eq!(
        v["meeting_status"],
        Value::Text("09:00\u{2013}10:00 \u{b7} 30 min left".into())
    );
    assert_eq!(v["meeting_next"], Value::Text("Next: 14:00 Busy".into()));
    // Extending past the next meeting's start is not offered.
    let v = at(utc(2026, 10, 19, 7, 30), may(300));
    assert_eq!(v["meeting_can_extend"], Value::Bool(false));
    // A feed or a read-only account changes nothing.
    let v = at(utc(2026, 10, 19, 7, 30), Changes::NONE);
    assert_eq!(v["meeting_can_end"], Value::Bool(false));
    assert_eq!(v["meeting_can_extend"], Value::Bool(false));
    // 11:00 local: free until the lunch talk.
    let v = at(utc(2026, 10, 19, 9, 0), may(15));
    assert_eq!(v["calendar_busy"], Value::Bool(false));
    assert_eq!(v["free_until"], Value::Text("14:00".into()));
    assert_eq!(v["free_all_day"], Value::Bool(false));
    assert_eq!(v["meeting_status"], Value::Text("Free until 14:00".into()));
    assert_eq!(v["meeting_can_end"], Value::Bool(false));
    // 15:00 local: nothing more today (the next meeting is another day's).
    let v = at(utc(2026, 10, 19, 13, 0), may(15));
    assert_eq!(v["free_all_day"], Value::Bool(true));
    assert_ne!(v["free_until"], Value::Text(String::new()));
    assert_eq!(v["meeting_status"], Value::Text("Free all day".into()));
    assert_eq!(v["meeting_next"], Value::Text(String::new()));
    // The all-day workshop on the 30th cannot be ended or extended.
    let v = at(utc(2026, 10, 30, 10, 0), may(15));
    assert_eq!(v["calendar_busy"], Value::Bool(true));
    assert_eq!(v["meeting_can_end"], Value::Bool(false));
    assert_eq!(v["meeting_can_extend"], Value::Bool(false));
    assert_eq!(v["meeting_status"], Value::Text("All day".into()));
}

#[test]
fn set_end_extends_one_occurrence_and_keeps_the_series() {
    let cal = weekly();
    let window = (utc(2026, 10, 1, 0, 0), utc(2027, 1, 1, 0, 0));
    let ms = cal.meetings(window.0, window.1);
    // 19 October 09:00-10:00 local (07:00-08:00 UTC), an occurrence of the series.
    let m = ms
        .iter()
        .find(|m| m.uid == "weekly-1" && m.start == utc(2026, 10, 19, 7, 0))
        .unwrap();
    let extended = set_end(WEEKLY, m, utc(2026, 10, 19, 8, 15)).unwrap();
    let after = Calendar::parse(&extended, CPH).unwrap();
    let ms2 = after.meetings(window.0, window.1);
    let find = |ms: &[Meeting], start| {
        ms.iter()
            .filter(|m| m.uid == "weekly-1" && m.start == start)
            .map(|m| m.end)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        find(&ms2, utc(2026, 10, 19, 7, 0)),
        [utc(2026, 10, 19, 8, 15)]
    );
    // The others are as they were; so is the count.
    assert_eq!(
        find(&ms2, utc(2026, 10, 26, 8, 0)),
        [utc(2026, 10, 26, 9, 0)]
    );
    assert_eq!(ms2.len(), ms.len());
    // The moved occurrence (10 November) gets a new DTEND of its own.
    let moved = ms2
        .iter()
        .find(|m| m.start == utc(2026, 11, 10, 13, 0))
        .unwrap();
    let ended = set_end(&extended, moved, utc(2026, 11, 10, 13, 20)).unwrap();
    let ms3 = Calendar::parse(&ended, CPH)
        .unwrap()
        .meetings(window.0, window.1);
    assert_eq!(
        find(&ms3, utc(2026, 11, 10, 13, 0)),
        [utc(2026, 11, 10, 13, 20)]
    );
    assert_eq!(
        find(&ms3, utc(2026, 10, 19, 7, 0)),
        [utc(2026, 10, 19, 8, 15)]
    );
    // A single event; an end before the start; an event not there.
    let single = ms.iter().find(|m| m.uid == "utc-1").unwrap();
    let t = set_end(WEEKLY, single, utc(2026, 10, 19, 12, 10)).unwrap();
    assert!(Calendar::parse(&t, CPH)
        .unwrap()
        .meetings(window.0, window.1)
        .iter()
        .any(|m| m.uid == "utc-1" && m.end == utc(2026, 10, 19, 12, 10)));
    assert!(matches!(
        set_end(WEEKLY, single, single.start),
        Err(EditError::EndBeforeStart { .. })
    ));
    let mut gone = single.clone();
    gone.uid = "nope".into();
    assert_eq!(
        set_end(WEEKLY, &gone, utc(2026, 10, 19, 13, 0)),
        Err(EditError::NoSuchEvent("nope".into()))
    );
}

#[test]
fn merged_calendars_hold_both_documents_events() {
    let mut a = weekly();
    let n = a.event_count();
    let b = Calendar::parse(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20261019T150000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        CPH,
    )
    .unwrap();
    a.merge(b).unwrap();
    assert_eq!(a.event_count(), n + 1);
}
