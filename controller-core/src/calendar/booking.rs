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

/// Whether the room may change its meetings (a CalDAV account with write
/// access: "End meeting" and "Extend" on the panel's meeting tile), and
/// by how much "Extend" moves the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    pub allowed: bool,
    pub extend_minutes: u32,
}

impl Changes {
    /// A room that cannot change its meetings (an iCalendar feed, a
    /// read-only account).
    pub const NONE: Changes = Changes {
        allowed: false,
        extend_minutes: 0,
    };
}

/// Whether `b`'s meeting on now may be extended by `minutes`: a timed
/// meeting whose new end comes no later than the next meeting's start.
pub fn can_extend(b: &Booking<'_>, minutes: u32) -> bool {
    b.now.is_some_and(|m| {
        !m.all_day
            && b.next
                .is_none_or(|n| n.start >= m.end + chrono::Duration::minutes(i64::from(minutes)))
    })
}

/// The booking variables (`project::meeting_tile`, docs/calendar.md) with
/// their values at `now`: times are the room's local `HH:MM`, empty when
/// there is none.
pub fn variables(
    b: &Booking<'_>,
    now: DateTime<Utc>,
    zone: Tz,
    privacy: Privacy,
    changes: Changes,
) -> Vec<(&'static str, crate::project::Value)> {
    use crate::project::meeting_tile as tile;
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
    // Free for the rest of the room's day: no meeting on, none starting
    // before the next local midnight.
    let today = now.with_timezone(&zone).date_naive();
    let free_all_day = b.now.is_none()
        && b.free_until
            .is_none_or(|t| t.with_timezone(&zone).date_naive() > today);
    let timed_now = b.now.is_some_and(|m| !m.all_day);
    let when = |t: Option<DateTime<Utc>>| match hm(t) {
        Value::Text(t) => t,
        _ => String::new(),
    };
    let status = match b.now {
        Some(m) if m.all_day => "All day".to_string(),
        Some(m) => format!(
            "{}\u{2013}{} \u{b7} {left} min left",
            when(Some(m.start)),
            when(Some(m.end))
        ),
        None if free_all_day => "Free all day".to_string(),
        None => format!("Free until {}", when(b.free_until)),
    };
    let next = match b.next {
        Some(n) if b.now.is_some() || !free_all_day => {
            format!("Next: {} {}", when(Some(n.start)), privacy.title(n))
        }
        _ => String::new(),
    };
    vec![
        (tile::BUSY, Value::Bool(b.is_busy())),
        (tile::TITLE, text(b.now.map(|m| privacy.title(m)))),
        (tile::ORGANIZER, text(b.now.map(|m| privacy.organizer(m)))),
        (tile::START, hm(b.now.map(|m| m.start))),
        (tile::END, hm(b.now.map(|m| m.end))),
        (tile::MINUTES_LEFT, Value::Number(left as f64)),
        (tile::FREE_UNTIL, hm(b.free_until)),
        (tile::FREE_ALL_DAY, Value::Bool(free_all_day)),
        (tile::NEXT_START, hm(b.next.map(|m| m.start))),
        (tile::NEXT_TITLE, text(b.next.map(|m| privacy.title(m)))),
        (tile::CAN_END, Value::Bool(changes.allowed && timed_now)),
        (
            tile::CAN_EXTEND,
            Value::Bool(changes.allowed && can_extend(b, changes.extend_minutes)),
        ),
        (
            tile::EXTEND_MINUTES,
            Value::Number(f64::from(changes.extend_minutes)),
        ),
        (tile::STATUS, Value::Text(status)),
        (tile::NEXT, Value::Text(next)),
    ]
}
