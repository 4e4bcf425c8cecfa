//! The bridge proper: the bus in, retained state and events out; command
//! messages in, engine commands out.
//!
//! Never slows the engine: every publish is a `try_publish` into rumqttc's
//! bounded queue. What does not fit is dropped and counted; a dropped
//! *state* message marks the retained state stale, and the whole of it is
//! republished once the queue has room again (the broker keeps only the
//! latest retained message per topic, so the full state replaces whatever
//! was lost). The same full republish follows every (re)connection, since
//! the session is clean: nothing is queued for a broker that is away.
//! The messages that come in (commands, sensors) are `commands.rs`'s.

mod commands;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use controller_core::engine::{Change, Command as EngineCommand, Snapshot, Step, StepOutcome};
use controller_core::project::{drivers, ButtonKind, Project};
use controller_core::protocol::mqtt::{
    encode_event, encode_layout, encode_variable, ButtonPayload, Command, DevicePayload,
    GroupState, Info, InfoProject, InfoService, LevelPayload, Topics, OFFLINE, ONLINE,
};
use controller_core::view::{DeviceStatus, RoomLayout, ServiceState};
use rumqttc::QoS;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::connection::{Client, Link, Message};
use super::counters::Counters;
use super::discovery::{self, Discovery};
use super::refusals::Refusals;
use super::NAME;
use crate::config::MqttSettings;
use crate::state::bus::{BusEvent, SensorReading, Subscription};
use crate::state::controller::Controller;
use crate::state::held::HeldButtons;

/// How often the status board's line for the bridge is refreshed, and a
/// stale retained state retried.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// How long after connecting the bridge listens to this node's retained
/// state topics and discovery configs before clearing the ones the project
/// no longer has.
const SWEEP_FOR: Duration = Duration::from_secs(2);

/// The largest `layout` message published: under the 1 MiB packet limit
/// of brokers such as EMQX (Mosquitto's default has none).
const MAX_LAYOUT_BYTES: usize = 1_000_000;

/// How long a graceful stop waits for `offline` to reach the broker.
const GOODBYE_DEADLINE: Duration = Duration::from_secs(2);

pub struct Bridge {
    controller: Controller,
    client: Client,
    topics: Topics,
    settings: MqttSettings,
    counters: Arc<Counters>,
    /// The state as last published (a subscriber of the engine like any other).
    snapshot: Snapshot,
    project: Arc<Project>,
    /// Every retained topic of the last full publish and its payload: a
    /// topic that is no longer in the next one is cleared on the broker.
    retained: BTreeMap<String, Vec<u8>>,
    /// Retained topics to clear whose empty message did not fit the queue
    /// yet: tried again with the next full publish, never forgotten.
    clearing: BTreeSet<String>,
    /// Refused commands, logged at most once per interval.
    refusals: Refusals,
    /// The last info payload, so a service change republishes only when
    /// what it says changed.
    info: Vec<u8>,
    connected: bool,
    /// A state message was dropped: publish everything again.
    stale: bool,
    /// Presses with `"hold": true`, released on `release` or when the
    /// broker connection is lost (its holder can no longer release them).
    held: HeldButtons,
    /// The status board line last written.
    reported: String,
    /// Listening to this node's retained topics (see [`Sweep`]).
    sweep: Option<Sweep>,
    /// The sensors' topics the project reads (`[[occupancy.sources]]
    /// mqtt_topic`), subscribed while connected; their messages go to the
    /// bus as [`BusEvent::Reading`].
    sensors: BTreeSet<String>,
}

/// Stale retained topics cleanup. The broker keeps the last retained state
/// of every button, group, level, variable and device this controller ever
/// published, and a config for every entity it ever announced, also those
/// of an earlier project or an earlier run (which `retained` never knew).
/// For [`SWEEP_FOR`] after each connection the bridge subscribes to its own
/// state topics and configs (`<prefix>/button/+/state`, ...,
/// `<discovery_prefix>/+/<node_id>/+/config`), notes every non-empty one,
/// then clears (empty retained) those the running project does not have.
struct Sweep {
    filters: Vec<String>,
    until: Instant,
    seen: BTreeSet<String>,
}

