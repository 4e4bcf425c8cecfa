//! A device generated from its driver: it holds the driver's state (each at
//! its `default`, else a sample value), recognises the commands by their
//! templates, applies their `sets` and answers with their `reply`
//! templates; it runs the login from the device's side. Fault modes make it
//! misbehave as real devices do. Sans-IO: the server's simulator serves it
//! on a socket (`roomctl simulate --driver ...`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::framing::Decoder;
use super::session::login_frame;
use super::{Driver, Framing, SetValue, Value};

/// How the simulated device misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// Reads everything, answers nothing.
    Silent,
    /// Answers after this many milliseconds.
    Slow { delay_ms: u64 },
    /// Corrupts one byte of every answer.
    Garbled,
    /// Closes the connection after this many commands.
    Disconnecting { after: u32 },
    /// Refuses every login.
    RefuseLogin,
}

impl Fault {
    /// `silent`, `slow`, `slow:500`, `garbled`, `disconnecting`,
    /// `disconnecting:3`, `refuse-login`.
    pub fn parse(s: &str) -> Result<Fault, String> {
        let (name, arg) = s.split_once(':').unwrap_or((s, ""));
        let number = |default: u64| -> Result<u64, String> {
            if arg.is_empty() {
                Ok(default)
            } else {
                arg.parse()
                    .map_err(|_| format!("{arg:?} is not a whole number"))
            }
        };
        Ok(match name {
            "none" => Fault::None,
            "silent" => Fault::Silent,
            "slow" => Fault::Slow {
                delay_ms: number(2000)?.min(600_000),
            },
            "garbled" => Fault::Garbled,
            "disconnecting" => Fault::Disconnecting {
                after: number(1)?.min(u64::from(u32::MAX)) as u32,
            },
            "refuse-login" => Fault::RefuseLogin,
            _ => {
                return Err(format!(
                    "{s:?} is not a fault: none, silent, slow[:ms], garbled, disconnecting[:n], refuse-login"
                ))
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes after `delay_ms`.
    Send { bytes: Vec<u8>, delay_ms: u64 },
    /// Close the connection.
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the answer to login step `step`.
    Login {
        step: usize,
    },
    Ready,
    Closed,
}

/// One simulated device. Its state outlives connections (as a real
/// device's does): call [`SimDevice::connect`] for each new one.
#[derive(Debug, Clone)]
pub struct SimDevice {
    driver: Arc<Driver>,
    settings: BTreeMap<String, Value>,
    state: BTreeMap<String, Value>,
    fault: Fault,
    phase: Phase,
    /// The driver's framing from the device's side.
    framing: Framing,
    decoder: Decoder,
    commands: u32,
    /// Messages that matched no command.
    pub unknown: u64,
    /// The commands recognised, newest last, with their parameters (at
    /// most [`HISTORY`]): what a test asks the simulated device.
    history: VecDeque<Heard>,
    /// The commands recognised since the device was made (not bounded by
    /// [`HISTORY`]): the newest `heard_total - before` of the history are
    /// the ones a call to [`SimDevice::receive`] recognised.
    heard_total: u64,
}

/// The commands a simulated device remembers.
pub const HISTORY: usize = 1024;

/// A command a simulated device recognised.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    pub command: String,
    pub params: BTreeMap<String, Value>,
}

impl SimDevice {
    pub fn new(driver: Arc<Driver>, settings: BTreeMap<String, Value>, fault: Fault) -> SimDevice {
        let state = driver
            .state
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.default.clone().unwrap_or_else(|| s.kind.sample()),
                )
            })
            .collect();
        let framing = driver.framing.mirrored();
        let decoder = framing.decoder();
        SimDevice {
            driver,
            settings,
            state,
            fault,
            phase: Phase::Closed,
            framing,
            decoder,
            commands: 0,
            unknown: 0,
            history: VecDeque::new(),
            heard_total: 0,
        }
    }

    /// The commands recognised so far, oldest first (the last [`HISTORY`]).
    pub fn history(&self) -> impl DoubleEndedIterator<Item = &Heard> {
        self.history.iter()
    }

    pub fn state(&self) -> &BTreeMap<String, Value> {
        &self.state
    }

    /// How many commands the device has recognised in all.
    pub fn heard_total(&self) -> u64 {
        self.heard_total
    }

    /// Changes a piece of state as someone at the device would (its front
    /// panel, its remote): the device reports it when next asked. Refused
    /// when the driver has no such state or the value does not fit it.
    pub fn set_state(&mut self, name: &str, value: Value) -> Result<(), String> {
        let Some(def) = self.driver.state_def(name) else {
            return Err(format!(
                "the {} driver has no state {name:?}",
                self.driver.id
            ));
        };
        let value = def.kind.check(value)?;
        self.state.insert(name.to_string(), value);
        Ok(())
    }

    pub fn set_fault(&mut self, fault: Fault) {
        self.fault = fault;
    }

    pub fn fault(&self) -> Fault {
        self.fault
    }

    /// A client connected: the greeting or first login prompt.
    pub fn connect(&mut self) -> Vec<Output> {
        self.decoder = self.framing.decoder();
        self.commands = 0;
        let mut out = Vec::new();
        match &self.driver.login {
            None => self.phase = Phase::Ready,
            Some(_) => {
                self.phase = Phase::Login { step: 0 };
                self.prompts(&mut out);
            }
        }
        out
    }

