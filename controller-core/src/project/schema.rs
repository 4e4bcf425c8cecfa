//! The project schema: the serde types a project file deserialises into.
//!
//! Field names are what an installer types, so they are short, lower-case and
//! documented in `docs/project-format.md`. Unknown fields are not silently
//! ignored: [`super::parse`] reports each with its line and column.

use serde::{Deserialize, Serialize};

use super::controls::{Level, LevelPlace, TextPlace, VarCondition, Variable};
use super::logic::{Device, FeedbackRule, Sequence, Timer};
use super::meeting_rules::ScheduleRule;
use super::meeting_tile::MeetingPlace;

/// One room: identity, buttons, the panels that show them, and the room logic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub project: ProjectInfo,
    #[serde(default)]
    pub buttons: Vec<Button>,
    #[serde(default)]
    pub panels: Vec<Panel>,
    /// Faders and meters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<Level>,
    /// Named values shown in labels and text tiles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
    #[serde(default)]
    pub devices: Vec<Device>,
    #[serde(default)]
    pub sequences: Vec<Sequence>,
    #[serde(default)]
    pub feedback: Vec<FeedbackRule>,
    #[serde(default)]
    pub timers: Vec<Timer>,
    /// The state of the driver devices as variables (`projector.power`):
    /// not written in the file, made from the devices' drivers when the
    /// project is read, so templates, conditions and every front end read
    /// them as they read variables.
    #[serde(skip)]
    pub device_state: Vec<Variable>,
    /// The booking variables a meeting tile shows and the `occupied`
    /// variable of `[occupancy]` that the file does not declare
    /// (`meeting_tile::booking_state`, `occupancy::occupancy_state`): made
    /// when the project is read, never written in the file.
    #[serde(skip)]
    pub booking_state: Vec<Variable>,
    /// Rules around the room's meetings (`[[schedule]]`, docs/calendar.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<ScheduleRule>,
    /// Whether someone is in the room, and rules on an empty room
    /// (`[occupancy]`, docs/occupancy.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupancy: Option<super::occupancy::Occupancy>,
}

/// The `[project]` table: who this room is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectInfo {
    /// The version of the project format the file was written in
    /// ([`super::PROJECT_FORMAT`] is the newest this build reads); 1 when
    /// absent, as in every file written before versions were kept.
    #[serde(
        default = "super::first_format",
        skip_serializing_if = "super::is_first_format"
    )]
    pub format: u32,
    /// Shown on panels, in discovery answers and on the status page.
    pub name: String,
    /// The installer's own revision number of this project file.
    #[serde(default)]
    pub revision: u32,
    #[serde(default)]
    pub description: String,
    /// Where the room is (building, floor), shown in discovery answers.
    #[serde(default)]
    pub location: String,
    /// Whom the room's user should call when a device fails, as the end of
    /// "Check that it is switched on, or ..." (`"call IT on 4711"`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
}

/// A button: defined once, placed on any number of pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Button {
    pub id: String,
    /// A template: `{name}` shows a variable or level (`"Display {state}"`).
    pub label: String,
    /// A second, smaller line under the label; a template like `label`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sublabel: Option<String>,
    /// An icon name from the panel's icon set (`docs/project-format.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(default)]
    pub kind: ButtonKind,
    /// The interlock group of an `interlock` button (e.g. "sources").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The LED colour when the engine lights it.
    #[serde(default)]
    pub color: LedColor,
    /// Who drives the LED: the button's own state, or only feedback/logic.
    #[serde(default)]
    pub led: LedSource,
    /// Auto-repeat while held (volume up/down). Momentary buttons only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
    /// The button can be pressed only while this holds; panels grey it out
    /// otherwise (e.g. sources only while the display is on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<VarCondition>,
    /// The LED is lit exactly while this holds (and follows nothing else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub led_when: Option<VarCondition>,
    /// Panels ask this question and press only when the user confirms
    /// (e.g. "Switch the whole room off?").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<String>,
    /// A toggle that is this level's mute: pressing it mutes or unmutes
    /// the level, and it is latched and lit exactly while the level is
    /// muted, whoever muted it (the fader's own mute, 5009, MQTT, feedback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutes: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonKind {
    /// Active while held: LED on from press to release.
    #[default]
    Momentary,
    /// Each press flips it on or off.
    Toggle,
    /// One of a group: pressing it selects it and deselects the others.
    Interlock,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedSource {
    /// The engine lights the LED from the button's state (held, toggled, selected).
    #[default]
    State,
    /// Only feedback rules, sequences and `set LED` commands change the LED,
    /// e.g. a projector power LED that follows what the projector reports.
    Feedback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// Hold this long before the first repeat.
    #[serde(default = "Repeat::default_delay_ms")]
    pub delay_ms: u32,
    /// Then repeat at this interval until released.
    #[serde(default = "Repeat::default_interval_ms")]
    pub interval_ms: u32,
}