impl Bridge {
    pub fn new(
        controller: Controller,
        client: Client,
        topics: Topics,
        settings: MqttSettings,
        counters: Arc<Counters>,
    ) -> Bridge {
        Bridge {
            held: HeldButtons::new(controller.clone(), "mqtt"),
            project: controller.project(),
            controller,
            client,
            topics,
            settings,
            counters,
            snapshot: Snapshot::default(),
            retained: BTreeMap::new(),
            clearing: BTreeSet::new(),
            refusals: Refusals::default(),
            info: Vec::new(),
            connected: false,
            stale: false,
            reported: String::new(),
            sweep: None,
            sensors: BTreeSet::new(),
        }
    }

    pub async fn run(
        mut self,
        shutdown: CancellationToken,
        snapshot: Snapshot,
        mut bus: Subscription,
        mut links: mpsc::Receiver<Link>,
    ) -> anyhow::Result<()> {
        self.snapshot = snapshot;
        self.report("connecting");
        let mut tick = tokio::time::interval(REPORT_EVERY);
        loop {
            tokio::select! {
                link = links.recv() => match link {
                    Some(Link::Up) => self.connected(),
                    Some(Link::Down(why)) => self.disconnected(&why),
                    Some(Link::Message(m)) => self.command(&m),
                    None => anyhow::bail!("the connection to the broker ended"),
                },
                event = bus.recv() => match event {
                    Ok(event) => self.event(&event),
                    // Fell behind the bus: the broker gets the whole truth.
                    Err(RecvError::Lagged(_)) => {
                        let (snapshot, rx) = self.controller.subscribe();
                        bus = rx;
                        self.resync(snapshot);
                    }
                    Err(RecvError::Closed) => return Ok(()),
                },
                _ = tick.tick() => {
                    if self.stale && self.connected {
                        self.publish_all();
                    }
                    if self.sweep.as_ref().is_some_and(|s| s.until <= Instant::now()) {
                        self.end_sweep();
                    }
                    if let Some(line) = self.refusals.tick(Instant::now()) {
                        self.controller.log().record(line);
                    }
                    self.report(if self.connected { "connected" } else { "connecting" });
                }
                _ = shutdown.cancelled() => {
                    self.goodbye(links).await;
                    return Ok(());
                }
            }
        }
    }

    // ---- the connection ----

    fn connected(&mut self) {
        self.connected = true;
        self.controller
            .log()
            .record(format!("mqtt: connected to {}", self.settings.url));
        if self.settings.commands {
            for filter in self.topics.command_filters() {
                if !self.client.try_subscribe(filter, QoS::AtLeastOnce) {
                    self.counters.dropped();
                }
            }
        }
        self.sensors.clear();
        self.follow_sensors();
        self.publish_all();
        let mut filters = self.topics.state_filters().to_vec();
        if self.settings.ha_discovery {
            filters.push(format!(
                "{}/+/{}/+/config",
                self.settings.discovery_prefix,
                discovery::node_id(&self.controller.identity().serial)
            ));
        }
        let mut subscribed = Vec::new();
        for filter in filters {
            if self.client.try_subscribe(filter.clone(), QoS::AtMostOnce) {
                subscribed.push(filter);
            } else {
                self.counters.dropped();
            }
        }
        self.sweep = Some(Sweep {
            filters: subscribed,
            until: Instant::now() + SWEEP_FOR,
            seen: BTreeSet::new(),
        });
        self.report("connected");
    }

    /// Clears the retained topics seen during the sweep that the last full
    /// publish did not have, and stops listening to them.
    fn end_sweep(&mut self) {
        let Some(sweep) = self.sweep.take() else {
            return;
        };
        for filter in sweep.filters {
            let _ = self.client.try_unsubscribe(filter);
        }
        let stale: Vec<String> = sweep
            .seen
            .into_iter()
            .filter(|t| !self.retained.contains_key(t))
            .collect();
        let configs = stale.iter().filter(|t| self.is_own_config(t)).count();
        if configs > 0 {
            self.controller.log().record(format!(
                "mqtt: cleared {configs} stale Home Assistant discovery config(s)"
            ));
        }
        if stale.len() > configs {
            self.controller.log().record(format!(
                "mqtt: cleared {} stale retained state topic(s) of buttons, levels, variables or devices the project no longer has",
                stale.len() - configs
            ));
        }
        for topic in stale {
            self.clear_retained(topic);
        }
    }

