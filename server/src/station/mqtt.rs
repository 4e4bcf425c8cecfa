//! `[station] transport = "mqtt"`: every controller under the broker's
//! topic tree is a room. The station subscribes to the retained state of
//! all of them (`<prefix>/+/status`, `info`, `layout`, `button/+/state`,
//! `level/+/state`, `device/+/state`, `var/+`, with `+` where the serial
//! goes) and keeps each room live from those messages: the broker holds
//! the latest state per topic, so a (re)subscription is a full resync and
//! no revision gap can arise. Presses from the room page go out on the
//! command topics (`button/<id>/press` with `{"hold":true}`, then
//! `button/<id>/release`), which the controller acts on only with
//! `[mqtt] commands = true` and the broker's ACL allowing the station.
//!
//! A controller's `offline` on its status topic (its last will, or a clean
//! stop) makes the room offline, and `offline_after_secs` later raises the
//! same `offline` alert a lost 5009 connection does. Rooms are one room by
//! serial with those found on the list or by lookup.
//!
//! Nothing a publisher sends can grow the station without bound: messages
//! over `max_line_bytes` are refused by the client, rooms are capped at
//! [`MAX_ROOMS`] and each room's controls at [`MAX_CONTROLS`]; payloads
//! that are not the documented JSON are ignored.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use controller_core::engine::{LevelState, Step};
use controller_core::project::Value;
use controller_core::protocol::mqtt::{
    ButtonPayload, DevicePayload, Fleet, Info, LevelPayload, StateTopic, OFFLINE, ONLINE,
};
use controller_core::view::{DeviceStatus, RoomLayout};
use rumqttc::QoS;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::alerts::AlertKind;
use super::registry::RoomCommand;
use super::usage;
use super::watcher::{device_alert, project_changed};
use super::{unix_now, Station};
use crate::config::MqttSettings;
use crate::services::mqtt::connection::{self, Client, Incoming, Link, Message};
use crate::services::mqtt::Counters;

/// Controllers one station takes from the broker; more are ignored (and
/// logged once): a publisher inventing serials cannot exhaust memory.
pub const MAX_ROOMS: usize = 10_000;

/// Buttons, levels, variables and devices kept per room.
pub const MAX_CONTROLS: usize = 4096;

/// Starts watching the broker: checks the settings now (so a bad prefix
/// stops the station's start with a clear error), then runs until shutdown.
pub fn start(
    station: Arc<Station>,
    settings: MqttSettings,
) -> anyhow::Result<impl std::future::Future<Output = ()>> {
    let fleet = Fleet::new(&settings.prefix).map_err(|e| anyhow::anyhow!("[mqtt] {e}"))?;
    let client_id = if settings.client_id.is_empty() {
        format!(
            "roomctl-station-{}-{}",
            std::process::id(),
            station.settings.port
        )
    } else {
        settings.client_id.clone()
    };
    let max_incoming = station.settings.max_line_bytes.max(64 << 10);
    let (client, eventloop) =
        crate::services::mqtt::client(&settings, client_id, None, max_incoming)?;
    let links = connection::drive(
        eventloop,
        Arc::new(Counters::default()),
        Duration::from_secs(settings.reconnect_max_secs.max(1)),
        Incoming::Wait,
    );
    let watch = BrokerRooms {
        station,
        fleet,
        client,
        url: settings.url,
        rooms: HashMap::new(),
        elsewhere: HashSet::new(),
        full: false,
    };
    Ok(watch.run(links))
}

struct BrokerRooms {
    station: Arc<Station>,
    fleet: Fleet,
    client: Client,
    url: String,
    /// Serial (as a topic level) -> the room's index.
    rooms: HashMap<String, usize>,
    /// Serials already watched another way (5009): not watched twice.
    elsewhere: HashSet<String>,
    /// [`MAX_ROOMS`] reached (logged once).
    full: bool,
}

impl BrokerRooms {
    async fn run(mut self, mut links: mpsc::Receiver<Link>) {
        loop {
            tokio::select! {
                _ = self.station.shutdown.cancelled() => {
                    self.client.try_disconnect();
                    return;
                }
                link = links.recv() => match link {
                    Some(Link::Up) => self.connected(),
                    Some(Link::Down(why)) => self.disconnected(&why),
                    Some(Link::Message(m)) => self.message(&m),
                    None => return,
                },
            }
        }
    }

    fn connected(&mut self) {
        tracing::info!("station: connected to the broker at {}", self.url);
        for filter in self.fleet.filters() {
            if !self.client.try_subscribe(filter.clone(), QoS::AtLeastOnce) {
                tracing::warn!("station: could not subscribe to {filter}: the queue is full");
            }
        }
    }

    /// The broker is gone: every broker room is unknown until it is back
    /// (and says so again in its retained status).
    fn disconnected(&mut self, why: &str) {
        tracing::warn!("station: lost the broker at {}: {why}", self.url);
        for &room in self.rooms.values() {
            let records = self.station.registry.update(room, |r| {
                set_offline(r, format!("the broker is unreachable: {why}"))
            });
            self.station.usage.record(records.unwrap_or_default());
        }
    }