impl Repeat {
    fn default_delay_ms() -> u32 {
        400
    }
    fn default_interval_ms() -> u32 {
        200
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedColor {
    Red,
    #[default]
    Green,
    Blue,
    Amber,
    Yellow,
    White,
    Cyan,
    Magenta,
}

impl LedColor {
    pub const ALL: [LedColor; 8] = [
        LedColor::Red,
        LedColor::Green,
        LedColor::Blue,
        LedColor::Amber,
        LedColor::Yellow,
        LedColor::White,
        LedColor::Cyan,
        LedColor::Magenta,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LedColor::Red => "red",
            LedColor::Green => "green",
            LedColor::Blue => "blue",
            LedColor::Amber => "amber",
            LedColor::Yellow => "yellow",
            LedColor::White => "white",
            LedColor::Cyan => "cyan",
            LedColor::Magenta => "magenta",
        }
    }

    pub fn parse(s: &str) -> Option<LedColor> {
        LedColor::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedMode {
    #[default]
    Off,
    On,
    SlowBlink,
    FastBlink,
}

impl LedMode {
    pub const ALL: [LedMode; 4] = [
        LedMode::Off,
        LedMode::On,
        LedMode::SlowBlink,
        LedMode::FastBlink,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LedMode::Off => "off",
            LedMode::On => "on",
            LedMode::SlowBlink => "slow_blink",
            LedMode::FastBlink => "fast_blink",
        }
    }

    pub fn parse(s: &str) -> Option<LedMode> {
        LedMode::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn is_lit(self) -> bool {
        self != LedMode::Off
    }
}

/// What an LED shows: a mode and a colour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Led {
    pub mode: LedMode,
    pub color: LedColor,
}

impl Led {
    pub const fn off(color: LedColor) -> Led {
        Led {
            mode: LedMode::Off,
            color,
        }
    }
    pub const fn on(color: LedColor) -> Led {
        Led {
            mode: LedMode::On,
            color,
        }
    }
}

/// A panel layout: a tablet, a wall panel, a phone. Several may show one project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Panel {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub profile: PanelProfile,
    /// The page grid: buttons are placed on `columns` x `rows` cells.
    pub columns: u8,
    pub rows: u8,
    /// A numeric PIN that unlocks this panel (optional; see docs/security).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// Go back to the first page after this many seconds without a touch
    /// (kiosk panels); never when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_secs: Option<u32>,
    /// The room summary bar: templates shown side by side above the pages
    /// (`"Display {projector_state}"`, `"Volume {volume} dB"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summary: Vec<String>,
    pub pages: Vec<Page>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanelProfile {
    /// A hand-held tablet (portrait or landscape).
    #[default]
    Tablet,
    /// A fixed wall panel (Apprimo Touch 8i class, 1280x800 landscape).
    Wall,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(default)]
    pub buttons: Vec<Place>,
    /// Faders and meters on this page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<LevelPlace>,
    /// Text tiles on this page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub texts: Vec<TextPlace>,
    /// Meeting tiles on this page (docs/calendar.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meetings: Vec<MeetingPlace>,
}

/// A button placed on a page's grid (row and column count from 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub button: String,
    pub row: u8,
    pub col: u8,
    #[serde(default = "Place::one")]
    pub width: u8,
    #[serde(default = "Place::one")]
    pub height: u8,
}

impl Place {
    fn one() -> u8 {
        1
    }
}

impl Project {
    pub fn button(&self, id: &str) -> Option<&Button> {
        self.buttons.iter().find(|b| b.id == id)
    }

    pub fn level(&self, id: &str) -> Option<&Level> {
        self.levels.iter().find(|l| l.id == id)
    }

    /// A variable of the file, or a driver device's state (`projector.power`).
    pub fn variable(&self, id: &str) -> Option<&Variable> {
        self.all_variables().find(|v| v.id == id)
    }

    /// The file's variables, then the driver devices' state, then the
    /// booking variables a meeting tile brings.
    pub fn all_variables(&self) -> impl Iterator<Item = &Variable> {
        self.variables
            .iter()
            .chain(&self.device_state)
            .chain(&self.booking_state)
    }

    pub fn panel(&self, id: &str) -> Option<&Panel> {
        self.panels.iter().find(|p| p.id == id)
    }

    /// The first panel of a profile, else the first panel.
    pub fn panel_for_profile(&self, profile: PanelProfile) -> Option<&Panel> {
        self.panels
            .iter()
            .find(|p| p.profile == profile)
            .or_else(|| self.panels.first())
    }

    /// The project as TOML text (what a download returns for a project that
    /// was not uploaded as a file, e.g. the built-in demo).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# cannot serialise project: {e}\n"))
    }
}
