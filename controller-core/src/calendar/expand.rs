//! Events into meetings: the occurrences of a time window, with repeat
//! rules expanded by the `rrule` crate in each event's own time zone (so a
//! weekly 09:00 meeting stays at 09:00 local time across a daylight-saving
//! change), EXDATEs removed, RDATEs added, and occurrences that were moved
//! or cancelled on their own (RECURRENCE-ID) replaced.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rrule::RRuleSet;

use super::parse::{local, Calendar, Event};
use super::{Meeting, MAX_EXPANSION_STEPS, MAX_MEETINGS};

impl Calendar {
    /// The meetings that overlap `[from, to)`, sorted by start (then end),
    /// at most [`MAX_MEETINGS`]. Cancelled events and those shown as free
    /// time (TRANSP:TRANSPARENT) book nothing and are left out.
    pub fn meetings(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Meeting> {
        self.occurrences(from, to, false)
    }

    /// Every event's occurrences that overlap `[from, to)`, as
    /// [`Calendar::meetings`], but with the events shown as free time too
    /// (a closed-days feed's holidays are: they book no room).
    pub fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        with_free_time: bool,
    ) -> Vec<Meeting> {
        let moved: HashSet<(&str, DateTime<Utc>)> = self
            .events
            .iter()
            .filter_map(|e| Some((e.uid.as_str(), e.recurrence_id?)))
            .collect();
        let mut out = Vec::new();
        let mut budget = MAX_EXPANSION_STEPS;
        for event in &self.events {
            if event.cancelled || (event.transparent && !with_free_time) {
                continue;
            }
            if event.recurrence_id.is_some() || (event.rrules.is_empty() && event.rdates.is_empty())
            {
                if let Some(m) = occurrence(event, event.start, event.recurrence_id) {
                    out.push(m);
                }
                continue;
            }
            for start in starts(event, from, to, &mut budget) {
                let original = start.with_timezone(&Utc);
                if moved.contains(&(event.uid.as_str(), original)) {
                    continue;
                }
                if let Some(m) = occurrence(event, start, Some(original)) {
                    out.push(m);
                }
                if out.len() > MAX_MEETINGS * 2 {
                    break;
                }
            }
        }
        out.retain(|m| m.end > from && m.start < to);
        out.sort_by(|a, b| (a.start, a.end, &a.uid).cmp(&(b.start, b.end, &b.uid)));
        out.truncate(MAX_MEETINGS);
        out
    }
}

/// The starts of a recurring event's occurrences that may overlap the
/// window. Occurrences are generated from the event's DTSTART on, so every
/// one of them, in the window or before it, takes one step of `budget`.
fn starts(
    event: &Event,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    budget: &mut usize,
) -> Vec<DateTime<Tz>> {
    let zone = event.start.timezone();
    let rz = rrule::Tz::Tz(zone);
    let mut set = RRuleSet::new(event.start.with_timezone(&rz)).set_rrules(event.rrules.clone());
    for d in &event.rdates {
        set = set.rdate(d.with_timezone(&rz));
    }
    for d in &event.exdates {
        set = set.exdate(d.with_timezone(&rz));
    }
    let earliest = from
        .checked_sub_signed(event.length)
        .unwrap_or(from)
        .with_timezone(&rz);
    let mut out = Vec::new();
    for start in &set {
        if *budget == 0 || start.with_timezone(&Utc) >= to || out.len() >= MAX_MEETINGS {
            break;
        }
        *budget -= 1;
        if start >= earliest {
            out.push(start.with_timezone(&zone));
        }
    }
    out
}

/// One occurrence starting at `start` (in the event's zone).
fn occurrence(
    event: &Event,
    start: DateTime<Tz>,
    recurrence_id: Option<DateTime<Utc>>,
) -> Option<Meeting> {
    let zone = start.timezone();
    let end_local = start.naive_local().checked_add_signed(event.length)?;
    let mut end = local(zone, end_local).with_timezone(&Utc);
    let start = start.with_timezone(&Utc);
    if end <= start {
        end = start + Duration::minutes(1);
    }
    Some(Meeting {
        uid: event.uid.clone(),
        recurrence_id,
        start,
        end,
        all_day: event.all_day,
        title: event.title.clone(),
        organizer: event.organizer.clone(),
        private: event.private,
    })
}
