//! `[occupancy]`: whether someone is in the room (docs/occupancy.md), from
//! a project variable or driver device state (a presence sensor, a PIR read
//! over HTTP), an MQTT topic, or presses on the room's panels, held for
//! `hold_minutes` after the last sign; and rules on "empty for N minutes"
//! and "nobody came to the meeting". The decisions are
//! `logic::occupancy`'s; the schema is here so that every project reader
//! (designer, panel) validates it alike.
//!
//! The room's state is the `occupied` variable (bool), set by the
//! controller's `occupancy` service: a project with `[occupancy]` has it
//! without declaring it, so LEDs, conditions, templates, MQTT and Home
//! Assistant read it like any variable.

use serde::{Deserialize, Serialize};

use super::{Project, Variable, VariableKind};

/// The variable the room's occupancy is shown in.
pub const OCCUPIED: &str = "occupied";
/// `hold_minutes` when not given.
pub const DEFAULT_HOLD_MINUTES: u32 = 5;
/// The longest hold and the longest wait of a rule: a day.
pub const MAX_MINUTES: u32 = 24 * 60;

/// The `[occupancy]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Occupancy {
    /// How long the room stays occupied after the last sign of someone: a
    /// press on a panel, or a source going from occupied to vacant.
    #[serde(default = "default_hold")]
    pub hold_minutes: u32,
    /// A press on any panel (a person's, not a timer's or a rule's) counts
    /// as someone in the room.
    #[serde(default)]
    pub panel_activity: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<PresenceSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<OccupancyRule>,
}

fn default_hold() -> u32 {
    DEFAULT_HOLD_MINUTES
}

fn yes() -> bool {
    true
}

/// One sensor: a variable (or `device.state`), or an MQTT topic read
/// through the bridge; its values read as occupied or vacant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceSource {
    /// A project variable or driver device state (`pir.motion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// A topic of the site's broker (the `[mqtt]` bridge subscribes to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt_topic: Option<String>,
    /// A JSON payload's field holding the value (`occupancy` for
    /// zigbee2mqtt; `a.b` for a nested one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_field: Option<String>,
    /// Values that mean occupied (any case). With only these given, any
    /// other value means vacant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub occupied_values: Vec<String>,
    /// Values that mean vacant (any case). With only these given, any
    /// other value means occupied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vacant_values: Vec<String>,
    /// A number above this means occupied (a people count, a level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupied_above: Option<f64>,
}

impl PresenceSource {
    /// What it reads, in words (log, status).
    pub fn name(&self) -> String {
        match (&self.variable, &self.mqtt_topic) {
            (Some(v), _) => format!("variable {v}"),
            (None, Some(t)) => format!("MQTT topic {t}"),
            _ => "nothing".into(),
        }
    }
}

/// What a rule waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OccupancyWhen {
    /// The room has been empty for `minutes`.
    Empty,
    /// A meeting started `minutes` ago and nobody has been in the room since
    /// it started (the calendar service releases the booking).
    NoShow,
}

/// `[[occupancy.rules]]`: after `minutes` of an empty room (or of a
/// meeting nobody came to), press a button or run a sequence; a no-show
/// also ends the meeting on the calendar when the room's account may.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OccupancyRule {
    pub id: String,
    pub when: OccupancyWhen,
    pub minutes: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub press: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
    /// `no_show` only: end the meeting on the calendar (CalDAV, an account
    /// that may write); otherwise only logged and audited.
    #[serde(default = "yes")]
    pub release_booking: bool,
}

impl OccupancyRule {
    /// What the rule does, in words (status page, log).
    pub fn action(&self) -> String {
        let mut parts = Vec::new();
        if self.when == OccupancyWhen::NoShow && self.release_booking {
            parts.push("release the booking".to_string());
        }
        match (&self.press, &self.sequence) {
            (Some(b), _) => parts.push(format!("press {b}")),
            (None, Some(s)) => parts.push(format!("run sequence {s}")),
            _ => {}
        }
        if parts.is_empty() {
            "nothing".into()
        } else {
            parts.join(", ")
        }
    }
}

/// The `occupied` variable for a project with `[occupancy]` that does not
/// declare it (made when the project is read, never written in the file).
pub fn occupancy_state(project: &Project) -> Option<Variable> {
    if project.occupancy.is_none() || project.variables.iter().any(|v| v.id == OCCUPIED) {
        return None;
    }
    Some(Variable {
        id: OCCUPIED.to_string(),
        kind: VariableKind::Bool,
        initial: None,
    })
}
