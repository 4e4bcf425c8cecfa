//! Home Assistant MQTT discovery: one retained config per entity under
//! `<discovery_prefix>/<component>/<node_id>/<object_id>/config`, each
//! with a `default_entity_id` made from the project's id (see
//! [`entity_id`]). Per entity rather than one device-based config per
//! controller: docs/mqtt.md says why.
//!
//! A toggle is a `switch`, an interlock group a `select`, a momentary
//! button a `button`, a device's connectivity a `binary_sensor`, the
//! room's `occupied` variable a `binary_sensor` of class occupancy. Every
//! entity is available while the status topic says `online` and belongs to
//! one Home Assistant device (the controller), whose `suggested_area` is the
//! project's location, so Home Assistant files the room's entities together.

use std::collections::BTreeMap;

use controller_core::driver::library::Library;
use controller_core::project::occupancy::OCCUPIED;
use controller_core::project::{drivers, ButtonKind, Level, LevelKind, Project, VariableKind};
use controller_core::protocol::mqtt::{entity_id, topic_level, Topics, OFFLINE, ONLINE};
use controller_core::view::DeviceStatus;
use serde_json::{json, Value};

use crate::state::controller::Identity;

/// What every config of one controller shares.
pub struct Discovery<'a> {
    pub prefix: &'a str,
    pub topics: &'a Topics,
    pub identity: &'a Identity,
}

