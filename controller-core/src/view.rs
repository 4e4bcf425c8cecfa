//! View models: what a panel page or the status page needs, computed on the
//! server and rendered by the Leptos app on both sides (SSR and hydrate).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::Snapshot;
use crate::project::{Button, Level, Panel, PanelProfile, Project, Variable};

/// Everything a panel page renders: its layout, the buttons on it, and the
/// state at one revision. Later changes arrive on the live channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PanelView {
    pub controller_name: String,
    pub project_name: String,
    pub panel: Panel,
    /// Definitions of the buttons placed on this panel's pages.
    pub buttons: BTreeMap<String, Button>,
    /// Definitions of the faders and meters placed on this panel's pages.
    #[serde(default)]
    pub levels: BTreeMap<String, Level>,
    pub snapshot: Snapshot,
    pub keepalive_ms: u64,
    /// The other panels of the project: (id, name).
    pub panels: Vec<(String, String)>,
    /// This panel asks for its PIN before it can be used.
    pub pin_required: bool,
    /// Names this layout: equal for two views exactly when everything but
    /// the `snapshot` is (see [`PanelView::layout_key`]). A panel says it in
    /// its `hello`; the live channel sends a new `layout` when it differs.
    #[serde(default)]
    pub layout: String,
}

impl PanelView {
    /// The view of `panel_id`, or of the first panel of `profile` when no id is
    /// given. `None` when the project has no such panel.
    pub fn build(
        controller_name: &str,
        project: &Project,
        panel_id: Option<&str>,
        profile: PanelProfile,
        snapshot: Snapshot,
        keepalive_ms: u64,
    ) -> Option<PanelView> {
        let panel = match panel_id {
            Some(id) => project.panel(id)?,
            None => project.panel_for_profile(profile)?,
        };
        let buttons = panel
            .pages
            .iter()
            .flat_map(|p| &p.buttons)
            .filter_map(|place| project.button(&place.button))
            .map(|b| (b.id.clone(), b.clone()))
            .collect();
        let levels = panel
            .pages
            .iter()
            .flat_map(|p| &p.levels)
            .filter_map(|place| project.level(&place.level))
            // A panel draws a level; which device it drives, and with what
            // commands, is not for whoever opens the page.
            .map(|l| {
                let level = Level {
                    device: None,
                    send: None,
                    send_mute: None,
                    command: None,
                    mute_command: None,
                    ..l.clone()
                };
                (l.id.clone(), level)
            })
            .collect();
        let mut panel = panel.clone();
        let pin_required = panel.pin.take().is_some();
        let mut view = PanelView {
            controller_name: controller_name.to_string(),
            project_name: project.project.name.clone(),
            panel,
            buttons,
            levels,
            snapshot,
            keepalive_ms,
            panels: project
                .panels
                .iter()
                .map(|p| (p.id.clone(), p.name.clone()))
                .collect(),
            pin_required,
            layout: String::new(),
        };
        view.layout = view.layout_key();
        Some(view)
    }

    /// A hash of everything this view shows but its state: the panel, its
    /// buttons and levels, the names, the other panels, the PIN flag. Stable
    /// for one build of the controller (std's `DefaultHasher` with its fixed
    /// keys); a controller of another build at worst sends one layout more.
    pub fn layout_key(&self) -> String {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let layout = (
            &self.controller_name,
            &self.project_name,
            &self.panel,
            &self.buttons,
            &self.levels,
            self.keepalive_ms,
            &self.panels,
            self.pin_required,
        );
        let json = serde_json::to_vec(&layout).expect("views always serialise");
        let mut hasher = DefaultHasher::new();
        json.hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    }
}

/// What a central station needs to draw a room's panels: the running
/// project's panels (without their PINs), buttons, levels and variables.
/// Sent on central control (5009) in answer to `layout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomLayout {
    pub project_name: String,
    pub project_revision: u32,
    #[serde(default)]
    pub location: String,
    pub panels: Vec<Panel>,
    pub buttons: Vec<Button>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<Level>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
    /// The port of the room's own panel service (plain HTTP), on the
    /// address the station reached central control at: the station shows
    /// a room's real panel by relaying to it. `None`: no such port (the
    /// service is off, the layout came through a broker, an older
    /// controller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panel_port: Option<u16>,
}

impl RoomLayout {
    pub fn of(project: &Project) -> RoomLayout {
        RoomLayout {
            project_name: project.project.name.clone(),
            project_revision: project.project.revision,
            location: project.project.location.clone(),
            // A PIN guards a panel in the room; the station has its own
            // logins and must not learn (or show) it.
            panels: project
                .panels
                .iter()
                .map(|p| Panel {
                    pin: None,
                    ..p.clone()
                })
                .collect(),
            buttons: project.buttons.clone(),
            levels: project.levels.clone(),
            variables: project.all_variables().cloned().collect(),
            panel_port: None,
        }
    }

    pub fn button(&self, id: &str) -> Option<&Button> {
        self.buttons.iter().find(|b| b.id == id)
    }

