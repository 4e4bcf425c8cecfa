//! Devices by make and model: a driver describes a device's protocol once,
//! as data (a TOML file in `drivers/`), and every project uses it by name.
//!
//! - [`schema`]: the file as written (serde types).
//! - [`validate`]: meaning checks with located errors, compiling a file into
//!   a [`Driver`] (the same code runs in the designer's wasm).
//! - [`template`]: `{slot}` templates that both write and read messages.
//! - [`format`]: a slot's text format or binary field (width, byte order).
//! - [`value`]: typed values (int ranges, enumerations, text) and their
//!   wire forms.
//! - [`framing`]: line terminators and binary frames (header, length,
//!   checksum, end byte), with a bounded decoder.
//! - [`session`]: a device connection's logic: login, commands, responses
//!   into state, polls and liveness. Sans-IO.
//! - [`simulator`]: a device generated from its driver, with fault modes.
//! - [`transcript`]: the maker's documented examples, checked against a
//!   driver (the conformance tests).
//! - [`library`]: a set of drivers read from files.
//! - [`discovery`]: finding devices on the LAN (PJLink class 2 search,
//!   SSDP) and the driver each answer suggests.
//! - [`fuzz`]: the bodies of the driver fuzz targets, also run by the
//!   property tests.
//!
//! Nothing here touches a socket; the server drives it.

pub mod discovery;
pub mod format;
pub mod framing;
pub mod fuzz;
pub mod library;
pub mod schema;
pub mod session;
pub mod simulator;
pub mod template;
pub mod transcript;
pub mod validate;
pub mod value;

use std::collections::BTreeMap;
use std::fmt;

use crate::project::error::ProjectError;

pub use framing::Framing;
pub use schema::{Category, Identity, TransportKind};
pub use template::{Matcher, Template};
pub use value::{Kind, Value};