    fn message(&mut self, m: &Message) {
        let Some((serial, what)) = self.fleet.parse(&m.topic) else {
            return;
        };
        // Malformed: ignored, and it adds no room.
        let Some(state) = State::read(what, &m.payload) else {
            tracing::debug!("station: unreadable payload on {}", m.topic);
            return;
        };
        if matches!(state, State::Status(true)) && self.elsewhere.contains(serial) {
            // Watched over 5009: back on the broker, so try it now.
            self.station.registry.heard_from(serial, None);
        }
        let Some(room) = self.room(serial, state.is_cleared()) else {
            return;
        };
        let registry = &self.station.registry;
        match state {
            State::Status(online) => {
                let records = registry.update(room, |r| {
                    r.card.last_seen = unix_now();
                    if online {
                        r.card.online = true;
                        r.card.problem.clear();
                        r.offline_since = None;
                        Vec::new()
                    } else {
                        set_offline(
                            r,
                            "offline on the broker (its last will, or stopped)".into(),
                        )
                    }
                });
                self.station.usage.record(records.unwrap_or_default());
                if online {
                    self.station.alerts.clear(room, AlertKind::Offline, "");
                }
            }
            State::Info(info) => {
                let project = (info.project.name.clone(), info.project.revision);
                let changed = registry.update(room, |r| {
                    r.card.last_seen = unix_now();
                    r.card.name = info.name.clone();
                    r.card.location = info.location.clone();
                    r.card.project_name = project.0.clone();
                    r.card.project_revision = project.1;
                    r.snapshot.project_name = project.0.clone();
                    r.snapshot.project_revision = project.1;
                    r.known_project
                        .replace(project.clone())
                        .filter(|before| *before != project)
                });
                if let Some(Some(before)) = changed {
                    project_changed(&self.station, room, &before, &project);
                }
            }
            State::Layout(layout) => {
                registry.update(room, |r| {
                    r.card.location = layout.location.clone();
                    r.layout = Some(Arc::new(layout));
                });
            }
            State::Button(id, state) => {
                let settings = &self.station.settings;
                let records = registry.update(room, |r| {
                    r.card.last_seen = unix_now();
                    if let Some(p) = &state {
                        r.snapshot.revision = r.snapshot.revision.max(p.revision);
                    }
                    keep(&mut r.snapshot.buttons, id, state.map(|p| p.state));
                    // The display and the source follow the buttons' LEDs.
                    r.update_usage(settings, None, unix_now())
                });
                self.station.usage.record(records.unwrap_or_default());
            }
            State::Event(step) => {
                // Presses are counted from the steps; the state they made
                // arrives on the button topics.
                let records = registry.read(room, |r| {
                    let who = usage::Subject {
                        room: &r.card.name,
                        location: &r.card.location,
                        at: unix_now(),
                    };
                    usage::presses(&who, &step)
                });
                self.station.usage.record(records.unwrap_or_default());
            }
            State::Level(id, state) => {
                registry.update(room, |r| {
                    if let Some(p) = &state {
                        r.snapshot.revision = r.snapshot.revision.max(p.revision);
                    }
                    let state = state.map(|p| LevelState {
                        value: p.value,
                        muted: p.muted,
                    });
                    keep(&mut r.snapshot.levels, id, state);
                });
            }
            State::Variable(id, value) => {
                registry.update(room, |r| keep(&mut r.snapshot.variables, id, value));
            }
            State::Device(id, state) => self.device(room, &id, state),
        }
    }

    /// A device's state, or (`None`: an empty or unreadable payload) its
    /// removal.
    fn device(&self, room: usize, id: &str, state: Option<DevicePayload>) {
        let online = state.as_ref().is_none_or(|d| d.online);
        let kept = self.station.registry.update(room, |r| {
            let devices = &mut r.devices;
            match state {
                Some(d) => {
                    let status = DeviceStatus {
                        id: d.id,
                        kind: d.kind,
                        name: d.name,
                        address: d.address,
                        online: d.online,
                        detail: d.detail,
                    };
                    if let Some(x) = devices.iter_mut().find(|x| x.id == status.id) {
                        *x = status;
                    } else if devices.len() < MAX_CONTROLS {
                        devices.push(status);
                    } else {
                        return false;
                    }
                }
                None => devices.retain(|x| x.id != id),
            }
            true
        });
        if kept == Some(true) {
            device_alert(&self.station, room, id, online);
        }
    }

