//! Room logic in the project: devices, sequences, feedback rules and timers.
//!
//! The schema lives here so that a project file carrying room logic is
//! validated like the rest; the runtime that drives devices is the server's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::controls::Value;

/// A device in the room that the controller talks to (projector, matrix, DSP).
///
/// Either a library driver drives it (`driver = "pjlink"`: the driver knows
/// the transport, framing, commands and state; `settings` are the driver's
/// own), or it is a raw device: a `transport`, and strings the project
/// sends and matches itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// What the device is, in the room user's words: panel notices say "The
    /// projector is not responding" rather than the device's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<DeviceKind>,
    /// The library driver (docs/drivers.md) that drives this device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// A driver device's settings, as its driver declares them (`id`,
    /// `password`, an output number); the driver's defaults fill the rest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, Value>,
    /// How a raw device is reached (a driver device's comes from its driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<Transport>,
    /// `host:port` for tcp and udp; a base URL for http; the port's device
    /// path for serial (`/dev/ttyUSB0`). A driver device may give only the
    /// host: its driver's port is used.
    pub address: String,
    /// Serial devices only: speed and framing, `"9600 8N1"` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Appended to every string sent, and splits what arrives into lines.
    #[serde(default = "Device::default_terminator")]
    pub terminator: String,
    /// Sent every `poll_secs` while connected (a status query or keep-alive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll: Option<String>,
    /// A raw device: how often `poll` is sent (10 s when not given). A
    /// driver device: every poll of its driver is sent this often instead
    /// of the driver's own intervals (the driver's when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_secs: Option<u32>,
    /// Seconds between reconnect attempts while the device is down.
    #[serde(default = "Device::default_reconnect_secs")]
    pub reconnect_secs: u32,
    /// A button whose LED shows whether the device is connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_led: Option<String>,
    /// A regular expression matching the reply with which the device
    /// refuses a command it cannot take now (PJLink's `ERR3` while a
    /// projector warms up). Panels are told, and for `busy_secs` the
    /// device's commands are handled as `when_busy` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy: Option<String>,
    #[serde(default = "Device::default_busy_secs")]
    pub busy_secs: u32,
    #[serde(default)]
    pub when_busy: WhenBusy,
}

/// What kind of device it is, for the words a room user reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Projector,
    Display,
    VideoSwitcher,
    Audio,
    Camera,
    Lighting,
    Blinds,
}

/// What happens to a command for a device that said it is busy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenBusy {
    /// Not sent: the step fails and the panel says to try again.
    #[default]
    Refuse,
    /// Held until the busy time is over, then sent.
    Queue,
}

impl Device {
    /// A raw device's transport (tcp when none is given, which validation
    /// refuses for raw devices); driver devices: see [`crate::driver`].
    pub fn raw_transport(&self) -> Transport {
        self.transport.unwrap_or(Transport::Tcp)
    }

    /// How often a raw device's `poll` is sent.
    pub fn raw_poll_secs(&self) -> u32 {
        self.poll_secs.unwrap_or(Device::DEFAULT_POLL_SECS)
    }

    /// A raw device's poll interval when `poll_secs` is not given.
    pub const DEFAULT_POLL_SECS: u32 = 10;

    fn default_terminator() -> String {
        "\\r".into()
    }
    fn default_reconnect_secs() -> u32 {
        5
    }
    fn default_busy_secs() -> u32 {
        5
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    Tcp,
    Udp,
    Http,
    /// A local serial (RS-232/RS-485 adapter) port.
    Serial,
}

/// Steps that run when a button is pressed or released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    pub id: String,
    /// The button that triggers this sequence.
    pub button: String,
    #[serde(default)]
    pub on: Trigger,
    /// Run only when the triggering button is in this state (read right
    /// after the press or release): e.g. one sequence powers a display on
    /// `when = "unlit"` and another powers it off `when = "lit"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    pub steps: Vec<Step>,
}

