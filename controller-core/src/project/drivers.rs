//! Driver devices in a project (`[[devices]] driver = "pjlink"`): the
//! library driver a device names, its settings, the parameters a step or a
//! level hands a command, and the state the device reports, seen as
//! variables named `<device>.<state>` (`projector.power`). Validation and
//! the server both go through here, so a command that validates is exactly
//! the command the server sends.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::driver::library::Library;
use crate::driver::{CommandError, Driver, Kind, TransportKind, Value as DriverValue};

use super::{Device, Project, Value, Variable, VariableKind};

/// The variable holding a driver device's state: `<device>.<state>`.
pub fn state_variable(device: &str, state: &str) -> String {
    format!("{device}.{state}")
}

/// `(device, state)` when `variable` is a driver device's state in
/// `project` (`projector.power`), None for the file's own variables.
pub fn state_of_variable<'v>(project: &Project, variable: &'v str) -> Option<(&'v str, &'v str)> {
    if !project.device_state.iter().any(|v| v.id == variable) {
        return None;
    }
    variable.split_once('.')
}

/// The state a driver device is best summed up by, for a one-line view
/// (a Home Assistant entity, the station's room card): `power` where the
/// driver has it, else its input, level, mute, else its first state.
pub fn main_state(driver: &Driver) -> Option<&str> {
    ["power", "input", "level", "mute"]
        .into_iter()
        .find(|s| driver.state_def(s).is_some())
        .or_else(|| driver.state.first().map(|s| s.name.as_str()))
}

/// The driver a device names, if the library has it.
pub fn driver_of<'l>(device: &Device, library: &'l Library) -> Option<&'l Arc<Driver>> {
    library.get(device.driver.as_deref()?)
}

/// The state of every driver device as text variables, each empty until
/// the device reports it (text, so "not known yet" is not a number 0).
pub fn device_state(project: &Project, library: &Library) -> Vec<Variable> {
    let mut out = Vec::new();
    for d in &project.devices {
        let Some(driver) = driver_of(d, library) else {
            continue;
        };
        for s in &driver.state {
            out.push(Variable {
                id: state_variable(&d.id, &s.name),
                kind: VariableKind::Text,
                initial: None,
            });
        }
    }
    out
}

/// A state's value as its variable shows it (an enumeration by its name,
/// numbers as written).
pub fn state_text(value: &DriverValue) -> String {
    match value {
        DriverValue::Number(n) => super::format_number(*n),
        other => other.to_string(),
    }
}

/// A value from the project, as the driver's type wants it: `true`/`false`
/// are `on`/`off`, text is read as a person wrote it (`"on"`, `"-10"`).
pub fn driver_value(kind: &Kind, value: &Value) -> Result<DriverValue, String> {
    match value {
        Value::Bool(b) => kind.from_user(if *b { "on" } else { "off" }),
        Value::Number(n) => kind.check(DriverValue::Number(*n)),
        Value::Text(t) => kind.from_user(t),
    }
}

/// What is wrong with a device's settings: the setting at fault (None: the
/// settings as a whole) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub setting: Option<String>,
    pub message: String,
}

/// The device's settings, checked against its driver, the driver's
/// defaults filling the rest.
pub fn device_settings(
    device: &Device,
    driver: &Driver,
) -> Result<BTreeMap<String, DriverValue>, SettingError> {
    let mut given = BTreeMap::new();
    for (name, v) in &device.settings {
        let def = driver.setting(name).ok_or_else(|| SettingError {
            setting: Some(name.clone()),
            message: format!(
                "the {} driver has no setting {name:?}{}",
                driver.id,
                listed(driver.settings.iter().map(|s| s.name.as_str()))
            ),
        })?;
        let v = driver_value(&def.kind, v).map_err(|message| SettingError {
            setting: Some(name.clone()),
            message,
        })?;
        given.insert(name.clone(), v);
    }
    driver
        .resolve_settings(&given)
        .map_err(|message| SettingError {
            setting: None,
            message,
        })
}

