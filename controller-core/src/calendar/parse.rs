//! An iCalendar document read into its events. The syntax (content lines,
//! folding, components, parameters, text escapes) is the `icalendar`
//! crate's parser; this file reads the properties a room needs from each
//! VEVENT: when (DTSTART, DTEND or DURATION, in their time zones), how it
//! repeats (RRULE, RDATE, EXDATE, RECURRENCE-ID), whether it books the room
//! (STATUS, TRANSP) and what may be shown (SUMMARY, ORGANIZER, CLASS).

use std::str::FromStr;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::parser::{Component, Property};
use rrule::{RRule, Validated};

use super::{CalendarError, MAX_CALENDAR_BYTES, MAX_EVENTS, MAX_NESTING, MAX_TEXT_CHARS};

/// A parsed calendar: its events, read in the room's time zone (floating
/// times, all-day dates and unknown TZIDs are the room's).
#[derive(Debug, Clone)]
pub struct Calendar {
    pub(super) zone: Tz,
    pub(super) events: Vec<Event>,
    warnings: Vec<String>,
}

/// One VEVENT.
#[derive(Debug, Clone)]
pub(super) struct Event {
    pub uid: String,
    /// DTSTART in the event's own zone (UTC for `...Z` times; the room's
    /// for dates and floating times).
    pub start: DateTime<Tz>,
    pub all_day: bool,
    /// Nominal length: added to each occurrence's local wall-clock start,
    /// so a 09:00-10:00 meeting stays 09:00-10:00 across a DST change.
    pub length: Duration,
    pub rrules: Vec<RRule<Validated>>,
    pub rdates: Vec<DateTime<Tz>>,
    pub exdates: Vec<DateTime<Tz>>,
    /// Set on an occurrence moved or cancelled on its own.
    pub recurrence_id: Option<DateTime<Utc>>,
    /// STATUS:CANCELLED: did not happen.
    pub cancelled: bool,
    /// TRANSP:TRANSPARENT: shown as free time, so it does not book the
    /// room (a closed-days feed's holidays often are).
    pub transparent: bool,
    pub title: String,
    pub organizer: String,
    pub private: bool,
}

impl Calendar {
    /// Reads an iCalendar document. Events the room cannot place (no
    /// DTSTART) are skipped; a repeat rule that does not parse leaves its
    /// event as a single occurrence, with a warning ([`Calendar::warnings`]).
    pub fn parse(text: &str, zone: Tz) -> Result<Calendar, CalendarError> {
        precheck(text)?;
        let unfolded = icalendar::parser::unfold(text);
        let parsed = icalendar::parser::read_calendar(&unfolded).map_err(|e| {
            // nom's report quotes the input at length: the first line says enough.
            let first = e.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            CalendarError::Syntax(cut(first.trim(), 160))
        })?;
        let mut calendar = Calendar {
            zone,
            events: Vec::new(),
            warnings: Vec::new(),
        };
        for component in &parsed.components {
            if component.name.as_str().eq_ignore_ascii_case("VEVENT") {
                if let Some(event) = calendar.event(component) {
                    calendar.events.push(event);
                }
            }
        }
        Ok(calendar)
    }

    /// Adds the events of `other` (a CalDAV collection is one document
    /// per event: each is read alone, then merged into one calendar).
    /// Refused (and nothing added) past [`MAX_EVENTS`] in all.
    pub fn merge(&mut self, other: Calendar) -> Result<(), CalendarError> {
        if self.events.len() + other.events.len() > MAX_EVENTS {
            return Err(CalendarError::TooManyEvents);
        }
        self.events.extend(other.events);
        self.warnings.extend(other.warnings);
        self.warnings.truncate(100);
        Ok(())
    }