    /// The room of a serial, added on its first readable message (unless
    /// that clears a topic: it names no live controller).
    fn room(&mut self, serial: &str, cleared: bool) -> Option<usize> {
        if let Some(&room) = self.rooms.get(serial) {
            return Some(room);
        }
        if cleared || self.elsewhere.contains(serial) {
            return None;
        }
        if self.rooms.len() >= MAX_ROOMS {
            if !self.full {
                self.full = true;
                tracing::warn!(
                    "station: more than {MAX_ROOMS} controllers on the broker; the rest are not watched"
                );
            }
            return None;
        }
        let registry = &self.station.registry;
        let (room, commands) = registry.add_at(format!("mqtt:{serial}"), serial, serial)?;
        if registry.claim_serial(room, serial) != super::registry::Claim::Mine {
            // Already watched over 5009 (the list or lookup): one room.
            self.elsewhere.insert(serial.to_string());
            return None;
        }
        registry.update(room, |r| {
            r.card.problem = "no status on the broker yet".into()
        });
        self.rooms.insert(serial.to_string(), room);
        let presses = presses(
            self.station.clone(),
            room,
            self.client.clone(),
            self.fleet.topics(serial),
            commands,
        );
        self.station.tasks.spawn(presses);
        Some(room)
    }
}

/// Marks a room offline; the usage records its going out of sight makes.
fn set_offline(r: &mut super::registry::Room, why: String) -> Vec<super::history::UsageRecord> {
    if r.card.online || r.offline_since.is_none() {
        r.offline_since = Some(Instant::now());
    }
    r.card.online = false;
    r.card.problem = why;
    r.out_of_sight(unix_now())
}

/// One state message, read. `None` in a control's state: the topic was
/// cleared (an empty retained message: the control is gone).
enum State {
    Status(bool),
    Info(Info),
    Layout(RoomLayout),
    Button(String, Option<ButtonPayload>),
    Level(String, Option<LevelPayload>),
    Variable(String, Option<Value>),
    Device(String, Option<DevicePayload>),
    Event(Step),
}

impl State {
    /// `None`: not what the topic carries (or a cleared status, info or
    /// layout, which say nothing).
    fn read(what: StateTopic, payload: &[u8]) -> Option<State> {
        fn json<T: DeserializeOwned>(payload: &[u8]) -> Option<T> {
            serde_json::from_slice(payload).ok()
        }
        /// Cleared, or the JSON; `None` when malformed.
        fn control<T: DeserializeOwned>(payload: &[u8]) -> Option<Option<T>> {
            if payload.is_empty() {
                Some(None)
            } else {
                json(payload).map(Some)
            }
        }
        Some(match what {
            StateTopic::Status if payload == ONLINE.as_bytes() => State::Status(true),
            StateTopic::Status if payload == OFFLINE.as_bytes() => State::Status(false),
            StateTopic::Status => return None,
            StateTopic::Info => State::Info(json(payload)?),
            StateTopic::Layout => State::Layout(json(payload)?),
            StateTopic::Button(id) => State::Button(id.into(), control(payload)?),
            StateTopic::Level(id) => State::Level(id.into(), control(payload)?),
            StateTopic::Variable(id) => State::Variable(id.into(), control(payload)?),
            StateTopic::Device(id) => State::Device(id.into(), control(payload)?),
            StateTopic::Event => State::Event(json(payload)?),
        })
    }

    fn is_cleared(&self) -> bool {
        matches!(
            self,
            State::Button(_, None)
                | State::Level(_, None)
                | State::Variable(_, None)
                | State::Device(_, None)
        )
    }
}

/// Sets (or with `None` removes) a room's control, keeping at most
/// [`MAX_CONTROLS`] of them.
fn keep<T>(map: &mut std::collections::BTreeMap<String, T>, id: String, value: Option<T>) {
    match value {
        Some(v) if map.len() < MAX_CONTROLS || map.contains_key(&id) => {
            map.insert(id, v);
        }
        Some(_) => {}
        None => {
            map.remove(&id);
        }
    }
}

/// Sends one broker room's presses from the web page to its command
/// topics. The reply is "queued": MQTT has no answer to a publish beyond
/// the broker's, and the new state comes back on the state topics.
async fn presses(
    station: Arc<Station>,
    room: usize,
    client: Client,
    topics: controller_core::protocol::mqtt::Topics,
    mut commands: mpsc::Receiver<RoomCommand>,
) {
    loop {
        let command = tokio::select! {
            _ = station.shutdown.cancelled() => return,
            c = commands.recv() => match c {
                Some(c) => c,
                None => return,
            },
        };
        let RoomCommand::Press {
            button,
            release,
            reply,
        } = command;
        let online = station.registry.card(room).is_some_and(|c| c.online);
        let result = if !online {
            Err("the room is offline".to_string())
        } else {
            let (topic, payload) = if release {
                (topics.button_release(&button), Vec::new())
            } else {
                (topics.button_press(&button), br#"{"hold":true}"#.to_vec())
            };
            if client.try_publish(topic, QoS::AtLeastOnce, false, payload) {
                Ok(())
            } else {
                Err("the broker is not keeping up; try again".to_string())
            }
        };
        let _ = reply.send(result);
    }
}