/// A validated driver, its templates compiled.
#[derive(Debug, Clone)]
pub struct Driver {
    /// The file's name without `.toml` (`samsung-mdc`).
    pub id: String,
    pub identity: Identity,
    pub transport: Transport,
    pub framing: Framing,
    pub settings: Vec<Typed>,
    pub login: Option<Login>,
    pub state: Vec<Typed>,
    pub commands: Vec<Command>,
    pub responses: Vec<Response>,
    pub polls: Vec<Poll>,
    /// Sent once per connection, after the login (interval unused).
    pub on_connect: Vec<Poll>,
    /// Seconds without a recognised message before the device is down.
    pub liveness_secs: Option<u32>,
    /// How the device is found on the LAN.
    pub discovery: schema::DiscoverySpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transport {
    pub kind: TransportKind,
    pub port: Option<u16>,
    pub serial: Option<SerialFraming>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialFraming {
    pub baud: u32,
    pub data_bits: u8,
    pub parity: String,
    pub stop_bits: u8,
}

/// A named, typed setting or piece of state.
#[derive(Debug, Clone, PartialEq)]
pub struct Typed {
    pub name: String,
    pub kind: Kind,
    /// Settings: used when a project gives none. State: the simulator's start.
    pub default: Option<Value>,
    pub secret: bool,
    pub unit: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Login {
    pub steps: Vec<LoginStep>,
    pub success: Option<Vec<u8>>,
    pub failure: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct LoginStep {
    pub prompt: Vec<u8>,
    pub send: Option<Template>,
}

#[derive(Debug, Clone)]
pub struct Command {
    pub name: String,
    pub params: Vec<(String, Kind)>,
    pub send: Template,
    pub description: Option<String>,
    /// The simulator's view: how to recognise this command.
    pub matcher: Matcher,
    pub sets: Vec<(String, SetValue)>,
    pub reply: Vec<Template>,
}

/// A state a command or response sets.
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    /// The value of a parameter.
    Param(String),
    Fixed(Value),
}

#[derive(Debug, Clone)]
pub struct Response {
    pub name: Option<String>,
    pub format: Template,
    pub matcher: Matcher,
    pub sets: Vec<(String, Value)>,
    pub unsolicited: bool,
    /// Read only when the last command sent is one of these (empty: always).
    pub after: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Poll {
    pub command: String,
    pub params: BTreeMap<String, Value>,
    pub every_secs: u32,
}

/// Why a command could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("{driver} has no command {command:?}")]
    UnknownCommand { driver: String, command: String },
    #[error("{command} has no parameter {param:?}")]
    UnknownParam { command: String, param: String },
    #[error("{command}: {param} is missing")]
    MissingParam { command: String, param: String },
    #[error("{command}: {param}: {message}")]
    BadParam {
        command: String,
        param: String,
        message: String,
    },
    #[error("{command}: {message}")]
    Encoding { command: String, message: String },
}

impl Driver {
    /// Reads and validates a driver file. `file` names it in errors and gives
    /// the driver's id (its name without `.toml`).
    pub fn from_toml(file: &str, text: &str) -> Result<Driver, DriverErrors> {
        validate::driver_from_toml(file, text)
    }

    pub fn command(&self, name: &str) -> Option<&Command> {
        self.commands.iter().find(|c| c.name == name)
    }

    pub fn state_def(&self, name: &str) -> Option<&Typed> {
        self.state.iter().find(|s| s.name == name)
    }

    pub fn setting(&self, name: &str) -> Option<&Typed> {
        self.settings.iter().find(|s| s.name == name)
    }

    /// Each setting's value: the given one, else the default. Errors name
    /// the setting.
    pub fn resolve_settings(
        &self,
        given: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, Value>, String> {
        let mut out = BTreeMap::new();
        for name in given.keys() {
            if self.setting(name).is_none() {
                return Err(format!("{} has no setting {name:?}", self.id));
            }
        }
        for s in &self.settings {
            let v = match given.get(&s.name) {
                Some(v) => s
                    .kind
                    .check(v.clone())
                    .map_err(|e| format!("setting {}: {e}", s.name))?,
                None => s
                    .default
                    .clone()
                    .ok_or_else(|| format!("setting {} is needed (it has no default)", s.name))?,
            };
            out.insert(s.name.clone(), v);
        }
        Ok(out)
    }

    /// The payload for a command (before framing), parameters checked.
    pub fn encode_payload(
        &self,
        command: &str,
        params: &BTreeMap<String, Value>,
        settings: &BTreeMap<String, Value>,
    ) -> Result<Vec<u8>, CommandError> {
        let c = self
            .command(command)
            .ok_or_else(|| CommandError::UnknownCommand {
                driver: self.id.clone(),
                command: command.to_string(),
            })?;
        if let Some(p) = params
            .keys()
            .find(|p| !c.params.iter().any(|(n, _)| n == *p))
        {
            return Err(CommandError::UnknownParam {
                command: c.name.clone(),
                param: p.clone(),
            });
        }
        let mut checked = BTreeMap::new();
        for (name, kind) in &c.params {
            let v = params.get(name).ok_or_else(|| CommandError::MissingParam {
                command: c.name.clone(),
                param: name.clone(),
            })?;
            let v = kind
                .check(v.clone())
                .map_err(|message| CommandError::BadParam {
                    command: c.name.clone(),
                    param: name.clone(),
                    message,
                })?;
            checked.insert(name.clone(), v);
        }
        c.send
            .render(&|slot| {
                if let Some((_, kind)) = c.params.iter().find(|(n, _)| n == slot) {
                    return Some((kind, checked.get(slot)?.clone()));
                }
                let s = self.setting(slot)?;
                Some((&s.kind, settings.get(slot)?.clone()))
            })
            .map_err(|message| CommandError::Encoding {
                command: c.name.clone(),
                message,
            })
    }

    /// The whole frame for a command, as sent on the wire.
    pub fn encode(
        &self,
        command: &str,
        params: &BTreeMap<String, Value>,
        settings: &BTreeMap<String, Value>,
    ) -> Result<Vec<u8>, CommandError> {
        let payload = self.encode_payload(command, params, settings)?;
        self.framing
            .wrap(&payload)
            .map_err(|message| CommandError::Encoding {
                command: command.to_string(),
                message,
            })
    }

    /// The state a message (a payload, framing removed) carries: the first
    /// response whose template it fits, its setting slots holding this
    /// device's settings. None when no response fits.
    /// `last_command` is the command sent last (for responses with `after`).
    pub fn parse_payload(
        &self,
        payload: &[u8],
        settings: &BTreeMap<String, Value>,
        last_command: Option<&str>,
    ) -> Option<(usize, BTreeMap<String, Value>)> {
        'responses: for (i, r) in self.responses.iter().enumerate() {
            if !r.after.is_empty() && !last_command.is_some_and(|c| r.after.iter().any(|a| a == c))
            {
                continue;
            }
            if let Some(mut values) = r.matcher.read(payload) {
                for s in &self.settings {
                    if let Some(v) = values.remove(&s.name) {
                        if settings.get(&s.name) != Some(&v) {
                            continue 'responses;
                        }
                    }
                }
                for (name, v) in &r.sets {
                    values.insert(name.clone(), v.clone());
                }
                return Some((i, values));
            }
        }
        None
    }
}

/// Everything wrong with one driver file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DriverErrors {
    pub file: String,
    pub errors: Vec<ProjectError>,
}

impl fmt::Display for DriverErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        writeln!(
            f,
            "{}: {n} error{}:",
            self.file,
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            writeln!(f, "  {}: {e}", self.file)?;
        }
        Ok(())
    }
}

impl std::error::Error for DriverErrors {}