/// `(known: a, b, c)` for an error message, empty when there is nothing.
pub(crate) fn listed<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" (known: {})", names.join(", "))
    }
}

/// The library drivers a mistyped or partial driver name most likely
/// meant, best first (at most [`MAX_SUGGESTED`]): ids close in spelling
/// (`pjlnk` → `pjlink`), ids that hold the name or are held by it
/// (`samsung` → `samsung-mdc`), and drivers whose maker or a model is the
/// name (`tesira` → `biamp-tesira`). Empty when nothing is close.
pub fn closest_drivers<'l>(name: &str, library: &'l Library) -> Vec<&'l str> {
    let wanted = name.trim().to_lowercase();
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut scored: Vec<(f64, &str)> = library
        .drivers
        .values()
        .filter_map(|d| {
            let id = d.id.as_str();
            let mut score = strsim::jaro_winkler(&wanted, id);
            if wanted.len() >= 3 && (id.contains(&wanted) || wanted.contains(id)) {
                score = score.max(0.9);
            }
            let named = |s: &str| {
                let s = s.to_lowercase();
                s == wanted || (wanted.len() >= 3 && s.split_whitespace().any(|w| w == wanted))
            };
            if named(&d.identity.maker) || d.identity.models.iter().any(|m| named(m)) {
                score = score.max(0.88);
            }
            (score >= SUGGEST_ABOVE).then_some((score, id))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.truncate(MAX_SUGGESTED);
    scored.into_iter().map(|(_, id)| id).collect()
}

/// At most this many driver names are suggested.
pub const MAX_SUGGESTED: usize = 3;
/// The Jaro-Winkler similarity a driver id needs to be suggested.
const SUGGEST_ABOVE: f64 = 0.85;

/// Where a parameter problem is: the step's `value`, one of its `params`,
/// or the command itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamField {
    Command,
    Value,
    Param(String),
    /// A parameter that was not given.
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub field: ParamField,
    pub message: String,
}