    /// A calendar without events (before the first successful fetch).
    pub fn empty(zone: Tz) -> Calendar {
        Calendar {
            zone,
            events: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The room's time zone the calendar was read in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// How many VEVENTs were read (a recurring event counts once).
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    /// Whether an event (or an occurrence of it) has this UID.
    pub fn has_event(&self, uid: &str) -> bool {
        self.events.iter().any(|e| e.uid == uid)
    }

    /// What was read but not understood (at most one line per event).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn event(&mut self, c: &Component<'_>) -> Option<Event> {
        let uid = prop(c, "UID").map(text).unwrap_or_default();
        let (start, all_day) = date_time(prop(c, "DTSTART")?, self.zone)?;
        let length = self.length(c, &start, all_day);
        let mut rrules = Vec::new();
        for p in props(c, "RRULE") {
            let rule = RRule::from_str(p.val.as_str())
                .map_err(|e| e.to_string())
                .and_then(|r| {
                    r.validate(start.with_timezone(&rrule::Tz::Tz(start.timezone())))
                        .map_err(|e| e.to_string())
                });
            match rule {
                Ok(r) => rrules.push(r),
                Err(e) => self.warn(&uid, &format!("its repeat rule is ignored: {e}")),
            }
        }
        let list = |name: &str| -> Vec<DateTime<Tz>> {
            props(c, name)
                .flat_map(|p| {
                    p.val
                        .as_str()
                        .split(',')
                        .filter_map(|v| value_date_time(v, &p.params, self.zone))
                        .map(|(t, _)| t)
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let rdates = list("RDATE");
        let exdates = list("EXDATE");
        let recurrence_id = prop(c, "RECURRENCE-ID")
            .and_then(|p| date_time(p, self.zone))
            .map(|(t, _)| t.with_timezone(&Utc));
        let is = |name: &str, value: &str| {
            prop(c, name).is_some_and(|p| p.val.as_str().trim().eq_ignore_ascii_case(value))
        };
        let cancelled = is("STATUS", "CANCELLED");
        let transparent = is("TRANSP", "TRANSPARENT");
        let private = is("CLASS", "PRIVATE") || is("CLASS", "CONFIDENTIAL");
        Some(Event {
            title: prop(c, "SUMMARY").map(text).unwrap_or_default(),
            organizer: prop(c, "ORGANIZER").map(organizer).unwrap_or_default(),
            uid,
            start,
            all_day,
            length,
            rrules,
            rdates,
            exdates,
            recurrence_id,
            cancelled,
            transparent,
            private,
        })
    }

    /// DTEND - DTSTART in wall-clock terms, or DURATION; at least a minute
    /// (an all-day event without either lasts a day).
    fn length(&self, c: &Component<'_>, start: &DateTime<Tz>, all_day: bool) -> Duration {
        let nominal = if let Some((end, _)) = prop(c, "DTEND").and_then(|p| date_time(p, self.zone))
        {
            Some(end.with_timezone(&start.timezone()).naive_local() - start.naive_local())
        } else {
            prop(c, "DURATION").and_then(|p| duration(p.val.as_str()))
        };
        match nominal {
            Some(d) if d > Duration::zero() => d,
            _ if all_day => Duration::days(1),
            _ => Duration::minutes(1),
        }
    }

    fn warn(&mut self, uid: &str, what: &str) {
        if self.warnings.len() < 100 {
            self.warnings
                .push(cut(&format!("event {uid:?}: {what}"), 300));
        }
    }
}

/// Size, nesting depth and event count, counted on the raw lines before
/// the parser (which recurses per nesting level) sees the text.
pub(super) fn precheck(text: &str) -> Result<(), CalendarError> {
    if text.len() > MAX_CALENDAR_BYTES {
        return Err(CalendarError::TooLarge(text.len()));
    }
    let (mut depth, mut events, mut calendar) = (0usize, 0usize, false);
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(name) = strip_prefix_ci(line, "BEGIN:") {
            depth += 1;
            if depth > MAX_NESTING {
                return Err(CalendarError::TooDeep);
            }
            if name.eq_ignore_ascii_case("VCALENDAR") {
                calendar = true;
            } else if name.eq_ignore_ascii_case("VEVENT") {
                events += 1;
                if events > MAX_EVENTS {
                    return Err(CalendarError::TooManyEvents);
                }
            }
        } else if strip_prefix_ci(line, "END:").is_some() {
            depth = depth.saturating_sub(1);
        }
    }
    if calendar {
        Ok(())
    } else {
        Err(CalendarError::NotICalendar)
    }
}

fn strip_prefix_ci<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let head = line.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &line[prefix.len()..])
}

pub(super) fn prop<'c>(c: &'c Component<'_>, name: &'c str) -> Option<&'c Property<'c>> {
    props(c, name).next()
}

