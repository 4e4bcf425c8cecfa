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
