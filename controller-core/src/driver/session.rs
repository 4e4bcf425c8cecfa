//! One connection to a device, driven by its driver: the login exchange,
//! commands out, messages in (read into named state), polls on their
//! intervals and liveness. Sans-IO: the caller hands in bytes and the time
//! (milliseconds on any monotonic clock) and writes out what it is given.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::framing::{Decoder, Dropped, Framing};
use super::{CommandError, Driver, Value};

/// Bytes kept while waiting for a login prompt (a chatty banner is cut to
/// its tail, so a device cannot grow it without bound).
const MAX_LOGIN_BUFFER: usize = 4096;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Write these bytes to the device.
    Send(Vec<u8>),
    /// A piece of state now has this value (sent only when it changes).
    State { name: String, value: Value },
    /// The login finished (or there is none): commands may be sent.
    Ready,
    /// The device refused the login; the connection is of no use.
    LoginRefused,
    /// A whole message that no response of the driver describes.
    Unrecognised(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Disconnected,
    /// Waiting for login step `step`'s prompt; `step == steps.len()` waits
    /// for the success text.
    LoggingIn {
        step: usize,
    },
    Ready,
    Refused,
}

#[derive(Debug)]
pub struct Session {
    driver: Arc<Driver>,
    settings: BTreeMap<String, Value>,
    phase: Phase,
    raw: Vec<u8>,
    decoder: Decoder,
    state: BTreeMap<String, Value>,
    last_heard_ms: Option<u64>,
    connected_ms: u64,
    next_poll_ms: Vec<u64>,
    /// The device's own interval for every poll (`poll_secs` in the
    /// project), instead of the driver's.
    poll_secs: Option<u32>,
    /// Whole messages no response described.
    pub unrecognised: u64,
    /// The command sent last (responses may answer only it).
    last_command: Option<String>,
}

impl Session {
    /// `settings` as resolved by [`Driver::resolve_settings`].
    pub fn new(driver: Arc<Driver>, settings: BTreeMap<String, Value>) -> Session {
        let decoder = driver.framing.decoder();
        let polls = driver.polls.len();
        Session {
            driver,
            settings,
            phase: Phase::Disconnected,
            raw: Vec::new(),
            decoder,
            state: BTreeMap::new(),
            last_heard_ms: None,
            connected_ms: 0,
            next_poll_ms: vec![0; polls],
            poll_secs: None,
            unrecognised: 0,
            last_command: None,
        }
    }

    /// Every poll every `secs` seconds instead of the driver's intervals
    /// (a device's `poll_secs`); None keeps the driver's.
    pub fn with_poll_secs(mut self, secs: Option<u32>) -> Session {
        self.poll_secs = secs.map(|s| s.max(1));
        self
    }

    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn state(&self) -> &BTreeMap<String, Value> {
        &self.state
    }

    /// What the framing dropped (garbage, bad frames, oversized).
    pub fn dropped(&self) -> Dropped {
        self.decoder.dropped
    }

    /// A new connection: any login starts; polls are due at once.
    pub fn connected(&mut self, now_ms: u64) -> Vec<Event> {
        self.raw.clear();
        self.decoder = self.driver.framing.decoder();
        self.connected_ms = now_ms;
        self.next_poll_ms.iter_mut().for_each(|t| *t = now_ms);
        match &self.driver.login {
            Some(_) => {
                self.phase = Phase::LoggingIn { step: 0 };
                Vec::new()
            }
            None => {
                self.phase = Phase::Ready;
                let mut out = vec![Event::Ready];
                self.greet(&mut out);
                out
            }
        }
    }

    /// The on_connect commands, once ready.
    fn greet(&mut self, out: &mut Vec<Event>) {
        let driver = Arc::clone(&self.driver);
        for c in &driver.on_connect {
            if let Ok(bytes) = self.command(&c.command, &c.params) {
                out.push(Event::Send(bytes));
            }
        }
    }

    pub fn disconnected(&mut self) {
        self.phase = Phase::Disconnected;
        self.raw.clear();
    }

    /// Bytes from the device.
    pub fn receive(&mut self, bytes: &[u8], now_ms: u64) -> Vec<Event> {
        let mut out = Vec::new();
        match self.phase {
            Phase::Disconnected | Phase::Refused => {}
            Phase::LoggingIn { .. } => {
                self.raw.extend_from_slice(bytes);
                if self.raw.len() > MAX_LOGIN_BUFFER {
                    let cut = self.raw.len() - MAX_LOGIN_BUFFER;
                    self.raw.drain(..cut);
                }
                self.login(&mut out, now_ms);
            }
            Phase::Ready => self.messages(bytes, &mut out, now_ms),
        }
        out
    }

