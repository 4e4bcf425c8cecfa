//! The shape of a driver file (serde types, read from TOML as written).
//! Meaning is checked, and templates compiled, by [`super::validate`].
//!
//! A driver file:
//! ```toml
//! [driver]      # identity: name, maker, models, category, the document followed
//! [transport]   # tcp / udp / serial, the default port, serial framing
//! [framing]     # line (a terminator), binary (header, length, checksum, end byte)
//!               # or datagram (udp: each datagram is one message)
//! [settings.X]  # per-device settings the templates may use ({password}, {id})
//! [login]       # optional prompt/password exchange before commands
//! [state.X]     # named, typed state the responses fill in
//! [commands.X]  # typed parameters and the template sent
//! [[responses]] # templates that parse a device's message into state
//! [[polls]]     # commands sent on an interval
//! [[on_connect]] # commands sent once per connection, after the login
//! [liveness]    # how long without a recognised message before "down"
//! [discovery]   # how the device is found on the LAN (PJLink search, SSDP, mDNS)
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

/// A whole driver file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriverFile {
    pub driver: Identity,
    pub transport: TransportSpec,
    pub framing: FramingSpec,
    #[serde(default)]
    pub settings: BTreeMap<String, TypeSpec>,
    #[serde(default)]
    pub login: Option<LoginSpec>,
    #[serde(default)]
    pub state: BTreeMap<String, TypeSpec>,
    #[serde(default)]
    pub commands: BTreeMap<String, CommandSpec>,
    #[serde(default)]
    pub responses: Vec<ResponseSpec>,
    #[serde(default)]
    pub polls: Vec<PollSpec>,
    /// Commands sent once on every connection, after any login (e.g. a
    /// verbose-mode switch that makes the device report changes).
    #[serde(default)]
    pub on_connect: Vec<CommandCallSpec>,
    #[serde(default)]
    pub liveness: Option<LivenessSpec>,
    /// How the device can be found on the LAN.
    #[serde(default)]
    pub discovery: Option<DiscoverySpec>,
}

