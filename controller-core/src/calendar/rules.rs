//! When the project's `[[schedule]]` rules fire: each rule's instants
//! (a meeting's start or end, or the end of the day's last meeting, moved
//! by the rule's offset) inside a span of time. The caller passes the
//! meetings and the span; nothing here reads a clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::Meeting;
use crate::project::{MeetingEdge, ScheduleRule};

/// One rule coming due for one meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Firing<'a> {
    pub rule: &'a ScheduleRule,
    pub meeting: &'a Meeting,
    /// The meeting's instant the rule is measured from.
    pub anchor: DateTime<Utc>,
    /// When the rule fires: `anchor` plus the rule's offset.
    pub at: DateTime<Utc>,
}

impl Firing<'_> {
    /// Whether a person's press at `last_press` cancels it: the rule says
    /// `unless_pressed_since` and the press came between the meeting's
    /// instant and the rule's.
    pub fn suppressed_by(&self, last_press: Option<DateTime<Utc>>) -> bool {
        let (from, to) = (self.anchor.min(self.at), self.anchor.max(self.at));
        self.rule.unless_pressed_since && last_press.is_some_and(|p| from <= p && p <= to)
    }
}

/// Every firing with `after < at <= until`, sorted by `at` (then rule order).
pub fn firings<'a>(
    rules: &'a [ScheduleRule],
    meetings: &'a [Meeting],
    zone: Tz,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Firing<'a>> {
    let mut out = Vec::new();
    for (order, rule) in rules.iter().enumerate() {
        let offset = Duration::minutes(i64::from(rule.offset_minutes));
        let counted = meetings.iter().filter(|m| rule.all_day || !m.all_day);
        let anchors: Vec<(&Meeting, DateTime<Utc>)> = match rule.at {
            MeetingEdge::Start => counted.map(|m| (m, m.start)).collect(),
            MeetingEdge::End => counted.map(|m| (m, m.end)).collect(),
            MeetingEdge::LastEnd => {
                let mut last: BTreeMap<NaiveDate, &Meeting> = BTreeMap::new();
                for m in counted {
                    let day = m.start.with_timezone(&zone).date_naive();
                    let e = last.entry(day).or_insert(m);
                    if m.end > e.end {
                        *e = m;
                    }
                }
                last.into_values().map(|m| (m, m.end)).collect()
            }
        };
        for (meeting, anchor) in anchors {
            let at = anchor + offset;
            if after < at && at <= until {
                out.push((
                    order,
                    Firing {
                        rule,
                        meeting,
                        anchor,
                        at,
                    },
                ));
            }
        }
    }
    out.sort_by_key(|(order, f)| (f.at, *order));
    out.into_iter().map(|(_, f)| f).collect()
}

/// The first instant after `after` at which any rule fires.
pub fn next_firing(
    rules: &[ScheduleRule],
    meetings: &[Meeting],
    zone: Tz,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    firings(rules, meetings, zone, after, DateTime::<Utc>::MAX_UTC)
        .first()
        .map(|f| f.at)
}
