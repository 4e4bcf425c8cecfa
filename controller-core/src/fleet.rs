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
    /// What the room is doing now: booked or free, in use or not.
    #[serde(default)]
    pub day: RoomDay,
}

/// The variable a room's project sets to say someone is in the room (a
/// presence sensor through feedback, MQTT, ...): when a room has it, it
/// decides "in use"; otherwise the display being on does.
pub const OCCUPIED_VARIABLE: &str = crate::project::occupancy::OCCUPIED;

/// Whether a room with these variables is booked now: `None` when it shows
/// no calendar (no `calendar_busy`) or its bookings are not known (its
/// `calendar_known` is false: the calendar is off or not read yet, and the
/// booking variables hold their initial values, which are not "free"). A
/// room without `calendar_known` (an older controller) is read by
/// `calendar_busy` alone.
pub fn booked(
    variables: &std::collections::BTreeMap<String, crate::project::Value>,
) -> Option<bool> {
    use crate::project::meeting_tile as b;
    use crate::project::Value;
    if variables.get(b::KNOWN) == Some(&Value::Bool(false)) {
        return None;
    }
    match variables.get(b::BUSY) {
        Some(Value::Bool(busy)) => Some(*busy),
        _ => None,
    }
}

/// What a room is doing now, by its calendar (the booking variables its
/// calendar service sets, docs/calendar.md) and its use: the station's
/// room cards and its "now" view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomDay {
    /// Booked now; `None`: the room shows no calendar.
    pub booked: Option<bool>,
    /// In use now (occupied, or its display on); `None`: not known.
    pub in_use: Option<bool>,
    /// The meeting on now, as the room shows it (its privacy setting).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub meeting: String,
    /// Booked: when the meeting ends; free: when the next one starts
    /// (`HH:MM`, the room's time).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub until: String,
    /// The next meeting (`14:00 Budget`), when the room has one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub next: String,
    /// All of it in a few words: "Booked until 10:00 · not in use",
    /// "In use · not booked", "Free until 14:00", "Free all day".
    pub label: String,
}

impl RoomDay {
    /// The day of a room with these variables, `in_use` as the station
    /// judged it.
    pub fn of(
        variables: &std::collections::BTreeMap<String, crate::project::Value>,
        in_use: Option<bool>,
    ) -> RoomDay {
        use crate::project::meeting_tile as b;
        use crate::project::Value;
        let text = |name: &str| match variables.get(name) {
            Some(Value::Text(t)) => t.clone(),
            _ => String::new(),
        };
        let booked = booked(variables);
        let free_all_day = variables.get(b::FREE_ALL_DAY) == Some(&Value::Bool(true));
        let until = match booked {
            Some(true) => text(b::END),
            _ if free_all_day => String::new(),
            _ => text(b::FREE_UNTIL),
        };
        let next = match text(b::NEXT_START) {
            t if t.is_empty() => String::new(),
            t => format!("{t} {}", text(b::NEXT_TITLE))
                .trim_end()
                .to_string(),
        };
        let use_word = match in_use {
            Some(true) => "in use",
            Some(false) => "not in use",
            None => "",
        };
        let label = match booked {
            Some(true) => {
                let booked = if until.is_empty() {
                    "Booked".to_string()
                } else {
                    format!("Booked until {until}")
                };
                if use_word.is_empty() {
                    booked
                } else {
                    format!("{booked} \u{b7} {use_word}")
                }
            }
            Some(false) if in_use == Some(true) => "In use \u{b7} not booked".to_string(),
            Some(false) if free_all_day => "Free all day".to_string(),
            Some(false) if !until.is_empty() => format!("Free until {until}"),
            Some(false) => "Free".to_string(),
            None => match in_use {
                Some(true) => "In use".to_string(),
                Some(false) => "Not in use".to_string(),
                None => String::new(),
            },
        };
        RoomDay {
            booked,
            in_use,
            meeting: if booked == Some(true) {
                text(b::TITLE)
            } else {
                String::new()
            },
            until,
            next,
            label,
        }
    }
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

/// The station's "now" view of every room: the order of its rows and the
/// summary above them. Used for the page the server renders and again in
/// the browser each time a room changes, so the two never disagree.
pub mod now {
    use super::RoomCard;

    /// Where a room stands in the view: booked but not in use first (someone
    /// may have forgotten, or the room can be released), then in use
    /// without a booking, then booked, in use, free, rooms without a
    /// calendar, and rooms not seen.
    pub fn rank(card: &RoomCard) -> u8 {
        match (card.online, card.day.booked, card.day.in_use) {
            (false, _, _) => 6,
            (_, Some(true), Some(false)) => 0,
            (_, Some(false), Some(true)) => 1,
            (_, Some(true), _) => 2,
            (_, _, Some(true)) => 3,
            (_, Some(false), _) => 4,
            _ => 5,
        }
    }

    /// The view's order: by [`rank`], then location, then name.
    pub fn order(cards: &mut [RoomCard]) {
        cards.sort_by(|a, b| (rank(a), &a.location, &a.name).cmp(&(rank(b), &b.location, &b.name)));
    }