/// Who makes the device, which models, and the document the driver follows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub name: String,
    pub maker: String,
    pub models: Vec<String>,
    pub category: Category,
    /// The maker's protocol document, by title.
    pub document: String,
    /// Its version or date, as printed on it.
    pub document_version: String,
    #[serde(default)]
    pub document_url: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Projector,
    Display,
    Switcher,
    Dsp,
    Microphone,
    Camera,
    Codec,
    Lighting,
    Shades,
    Power,
    Gateway,
    Other,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Projector => "projector",
            Category::Display => "display",
            Category::Switcher => "switcher",
            Category::Dsp => "dsp",
            Category::Microphone => "microphone",
            Category::Camera => "camera",
            Category::Codec => "codec",
            Category::Lighting => "lighting",
            Category::Shades => "shades",
            Category::Power => "power",
            Category::Gateway => "gateway",
            Category::Other => "other",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportSpec {
    #[serde(rename = "type")]
    pub kind: TransportKind,
    /// The default port (tcp/udp); a device in a project may override it.
    #[serde(default)]
    pub port: Option<u16>,
    /// Serial framing (serial only).
    #[serde(default)]
    pub baud: Option<u32>,
    #[serde(default)]
    pub data_bits: Option<u8>,
    #[serde(default)]
    pub parity: Option<String>,
    #[serde(default)]
    pub stop_bits: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    Tcp,
    Udp,
    Serial,
    /// Each command is one HTTP request: its line is the request
    /// (`GET /cgi-bin/...`), the response body's lines are the device's
    /// messages.
    Http,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FramingSpec {
    #[serde(rename = "type")]
    pub kind: FramingKind,
    /// line: what ends a line sent (`"\r"`); binary: an end byte, as hex (`"FF"`).
    #[serde(default)]
    pub terminator: Option<String>,
    /// line: what ends a line received, when it differs (`"\r\n"`).
    #[serde(default)]
    pub receive_terminator: Option<String>,
    /// binary: the bytes every frame starts with, as hex (`"AA"`).
    #[serde(default)]
    pub header: Option<String>,
    /// binary: a length byte.
    #[serde(default)]
    pub length: Option<LengthSpec>,
    /// binary: a checksum byte before the end.
    #[serde(default)]
    pub checksum: Option<ChecksumSpec>,
    /// binary: byte stuffing inside a frame (between the header and the
    /// end byte, the checksum included).
    #[serde(default)]
    pub escape: Option<EscapeSpec>,
    /// The longest frame accepted; longer input is dropped and counted.
    #[serde(default)]
    pub max_length: Option<usize>,
}

/// Byte stuffing: each of `bytes` is sent as `marker` then the byte plus
/// `add` (hex, e.g. `{ marker = "1B", add = "80", bytes = ["02", "03"] }`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscapeSpec {
    pub marker: String,
    pub add: String,
    pub bytes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FramingKind {
    Line,
    Binary,
    /// One datagram is one message, no terminator (udp only).
    Datagram,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LengthSpec {
    /// Where the length byte sits in the frame (0 is the first header byte).
    pub offset: usize,
    /// Added to the byte's value to get the count of bytes between the
    /// length byte and the checksum (0 when it counts exactly those).
    #[serde(default)]
    pub adjust: i16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksumSpec {
    #[serde(rename = "type")]
    pub kind: ChecksumKind,
    /// The first frame byte it covers; it covers everything up to itself.
    #[serde(default)]
    pub from: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumKind {
    /// The sum of the bytes, modulo 256.
    Sum8,
    /// The bytes XORed together.
    Xor8,
}

/// A typed value: a setting, a command parameter or a piece of state.
/// Which fields apply depends on `type`; validation refuses the others.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeSpec {
    #[serde(rename = "type")]
    pub kind: KindName,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// enum: each name and what stands for it on the wire
    /// (`{ on = "1", off = "0" }`; binary drivers: a number, `"0x21"`).
    #[serde(default)]
    pub values: Option<BTreeMap<String, String>>,
    /// text: the longest value.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// text: how a value is escaped when sent.
    #[serde(default)]
    pub escape: Option<Escape>,
    /// settings: the value when a project gives none; state: the simulator's
    /// starting value.
    #[serde(default)]
    pub default: Option<toml::Value>,
    /// settings: never shown or logged (passwords).
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KindName {
    Int,
    Number,
    Enum,
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Escape {
    /// Sent as is (control characters and the terminator are refused).
    #[default]
    None,
    /// Inside a JSON string: `"` and `\` are escaped.
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSpec {
    /// The exchanges, in order: wait for `prompt`, then send `send`.
    pub steps: Vec<LoginStepSpec>,
    /// Text that means the login worked (when the device says so).
    #[serde(default)]
    pub success: Option<String>,
    /// Text that means the login was refused.
    #[serde(default)]
    pub failure: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginStepSpec {
    /// Text the device sends (found anywhere in what it has sent).
    pub prompt: String,
    /// The template sent back (settings only, e.g. `{password}`).
    #[serde(default)]
    pub send: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// What is sent: text with `{param}` slots (line framing), or hex bytes
    /// with `{param}` slots (binary framing, without header/length/checksum).
    pub send: String,
    #[serde(default)]
    pub params: BTreeMap<String, TypeSpec>,
    #[serde(default)]
    pub description: Option<String>,
    /// The simulator: state after the command (`{ power = "{value}" }`).
    #[serde(default)]
    pub sets: BTreeMap<String, String>,
    /// The simulator: what the device answers, templates over state,
    /// parameters and settings.
    #[serde(default)]
    pub reply: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// A name for logs and the docs (optional).
    #[serde(default)]
    pub name: Option<String>,
    /// The message's template: `{state}` slots are read into that state,
    /// `{*}` matches anything, binary `??` any one byte.
    pub format: String,
    /// Fixed state set when the message arrives (`{ power = "on" }`).
    #[serde(default)]
    pub sets: BTreeMap<String, String>,
    /// The device sends it on its own (documentation and the simulator).
    #[serde(default)]
    pub unsolicited: bool,
    /// Only an answer to one of these commands (the last one sent): for
    /// protocols whose answers do not say what they answer.
    #[serde(default)]
    pub after: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollSpec {
    pub command: String,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    pub every_secs: u32,
}

/// A command with its parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandCallSpec {
    pub command: String,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LivenessSpec {
    /// Seconds without a recognised message before the device is down.
    pub timeout_secs: u32,
}

/// How a device of this driver is found on the LAN (see
/// [`super::discovery`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoverySpec {
    /// It answers the PJLink class 2 search (`%2SRCH` on UDP 4352).
    #[serde(default)]
    pub pjlink_search: bool,
    /// SSDP answers whose ST, SERVER or USN header holds one of these
    /// (case-insensitive) suggest this driver.
    #[serde(default)]
    pub ssdp: Vec<String>,
    /// DNS-SD service types its devices announce over multicast DNS
    /// (`"_ssc._udp"`): the search asks for each, and an answer naming
    /// one suggests this driver.
    #[serde(default)]
    pub mdns: Vec<String>,
}
