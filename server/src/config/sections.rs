//! One settings section per service, with the defaults of each profile.
//! Every service has: enabled, bind, port, allow (an IP allow-list; empty
//! allows all), and where it applies, max_connections, idle_timeout_secs and
//! max_message_bytes.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::security::access::AllowList;
pub use crate::security::auth::UserEntry;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The controller's name, shown on panels and in discovery.
    pub name: String,
    pub model: String,
    /// Serial number; empty means derived from the machine id at start.
    pub serial: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSettings {
    /// Where the active project, its previous version and uploads are kept.
    pub dir: PathBuf,
    /// Apply a project as soon as a valid one is uploaded.
    pub auto_apply: bool,
    /// How many applied projects `history/` keeps (0: none).
    pub history: usize,
    /// The site's own drivers (`*.toml` beside their transcripts), added to
    /// the library at start (docs/drivers.md, "Site drivers"); relative
    /// paths are relative to the settings file.
    pub drivers_dir: PathBuf,
}

/// The audit trail (docs/network.md, "Audit trail").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Record logins, uploads, applies, rollbacks, user and settings
    /// changes and audited presses at all.
    pub enabled: bool,
    /// The JSON-lines file (relative paths are relative to the settings
    /// file); empty: not kept on disk.
    pub file: PathBuf,
    /// The file is rotated (`audit.log.1` ...) before it grows past this.
    pub max_bytes: u64,
    /// How many rotated files are kept besides the current one.
    pub keep: usize,
    /// Forward every entry to a syslog collector (RFC 5424):
    /// `udp://host:port` or `tcp://host:port` (octet-counted frames,
    /// RFC 6587); empty: not forwarded.
    pub syslog: String,
    /// Whose button presses are recorded: any of `central`, `mqtt`,
    /// `telnet`, `panel`, `keypad`, `logic`.
    pub presses: Vec<String>,
}