/// A step's parameters for `command`: `value` for a command with one
/// parameter, else `params` by name. Types are checked; what is missing or
/// unknown is left to [`Driver::encode`] (see [`command_bytes`]).
pub fn step_params(
    driver: &Driver,
    command: &str,
    value: Option<&Value>,
    params: Option<&BTreeMap<String, Value>>,
) -> Result<BTreeMap<String, DriverValue>, ParamError> {
    let c = driver.command(command).ok_or_else(|| ParamError {
        field: ParamField::Command,
        message: format!(
            "the {} driver has no command {command:?}{}",
            driver.id,
            listed(driver.commands.iter().map(|c| c.name.as_str()))
        ),
    })?;
    let mut out = BTreeMap::new();
    if let Some(v) = value {
        let [(name, kind)] = c.params.as_slice() else {
            return Err(ParamError {
                field: ParamField::Value,
                message: if c.params.is_empty() {
                    format!("{command} takes no parameter")
                } else {
                    format!(
                        "{command} takes several parameters: give them as params = {{ {} }}",
                        c.params
                            .iter()
                            .map(|(n, _)| format!("{n} = ..."))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            });
        };
        let v = driver_value(kind, v).map_err(|message| ParamError {
            field: ParamField::Value,
            message: format!("{command}: {name}: {message}"),
        })?;
        out.insert(name.clone(), v);
    }
    for (name, v) in params.into_iter().flatten() {
        let Some((_, kind)) = c.params.iter().find(|(n, _)| n == name) else {
            return Err(ParamError {
                field: ParamField::Param(name.clone()),
                message: format!(
                    "{command} has no parameter {name:?}{}",
                    listed(c.params.iter().map(|(n, _)| n.as_str()))
                ),
            });
        };
        let v = driver_value(kind, v).map_err(|message| ParamError {
            field: ParamField::Param(name.clone()),
            message: format!("{command}: {name}: {message}"),
        })?;
        out.insert(name.clone(), v);
    }
    Ok(out)
}

/// The bytes a command puts on the wire with these parameters and
/// settings; its error located as [`step_params`]'s are.
pub fn command_bytes(
    driver: &Driver,
    command: &str,
    params: &BTreeMap<String, DriverValue>,
    settings: &BTreeMap<String, DriverValue>,
) -> Result<Vec<u8>, ParamError> {
    driver
        .encode(command, params, settings)
        .map_err(|e| ParamError {
            field: match &e {
                CommandError::UnknownCommand { .. } => ParamField::Command,
                CommandError::UnknownParam { param, .. } | CommandError::BadParam { param, .. } => {
                    ParamField::Param(param.clone())
                }
                CommandError::MissingParam { .. } => ParamField::Missing,
                CommandError::Encoding { .. } => ParamField::Command,
            },
            message: e.to_string(),
        })
}

/// The one parameter of a command a level calls with its value (a
/// number) or its mute (`on`/`off`); an error in words when the command
/// does not take one such parameter.
pub fn level_param<'d>(
    driver: &'d Driver,
    command: &str,
    mute: bool,
) -> Result<(&'d str, &'d Kind), String> {
    let c = driver.command(command).ok_or_else(|| {
        format!(
            "the {} driver has no command {command:?}{}",
            driver.id,
            listed(driver.commands.iter().map(|c| c.name.as_str()))
        )
    })?;
    let [(name, kind)] = c.params.as_slice() else {
        return Err(format!(
            "{command} takes {} parameters; a level calls a command with one",
            c.params.len()
        ));
    };
    let fits = if mute {
        kind.from_user("on").is_ok() && kind.from_user("off").is_ok()
    } else {
        matches!(kind, Kind::Int { .. } | Kind::Number { .. })
    };
    if !fits {
        return Err(if mute {
            format!("{command}'s {name} is not on/off ({})", kind.describe())
        } else {
            format!("{command}'s {name} is not a number ({})", kind.describe())
        });
    }
    Ok((name, kind))
}

/// The parameters a level's command gets for `value` (clamped to the
/// parameter's range, whole for an int parameter).
pub fn level_params(
    driver: &Driver,
    command: &str,
    value: f64,
) -> Result<BTreeMap<String, DriverValue>, String> {
    let (name, kind) = level_param(driver, command, false)?;
    let v = match kind {
        Kind::Int { min, max } => {
            let mut i = value.round() as i64;
            if let Some(m) = min {
                i = i.max(*m);
            }
            if let Some(m) = max {
                i = i.min(*m);
            }
            DriverValue::Int(i)
        }
        Kind::Number { min, max } => {
            let mut n = value;
            if let Some(m) = min {
                n = n.max(*m);
            }
            if let Some(m) = max {
                n = n.min(*m);
            }
            DriverValue::Number(n)
        }
        _ => return Err(format!("{command}'s {name} is not a number")),
    };
    Ok(BTreeMap::from([(name.to_string(), v)]))
}

/// The parameters a level's mute command gets.
pub fn mute_params(
    driver: &Driver,
    command: &str,
    muted: bool,
) -> Result<BTreeMap<String, DriverValue>, String> {
    let (name, kind) = level_param(driver, command, true)?;
    let v = kind.from_user(if muted { "on" } else { "off" })?;
    Ok(BTreeMap::from([(name.to_string(), v)]))
}

/// Where a driver device is: its address, with the driver's port when the
/// project gives only the host. A serial driver's device is a port path
/// (`/dev/ttyUSB0`) or a serial-to-IP gateway's `host:port`.
pub fn device_endpoint(device: &Device, driver: &Driver) -> Result<Endpoint, String> {
    let address = device.address.trim();
    if address.is_empty() {
        return Err("the device address is empty".into());
    }
    if driver.transport.kind == TransportKind::Serial && address.starts_with('/') {
        return Ok(Endpoint::SerialPort(address.to_string()));
    }
    if address.contains('/') || address.chars().any(char::is_whitespace) {
        return Err(format!(
            "{address:?} is not a host or host:port{}",
            if driver.transport.kind == TransportKind::Serial {
                " (or a serial port path such as /dev/ttyUSB0)"
            } else {
                ""
            }
        ));
    }
    let with_port = match split_port(address) {
        Some((host, port)) => {
            let port: u16 = port
                .parse()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{port:?} is not a port number (1-65535)"))?;
            (host.to_string(), port)
        }
        None => {
            let port = driver.transport.port.ok_or_else(|| {
                format!(
                    "the {} driver has no default port: write the address as host:port",
                    driver.id
                )
            })?;
            (address.trim_matches(['[', ']']).to_string(), port)
        }
    };
    if with_port.0.is_empty() {
        return Err("the address has no host".into());
    }
    Ok(match driver.transport.kind {
        TransportKind::Udp => Endpoint::Udp(with_port.0, with_port.1),
        TransportKind::Http => Endpoint::Http(with_port.0, with_port.1),
        TransportKind::Tcp | TransportKind::Serial => Endpoint::Tcp(with_port.0, with_port.1),
    })
}

/// `host:port` split at the port, brackets of an IPv6 host removed; None
/// when no port is given (a bare IPv6 address has colons but no port).
fn split_port(address: &str) -> Option<(&str, &str)> {
    if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return Some((host, after.strip_prefix(':')?));
    }
    let (host, port) = address.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host, port))
}