/// A state of the triggering button that a sequence may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Its LED is on or blinking.
    Lit,
    /// Its LED is off.
    Unlit,
    /// A toggle or interlock button that is selected.
    Latched,
    /// A toggle or interlock button that is not selected.
    Unlatched,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    #[default]
    Press,
    Release,
    /// Each auto-repeat while a button with `repeat` is held.
    Repeat,
}

/// One step of a sequence. Exactly one action field is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Send a string (with `\r`, `\n`, `\xNN` escapes) to `device`. A
    /// template: `{name}` sends a variable's or level's current value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// Send bytes given as hex (`"02 50 4f 4e 03"`) to `device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// HTTP request to an http device: `"GET /path"`, `"POST /path"`, `"PUT /path"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Call this command of a driver device (`device`), its parameters in
    /// `params`; a command with one parameter takes it as `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// A command's parameters by name (`{ input = 2 }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<BTreeMap<String, Value>>,
    /// Wait this many milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<u32>,
    /// Set the LED of `button` to `led` ("off", "on", "slow_blink", "fast_blink").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub led: Option<String>,
    /// Press (and release) another button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub press: Option<String>,
    /// The button whose LED `led` sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button: Option<String>,
    /// Set this variable to `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_variable: Option<String>,
    /// Move this level to `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_level: Option<String>,
    /// Move this level by `value` (negative: down), from where it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjust_level: Option<String>,
    /// The value of `set_variable`, `set_level` or `adjust_level`, or a
    /// command's one parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// Data from a device that presses a button, sets an LED, a variable or a
/// level (or its mute).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRule {
    pub device: String,
    /// A driver device's state this rule reads (`power`): the rule runs
    /// when it changes, `equals` and `regex` match its value, and `$1`
    /// (the default `value`) is the whole value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Matches a whole line (or a state's value) exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// Matches a line by regular expression; captures are `$1`, `$2`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub press: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub led: Option<String>,
    /// Set this variable to `value` (captures allowed: `$1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    /// Move this level to `value` (`$1` when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Set this level's mute from `value` (1/0, on/off, true/false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute: Option<String>,
    /// What `variable`, `level` or `mute` is set to: a text with captures,
    /// `$1` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A schedule that presses a button or sets a variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    pub id: String,
    /// Cron expression: `sec min hour day-of-month month day-of-week`.
    pub cron: String,
    /// IANA time zone name, e.g. "Europe/Copenhagen". Default UTC.
    #[serde(default = "Timer::default_time_zone")]
    pub time_zone: String,
    /// The button it presses (or use `set_variable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub press: Option<String>,
    /// The variable it sets to `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_variable: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// What the timer does on the days the settings' `[holidays]` feed
    /// closes: run as any day (the default), skip them, or run only then.
    #[serde(default, skip_serializing_if = "ClosedDaysRule::is_run")]
    pub on_closed_days: ClosedDaysRule,
}

/// A timer's rule for closed days (holidays, closures).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosedDaysRule {
    /// Closed days are days like any other.
    #[default]
    Run,
    /// The timer does nothing on a closed day.
    Skip,
    /// The timer runs only on closed days.
    Only,
}

impl ClosedDaysRule {
    fn is_run(&self) -> bool {
        *self == ClosedDaysRule::Run
    }

    /// Whether a run on a day that is (or is not) closed goes ahead.
    pub fn runs(self, closed: bool) -> bool {
        match self {
            ClosedDaysRule::Run => true,
            ClosedDaysRule::Skip => !closed,
            ClosedDaysRule::Only => closed,
        }
    }
}

impl Timer {
    fn default_time_zone() -> String {
        "UTC".into()
    }

    /// What the timer does, in words (status page, logs).
    pub fn action(&self) -> String {
        match (&self.press, &self.set_variable, &self.value) {
            (Some(b), _, _) => format!("press {b}"),
            (None, Some(v), Some(value)) => format!("set {v} = {value}"),
            _ => "nothing".into(),
        }
    }
}