    /// "3 rooms: 1 in use, 2 booked, 1 booked but not in use, 0 free"
    /// (rooms offline count in the total only).
    pub fn summary(cards: &[RoomCard]) -> String {
        let count = |f: fn(&RoomCard) -> bool| cards.iter().filter(|c| c.online && f(c)).count();
        format!(
            "{} rooms: {} in use, {} booked, {} booked but not in use, {} free",
            cards.len(),
            count(|c| c.day.in_use == Some(true)),
            count(|c| c.day.booked == Some(true)),
            count(|c| c.day.booked == Some(true) && c.day.in_use == Some(false)),
            count(|c| c.day.booked == Some(false)),
        )
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
    /// Seconds the room was booked (its calendar) within the period.
    #[serde(default)]
    pub booked_secs: u64,
    /// Seconds the room was occupied (its `occupied` variable).
    #[serde(default)]
    pub occupied_secs: u64,
    /// Bookings during which the room was never in use (occupied where it
    /// says so, else its display on): "booked but unused".
    #[serde(default)]
    pub booked_unused: u64,
    /// Uses that overlapped no booking, in rooms with a calendar: "used
    /// but not booked".
    #[serde(default)]
    pub used_unbooked: u64,
}

impl UsageRow {
    pub fn display_hours(&self) -> f64 {
        self.display_secs as f64 / 3600.0
    }

    pub fn booked_hours(&self) -> f64 {
        self.booked_secs as f64 / 3600.0
    }

    pub fn occupied_hours(&self) -> f64 {
        self.occupied_secs as f64 / 3600.0
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
    fn the_now_view_puts_booked_empty_rooms_first_and_counts_online_rooms() {
        let card = |name: &str, location: &str, online: bool, booked, in_use| RoomCard {
            key: name.to_lowercase(),
            name: name.into(),
            location: location.into(),
            online,
            day: RoomDay {
                booked,
                in_use,
                ..RoomDay::default()
            },
            ..RoomCard::default()
        };
        let mut cards = vec![
            card("Gone", "A", false, Some(true), Some(false)),
            card("Unknown", "A", true, None, None),
            card("Free", "A", true, Some(false), Some(false)),
            card("Busy", "A", true, None, Some(true)),
            card("Meeting", "A", true, Some(true), Some(true)),
            card("Squatted", "A", true, Some(false), Some(true)),
            card("Forgotten 2", "B", true, Some(true), Some(false)),
            card("Forgotten 1", "B", true, Some(true), Some(false)),
            card("Forgotten 3", "A", true, Some(true), None),
        ];
        let ranks: Vec<u8> = cards.iter().map(now::rank).collect();
        assert_eq!(ranks, [6, 5, 4, 3, 2, 1, 0, 0, 2]);
        now::order(&mut cards);
        let names: Vec<&str> = cards.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Forgotten 1",
                "Forgotten 2",
                "Squatted",
                "Forgotten 3",
                "Meeting",
                "Busy",
                "Free",
                "Unknown",
                "Gone"
            ]
        );
        // The room offline is booked and empty by its last word, but
        // counts in the total only.
        assert_eq!(
            now::summary(&cards),
            "9 rooms: 3 in use, 4 booked, 2 booked but not in use, 2 free"
        );
        assert_eq!(
            now::summary(&[]),
            "0 rooms: 0 in use, 0 booked, 0 booked but not in use, 0 free"
        );
    }

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
    fn a_rooms_day_reads_its_booking_and_its_use() {
        use crate::project::Value;
        let mut vars = std::collections::BTreeMap::new();
        assert_eq!(RoomDay::of(&vars, None).label, "");
        assert_eq!(RoomDay::of(&vars, Some(true)).label, "In use");
        let mut set = |k: &str, v: Value| {
            vars.insert(k.to_string(), v);
        };
        set("calendar_busy", Value::Bool(true));
        set("meeting_title", Value::Text("Design review".into()));
        set("meeting_end", Value::Text("10:00".into()));
        set("free_until", Value::Text(String::new()));
        set("next_meeting_start", Value::Text("14:00".into()));
        set("next_meeting_title", Value::Text("Budget".into()));
        let d = RoomDay::of(&vars, Some(false));
        assert_eq!(d.label, "Booked until 10:00 \u{b7} not in use");
        assert_eq!(
            (d.booked, d.meeting.as_str(), d.next.as_str()),
            (Some(true), "Design review", "14:00 Budget")
        );
        vars.insert("calendar_busy".into(), Value::Bool(false));
        vars.insert("free_until".into(), Value::Text("14:00".into()));
        let d = RoomDay::of(&vars, Some(false));
        assert_eq!(
            (d.label.as_str(), d.meeting.as_str()),
            ("Free until 14:00", "")
        );
        assert_eq!(
            RoomDay::of(&vars, Some(true)).label,
            "In use \u{b7} not booked"
        );
        vars.insert("free_all_day".into(), Value::Bool(true));
        assert_eq!(RoomDay::of(&vars, None).label, "Free all day");
        vars.insert("calendar_known".into(), Value::Bool(true));
        assert_eq!(RoomDay::of(&vars, None).label, "Free all day");
        // The calendar is off: the booking variables' initial values say
        // nothing, the room is not "free".
        vars.insert("calendar_known".into(), Value::Bool(false));
        let d = RoomDay::of(&vars, Some(false));
        assert_eq!((d.booked, d.label.as_str()), (None, "Not in use"));
        assert_eq!(RoomDay::of(&vars, None).label, "");
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
