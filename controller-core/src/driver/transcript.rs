//! A driver's transcript: the examples of the maker's protocol document,
//! kept beside the driver (`drivers/pjlink.transcript.toml`), and the
//! conformance checks run on them:
//! - each command with its parameters gives exactly the documented bytes,
//! - each documented reply reads into exactly the documented state,
//! - every command and every response of the driver has an example,
//! - the driver against its own simulator: every value the driver reads
//!   back after a command and the polls is what the simulator holds.
//!
//! ```toml
//! [[commands]]
//! command = "power"
//! params = { value = "on" }
//! text = "%1POWR 1\r"          # or hex = "AA 11 01 01 01 14"
//! source = "5.1 POWR"           # where in the document
//!
//! [[replies]]
//! text = "%1POWR=1\r"
//! state = { power = "on" }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::session::{Event, Session};
use super::simulator::{Fault, Output, SimDevice};
use super::validate::sample_settings;
use super::{Driver, Value};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcript {
    /// Settings the examples assume (e.g. a display id).
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub commands: Vec<CommandCase>,
    #[serde(default)]
    pub replies: Vec<ReplyCase>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandCase {
    pub command: String,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub hex: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyCase {
    /// The command this answers, for responses read only after one.
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub hex: Option<String>,
    #[serde(default)]
    pub state: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub source: Option<String>,
}

fn bytes_of(text: &Option<String>, hex: &Option<String>) -> Result<Vec<u8>, String> {
    match (text, hex) {
        (Some(t), None) => Ok(t.clone().into_bytes()),
        (None, Some(h)) => crate::logic::escape::decode_hex(h).map_err(|e| e.to_string()),
        _ => Err("give exactly one of text and hex".to_string()),
    }
}

fn show(bytes: &[u8]) -> String {
    crate::logic::escape::encode_escapes(bytes)
}

/// What a transcript check found.
#[derive(Debug, Default)]
pub struct Report {
    pub commands_checked: usize,
    pub replies_checked: usize,
    pub failures: Vec<String>,
}

impl Transcript {
    pub fn from_toml(text: &str) -> Result<Transcript, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The settings the examples assume, defaults for the rest.
    pub fn settings(&self, driver: &Driver) -> Result<BTreeMap<String, Value>, String> {
        let mut given = BTreeMap::new();
        for (name, v) in &self.settings {
            let s = driver
                .setting(name)
                .ok_or_else(|| format!("the driver has no setting {name:?}"))?;
            given.insert(name.clone(), s.kind.from_toml(v)?);
        }
        let mut all = sample_settings(driver);
        all.extend(given);
        Ok(all)
    }

    /// A command case's parameters, typed.
    pub fn params(driver: &Driver, case: &CommandCase) -> Result<BTreeMap<String, Value>, String> {
        let c = driver
            .command(&case.command)
            .ok_or_else(|| format!("the driver has no command {:?}", case.command))?;
        let mut out = BTreeMap::new();
        for (name, v) in &case.params {
            let (_, kind) = c
                .params
                .iter()
                .find(|(n, _)| n == name)
                .ok_or_else(|| format!("{} has no parameter {name:?}", c.name))?;
            out.insert(name.clone(), kind.from_toml(v)?);
        }
        Ok(out)
    }

    /// The documented bytes and state, checked against the driver.
    pub fn check(&self, driver: &Driver) -> Report {
        let mut report = Report::default();
        let settings = match self.settings(driver) {
            Ok(s) => s,
            Err(e) => {
                report.failures.push(format!("settings: {e}"));
                return report;
            }
        };
        for (i, case) in self.commands.iter().enumerate() {
            let label = format!("commands[{i}] ({})", case.command);
            report.commands_checked += 1;
            let expected = match bytes_of(&case.text, &case.hex) {
                Ok(b) => b,
                Err(e) => {
                    report.failures.push(format!("{label}: {e}"));
                    continue;
                }
            };
            let sent = Self::params(driver, case).and_then(|p| {
                driver
                    .encode(&case.command, &p, &settings)
                    .map_err(|e| e.to_string())
            });
            match sent {
                Ok(b) if b == expected => {}
                Ok(b) => report.failures.push(format!(
                    "{label}: sends {:?}, the document says {:?}",
                    show(&b),
                    show(&expected)
                )),
                Err(e) => report.failures.push(format!("{label}: {e}")),
            }
        }
        let mut responses_seen = vec![false; driver.responses.len()];
        for (i, case) in self.replies.iter().enumerate() {
            let label = format!("replies[{i}]");
            report.replies_checked += 1;
            let bytes = match bytes_of(&case.text, &case.hex) {
                Ok(b) => b,
                Err(e) => {
                    report.failures.push(format!("{label}: {e}"));
                    continue;
                }
            };
            let mut decoder = driver.framing.decoder();
            let payloads = decoder.push(&bytes);
            if payloads.len() != 1 || decoder.buffered() != 0 || decoder.dropped.total() != 0 {
                report.failures.push(format!(
                    "{label}: {:?} is not exactly one whole message ({} read, {} bytes left, {} dropped)",
                    show(&bytes),
                    payloads.len(),
                    decoder.buffered(),
                    decoder.dropped.total()
                ));
                continue;
            }
            let Some((r, values)) =
                driver.parse_payload(&payloads[0], &settings, case.after.as_deref())
            else {
                report
                    .failures
                    .push(format!("{label}: no response reads {:?}", show(&bytes)));
                continue;
            };
            responses_seen[r] = true;
            let mut expected = BTreeMap::new();
            for (name, v) in &case.state {
                match driver.state_def(name).map(|d| d.kind.from_toml(v)) {
                    Some(Ok(v)) => {
                        expected.insert(name.clone(), v);
                    }
                    Some(Err(e)) => report.failures.push(format!("{label}: state {name}: {e}")),
                    None => report
                        .failures
                        .push(format!("{label}: the driver has no state {name:?}")),
                }
            }
            if values != expected {
                report.failures.push(format!(
                    "{label}: {:?} reads as {values:?}, the document says {expected:?}",
                    show(&bytes)
                ));
            }
        }
        for c in &driver.commands {
            if !self.commands.iter().any(|case| case.command == c.name) {
                report.failures.push(format!(
                    "command {} has no example in the transcript",
                    c.name
                ));
            }
        }
        for (r, seen) in driver.responses.iter().zip(&responses_seen) {
            if !seen {
                report.failures.push(format!(
                    "response {:?} has no example reply in the transcript",
                    r.name.clone().unwrap_or_else(|| "(unnamed)".to_string())
                ));
            }
        }
        report
    }

    /// The driver against its simulator: login, then each command of the
    /// transcript followed by every poll. The simulator must recognise
    /// each of them as that command (a poll it ignored would leave the
    /// driver's state unread), and every state value the driver reads must
    /// be what the simulator holds at that moment.
    pub fn round_trip(&self, driver: &Arc<Driver>) -> Result<usize, String> {
        let settings = self.settings(driver)?;
        let mut sim = SimDevice::new(Arc::clone(driver), settings.clone(), Fault::None);
        let mut session = Session::new(Arc::clone(driver), settings);
        log_in(&mut sim, &mut session)?;
        let mut checked = 0;
        for case in &self.commands {
            let params = Self::params(driver, case)?;
            let mut calls = vec![(case.command.clone(), params.clone())];
            calls.extend(
                driver
                    .polls
                    .iter()
                    .map(|p| (p.command.clone(), p.params.clone())),
            );
            for (command, params) in calls {
                checked += call(&mut sim, &mut session, &command, &params)
                    .map_err(|why| format!("after {}: {why}", case.command))?;
            }
        }
        Ok(checked)
    }
}

/// The login between a driver's session and its simulator: bytes passed
/// back and forth until both are quiet; the session must then be ready.
fn log_in(sim: &mut SimDevice, session: &mut Session) -> Result<(), String> {
    let mut to_session = sim.connect();
    let mut events = session.connected(0);
    let mut rounds = 0;
    loop {
        rounds += 1;
        if rounds > 64 {
            return Err("the login does not settle".to_string());
        }
        let mut to_sim = Vec::new();
        for out in to_session.drain(..) {
            match out {
                Output::Send { bytes, .. } => events.extend(session.receive(&bytes, 0)),
                Output::Close => return Err("the simulator closed during login".to_string()),
            }
        }
        for e in events.drain(..) {
            match e {
                Event::Send(b) => to_sim.push(b),
                Event::LoginRefused => return Err("the simulator refused the login".to_string()),
                _ => {}
            }
        }
        if to_sim.is_empty() {
            break;
        }
        for b in to_sim {
            to_session.extend(sim.receive(&b));
        }
    }
    if session.phase() != super::session::Phase::Ready {
        return Err(format!("the login did not finish ({:?})", session.phase()));
    }
    Ok(())
}

/// One command from the session to the simulator and the reply back: the
/// simulator must recognise it as `command`, and each state the driver
/// reads from the reply must be what the simulator holds. The number of
/// states checked.
fn call(
    sim: &mut SimDevice,
    session: &mut Session,
    command: &str,
    params: &BTreeMap<String, Value>,
) -> Result<usize, String> {
    let frame = session
        .command(command, params)
        .map_err(|e| e.to_string())?;
    let heard = sim.heard_total();
    let replies = sim.receive(&frame);
    let recognised = sim.history().next_back().map(|h| h.command.as_str());
    if sim.heard_total() != heard + 1 || recognised != Some(command) {
        return Err(format!(
            "the simulator did not recognise {} as {command} (it heard {})",
            show(&frame),
            recognised
                .filter(|_| sim.heard_total() > heard)
                .unwrap_or("nothing")
        ));
    }
    let mut checked = 0;
    for out in replies {
        let Output::Send { bytes, .. } = out else {
            return Err("the simulator closed the connection".to_string());
        };
        for e in session.receive(&bytes, 0) {
            match e {
                Event::State { name, value } => {
                    checked += 1;
                    let held = sim.state().get(&name);
                    if !same(held, &value) {
                        return Err(format!(
                            "the driver reads {name} = {value}, the simulator holds {held:?}"
                        ));
                    }
                }
                Event::Unrecognised(m) => {
                    return Err(format!(
                        "the driver does not recognise the simulator's {:?}",
                        show(&m)
                    ))
                }
                _ => {}
            }
        }
    }
    Ok(checked)
}

/// Equal, numbers to within what a reply's decimals keep.
fn same(held: Option<&Value>, read: &Value) -> bool {
    match (held, read) {
        (Some(Value::Number(a)), Value::Number(b)) => (a - b).abs() < 1e-6,
        (Some(Value::Int(a)), Value::Number(b)) | (Some(Value::Number(b)), Value::Int(a)) => {
            (*a as f64 - b).abs() < 1e-6
        }
        (Some(a), b) => a == b,
        (None, _) => false,
    }
}