/// The sources `[audit] presses` may name (the part of an engine
/// command's source before `:` or `@`).
pub const PRESS_SOURCES: [&str; 6] = ["central", "mqtt", "telnet", "panel", "keypad", "logic"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelSettings {
    pub enabled: bool,
    pub bind: IpAddr,
    pub port: u16,
    pub allow: AllowList,
    /// Connected panels (live-channel WebSockets).
    pub max_connections: usize,
    /// Plain HTTP connections (page loads, not yet upgraded to a panel's
    /// live channel); one address may hold at most half of them.
    pub max_http_connections: usize,
    /// A request's head (request line and headers) must arrive within this
    /// time, or the connection is closed (slow-header clients).
    pub header_timeout_secs: u64,
    /// Keep-alive interval of the live channel; a panel silent for three
    /// intervals is dropped.
    pub keepalive_secs: u64,
    pub max_message_bytes: usize,
    /// Panels must log in (any user with the operator role or above).
    pub require_login: bool,
    /// The largest request body (a project upload on the admin page is
    /// the largest there is); a larger one is answered 413.
    pub max_body_bytes: usize,
    /// A request must be answered within this time (its body included),
    /// or it is answered 408 (the live channel, once open, is not a request).
    pub request_timeout_secs: u64,
    /// A Project Designer preview unused for this long (no update, page
    /// load or live-channel connection) is removed and its panels closed.
    pub preview_idle_secs: u64,
    /// Origins (`http://host:port`) of panel pages served elsewhere whose
    /// browsers may open the live channel (`/ws`); the controller's own
    /// pages need no entry. A browser's handshake from any other origin
    /// is refused (cross-site WebSocket hijacking).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprimoSettings {
    pub enabled: bool,
    pub bind: IpAddr,
    pub port: u16,
    /// The panel layout opened at `/` on this port; empty means the first
    /// panel with profile = "wall".
    pub default_panel: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupSettings {
    pub enabled: bool,
    pub bind: IpAddr,
    pub port: u16,
    pub allow: AllowList,
    /// "broadcast" (as the reference product) or "unicast" to the asker.
    pub reply: ReplyMode,
    /// At most this many answers per second (all askers together).
    pub max_replies_per_sec: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyMode {
    Broadcast,
    Unicast,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSettings {
    pub enabled: bool,
    pub bind: IpAddr,
    pub port: u16,
    /// Where the datagrams go (default: the network broadcast address).
    pub destination: IpAddr,
    /// Also send the full status every N seconds (0 = only on changes).
    pub full_status_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralSettings {
    pub enabled: bool,
    pub bind: IpAddr,
    pub port: u16,
    pub allow: AllowList,
    pub max_connections: usize,
    pub idle_timeout_secs: u64,
    /// A connection must complete its login within this time (shorter
    /// than the idle timeout: an idle socket that never logs in must not
    /// hold a place under the connection cap for long).
    pub login_timeout_secs: u64,
    pub max_message_bytes: usize,
    /// Messages queued for a slow client before it is disconnected.
    pub max_queue: usize,
    /// Clients must authenticate (a user with the operator role or above).
    pub require_login: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionSettings {
    pub enabled: bool,
    /// The multicast group and port of the extension bus.
    pub group: Ipv4Addr,
    pub port: u16,
    /// The local interface address to join the group on.
    pub interface: Ipv4Addr,
    pub keepalive_secs: u64,
    pub offline_after_secs: u64,
    /// Multicast TTL; 0 keeps packets on this host (the development default).
    pub ttl: u32,
    /// The registry holds at most this many devices; others are ignored.
    pub max_devices: usize,
    /// Devices whose address is not on this list are ignored (empty: all).
    pub allow: AllowList,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelnetSettings {
    pub enabled: bool,
    pub bind: IpAddr,
    pub port: u16,
    pub allow: AllowList,
    pub max_connections: usize,
    pub idle_timeout_secs: u64,
    /// A connection must complete its login within this time (shorter
    /// than the idle timeout: an idle socket that never logs in must not
    /// hold a place under the connection cap for long).
    pub login_timeout_secs: u64,
    pub max_message_bytes: usize,
    /// The settings file `passwd` on the console writes to. Not a setting:
    /// `roomctl serve` fills it in with the file it loaded.
    #[serde(skip)]
    pub settings_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FtpSettings {
    pub enabled: bool,
    pub bind: IpAddr,
    pub port: u16,
    pub allow: AllowList,
    pub max_connections: usize,
    pub idle_timeout_secs: u64,
    /// A connection must complete its login within this time (shorter
    /// than the idle timeout: an idle socket that never logs in must not
    /// hold a place under the connection cap for long).
    pub login_timeout_secs: u64,
    /// Passive data ports (inclusive range).
    pub passive_ports: (u16, u16),
    /// A transfer whose data connection has not come this long after its
    /// `150` is answered `425` (also the time allowed to connect back to
    /// the client in active mode).
    pub data_timeout_secs: u64,
    /// Active mode (PORT/EPRT), connecting back to the client only.
    pub active_mode: bool,
    /// The largest file that may be uploaded.
    pub max_upload_bytes: u64,
    /// Refuse `USER`/`PASS` before `AUTH TLS`, and data connections before
    /// `PROT P` (FTPS, with the certificate of `[tls]`). Off: FTPS is
    /// offered and plain FTP still works.
    pub require_tls: bool,
}

/// The room logic (`docs/room-logic.md`): the project's devices, sequences,
/// feedback rules and timers. No port; switching it off stops every
/// outgoing connection to room devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogicSettings {
    pub enabled: bool,
}

/// The MQTT bridge to an existing broker (`docs/mqtt.md`): an outgoing
/// connection only, no port. Off until switched on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttSettings {
    pub enabled: bool,
    /// `mqtt://host:port` (plain TCP) or `mqtts://host:port` (TLS).
    pub url: String,
    /// The MQTT protocol version spoken to the broker.
    pub protocol: MqttProtocol,
    /// Empty: connect without credentials.
    pub username: String,
    /// A file holding the password (first line): the broker needs it in
    /// clear, so it stays out of the settings file.
    pub password_file: Option<PathBuf>,
    /// PEM certificates the broker's certificate must chain to (mqtts);
    /// unset: the system's bundle.
    pub ca_file: Option<PathBuf>,
    /// Empty: `roomctl-<serial>`.
    pub client_id: String,
    /// Every topic starts with this; `{serial}` is the controller's serial.
    pub prefix: String,
    pub keepalive_secs: u64,
    /// The longest wait between two connection attempts (the wait doubles
    /// from one second up to this).
    pub reconnect_max_secs: u64,
    /// Messages waiting for the broker before more are dropped (and the
    /// retained state is republished in full once the queue drains).
    pub max_queue: usize,
    /// Act on the command topics (press, release, select).
    pub commands: bool,
    /// Publish Home Assistant discovery configs.
    pub ha_discovery: bool,
    pub discovery_prefix: String,
}

/// `"3.1.1"` (every broker; the default) or `"5"` (also read: `5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "toml::Value", into = "String")]
pub enum MqttProtocol {
    V311,
    V5,
}

impl TryFrom<toml::Value> for MqttProtocol {
    type Error = String;

    fn try_from(v: toml::Value) -> Result<MqttProtocol, String> {
        match v {
            toml::Value::String(s) if s == "3.1.1" => Ok(MqttProtocol::V311),
            toml::Value::String(s) if s == "5" || s == "5.0" => Ok(MqttProtocol::V5),
            toml::Value::Integer(5) => Ok(MqttProtocol::V5),
            other => Err(format!(
                "[mqtt] protocol must be \"3.1.1\" or \"5\", not {other}"
            )),
        }
    }
}

impl From<MqttProtocol> for String {
    fn from(p: MqttProtocol) -> String {
        match p {
            MqttProtocol::V311 => "3.1.1",
            MqttProtocol::V5 => "5",
        }
        .into()
    }
}