    /// Sends prompts from the current step until one waits for an answer.
    fn prompts(&mut self, out: &mut Vec<Output>) {
        let driver = Arc::clone(&self.driver);
        let Some(login) = &driver.login else {
            return;
        };
        while let Phase::Login { step } = self.phase {
            match login.steps.get(step) {
                Some(s) => {
                    self.send(s.prompt.clone(), out);
                    if s.send.is_some() {
                        return;
                    }
                    self.phase = Phase::Login { step: step + 1 };
                }
                None => {
                    if let Some(text) = &login.success {
                        self.send(text.clone(), out);
                    }
                    self.phase = Phase::Ready;
                }
            }
        }
    }

    fn send(&self, mut bytes: Vec<u8>, out: &mut Vec<Output>) {
        match self.fault {
            Fault::Silent => {}
            Fault::Slow { delay_ms } => out.push(Output::Send { bytes, delay_ms }),
            Fault::Garbled => {
                if !bytes.is_empty() {
                    let i = bytes.len() / 2;
                    bytes[i] ^= 0x5A;
                }
                out.push(Output::Send { bytes, delay_ms: 0 });
            }
            _ => out.push(Output::Send { bytes, delay_ms: 0 }),
        }
    }

    /// Bytes from the client.
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<Output> {
        let mut out = Vec::new();
        for payload in self.decoder.push(bytes) {
            match self.phase {
                Phase::Closed => break,
                Phase::Login { step } => self.login_answer(step, &payload, &mut out),
                Phase::Ready => {
                    self.command(&payload, &mut out);
                    self.commands += 1;
                    if let Fault::Disconnecting { after } = self.fault {
                        if self.commands >= after {
                            self.phase = Phase::Closed;
                            out.push(Output::Close);
                        }
                    }
                }
            }
        }
        out
    }

    fn login_answer(&mut self, step: usize, payload: &[u8], out: &mut Vec<Output>) {
        let driver = Arc::clone(&self.driver);
        let Some(login) = &driver.login else {
            return;
        };
        let settings = &self.settings;
        let expected = login.steps[step].send.as_ref().and_then(|t| {
            t.render(&|slot| {
                let s = driver.setting(slot)?;
                Some((&s.kind, settings.get(slot)?.clone()))
            })
            .ok()
        });
        // The decoder has already removed the terminator a line login sends.
        let expected = expected.map(|e| match &driver.framing {
            Framing::Line { .. } | Framing::Datagram { .. } => e,
            Framing::Binary { .. } => login_frame(&driver.framing, &e).unwrap_or(e),
        });
        if self.fault == Fault::RefuseLogin || expected.as_deref() != Some(payload) {
            if let Some(f) = &login.failure {
                self.send(f.clone(), out);
            }
            self.phase = Phase::Closed;
            out.push(Output::Close);
            return;
        }
        self.phase = Phase::Login { step: step + 1 };
        self.prompts(out);
    }

    fn command(&mut self, payload: &[u8], out: &mut Vec<Output>) {
        let driver = Arc::clone(&self.driver);
        let matching: Vec<_> = driver
            .commands
            .iter()
            .filter_map(|c| c.matcher.read(payload).map(|v| (c, v)))
            .collect();
        if matching.is_empty() {
            self.unknown += 1;
            return;
        }
        // Of the commands whose template matches, those addressed to this
        // device: a slot naming a setting must hold this device's value (a
        // Samsung display answers only to its own id; Symetrix's `GS2 1`
        // is the fader query when the fader is control 1, the mute query
        // when the mute is). None: the message is for another device.
        // Then the most specific template wins (`POWR ?` over `POWR {value}`).
        let found = matching
            .into_iter()
            .filter(|(command, values)| {
                values.iter().all(|(name, v)| {
                    command.params.iter().any(|(p, _)| p == name)
                        || self.settings.get(name).is_none_or(|own| own == v)
                })
            })
            .max_by_key(|(c, _)| c.matcher.specificity());
        let Some((command, values)) = found else {
            return;
        };
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.heard_total += 1;
        self.history.push_back(Heard {
            command: command.name.clone(),
            params: values
                .iter()
                .filter(|(n, _)| command.params.iter().any(|(p, _)| p == *n))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
        });
        for (state, set) in &command.sets {
            let value = match set {
                SetValue::Param(p) => values.get(p).cloned(),
                SetValue::Fixed(v) => Some(v.clone()),
            };
            if let (Some(v), Some(def)) = (value, driver.state_def(state)) {
                if let Ok(v) = def.kind.check(v) {
                    self.state.insert(state.clone(), v);
                }
            }
        }
        for reply in &command.reply {
            let state = &self.state;
            let settings = &self.settings;
            let rendered = reply.render(&|slot| {
                if let Some((_, kind)) = command.params.iter().find(|(n, _)| n == slot) {
                    return Some((kind, values.get(slot)?.clone()));
                }
                if let Some(s) = driver.setting(slot) {
                    return Some((&s.kind, settings.get(slot)?.clone()));
                }
                let s = driver.state_def(slot)?;
                Some((&s.kind, state.get(slot)?.clone()))
            });
            if let Ok(frame) = rendered.and_then(|p| self.framing.wrap(&p)) {
                self.send(frame, out);
            }
        }
    }
}