impl Discovery<'_> {
    /// Every config for `project` and `devices`: topic -> payload.
    pub fn configs(
        &self,
        project: &Project,
        devices: &[DeviceStatus],
    ) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        self.button_configs(&mut out, project);
        self.level_configs(&mut out, project);
        self.variable_configs(&mut out, project);
        self.device_configs(&mut out, project, devices);
        out
    }

    /// Buttons: a toggle as a switch, a momentary one as a button, each
    /// interlock group as one select.
    fn button_configs(&self, out: &mut BTreeMap<String, Vec<u8>>, project: &Project) {
        let mut groups: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for b in &project.buttons {
            let (component, entity) = match (b.kind, &b.group) {
                (ButtonKind::Toggle, _) => ("switch", self.switch(&b.id)),
                (ButtonKind::Momentary, _) => ("button", self.button(&b.id)),
                (ButtonKind::Interlock, Some(g)) => {
                    groups.entry(g).or_default().push((&b.id, &b.label));
                    continue;
                }
                // Validation gives every interlock button a group.
                (ButtonKind::Interlock, None) => continue,
            };
            self.add(out, component, &b.id, &b.label, entity, project);
        }
        for (group, members) in &groups {
            let entity = self.select(group, &options(members));
            self.add(out, "select", group, group, entity, project);
        }
    }

    /// Levels: a fader as a number (and its mute as a switch), a meter as
    /// a sensor.
    fn level_configs(&self, out: &mut BTreeMap<String, Vec<u8>>, project: &Project) {
        for l in &project.levels {
            let object = format!("level_{}", l.id);
            let entity = match l.kind {
                LevelKind::Fader => ("number", self.number(l)),
                LevelKind::Meter => ("sensor", self.meter(l)),
            };
            self.add(out, entity.0, &object, &l.label, entity.1, project);
            if l.mute && l.kind == LevelKind::Fader {
                let object = format!("level_{}_mute", l.id);
                let name = format!("{} mute", l.label);
                self.add(out, "switch", &object, &name, self.mute(&l.id), project);
            }
        }
    }

    /// Variables as sensors, the room's occupancy as an occupancy binary
    /// sensor.
    fn variable_configs(&self, out: &mut BTreeMap<String, Vec<u8>>, project: &Project) {
        // The room's occupancy (`[occupancy]`, or a bool `occupied` the
        // project sets itself) as an occupancy binary sensor.
        let occupancy = project
            .variable(OCCUPIED)
            .is_some_and(|v| v.kind == VariableKind::Bool);
        if occupancy {
            let name = "Occupancy";
            let entity = self.occupancy();
            self.add(out, "binary_sensor", "occupancy", name, entity, project);
        }
        // The file's variables, and the booking variables a meeting tile
        // brings without their being declared (`calendar_busy`, ...).
        for v in project.variables.iter().chain(&project.booking_state) {
            if occupancy && v.id == OCCUPIED {
                continue;
            }
            let object = format!("var_{}", v.id);
            self.add(out, "sensor", &object, &v.id, self.variable(&v.id), project);
        }
    }

    /// Devices: a driver device's main state as a sensor, each device's
    /// link as a connectivity binary sensor.
    fn device_configs(
        &self,
        out: &mut BTreeMap<String, Vec<u8>>,
        project: &Project,
        devices: &[DeviceStatus],
    ) {
        // A driver device's main state (a projector's power, a switcher's
        // input) as a sensor of its own, read from `device/<id>/<state>`.
        for d in &project.devices {
            let Some(driver) = drivers::driver_of(d, Library::shared()) else {
                continue;
            };
            let Some(state) = drivers::main_state(driver) else {
                continue;
            };
            let Some(topic) = self.topics.device_value(&d.id, state) else {
                continue;
            };
            let object = format!("device_{}_{state}", d.id);
            let who = if d.name.is_empty() { &d.id } else { &d.name };
            let name = format!("{who} {}", state.replace('_', " "));
            let entity = json!({ "state_topic": topic });
            self.add(out, "sensor", &object, &name, entity, project);
        }
        for d in devices {
            let object = format!("device_{}", d.id);
            let name = format!("{} ({})", d.id, d.description());
            self.add(
                out,
                "binary_sensor",
                &object,
                &name,
                self.connectivity(&d.id),
                project,
            );
        }
    }

    fn add(
        &self,
        out: &mut BTreeMap<String, Vec<u8>>,
        component: &str,
        object: &str,
        name: &str,
        mut entity: Value,
        project: &Project,
    ) {
        let node = node_id(&self.identity.serial);
        let object = topic_level(object);
        entity["name"] = json!(name);
        entity["unique_id"] = json!(format!("{node}_{object}"));
        // The entity id from the project's id, not from the label (which
        // Home Assistant would use, and two "Volume" labels share).
        let room = if self.identity.name.trim().is_empty() {
            &node
        } else {
            &self.identity.name
        };
        entity["default_entity_id"] = json!(entity_id(component, room, &object));
        entity["availability_topic"] = json!(self.topics.status());
        entity["payload_available"] = json!(ONLINE);
        entity["payload_not_available"] = json!(OFFLINE);
        entity["device"] = self.device(project);
        let topic = format!("{}/{component}/{node}/{object}/config", self.prefix);
        out.insert(topic, serde_json::to_vec(&entity).unwrap_or_default());
    }

    fn device(&self, project: &Project) -> Value {
        let id = self.identity;
        let mut device = json!({
            "identifiers": [format!("roomctl_{}", node_id(&id.serial))],
            "name": id.name,
            "manufacturer": "roomctl",
            "model": id.model,
            "serial_number": id.serial,
            "sw_version": id.firmware,
        });
        if !project.project.location.is_empty() {
            device["suggested_area"] = json!(project.project.location);
        }
        device
    }

    /// On/off: `{"latched": true|false}` on the press topic presses only if
    /// the toggle is not already in that state.
    fn switch(&self, button: &str) -> Value {
        json!({
            "state_topic": self.topics.button_state(button),
            "value_template": "{{ 'ON' if value_json.latched else 'OFF' }}",
            "state_on": "ON",
            "state_off": "OFF",
            "command_topic": self.topics.button_press(button),
            "payload_on": r#"{"latched":true}"#,
            "payload_off": r#"{"latched":false}"#,
        })
    }

    /// A press and its release.
    fn button(&self, button: &str) -> Value {
        json!({
            "command_topic": self.topics.button_press(button),
            "payload_press": "{}",
        })
    }

    fn select(&self, group: &str, options: &[String]) -> Value {
        json!({
            "state_topic": self.topics.group_state(group),
            "value_template": "{{ value_json.option }}",
            "command_topic": self.topics.group_select(group),
            "command_template": "{\"option\": {{ value | tojson }}}",
            "options": options,
        })
    }

    /// A fader: a slider over its range, in its steps and unit.
    fn number(&self, level: &Level) -> Value {
        let mut entity = json!({
            "state_topic": self.topics.level_state(&level.id),
            "value_template": "{{ value_json.value }}",
            "command_topic": self.topics.level_set(&level.id),
            "command_template": "{\"value\": {{ value }}}",
            "min": level.min,
            "max": level.max,
            "step": level.step,
            "mode": "slider",
        });
        if !level.unit.is_empty() {
            entity["unit_of_measurement"] = json!(level.unit);
        }
        entity
    }

    /// A fader's mute, beside its number.
    fn mute(&self, level: &str) -> Value {
        json!({
            "state_topic": self.topics.level_state(level),
            "value_template": "{{ 'ON' if value_json.muted else 'OFF' }}",
            "state_on": "ON",
            "state_off": "OFF",
            "command_topic": self.topics.level_set(level),
            "payload_on": r#"{"muted":true}"#,
            "payload_off": r#"{"muted":false}"#,
        })
    }

    /// A meter: read-only, a measurement in its unit.
    fn meter(&self, level: &Level) -> Value {
        let mut entity = json!({
            "state_topic": self.topics.level_state(&level.id),
            "value_template": "{{ value_json.value }}",
            "state_class": "measurement",
        });
        if !level.unit.is_empty() {
            entity["unit_of_measurement"] = json!(level.unit);
        }
        entity
    }

    /// A variable's value (a number, text or boolean) as a sensor's state.
    fn variable(&self, variable: &str) -> Value {
        json!({
            "state_topic": self.topics.variable(variable),
            "value_template": "{{ value_json }}",
        })
    }

    /// The `occupied` variable (JSON `true`/`false`) as ON/OFF.
    fn occupancy(&self) -> Value {
        json!({
            "device_class": "occupancy",
            "state_topic": self.topics.variable(OCCUPIED),
            "value_template": "{{ 'ON' if value_json else 'OFF' }}",
            "payload_on": "ON",
            "payload_off": "OFF",
        })
    }

    fn connectivity(&self, device: &str) -> Value {
        json!({
            "device_class": "connectivity",
            "state_topic": self.topics.device_state(device),
            "value_template": "{{ 'ON' if value_json.online else 'OFF' }}",
            "payload_on": "ON",
            "payload_off": "OFF",
        })
    }
}