fn props<'c>(c: &'c Component<'_>, name: &'c str) -> impl Iterator<Item = &'c Property<'c>> {
    c.properties
        .iter()
        .filter(move |p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn param<'p>(params: &'p [icalendar::parser::Parameter<'_>], key: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|p| p.key.as_str().eq_ignore_ascii_case(key))
        .and_then(|p| p.val.as_ref())
        .map(|v| v.as_str().trim_matches('"'))
}

/// A TEXT value, unescaped and cut.
fn text(p: &Property<'_>) -> String {
    cut(
        p.val.clone().unescape_text().as_str().trim(),
        MAX_TEXT_CHARS,
    )
}

/// The organiser's common name, else the address without `mailto:`.
fn organizer(p: &Property<'_>) -> String {
    if let Some(cn) = param(&p.params, "CN").filter(|cn| !cn.trim().is_empty()) {
        return cut(cn.trim(), MAX_TEXT_CHARS);
    }
    let v = p.val.as_str().trim();
    let v = strip_prefix_ci(v, "mailto:").unwrap_or(v);
    cut(v, MAX_TEXT_CHARS)
}

/// A DATE or DATE-TIME property's value; `true` for a DATE.
pub(super) fn date_time(p: &Property<'_>, room: Tz) -> Option<(DateTime<Tz>, bool)> {
    value_date_time(p.val.as_str(), &p.params, room)
}

fn value_date_time(
    value: &str,
    params: &[icalendar::parser::Parameter<'_>],
    room: Tz,
) -> Option<(DateTime<Tz>, bool)> {
    let value = value.trim();
    let is_date = param(params, "VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
        || (value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit()));
    if is_date {
        let day = NaiveDate::parse_from_str(value.get(..8)?, "%Y%m%d").ok()?;
        return Some((local(room, day.and_hms_opt(0, 0, 0)?), true));
    }
    if let Some(utc) = value.strip_suffix('Z').or_else(|| value.strip_suffix('z')) {
        let naive = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").ok()?;
        return Some((Tz::UTC.from_utc_datetime(&naive), false));
    }
    let naive = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").ok()?;
    let zone = param(params, "TZID").and_then(zone_named).unwrap_or(room);
    Some((local(zone, naive), false))
}

/// An IANA zone from a TZID (also in the `/mozilla.org/.../Europe/Berlin`
/// style). Windows names (Exchange's "W. Europe Standard Time") are not
/// IANA names: those times are read in the room's zone (docs/calendar.md).
fn zone_named(tzid: &str) -> Option<Tz> {
    let tzid = tzid.trim();
    if let Ok(z) = Tz::from_str(tzid) {
        return Some(z);
    }
    let parts: Vec<&str> = tzid.trim_matches('/').split('/').collect();
    (2..=3)
        .filter(|n| parts.len() >= *n)
        .find_map(|n| Tz::from_str(&parts[parts.len() - n..].join("/")).ok())
}

/// A wall-clock time in `zone`: the earlier of an ambiguous (autumn) time;
/// a time in the spring gap moves forward by the gap (as RFC 5545 says).
pub(super) fn local(zone: Tz, naive: NaiveDateTime) -> DateTime<Tz> {
    match zone.from_local_datetime(&naive) {
        LocalResult::Single(t) => t,
        LocalResult::Ambiguous(early, _) => early,
        LocalResult::None => (1..=3)
            .find_map(|h| {
                zone.from_local_datetime(&(naive + Duration::hours(h)))
                    .earliest()
            })
            .unwrap_or_else(|| zone.from_utc_datetime(&naive)),
    }
}

/// An RFC 5545 DURATION (`PT1H30M`, `P1D`, `P2W`), read by the `iso8601`
/// crate; negative durations are not an event's length.
fn duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let v = v.strip_prefix('+').unwrap_or(v);
    match iso8601::duration(v).ok()? {
        iso8601::Duration::Weeks(w) => Some(Duration::weeks(i64::from(w))),
        iso8601::Duration::YMDHMS {
            year,
            month,
            day,
            hour,
            minute,
            second,
            millisecond,
        } => {
            // Years and months have no fixed length and no place in an event's DURATION.
            if year > 0 || month > 0 {
                return None;
            }
            Some(
                Duration::days(i64::from(day))
                    + Duration::hours(i64::from(hour))
                    + Duration::minutes(i64::from(minute))
                    + Duration::seconds(i64::from(second))
                    + Duration::milliseconds(i64::from(millisecond)),
            )
        }
    }
}

fn cut(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}