    fn login(&mut self, out: &mut Vec<Event>, now_ms: u64) {
        let driver = Arc::clone(&self.driver);
        let Some(login) = &driver.login else {
            return;
        };
        loop {
            let Phase::LoggingIn { step } = self.phase else {
                return;
            };
            if let Some(f) = &login.failure {
                if find(&self.raw, f).is_some() {
                    self.phase = Phase::Refused;
                    out.push(Event::LoginRefused);
                    return;
                }
            }
            let (needle, next) = match login.steps.get(step) {
                Some(s) => (&s.prompt, Phase::LoggingIn { step: step + 1 }),
                None => match &login.success {
                    Some(text) => (text, Phase::Ready),
                    None => {
                        self.phase = Phase::Ready;
                        out.push(Event::Ready);
                        self.greet(out);
                        let rest = std::mem::take(&mut self.raw);
                        self.messages(&rest, out, now_ms);
                        return;
                    }
                },
            };
            let Some(i) = find(&self.raw, needle) else {
                return;
            };
            self.raw.drain(..i + needle.len());
            self.last_heard_ms = Some(now_ms);
            if let Some(send) = login.steps.get(step).and_then(|s| s.send.as_ref()) {
                let settings = &self.settings;
                let rendered = send.render(&|slot| {
                    let s = driver.setting(slot)?;
                    Some((&s.kind, settings.get(slot)?.clone()))
                });
                match rendered.and_then(|b| login_frame(&driver.framing, &b)) {
                    Ok(bytes) => out.push(Event::Send(bytes)),
                    Err(_) => {
                        self.phase = Phase::Refused;
                        out.push(Event::LoginRefused);
                        return;
                    }
                }
            }
            self.phase = next;
            if next == Phase::Ready {
                out.push(Event::Ready);
                self.greet(out);
                let rest = std::mem::take(&mut self.raw);
                self.messages(&rest, out, now_ms);
                return;
            }
        }
    }

    fn messages(&mut self, bytes: &[u8], out: &mut Vec<Event>, now_ms: u64) {
        for payload in self.decoder.push(bytes) {
            match self
                .driver
                .parse_payload(&payload, &self.settings, self.last_command.as_deref())
            {
                Some((_, values)) => {
                    self.last_heard_ms = Some(now_ms);
                    for (name, value) in values {
                        if self.state.get(&name) != Some(&value) {
                            self.state.insert(name.clone(), value.clone());
                            out.push(Event::State { name, value });
                        }
                    }
                }
                None => {
                    self.unrecognised += 1;
                    out.push(Event::Unrecognised(payload));
                }
            }
        }
    }

    /// The bytes for a command, which the caller then sends.
    pub fn command(
        &mut self,
        name: &str,
        params: &BTreeMap<String, Value>,
    ) -> Result<Vec<u8>, CommandError> {
        let bytes = self.driver.encode(name, params, &self.settings)?;
        self.last_command = Some(name.to_string());
        Ok(bytes)
    }

    /// The polls due by `now_ms`, each then scheduled its interval later.
    pub fn due_polls(&mut self, now_ms: u64) -> Vec<Vec<u8>> {
        if self.phase != Phase::Ready {
            return Vec::new();
        }
        let mut out = Vec::new();
        let driver = Arc::clone(&self.driver);
        for (i, poll) in driver.polls.iter().enumerate() {
            if self.next_poll_ms[i] <= now_ms {
                let every = self.poll_secs.unwrap_or(poll.every_secs);
                self.next_poll_ms[i] = now_ms + u64::from(every) * 1000;
                if let Ok(bytes) = self.command(&poll.command, &poll.params) {
                    out.push(bytes);
                }
            }
        }
        out
    }

    /// When the next poll is due (None: no polls).
    pub fn next_poll_ms(&self) -> Option<u64> {
        self.next_poll_ms.iter().copied().min()
    }

    /// Up: ready and heard from within the liveness timeout (counted from
    /// the connection when nothing was heard yet). Without a liveness
    /// rule, up while connected and logged in.
    pub fn alive(&self, now_ms: u64) -> bool {
        if self.phase != Phase::Ready {
            return false;
        }
        match self.driver.liveness_secs {
            None => true,
            Some(secs) => {
                let since = self.last_heard_ms.unwrap_or(self.connected_ms);
                now_ms.saturating_sub(since) <= u64::from(secs) * 1000
            }
        }
    }
}

/// A login answer as sent: with the line terminator (binary drivers send it as is).
pub(super) fn login_frame(framing: &Framing, bytes: &[u8]) -> Result<Vec<u8>, String> {
    match framing {
        Framing::Line { .. } | Framing::Datagram { .. } => framing.wrap(bytes),
        Framing::Binary { .. } => Ok(bytes.to_vec()),
    }
}

pub(super) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}
