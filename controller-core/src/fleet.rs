//! What a central station shows of many rooms: a card per room and its
//! alerts. Built by the station server, rendered by the app's station
//! screens and sent to browsers on the station's live stream (JSON).

use serde::{Deserialize, Serialize};

/// One room on the station's grid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomCard {
    /// The station's key for the room (stable while the station runs; used
    /// in the room page's address).
    pub key: String,
    pub name: String,
    pub location: String,
    /// The central-control address the station connects to.
    pub address: String,
    /// Empty until the controller said hello.
    pub serial: String,
    pub online: bool,
    pub project_name: String,
    pub project_revision: u32,
    /// Labels of the buttons whose LEDs are lit: the room's key states at a
    /// glance ("Power", "HDMI 1").
    pub lit: Vec<String>,
    /// Devices the controller reports offline.
    pub faults: Vec<String>,
    /// The key state of each driver device that reports one, a line each
    /// ("Projector: on, input digital1, lamp 1200 h"): see [`device_line`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    /// Seconds since the Unix epoch of the last line from the controller;
    /// 0 = never.
    pub last_seen: u64,
    /// Alerts raised and not yet cleared.
    pub alerts: u32,
    /// Why the room is offline (connection refused, login refused...).
    pub problem: String,
}

impl RoomCard {
    /// Does the card match a search text (name, location, address, serial,
    /// project; case-insensitive)?
    pub fn matches(&self, text: &str) -> bool {
        if text.is_empty() {
            return true;
        }
        let text = text.to_lowercase();
        [
            &self.name,
            &self.location,
            &self.address,
            &self.serial,
            &self.project_name,
        ]
        .iter()
        .any(|f| f.to_lowercase().contains(&text))
    }
}

/// Which cards the grid shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFilter {
    #[serde(default)]
    pub search: String,
    #[serde(default)]
    pub offline: bool,
    #[serde(default)]
    pub alerts: bool,
    /// Exact location; empty = any.
    #[serde(default)]
    pub location: String,
}

impl CardFilter {
    pub fn accepts(&self, card: &RoomCard) -> bool {
        card.matches(&self.search)
            && (!self.offline || !card.online)
            && (!self.alerts || card.alerts > 0)
            && (self.location.is_empty() || card.location == self.location)
    }
}

/// One alert, as the alert list and the CSV export show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub id: i64,
    pub room_key: String,
    pub room: String,
    /// `offline`, `device_offline`, `project_changed`, `login_failed`,
    /// `protocol_error`.
    pub kind: String,
    pub detail: String,
    /// Seconds since the Unix epoch.
    pub raised_at: u64,
    #[serde(default)]
    pub acked_by: String,
    #[serde(default)]
    pub acked_at: u64,
    /// 0 while it holds.
    #[serde(default)]
    pub cleared_at: u64,
}

/// What a room (or a building: its rooms added up) was used for over a
/// period: the usage page of the station and its CSV.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    /// The room's name, or the building's.
    pub name: String,
    /// The building: the room's location up to its first comma.
    pub building: String,
    /// Seconds the display was on within the period.
    pub display_secs: u64,
    /// Button presses (from any panel, keypad or the station).
    pub presses: u64,
    /// Each source and how often it was selected, most often first.
    pub sources: Vec<(String, u64)>,
    /// Alerts raised.
    pub alerts: u64,
}

impl UsageRow {
    pub fn display_hours(&self) -> f64 {
        self.display_secs as f64 / 3600.0
    }

    pub fn source_selections(&self) -> u64 {
        self.sources.iter().map(|(_, n)| n).sum()
    }

    /// Presses per day over a period of `days`.
    pub fn presses_per_day(&self, days: f64) -> f64 {
        if days > 0.0 {
            self.presses as f64 / days
        } else {
            0.0
        }
    }
}

/// The usage of every room and building over one period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageReport {
    /// `day`, `week` or `month`.
    pub period: String,
    /// Unix seconds: the period is `since..until`.
    pub since: u64,
    pub until: u64,
    pub rooms: Vec<UsageRow>,
    pub buildings: Vec<UsageRow>,
    /// Presses in each slice of the period (hours of a day, days of a
    /// week or month), oldest first, with the slice's start.
    pub timeline: Vec<(u64, u64)>,
}

impl UsageReport {
    pub fn days(&self) -> f64 {
        self.until.saturating_sub(self.since) as f64 / 86_400.0
    }
}

/// The building of a location: its text up to the first comma
/// ("Building A, floor 2" is in "Building A").
pub fn building_of(location: &str) -> String {
    location.split(',').next().unwrap_or("").trim().to_string()
}

/// The states a room card shows of a driver device, with how each reads.
const KEY_STATES: [(&str, &str, &str); 3] = [
    ("power", "", ""),
    ("input", "input ", ""),
    ("lamp_hours", "lamp ", " h"),
];

/// A driver device's key state for a room card: its power, input and lamp
/// hours where its driver reports them (`variables` holds the room's
/// variables, the device's state as `<device>.<state>`); None when it
/// reports none of them (yet).
pub fn device_line(
    device: &str,
    name: &str,
    variables: &std::collections::BTreeMap<String, crate::project::Value>,
) -> Option<String> {
    let parts: Vec<String> = KEY_STATES
        .iter()
        .filter_map(|(state, before, after)| {
            let v = variables.get(&format!("{device}.{state}"))?.to_string();
            (!v.is_empty()).then(|| format!("{before}{v}{after}"))
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    let who = if name.is_empty() { device } else { name };
    Some(format!("{who}: {}", parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_line_shows_power_input_and_lamp_hours_where_reported() {
        use crate::project::Value;
        let mut vars = std::collections::BTreeMap::new();
        assert_eq!(device_line("projector", "Projector", &vars), None);
        vars.insert("projector.power".to_string(), Value::Text("on".into()));
        vars.insert("projector.input".to_string(), Value::Text(String::new()));
        vars.insert(
            "projector.lamp_hours".to_string(),
            Value::Text("1200".into()),
        );
        vars.insert("dsp.level".to_string(), Value::Text("-20".into()));
        assert_eq!(
            device_line("projector", "Projector", &vars).as_deref(),
            Some("Projector: on, lamp 1200 h")
        );
        assert_eq!(device_line("dsp", "", &vars), None);
        vars.insert("matrix.input".to_string(), Value::Text("2".into()));
        assert_eq!(
            device_line("matrix", "", &vars).as_deref(),
            Some("matrix: input 2")
        );
    }

    #[test]
    fn filters_combine() {
        let card = RoomCard {
            name: "Room 2.14".into(),
            location: "Building A".into(),
            online: false,
            alerts: 1,
            ..RoomCard::default()
        };
        let all = CardFilter::default();
        assert!(all.accepts(&card));
        let f = CardFilter {
            search: "2.14".into(),
            offline: true,
            alerts: true,
            location: "Building A".into(),
        };
        assert!(f.accepts(&card));
        assert!(!CardFilter {
            location: "Building B".into(),
            ..CardFilter::default()
        }
        .accepts(&card));
        let online = RoomCard {
            online: true,
            ..card.clone()
        };
        assert!(!CardFilter {
            offline: true,
            ..CardFilter::default()
        }
        .accepts(&online));
        assert!(!CardFilter {
            search: "lecture".into(),
            ..CardFilter::default()
        }
        .accepts(&card));
    }
}
