//! A room's calendar: an iCalendar document (a published feed or a CalDAV
//! collection) read into events, and those events expanded into the
//! meetings of a time window in the room's time zone.
//!
//! - `parse.rs`: the document's VEVENTs (the syntax is the `icalendar`
//!   crate's parser; dates, time zones and durations are read here).
//! - `expand.rs`: recurrences (`rrule`), EXDATE/RDATE, moved and cancelled
//!   occurrences (RECURRENCE-ID), all-day events, daylight-saving changes.
//! - `rules.rs`: when the project's `[[schedule]]` rules fire.
//! - `edit.rs`: one occurrence made to end at another instant (write-back).
//! - `booking.rs`: what a room is doing at an instant: the meeting now, the
//!   next one, "free until", the last meeting of a day.
//! - `closed.rs`: the days a feed of holidays and closures marks, for the
//!   timers that skip them.
//!
//! No clock is read and no I/O is done here: the caller passes the text and
//! "now", so the same code is unit-tested, property-tested and fuzzed.
//!
//! Limits (docs/calendar.md): a document of at most [`MAX_CALENDAR_BYTES`],
//! at most [`MAX_EVENTS`] events, components nested at most
//! [`MAX_NESTING`] deep, at most [`MAX_MEETINGS`] meetings in one
//! expanded window, and at most [`MAX_EXPANSION_STEPS`] occurrences
//! generated to find them. Anything larger is refused whole, with a message.

mod booking;
mod closed;
mod edit;
mod expand;
mod parse;
mod rules;

pub use booking::{
    can_extend, last_meeting_of_day, variables, Booking, Changes, Privacy, HIDDEN_TITLE,
};
pub use closed::{ClosedDays, MAX_CLOSED_DAYS_AHEAD};
pub use edit::{set_end, EditError};
pub use parse::Calendar;
pub use rules::{firings, next_firing, Firing};

use chrono::{DateTime, Utc};

/// The largest calendar document read (4 MiB): a year of a busy room's
/// meetings is well under 1 MiB.
pub const MAX_CALENDAR_BYTES: usize = 4 * 1024 * 1024;
/// The most VEVENTs in one document.
pub const MAX_EVENTS: usize = 20_000;
/// The deepest nesting of BEGIN/END components (VCALENDAR > VEVENT >
/// VALARM is 3): deeper documents are refused before parsing.
pub const MAX_NESTING: usize = 8;
/// The most meetings one expanded window holds.
pub const MAX_MEETINGS: usize = 5_000;
/// The most occurrences generated for one window, counted from each
/// recurring event's start: a rule that repeats every minute since 2000
/// stops here instead of costing seconds (its later occurrences are then
/// missing, see docs/calendar.md).
pub const MAX_EXPANSION_STEPS: usize = 200_000;
/// Titles and organisers longer than this are cut (characters).
pub const MAX_TEXT_CHARS: usize = 200;

/// Why a calendar document was refused. The running calendar is kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("the calendar is {0} bytes, more than the limit of {MAX_CALENDAR_BYTES}")]
    TooLarge(usize),
    #[error("the calendar has more than {MAX_EVENTS} events")]
    TooManyEvents,
    #[error("the calendar nests components more than {MAX_NESTING} deep")]
    TooDeep,
    #[error("this is not an iCalendar document (no BEGIN:VCALENDAR)")]
    NotICalendar,
    #[error("the calendar does not parse: {0}")]
    Syntax(String),
}

/// One occurrence of an event, as the room sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    /// The event's UID (shared by every occurrence of a recurring event).
    pub uid: String,
    /// For an occurrence of a recurring event: its original start (the
    /// RECURRENCE-ID a write-back names). `None` for a single event.
    pub recurrence_id: Option<DateTime<Utc>>,
    pub start: DateTime<Utc>,
    /// Always after `start` (an event without length lasts a minute, so
    /// rules "at the end" still come after "at the start").
    pub end: DateTime<Utc>,
    pub all_day: bool,
    /// SUMMARY, cut to [`MAX_TEXT_CHARS`]; may be empty.
    pub title: String,
    /// The organiser's name (CN) or address; may be empty.
    pub organizer: String,
    /// CLASS:PRIVATE or CONFIDENTIAL: the title is never shown.
    pub private: bool,
}

impl Meeting {
    /// Whether the meeting is running at `now` (start inclusive, end exclusive).
    pub fn is_on(&self, now: DateTime<Utc>) -> bool {
        self.start <= now && now < self.end
    }
}

#[cfg(test)]
mod tests;