    /// Subscribes to the sensor topics the project reads that are not
    /// subscribed yet, and leaves those it no longer reads.
    fn follow_sensors(&mut self) {
        let wanted = sensor_topics(&self.project);
        if !self.connected {
            self.sensors.clear();
            return;
        }
        for gone in self.sensors.difference(&wanted) {
            let _ = self.client.try_unsubscribe(gone.clone());
        }
        for new in wanted.difference(&self.sensors) {
            if !self.client.try_subscribe(new.clone(), QoS::AtLeastOnce) {
                self.counters.dropped();
            }
        }
        self.sensors = wanted;
    }

    /// Whether `topic` is one the sweep listens to: this node's discovery
    /// configs and retained state (its messages are not commands).
    fn is_swept(&self, topic: &str) -> bool {
        self.is_own_config(topic) || self.topics.is_state(topic)
    }

    /// Whether `topic` is one of this node's discovery configs.
    fn is_own_config(&self, topic: &str) -> bool {
        let node = discovery::node_id(&self.controller.identity().serial);
        let Some(rest) = topic
            .strip_prefix(self.settings.discovery_prefix.as_str())
            .and_then(|r| r.strip_prefix('/'))
        else {
            return false;
        };
        let levels: Vec<&str> = rest.split('/').collect();
        matches!(levels.as_slice(), [_, n, _, "config"] if *n == node)
    }

    fn disconnected(&mut self, why: &str) {
        if self.connected {
            self.controller.log().record(format!(
                "mqtt: lost the broker at {}: {why}",
                self.settings.url
            ));
        }
        self.connected = false;
        // Begins again on the next connection.
        self.sweep = None;
        self.held.release_all();
        self.report(&format!("connecting ({why})"));
    }

    /// `offline` (retained) and a clean DISCONNECT, so the broker does not
    /// send the last will; bounded by [`GOODBYE_DEADLINE`].
    async fn goodbye(&mut self, mut links: mpsc::Receiver<Link>) {
        self.held.release_all();
        if !self.connected {
            return;
        }
        let _ =
            self.client
                .try_publish(self.topics.status(), QoS::AtLeastOnce, true, OFFLINE.into());
        let _ = self.client.try_disconnect();
        let _ = tokio::time::timeout(GOODBYE_DEADLINE, async {
            while links.recv().await.is_some() {}
        })
        .await;
    }

    // ---- out: engine state to the broker ----

    fn event(&mut self, event: &BusEvent) {
        match event {
            BusEvent::Step(published) => self.step(&published.step),
            BusEvent::Device(device) => {
                let topic = self.topics.device_state(&device.id);
                if self.retained.contains_key(&topic) {
                    let payload = device_payload(device).encode();
                    self.publish_retained(topic, payload);
                } else {
                    // A device seen for the first time: the next full
                    // publish gives it its state and its entity.
                    self.stale = true;
                }
            }
            BusEvent::Service(_) => {
                let info = self.info();
                if info != self.info {
                    self.publish_retained(self.topics.info(), info.clone());
                    self.info = info;
                }
            }
            BusEvent::SequenceFailed(_)
            | BusEvent::DeviceBusy(_)
            | BusEvent::Meeting(_)
            | BusEvent::Reading(_) => {}
        }
    }

    fn step(&mut self, step: &Step) {
        if step.loads_project() {
            // A new project: new buttons, new entities, removed ones cleared.
            let (project, snapshot) = self.controller.project_and_snapshot();
            self.project = project;
            self.follow_sensors();
            self.resync(snapshot);
            return;
        }
        match self.snapshot.receive(step) {
            StepOutcome::Applied => {}
            StepOutcome::Stale => return,
            StepOutcome::Gap => {
                self.resync(self.controller.snapshot());
                return;
            }
        }
        if !self.connected {
            // Not queued for an absent broker; the state is republished
            // in full on reconnection, the event is lost.
            self.counters.dropped();
            return;
        }
        self.publish(self.topics.event(), false, encode_event(step));
        let mut groups = Vec::new();
        for button in touched(step) {
            if let Some(state) = self.snapshot.buttons.get(button) {
                let payload = ButtonPayload::encode(*state, self.snapshot.revision);
                self.publish_retained(self.topics.button_state(button), payload);
            }
            if let Some(g) = self.project.button(button).and_then(|b| b.group.clone()) {
                if !groups.contains(&g) {
                    groups.push(g);
                }
            }
        }
        for g in groups {
            let payload = self.group_state(&g).encode();
            self.publish_retained(self.topics.group_state(&g), payload);
        }
        let (levels, variables) = touched_values(step);
        for level in levels {
            if let Some(payload) = self.level_payload(level) {
                self.publish_retained(self.topics.level_state(level), payload);
            }
        }
        for variable in variables {
            if let Some(value) = self.snapshot.variables.get(variable) {
                let payload = encode_variable(value);
                let text = value.to_string().into_bytes();
                self.publish_retained(self.topics.variable(variable), payload);
                if let Some(topic) = self.device_value_topic(variable) {
                    self.publish_retained(topic, text);
                }
            }
        }
    }