/// Home Assistant's node and object ids allow letters, digits, `_` and `-`.
pub fn node_id(serial: &str) -> String {
    serial
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The options of an interlock group's select: the members' labels, or
/// their ids when two members share a label (a select's options must be
/// unique).
fn options(members: &[(&str, &str)]) -> Vec<String> {
    let labels: Vec<String> = members.iter().map(|(_, l)| l.to_string()).collect();
    let unique = labels
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        == labels.len();
    if unique && labels.iter().all(|l| !l.is_empty()) {
        labels
    } else {
        members.iter().map(|(id, _)| id.to_string()).collect()
    }
}

/// The option a group's member goes by (see [`options`]).
pub fn option_of(project: &Project, group: &str, button: &str) -> Option<String> {
    let members: Vec<(&str, &str)> = group_members(project, group).collect();
    let i = members.iter().position(|(id, _)| *id == button)?;
    options(&members).into_iter().nth(i)
}

/// The member of `group` an option names (its label or its id).
pub fn member_of(project: &Project, group: &str, option: &str) -> Option<String> {
    let members: Vec<(&str, &str)> = group_members(project, group).collect();
    options(&members)
        .iter()
        .position(|o| o == option)
        .map(|i| members[i].0.to_string())
        .or_else(|| {
            members
                .iter()
                .find(|(id, _)| *id == option)
                .map(|(id, _)| id.to_string())
        })
}

fn group_members<'a>(
    project: &'a Project,
    group: &'a str,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    project
        .buttons
        .iter()
        .filter(move |b| b.kind == ButtonKind::Interlock && b.group.as_deref() == Some(group))
        .map(|b| (b.id.as_str(), b.label.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use controller_core::project::demo_project;

    fn identity() -> Identity {
        Identity {
            name: "Room 2.14".into(),
            model: "roomctl".into(),
            serial: "RC-ABC".into(),
            firmware: "0.1.0".into(),
        }
    }

    #[test]
    fn the_demo_has_a_switch_a_select_and_a_button_in_one_area() {
        let topics = Topics::new("roomctl/{serial}", "RC-ABC");
        let id = identity();
        let d = Discovery {
            prefix: "homeassistant",
            topics: &topics,
            identity: &id,
        };
        let configs = d.configs(demo_project(), &[]);
        let get = |t: &str| -> Value {
            serde_json::from_slice(
                configs
                    .get(t)
                    .unwrap_or_else(|| panic!("{t} in {:?}", configs.keys())),
            )
            .unwrap()
        };
        let switch = get("homeassistant/switch/RC-ABC/mute/config");
        assert_eq!(switch["command_topic"], "roomctl/RC-ABC/button/mute/press");
        assert_eq!(switch["state_topic"], "roomctl/RC-ABC/button/mute/state");
        assert_eq!(switch["unique_id"], "RC-ABC_mute");
        assert_eq!(switch["default_entity_id"], "switch.room_2_14_mute");
        assert!(switch.get("object_id").is_none());
        assert_eq!(switch["availability_topic"], "roomctl/RC-ABC/status");
        assert_eq!(switch["device"]["suggested_area"], "Building A, floor 2");
        assert_eq!(switch["device"]["identifiers"][0], "roomctl_RC-ABC");
        let select = get("homeassistant/select/RC-ABC/sources/config");
        assert_eq!(select["options"].as_array().unwrap().len(), 3);
        let button = get("homeassistant/button/RC-ABC/all_off/config");
        assert_eq!(button["payload_press"], "{}");
        assert!(!configs.keys().any(|t| t.contains("src_hdmi1")));
        let number = get("homeassistant/number/RC-ABC/level_volume/config");
        assert_eq!(number["min"], -60.0);
        assert_eq!(number["step"], 0.5);
        assert_eq!(number["unit_of_measurement"], "dB");
        assert_eq!(number["command_topic"], "roomctl/RC-ABC/level/volume/set");
        let mute = get("homeassistant/switch/RC-ABC/level_volume_mute/config");
        assert_eq!(mute["payload_on"], r#"{"muted":true}"#);
        let meter = get("homeassistant/sensor/RC-ABC/level_mic/config");
        assert_eq!(meter["state_topic"], "roomctl/RC-ABC/level/mic/state");
        assert!(meter.get("command_topic").is_none());
        let var = get("homeassistant/sensor/RC-ABC/var_warmup/config");
        assert_eq!(var["state_topic"], "roomctl/RC-ABC/var/warmup");
    }

    #[test]
    fn options_name_members_both_ways() {
        let p = demo_project();
        let option = option_of(p, "sources", "src_pc").unwrap();
        assert_eq!(member_of(p, "sources", &option).as_deref(), Some("src_pc"));
        assert_eq!(member_of(p, "sources", "src_pc").as_deref(), Some("src_pc"));
        assert_eq!(member_of(p, "sources", "nothing"), None);
        assert_eq!(member_of(p, "nope", "src_pc"), None);
    }
}
