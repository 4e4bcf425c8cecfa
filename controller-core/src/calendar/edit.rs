//! Write-back: one occurrence of an event made to end at another instant
//! ("Extend 15 min", "End meeting" on the panel). The input is the CalDAV
//! resource that holds the event (its series and any moved occurrences);
//! the output is the same resource with the change, for a PUT with the
//! resource's ETag. Everything the change does not touch is written back
//! as it was read (properties the room does not know included).

use chrono::{DateTime, Utc};
use icalendar::parser::{Component, Property};

use super::parse::{date_time, precheck, prop};
use super::{CalendarError, Meeting};

/// Why the change could not be made (nothing is written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error("the event {0:?} is not in this resource")]
    NoSuchEvent(String),
    #[error("the new end {end} is not after the meeting's start {start}")]
    EndBeforeStart {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
}

/// `text` with `meeting` (found by UID and, for an occurrence of a
/// recurring event, its RECURRENCE-ID) ending at `end`. A single event or
/// an already moved occurrence gets a new DTEND; another occurrence of a
/// series gets its own VEVENT (RECURRENCE-ID, DTSTART, DTEND), as RFC 5545
/// §3.8.4.4 describes, so the rest of the series is unchanged.
pub fn set_end(text: &str, meeting: &Meeting, end: DateTime<Utc>) -> Result<String, EditError> {
    if end <= meeting.start {
        return Err(EditError::EndBeforeStart {
            start: meeting.start,
            end,
        });
    }
    precheck(text)?;
    let unfolded = icalendar::parser::unfold(text);
    let mut calendar = icalendar::parser::read_calendar(&unfolded)
        .map_err(|e| CalendarError::Syntax(e.lines().next().unwrap_or("").trim().to_string()))?;
    let is_event = |c: &Component<'_>| c.name.as_str().eq_ignore_ascii_case("VEVENT");
    let uid_of = |c: &Component<'_>| {
        prop(c, "UID")
            .map(|p| p.val.as_str().trim().to_string())
            .unwrap_or_default()
    };
    // Any zone serves: RECURRENCE-IDs are compared as instants.
    let rid_of = |c: &Component<'_>| {
        prop(c, "RECURRENCE-ID")
            .and_then(|p| date_time(p, chrono_tz::UTC))
            .map(|(t, _)| t.with_timezone(&Utc))
    };
    let found = calendar.components.iter().position(|c| {
        is_event(c) && uid_of(c) == meeting.uid && rid_of(c) == meeting.recurrence_id
    });
    let stamp = utc(end);
    match found {
        Some(i) => {
            let event = &mut calendar.components[i];
            drop_props(event, &["DTEND", "DURATION"]);
            event.properties.push(property("DTEND", stamp));
        }
        None => {
            let Some(rid) = meeting.recurrence_id else {
                return Err(EditError::NoSuchEvent(meeting.uid.clone()));
            };
            let series = calendar
                .components
                .iter()
                .find(|c| is_event(c) && uid_of(c) == meeting.uid && rid_of(c).is_none())
                .ok_or_else(|| EditError::NoSuchEvent(meeting.uid.clone()))?;
            let mut moved = series.clone();
            drop_props(
                &mut moved,
                &[
                    "RRULE",
                    "RDATE",
                    "EXDATE",
                    "EXRULE",
                    "DTSTART",
                    "DTEND",
                    "DURATION",
                    "RECURRENCE-ID",
                ],
            );
            moved.properties.push(property("RECURRENCE-ID", utc(rid)));
            moved
                .properties
                .push(property("DTSTART", utc(meeting.start)));
            moved.properties.push(property("DTEND", stamp));
            calendar.components.push(moved);
        }
    }
    Ok(calendar.to_string())
}

fn drop_props(c: &mut Component<'_>, names: &[&str]) {
    c.properties.retain(|p| {
        !names
            .iter()
            .any(|n| p.name.as_str().eq_ignore_ascii_case(n))
    });
}

fn property(name: &'static str, value: String) -> Property<'static> {
    Property {
        name: name.into(),
        val: value.into(),
        params: Vec::new(),
    }
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}