    /// `device/<device>/<state>` when `variable` is a driver device's
    /// state (`projector.power`): its value there is plain text (`on`).
    fn device_value_topic(&self, variable: &str) -> Option<String> {
        let (device, state) = drivers::state_of_variable(&self.project, variable)?;
        self.topics.device_value(device, state)
    }

    /// `level/<id>/state` from the snapshot and the project's definition.
    fn level_payload(&self, level: &str) -> Option<Vec<u8>> {
        let def = self.project.level(level)?;
        let state = self.snapshot.levels.get(level)?;
        Some(LevelPayload::encode(def, *state, self.snapshot.revision))
    }

    fn resync(&mut self, snapshot: Snapshot) {
        self.snapshot = snapshot;
        if self.connected {
            self.publish_all();
        }
    }

    /// Everything retained, from the current state, and clears what the
    /// last full publish had that this one has not (first: clears are
    /// small, and a full queue must not starve them).
    fn publish_all(&mut self) {
        self.stale = false;
        self.publish_retained(self.topics.status(), ONLINE.into());
        let all = self.retained_state();
        let gone: Vec<String> = self
            .retained
            .keys()
            .chain(self.clearing.iter())
            .filter(|t| !all.contains_key(*t))
            .cloned()
            .collect();
        self.clearing.clear();
        for topic in gone {
            self.clear_retained(topic);
        }
        for (topic, payload) in &all {
            self.publish_retained(topic.clone(), payload.clone());
        }
        self.retained = all;
        self.info = self
            .retained
            .get(&self.topics.info())
            .cloned()
            .unwrap_or_default();
    }

    fn retained_state(&self) -> BTreeMap<String, Vec<u8>> {
        let mut all = BTreeMap::new();
        all.insert(self.topics.info(), self.info());
        // Anyone the broker lets read it: no device commands (as 5009 to
        // a non-admin).
        let layout = encode_layout(&RoomLayout::of(&self.project).without_device_commands());
        if layout.len() <= MAX_LAYOUT_BYTES {
            all.insert(self.topics.layout(), layout);
        } else {
            // Left out (so cleared on the broker): too large a message
            // would end the connection on many brokers, every time.
            tracing::warn!(
                "mqtt: the project's layout is {} bytes, over the {MAX_LAYOUT_BYTES} published; stations draw no panel for this room",
                layout.len()
            );
        }
        let revision = self.snapshot.revision;
        for (button, state) in &self.snapshot.buttons {
            all.insert(
                self.topics.button_state(button),
                ButtonPayload::encode(*state, revision),
            );
        }
        let groups: BTreeSet<&str> = self
            .project
            .buttons
            .iter()
            .filter(|b| b.kind == ButtonKind::Interlock)
            .filter_map(|b| b.group.as_deref())
            .collect();
        for g in groups {
            all.insert(self.topics.group_state(g), self.group_state(g).encode());
        }
        for level in self.snapshot.levels.keys() {
            if let Some(payload) = self.level_payload(level) {
                all.insert(self.topics.level_state(level), payload);
            }
        }
        for (variable, value) in &self.snapshot.variables {
            all.insert(self.topics.variable(variable), encode_variable(value));
            if let Some(topic) = self.device_value_topic(variable) {
                all.insert(topic, value.to_string().into_bytes());
            }
        }
        let devices = self.controller.status().devices();
        for d in &devices {
            all.insert(self.topics.device_state(&d.id), device_payload(d).encode());
        }
        if self.settings.ha_discovery {
            let identity = self.controller.identity();
            let discovery = Discovery {
                prefix: &self.settings.discovery_prefix,
                topics: &self.topics,
                identity,
            };
            all.extend(discovery.configs(&self.project, &devices));
        }
        all
    }

