//! What a room's bookings say at an instant: the meeting on now, the next
//! one, until when the room is busy or free, and the last meeting of a day.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::Meeting;

/// The room at one instant, read from its meetings (sorted by start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booking<'a> {
    /// The meeting on now (a timed one before an all-day one).
    pub now: Option<&'a Meeting>,
    /// The next meeting that starts after now (timed meetings only).
    pub next: Option<&'a Meeting>,
    /// When busy: the end of the current meeting and of any that follow
    /// it without a gap.
    pub busy_until: Option<DateTime<Utc>>,
    /// When free: the start of the next meeting (`None`: free for the rest
    /// of the window).
    pub free_until: Option<DateTime<Utc>>,
}

impl<'a> Booking<'a> {
    pub fn at(meetings: &'a [Meeting], now: DateTime<Utc>) -> Booking<'a> {
        let on = |all_day: bool| {
            meetings
                .iter()
                .find(|m| m.all_day == all_day && m.is_on(now))
        };
        let current = on(false).or_else(|| on(true));
        let next = meetings.iter().find(|m| !m.all_day && m.start > now);
        let busy_until = current.map(|c| {
            let mut until = c.end;
            for m in meetings.iter().filter(|m| !m.all_day && m.start > now) {
                if m.start > until {
                    break;
                }
                until = until.max(m.end);
            }
            until
        });
        Booking {
            now: current,
            next,
            busy_until,
            free_until: if current.is_none() {
                next.map(|m| m.start)
            } else {
                None
            },
        }
    }

    pub fn is_busy(&self) -> bool {
        self.now.is_some()
    }
}

/// The timed meeting that ends last among those starting on `day` (the
/// room's local date in `zone`).
pub fn last_meeting_of_day(meetings: &[Meeting], day: NaiveDate, zone: Tz) -> Option<&Meeting> {
    meetings
        .iter()
        .filter(|m| !m.all_day && m.start.with_timezone(&zone).date_naive() == day)
        .max_by_key(|m| m.end)
}

/// How much of a meeting the room shows (panels, variables, the station).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Privacy {
    /// Every meeting is "Busy"; no organiser.
    #[default]
    Busy,
    /// The title (not of private events); no organiser.
    Title,
    /// The title and the organiser (not of private events).
    TitleAndOrganizer,
}

/// What a room shows for a meeting whose details are hidden.
pub const HIDDEN_TITLE: &str = "Busy";

impl Privacy {
    pub fn title(self, m: &Meeting) -> String {
        match self {
            Privacy::Busy => HIDDEN_TITLE.into(),
            _ if m.private || m.title.is_empty() => HIDDEN_TITLE.into(),
            _ => m.title.clone(),
        }
    }

    pub fn organizer(self, m: &Meeting) -> String {
        match self {
            Privacy::TitleAndOrganizer if !m.private => m.organizer.clone(),
            _ => String::new(),
        }
    }
}

/// The booking variables a project may declare (`[[variables]]`) to show
/// or test the room's booking (docs/calendar.md), with their values at
/// `now`: times are the room's local `HH:MM`, empty when there is none.
pub fn variables(
    b: &Booking<'_>,
    now: DateTime<Utc>,
    zone: Tz,
    privacy: Privacy,
) -> Vec<(&'static str, crate::project::Value)> {
    use crate::project::Value;
    let hm = |t: Option<DateTime<Utc>>| {
        Value::Text(
            t.map(|t| t.with_timezone(&zone).format("%H:%M").to_string())
                .unwrap_or_default(),
        )
    };
    let text = |s: Option<String>| Value::Text(s.unwrap_or_default());
    let left = b
        .now
        .map(|m| ((m.end - now).num_seconds().max(0) + 59) / 60)
        .unwrap_or(0);
    vec![
        ("calendar_busy", Value::Bool(b.is_busy())),
        ("meeting_title", text(b.now.map(|m| privacy.title(m)))),
        (
            "meeting_organizer",
            text(b.now.map(|m| privacy.organizer(m))),
        ),
        ("meeting_start", hm(b.now.map(|m| m.start))),
        ("meeting_end", hm(b.now.map(|m| m.end))),
        ("meeting_minutes_left", Value::Number(left as f64)),
        ("free_until", hm(b.free_until)),
        ("next_meeting_start", hm(b.next.map(|m| m.start))),
        ("next_meeting_title", text(b.next.map(|m| privacy.title(m)))),
    ]
}