/// How the server reaches a driver device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(String, u16),
    Udp(String, u16),
    /// Requests to `http://host:port`, one per command.
    Http(String, u16),
    /// A local serial port, framed as the driver says.
    SerialPort(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pjlink() -> Arc<Driver> {
        Library::shared().get("pjlink").unwrap().clone()
    }

    fn device(address: &str) -> Device {
        let text = format!(
            "[project]\nname = \"x\"\n[[devices]]\nid = \"p\"\ndriver = \"pjlink\"\naddress = \"{address}\"\n"
        );
        let p: Project = toml::from_str(&text).unwrap();
        p.devices[0].clone()
    }

    #[test]
    fn addresses_take_the_drivers_port_when_none_is_given() {
        let d = pjlink();
        assert_eq!(
            device_endpoint(&device("10.0.0.20"), &d),
            Ok(Endpoint::Tcp("10.0.0.20".into(), 4352))
        );
        assert_eq!(
            device_endpoint(&device("10.0.0.20:1234"), &d),
            Ok(Endpoint::Tcp("10.0.0.20".into(), 1234))
        );
        assert_eq!(
            device_endpoint(&device("[::1]:99"), &d),
            Ok(Endpoint::Tcp("::1".into(), 99))
        );
        assert!(device_endpoint(&device("10.0.0.20:0"), &d).is_err());
        assert!(device_endpoint(&device("/dev/ttyUSB0"), &d).is_err());
    }

    #[test]
    fn a_step_value_is_the_commands_one_parameter() {
        let d = pjlink();
        let p = step_params(&d, "power", Some(&Value::Text("on".into())), None).unwrap();
        assert_eq!(p["value"], DriverValue::Text("on".into()));
        let p = step_params(&d, "power", Some(&Value::Bool(false)), None).unwrap();
        assert_eq!(p["value"], DriverValue::Text("off".into()));
        let e = step_params(&d, "power", Some(&Value::Text("maybe".into())), None).unwrap_err();
        assert_eq!(e.field, ParamField::Value);
        let e = step_params(&d, "powr", None, None).unwrap_err();
        assert_eq!(e.field, ParamField::Command);
        assert!(e.message.contains("power_query"), "{}", e.message);
    }
}