    fn info(&self) -> Vec<u8> {
        let id = self.controller.identity();
        Info {
            name: id.name.clone(),
            model: id.model.clone(),
            serial: id.serial.clone(),
            firmware: id.firmware.clone(),
            project: InfoProject {
                name: self.snapshot.project_name.clone(),
                revision: self.snapshot.project_revision,
            },
            location: self.project.project.location.clone(),
            services: self
                .controller
                .status()
                .services()
                .into_iter()
                .map(|s| InfoService {
                    name: s.name,
                    state: s.state.to_string(),
                })
                .collect(),
        }
        .encode()
    }

    fn group_state(&self, group: &str) -> GroupState {
        let selected = self
            .project
            .buttons
            .iter()
            .filter(|b| b.group.as_deref() == Some(group))
            .find(|b| self.snapshot.buttons.get(&b.id).is_some_and(|s| s.latched))
            .map(|b| b.id.clone());
        GroupState {
            option: selected
                .as_deref()
                .and_then(|b| discovery::option_of(&self.project, group, b)),
            selected,
            revision: self.snapshot.revision,
        }
    }

    fn publish_retained(&mut self, topic: String, payload: Vec<u8>) {
        if !self.publish(topic, true, payload) {
            self.stale = true;
        }
    }

    /// An empty retained message deletes the retained one (and a discovery
    /// config's entity); one that does not fit the queue is kept to try
    /// again with the next full publish.
    fn clear_retained(&mut self, topic: String) {
        if !self.publish(topic.clone(), true, Vec::new()) {
            self.clearing.insert(topic);
            self.stale = true;
        }
    }

    /// Into the outgoing queue, or dropped and counted: never waits.
    fn publish(&self, topic: String, retain: bool, payload: Vec<u8>) -> bool {
        if !self.connected {
            return false;
        }
        let ok = self
            .client
            .try_publish(topic, QoS::AtMostOnce, retain, payload);
        if !ok {
            self.counters.dropped();
        }
        ok
    }

    /// The bridge's line on the status page: connection and counters.
    fn report(&mut self, connection: &str) {
        let (dropped, refused) = self.counters.read();
        crate::runtime::metrics::MqttGauges::bridge_reports(
            &self.controller.metrics().mqtt,
            self.connected,
            dropped,
        );
        let line = format!(
            "{} {connection}; {dropped} dropped, {refused} commands refused",
            self.settings.url
        );
        if line == self.reported {
            return;
        }
        let board = self.controller.status();
        if let Some(mut status) = board.service(NAME) {
            if status.state == ServiceState::Running {
                status.endpoint = line.clone();
                board.set_service(status, None);
            }
        }
        self.reported = line;
    }
}

/// The buttons whose state a step changed.
/// The topics of the project's occupancy sensors read from the broker.
fn sensor_topics(project: &Project) -> BTreeSet<String> {
    project
        .occupancy
        .iter()
        .flat_map(|o| &o.sources)
        .filter_map(|s| s.mqtt_topic.clone())
        .collect()
}

fn touched(step: &Step) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for change in &step.changes {
        let button = match change {
            Change::Pressed { button, .. }
            | Change::Released { button, .. }
            | Change::Led { button, .. }
            | Change::Latched { button, .. } => button.as_str(),
            // Levels and variables: see `touched_values`.
            Change::Repeated { .. }
            | Change::ProjectLoaded { .. }
            | Change::Level { .. }
            | Change::Mute { .. }
            | Change::Variable { .. } => continue,
        };
        if !out.contains(&button) {
            out.push(button);
        }
    }
    out
}

/// The levels (value or mute) and the variables a step changed.
fn touched_values(step: &Step) -> (Vec<&str>, Vec<&str>) {
    let mut levels: Vec<&str> = Vec::new();
    let mut variables: Vec<&str> = Vec::new();
    for change in &step.changes {
        let (out, id) = match change {
            Change::Level { level, .. } | Change::Mute { level, .. } => (&mut levels, level),
            Change::Variable { variable, .. } => (&mut variables, variable),
            _ => continue,
        };
        if !out.contains(&id.as_str()) {
            out.push(id);
        }
    }
    (levels, variables)
}

fn device_payload(d: &DeviceStatus) -> DevicePayload {
    DevicePayload {
        id: d.id.clone(),
        kind: d.kind.clone(),
        name: d.name.clone(),
        address: d.address.clone(),
        online: d.online,
        detail: d.detail.clone(),
    }
}
