//! The panel's meeting tile (`meetings = [ { row, col, ... } ]` on a
//! page, docs/calendar.md): the meeting on now and the next one, the time
//! left, "free until HH:MM" or "free all day", and "End meeting" /
//! "Extend" when the room's calendar account may change it.
//!
//! The tile shows the booking variables the calendar service sets through
//! the engine, so its state travels on the one bus and the panel's live
//! channel like any variable. A project that places a tile need not declare
//! them: those it does not declare are added when the project is read
//! ([`booking_state`], like a driver device's state), so the engine holds
//! them and every front end (templates, LED conditions, MQTT) sees them.

use serde::{Deserialize, Serialize};

use super::{Project, Variable, VariableKind};

/// A meeting tile placed on a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingPlace {
    pub row: u8,
    pub col: u8,
    #[serde(default = "two")]
    pub width: u8,
    #[serde(default = "two")]
    pub height: u8,
}

fn two() -> u8 {
    2
}

/// A meeting is on now (bool).
pub const BUSY: &str = "calendar_busy";
/// Its title, as the privacy setting allows ("Busy" otherwise).
pub const TITLE: &str = "meeting_title";
/// Its organiser, as the privacy setting allows (empty otherwise).
pub const ORGANIZER: &str = "meeting_organizer";
pub const START: &str = "meeting_start";
pub const END: &str = "meeting_end";
/// Minutes left, rounded up (number).
pub const MINUTES_LEFT: &str = "meeting_minutes_left";
/// When free: the next meeting's start (`HH:MM`), whatever its day.
pub const FREE_UNTIL: &str = "free_until";
/// Free, and no meeting starts before the room's day ends (bool).
pub const FREE_ALL_DAY: &str = "free_all_day";
pub const NEXT_START: &str = "next_meeting_start";
pub const NEXT_TITLE: &str = "next_meeting_title";
/// The room may end the meeting on now (a CalDAV account with write access, bool).
pub const CAN_END: &str = "meeting_can_end";
/// As [`CAN_END`], and the extension ends before the next meeting (bool).
pub const CAN_EXTEND: &str = "meeting_can_extend";
/// How many minutes "Extend" adds (number).
pub const EXTEND_MINUTES: &str = "meeting_extend_minutes";
/// The room's state in words, as the tile shows it: `09:00–10:00 · 25
/// min left`, `All day`, `Free until 14:00`, `Free all day`.
pub const STATUS: &str = "meeting_status";
/// The next meeting in words: `Next: 14:00 Budget` (empty when none, or
/// when free all day).
pub const NEXT: &str = "meeting_next";
/// Whether the room's bookings are known (bool): set true by the calendar
/// service once it has read a calendar (or its last good one from disk).
/// False while the calendar is off or not read yet: the other booking
/// variables then hold their initial values, which say nothing (not
/// "free"). Every project that shows a booking has it (see
/// [`booking_state`]).
pub const KNOWN: &str = "calendar_known";
/// What [`STATUS`] says until the calendar service has read a calendar.
pub const NOT_KNOWN_YET: &str = "Bookings not known yet";

/// Every booking variable and its kind.
pub const BOOKING_VARIABLES: [(&str, VariableKind); 15] = [
    (BUSY, VariableKind::Bool),
    (TITLE, VariableKind::Text),
    (ORGANIZER, VariableKind::Text),
    (START, VariableKind::Text),
    (END, VariableKind::Text),
    (MINUTES_LEFT, VariableKind::Number),
    (FREE_UNTIL, VariableKind::Text),
    (FREE_ALL_DAY, VariableKind::Bool),
    (NEXT_START, VariableKind::Text),
    (NEXT_TITLE, VariableKind::Text),
    (CAN_END, VariableKind::Bool),
    (CAN_EXTEND, VariableKind::Bool),
    (EXTEND_MINUTES, VariableKind::Number),
    (STATUS, VariableKind::Text),
    (NEXT, VariableKind::Text),
];

impl Project {
    /// Whether any page of any panel places a meeting tile.
    pub fn has_meeting_tile(&self) -> bool {
        self.panels
            .iter()
            .flat_map(|p| &p.pages)
            .any(|page| !page.meetings.is_empty())
    }
}

/// The booking variables a project with a meeting tile gets without
/// declaring them: those of [`BOOKING_VARIABLES`] its `[[variables]]` do
/// not name, and [`KNOWN`]. A project without a tile that declares any
/// booking variable gets [`KNOWN`] alone; one that declares none, nothing.
pub fn booking_state(project: &Project) -> Vec<Variable> {
    let declared = |id: &str| project.variables.iter().any(|v| v.id == id);
    let tile = project.has_meeting_tile();
    let mut out: Vec<Variable> = Vec::new();
    if tile {
        out.extend(
            BOOKING_VARIABLES
                .iter()
                .filter(|(id, _)| !declared(id))
                .map(|(id, kind)| Variable {
                    id: (*id).to_string(),
                    kind: *kind,
                    initial: (*id == STATUS).then(|| super::Value::Text(NOT_KNOWN_YET.into())),
                }),
        );
    }
    let shows_bookings = tile || BOOKING_VARIABLES.iter().any(|(id, _)| declared(id));
    if shows_bookings && !declared(KNOWN) {
        out.push(Variable {
            id: KNOWN.to_string(),
            kind: VariableKind::Bool,
            initial: None,
        });
    }
    out
}
