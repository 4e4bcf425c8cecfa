//! The `[station]` section: the central station (`roomctl station`), which
//! watches many rooms over central control (5009), raises alerts and lets
//! operators press buttons in any room. Its web users are the `[[users]]`
//! of the same file. Documented in docs/station.md.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Profile;
use crate::security::access::AllowList;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationSettings {
    /// The station's web page: 127.0.0.1:3100 in development, 0.0.0.0:8090
    /// on a LAN.
    pub bind: IpAddr,
    pub port: u16,
    /// Who may open the station's web page (empty allows all), checked at
    /// accept like the panel ports' `[panel] allow`; its other HTTP limits
    /// (header and request timeouts, body size, connection caps) are the
    /// `[panel]` section's.
    pub allow: AllowList,
    /// The controller user the station logs in to rooms with (an operator,
    /// so that presses work); empty when the rooms need no login.
    pub account: String,
    /// A file holding that user's password (one line). The environment
    /// variable ROOMCTL_STATION_PASSWORD takes precedence. A client secret
    /// cannot be stored as a hash: keep the file readable by the station only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// Rooms watched whatever lookup finds.
    pub rooms: Vec<StationRoom>,
    /// Where lookup requests (UDP 8000) go, every `lookup_interval_secs`;
    /// empty switches lookup off. Development: loopback broadcast only.
    pub lookup_broadcast: Vec<IpAddr>,
    pub lookup_port: u16,
    pub lookup_interval_secs: u64,
    /// A room unreachable this long raises an `offline` alert.
    pub offline_after_secs: u64,
    /// Reconnect backoff: from `reconnect_first_ms` doubling up to this.
    /// A room heard from again (it answers lookup, or says `online` on the
    /// broker) is tried at once, whatever is left of its backoff.
    pub reconnect_max_secs: u64,
    /// The first wait before reconnecting to a room that was lost.
    pub reconnect_first_ms: u64,
    /// The longest line accepted from a controller (a layout is one line);
    /// a longer one drops the connection, so no room can exhaust memory.
    pub max_line_bytes: usize,
    /// The alert history (SQLite); relative to the settings file.
    pub database: PathBuf,
    /// Cleared alerts and usage records older than this are deleted.
    pub retention_days: u32,
    /// Usage figures: the buttons whose lit LED means "the display is on"
    /// (the demo's `display_power`, whose LED follows the projector).
    pub display_buttons: Vec<String>,
    /// Usage figures: the button group whose lit member is the selected
    /// source (the demo's `sources`).
    pub source_group: String,
    /// HTTP POSTs of alert changes.
    pub webhooks: Vec<Webhook>,
    /// `central`: rooms from the list and lookup only. `mqtt`: also every
    /// controller under the broker's topic tree, through the broker named
    /// in this file's `[mqtt]` section (docs/station.md).
    pub transport: StationTransport,
}

/// How the station finds and watches rooms beyond the list and lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StationTransport {
    Central,
    Mqtt,
}

/// A room on the static list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationRoom {
    /// The controller's central-control address, "host:port".
    pub address: SocketAddr,
    /// Shown until the controller says its own name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// One webhook: a JSON POST for each alert raised, acknowledged or cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// `http://host:port/path` (plain HTTP: put a TLS proxy in front for
    /// anything beyond the station's own network).
    pub url: String,
    /// Alert kinds (`offline`, `device_offline`, `project_changed`,
    /// `login_failed`, `protocol_error`, `duplicate_serial`); empty means all.
    #[serde(default)]
    pub kinds: Vec<String>,
}

pub fn defaults(profile: Profile) -> StationSettings {
    let lan = profile == Profile::Lan;
    StationSettings {
        bind: if lan {
            Ipv4Addr::UNSPECIFIED.into()
        } else {
            Ipv4Addr::LOCALHOST.into()
        },
        port: if lan { 8090 } else { 3100 },
        allow: AllowList::default(),
        account: String::new(),
        password_file: None,
        rooms: Vec::new(),
        lookup_broadcast: vec![if lan {
            Ipv4Addr::BROADCAST.into()
        } else {
            Ipv4Addr::new(127, 255, 255, 255).into()
        }],
        lookup_port: 8000,
        lookup_interval_secs: 30,
        offline_after_secs: 30,
        reconnect_max_secs: 30,
        reconnect_first_ms: 500,
        max_line_bytes: 4 << 20,
        database: PathBuf::from("var/station.sqlite"),
        retention_days: 90,
        display_buttons: vec!["display_power".into()],
        source_group: "sources".into(),
        webhooks: Vec::new(),
        transport: StationTransport::Central,
    }
}