    /// This layout without what only an installer needs: the device each
    /// level drives and the commands sent to it (`device`, `send`,
    /// `send_mute`). What a room's panels are drawn from stays.
    pub fn without_device_commands(mut self) -> RoomLayout {
        for level in &mut self.levels {
            level.device = None;
            level.send = None;
            level.send_mute = None;
            level.command = None;
            level.mute_command = None;
        }
        self
    }
}

/// A service's state, as the status page, the console and `roomctl` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// Short name: "panel", "lookup", "central", ...
    pub name: String,
    /// What it is for, in words an IT administrator reads.
    pub purpose: String,
    /// "tcp 127.0.0.1:3000", "udp 0.0.0.0:8000", "udp 224.10.10.25:7979".
    pub endpoint: String,
    pub state: ServiceState,
    /// Where to switch it off: the settings section.
    pub setting: String,
}

/// Written with serde's adjacent tags (`{"state":"failed","reason":"..."}`);
/// read through [`ServiceStateIn`], a flat struct, which keeps serde's
/// buffering of tagged enums (a second decoder per type) out of the panel's
/// wasm (see `engine::wire`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "state",
    content = "reason",
    rename_all = "snake_case",
    try_from = "ServiceStateIn"
)]
pub enum ServiceState {
    Starting,
    /// A service with a port, accepting connections or datagrams.
    Listening,
    /// A service without a port (room logic, auto-repeat), running.
    Running,
    Disabled,
    Failed(String),
    Stopped,
}

/// A service state as read.
#[derive(Deserialize)]
struct ServiceStateIn {
    state: String,
    reason: Option<String>,
}

impl TryFrom<ServiceStateIn> for ServiceState {
    type Error = String;

    fn try_from(s: ServiceStateIn) -> Result<ServiceState, String> {
        Ok(match s.state.as_str() {
            "starting" => ServiceState::Starting,
            "listening" => ServiceState::Listening,
            "running" => ServiceState::Running,
            "disabled" => ServiceState::Disabled,
            "failed" => ServiceState::Failed(s.reason.unwrap_or_default()),
            "stopped" => ServiceState::Stopped,
            other => return Err(format!("unknown service state `{other}`")),
        })
    }
}

impl std::fmt::Display for ServiceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceState::Starting => f.write_str("starting"),
            ServiceState::Listening => f.write_str("listening"),
            ServiceState::Running => f.write_str("running"),
            ServiceState::Disabled => f.write_str("disabled"),
            ServiceState::Failed(why) => write!(f, "failed: {why}"),
            ServiceState::Stopped => f.write_str("stopped"),
        }
    }
}

/// One connected panel, for the status page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PanelSession {
    pub id: u64,
    pub address: String,
    pub user_agent: String,
    pub panel: String,
    /// Seconds since the Unix epoch.
    pub connected_at: u64,
    pub last_keepalive_at: u64,
    pub port: u16,
}

/// One line of the status page's device table (extension devices and room
/// devices alike).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStatus {
    pub id: String,
    /// What it is, a word a program can match: an extension device's own
    /// (`keypad`, `io`, `relay`, ...), or [`ROOM_DEVICE_KIND`].
    pub kind: String,
    /// What people call it: a room device's name and transport from the
    /// project ("Audio DSP (tcp)"); empty for extension devices.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub address: String,
    pub online: bool,
    pub detail: String,
}

/// The `kind` of every room-logic device (a project's `[[devices]]`).
pub const ROOM_DEVICE_KIND: &str = "room";

impl DeviceStatus {
    /// The name when it has one, else the kind: what a table shows.
    pub fn description(&self) -> &str {
        if self.name.is_empty() {
            &self.kind
        } else {
            &self.name
        }
    }
}

/// One timer of the running project, for the status page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerStatus {
    pub id: String,
    /// The cron expression and its time zone, as written in the project.
    pub cron: String,
    pub time_zone: String,
    /// The button it presses.
    pub press: String,
    /// When it fires next, in its own time zone ("2026-11-26 07:00:00 CET");
    /// "never" when the schedule has no future time.
    pub next_run: String,
    /// The same instant in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run_unix: Option<i64>,
}

/// The status page: the controller, its project, services, panels, devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub controller_name: String,
    pub model: String,
    pub firmware: String,
    pub project_name: String,
    pub project_revision: u32,
    pub engine_revision: u64,
    pub uptime_secs: u64,
    pub services: Vec<ServiceStatus>,
    pub panels: Vec<PanelSession>,
    pub devices: Vec<DeviceStatus>,
    /// The project's timers and their next runs.
    #[serde(default)]
    pub timers: Vec<TimerStatus>,
    /// Devices that answered the controller's LAN search (PJLink class 2,
    /// SSDP), each with the drivers it suggests (`[device_search]`).
    #[serde(default)]
    pub found_devices: Vec<crate::driver::discovery::FoundDevice>,
    /// Recent log lines, newest last.
    pub recent_events: Vec<String>,
    /// The audit trail's latest entries: only for admins and operators
    /// (`None` for a viewer).
    #[serde(default)]
    pub audit: Option<crate::audit::AuditReport>,
}
