//! `[[schedule]]`: rules around the room's meetings (docs/calendar.md).
//! "Wake the display 5 minutes before a meeting starts", "shut down 10
//! minutes after the last meeting of the day unless someone pressed a
//! button since". When they fire is worked out by `calendar::rules` (the
//! server's `calendar` feature); the schema is here so that every project
//! reader (designer, panel) validates it alike.

use serde::{Deserialize, Serialize};

/// One rule: at an edge of a meeting, moved by `offset_minutes`, press a
/// button or run a sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRule {
    pub id: String,
    /// Which instant: a meeting's start or end, or the end of the last
    /// meeting of the day.
    pub at: MeetingEdge,
    /// Minutes after (positive) or before (negative) that instant.
    #[serde(default)]
    pub offset_minutes: i32,
    /// The button it presses (and releases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub press: Option<String>,
    /// The sequence it runs: its button is pressed, as a person would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
    /// Skip when a person (a panel, keypad, Telnet, central control, MQTT)
    /// pressed any button between the meeting's instant and the rule's.
    #[serde(default)]
    pub unless_pressed_since: bool,
    /// Also for all-day events (off: only timed meetings count).
    #[serde(default)]
    pub all_day: bool,
}

/// The instant of a meeting a rule is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingEdge {
    /// Every meeting's start.
    Start,
    /// Every meeting's end.
    End,
    /// The end of the day's last meeting (the room's local day).
    LastEnd,
}

/// The largest `offset_minutes`, either way (a day).
pub const MAX_OFFSET_MINUTES: i32 = 24 * 60;

impl ScheduleRule {
    /// What the rule does, in words (status page, log).
    pub fn action(&self) -> String {
        match (&self.press, &self.sequence) {
            (Some(b), _) => format!("press {b}"),
            (None, Some(s)) => format!("run sequence {s}"),
            _ => "nothing".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::project::{MeetingEdge, Project};

    const BASE: &str = r#"
[project]
name = "Rules"

[[buttons]]
id = "wake"
label = "Wake"

[[sequences]]
id = "shutdown"
button = "wake"
steps = [ { wait_ms = 1 } ]

[[panels]]
id = "p"
name = "P"
columns = 1
rows = 1

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ { button = "wake", row = 0, col = 0 } ]
"#;

    #[test]
    fn rules_are_read_and_checked() {
        let good = format!(
            "{BASE}\n[[schedule]]\nid = \"w\"\nat = \"start\"\noffset_minutes = -5\npress = \"wake\"\n\n[[schedule]]\nid = \"s\"\nat = \"last_end\"\noffset_minutes = 10\nsequence = \"shutdown\"\nunless_pressed_since = true\n"
        );
        let p = Project::from_toml(&good).unwrap();
        assert_eq!(p.schedule.len(), 2);
        assert_eq!(p.schedule[1].at, MeetingEdge::LastEnd);
        assert_eq!(p.schedule[1].action(), "run sequence shutdown");

        let bad = format!(
            "{BASE}\n[[schedule]]\nid = \"w\"\nat = \"start\"\noffset_minutes = 5000\npress = \"nope\"\n\n[[schedule]]\nid = \"w\"\nat = \"start\"\n"
        );
        let e = Project::from_toml(&bad).unwrap_err().to_string();
        for part in [
            "there is no button \"nope\"",
            "more than a day",
            "duplicate schedule rule id",
            "exactly one of `press` and `sequence`",
        ] {
            assert!(e.contains(part), "{part} in {e}");
        }
        let e = Project::from_toml(&format!(
            "{BASE}\n[[schedule]]\nid = \"w\"\nat = \"noon\"\npress = \"wake\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("schedule"), "{e}");
    }
}
