//! Room devices: one task per device, which owns its connection.
//!
//! Sequences hand a device task a [`DeviceRequest`] through its
//! [`DeviceHandle`] and get the outcome back; lines the device sends go to
//! the feedback task. Each task reports its connection state to the status
//! page (`Controller::device_update`) and, when the project says so, drives
//! a button's LED (`status_led`). The transports (tcp, udp, http, serial)
//! each have a file; tcp and serial share their line-by-line session
//! (`stream.rs`); what all share (state reporting, request handling) is here.

mod driven;
mod http;
mod serial;
mod stream;
mod tcp;
mod udp;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use controller_core::driver::Value as DriverValue;
use controller_core::engine::Command;
use controller_core::logic::notices::{owned_state, BusyReply, UNKNOWN};
use controller_core::logic::{
    decode_escapes, parse_device_address, parse_http_step, parse_serial, DeviceAddress, SerialLine,
    Trouble,
};
use controller_core::project::drivers::state_text;
use controller_core::project::{Device, LedMode, Project, Transport, Value, WhenBusy};
use controller_core::view::DeviceStatus;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::codec::AnyDelimiterCodec;
use tokio_util::sync::CancellationToken;

use super::feedback::FeedbackLine;
use crate::state::bus::{BusEvent, DeviceBusy};
use crate::state::controller::Controller;

impl DeviceError {
    /// How the device let a request down, in the terms a panel notice
    /// uses; None when it was not the device's doing.
    pub fn trouble(&self) -> Option<Trouble> {
        match self {
            DeviceError::NotConnected { .. }
            | DeviceError::Failed { .. }
            | DeviceError::Timeout(_) => Some(Trouble::Down),
            DeviceError::Busy(_) | DeviceError::Refused(_) => Some(Trouble::Busy),
            DeviceError::Unknown(_) | DeviceError::Stopping(_) | DeviceError::Invalid(_) => None,
        }
    }
}

/// Requests queued for one device; more are refused as busy.
const REQUEST_QUEUE: usize = 64;
/// A connection attempt or a write that takes longer than this has failed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// A sequence step waits this long for its request to be handled.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest line accepted from a device (longer ones drop the connection).
pub const MAX_LINE_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("device {0:?} is not in the running project")]
    Unknown(String),
    #[error("device {device:?} is not connected ({why})")]
    NotConnected { device: String, why: String },
    #[error("device {device:?}: {why}")]
    Failed { device: String, why: String },
    #[error("device {0:?} has too many requests waiting")]
    Busy(String),
    #[error("device {0:?} said it is busy; the request was not sent")]
    Refused(String),
    #[error("device {0:?} did not handle the request in time")]
    Timeout(String),
    #[error("device {0:?} is stopping")]
    Stopping(String),
    #[error("{0}")]
    Invalid(String),
}

/// What a sequence step asks a device to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A string: the device appends its terminator.
    Line(Vec<u8>),
    /// Raw bytes (`send_hex`), sent as they are.
    Raw(Vec<u8>),
    Http {
        method: &'static str,
        path: String,
        body: Option<String>,
    },
    /// A driver command (a driver device encodes it).
    Command {
        name: String,
        params: BTreeMap<String, DriverValue>,
    },
}

pub struct DeviceRequest {
    pub payload: Payload,
    pub done: oneshot::Sender<Result<(), DeviceError>>,
}

#[derive(Clone)]
pub struct DeviceHandle {
    id: String,
    tx: mpsc::Sender<DeviceRequest>,
}

impl DeviceHandle {
    /// Hands `payload` to the device and waits for the outcome.
    pub async fn request(&self, payload: Payload) -> Result<(), DeviceError> {
        let (done, outcome) = oneshot::channel();
        self.tx
            .try_send(DeviceRequest { payload, done })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => DeviceError::Busy(self.id.clone()),
                mpsc::error::TrySendError::Closed(_) => DeviceError::Stopping(self.id.clone()),
            })?;
        match tokio::time::timeout(REQUEST_TIMEOUT, outcome).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(DeviceError::Stopping(self.id.clone())),
            Err(_) => Err(DeviceError::Timeout(self.id.clone())),
        }
    }
}

/// The running project's devices, by id.
#[derive(Clone, Default)]
pub struct Devices(Arc<HashMap<String, DeviceHandle>>);

impl Devices {
    pub async fn request(&self, device: &str, payload: Payload) -> Result<(), DeviceError> {
        let handle = self
            .0
            .get(device)
            .ok_or_else(|| DeviceError::Unknown(device.to_string()))?;
        handle.request(payload).await
    }
}

/// Starts one task per device of `project`.
pub fn start(
    controller: &Controller,
    project: &Arc<Project>,
    lines: mpsc::Sender<FeedbackLine>,
    token: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> Devices {
    let mut handles = HashMap::new();
    for device in &project.devices {
        let (tx, rx) = mpsc::channel(REQUEST_QUEUE);
        let link = Endpoint::of(device).and_then(|endpoint| {
            DeviceLink::new(controller, project, device, lines.clone(), rx, token)
                .map(|link| (link, endpoint))
        });
        let (link, endpoint) = match link {
            Ok(pair) => pair,
            Err(why) => {
                // Validation makes this unreachable for a loaded project;
                // report it rather than trust that.
                controller
                    .log()
                    .record(format!("device {}: {why}", device.id));
                continue;
            }
        };
        handles.insert(
            device.id.clone(),
            DeviceHandle {
                id: device.id.clone(),
                tx,
            },
        );
        match endpoint {
            Endpoint::Driver(device) => tasks.spawn(driven::run(link, device)),
            Endpoint::Tcp(address) => tasks.spawn(tcp::run(link, address)),
            Endpoint::Udp(address) => tasks.spawn(udp::run(link, address)),
            Endpoint::Http(address) => tasks.spawn(http::run(link, address)),
            Endpoint::Serial(line) => tasks.spawn(serial::run(link, line)),
        };
    }
    Devices(Arc::new(handles))
}

/// Where a device is, parsed from the project as validation checked it.
enum Endpoint {
    Driver(driven::DriverDevice),
    Tcp(DeviceAddress),
    Udp(DeviceAddress),
    Http(DeviceAddress),
    Serial(SerialLine),
}

impl Endpoint {
    fn of(device: &Device) -> Result<Endpoint, String> {
        if device.driver.is_some() {
            return driven::DriverDevice::of(device).map(Endpoint::Driver);
        }
        let network = |wrap: fn(DeviceAddress) -> Endpoint| {
            parse_device_address(device.raw_transport(), &device.address)
                .map(wrap)
                .map_err(|e| e.to_string())
        };
        match device.raw_transport() {
            Transport::Tcp => network(Endpoint::Tcp),
            Transport::Udp => network(Endpoint::Udp),
            Transport::Http => network(Endpoint::Http),
            Transport::Serial => parse_serial(&device.address, device.serial.as_deref())
                .map(Endpoint::Serial)
                .map_err(|e| e.to_string()),
        }
    }
}

/// What one device task owns: its settings, its queue, where its lines go,
/// and how it reports its state.
pub(super) struct DeviceLink {
    pub device: Device,
    pub terminator: Vec<u8>,
    /// The poll payload, decoded.
    pub poll: Option<Payload>,
    pub inbox: Inbox,
    pub shutdown: CancellationToken,
    controller: Controller,
    project: Arc<Project>,
    lines: mpsc::Sender<FeedbackLine>,
    /// The last reported state (None before the first report).
    online: Option<bool>,
    detail: String,
}

impl DeviceLink {
    fn new(
        controller: &Controller,
        project: &Arc<Project>,
        device: &Device,
        lines: mpsc::Sender<FeedbackLine>,
        requests: mpsc::Receiver<DeviceRequest>,
        token: &CancellationToken,
    ) -> Result<DeviceLink, String> {
        let terminator = decode_escapes(&device.terminator).map_err(|e| e.to_string())?;
        let poll = match (&device.poll, device.raw_transport()) {
            (None, _) => None,
            (Some(p), Transport::Http) => {
                let step = parse_http_step(p).map_err(|e| e.to_string())?;
                Some(Payload::Http {
                    method: step.method,
                    path: step.path,
                    body: None,
                })
            }
            (Some(p), _) => Some(Payload::Line(decode_escapes(p).map_err(|e| e.to_string())?)),
        };
        let busy = match &device.busy {
            Some(expr) => Some(BusyReply::new(expr).map_err(|e| e.to_string())?),
            None => None,
        };
        let inbox = Inbox {
            requests,
            busy,
            busy_for: Duration::from_secs(device.busy_secs.max(1).into()),
            when_busy: device.when_busy,
            busy_until: None,
            device: device.id.clone(),
            controller: controller.clone(),
        };
        let link = DeviceLink {
            device: device.clone(),
            terminator,
            poll,
            inbox,
            shutdown: token.clone(),
            controller: controller.clone(),
            project: project.clone(),
            lines,
            online: None,
            detail: String::new(),
        };
        link.publish(false, "starting".into());
        Ok(link)
    }

    pub fn retry_delay(&self) -> Duration {
        Duration::from_secs(self.device.reconnect_secs.max(1).into())
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(self.device.raw_poll_secs().max(1).into())
    }

    /// The bytes a payload puts on a stream or in a datagram.
    pub fn wire_bytes(&self, payload: &Payload) -> Result<Vec<u8>, DeviceError> {
        match payload {
            Payload::Line(text) => {
                let mut bytes = text.clone();
                bytes.extend_from_slice(&self.terminator);
                Ok(bytes)
            }
            Payload::Raw(bytes) => Ok(bytes.clone()),
            Payload::Http { .. } => Err(DeviceError::Invalid(format!(
                "device {:?} is not an http device",
                self.device.id
            ))),
            Payload::Command { name, .. } => Err(DeviceError::Invalid(format!(
                "device {:?} has no driver, so no command {name:?}",
                self.device.id
            ))),
        }
    }

    /// Splits what a device sends into lines: at any byte of its terminator
    /// and at CR and LF (devices differ in which they send back).
    pub fn line_codec(&self) -> AnyDelimiterCodec {
        let mut delimiters = self.terminator.clone();
        delimiters.extend_from_slice(b"\r\n");
        delimiters.sort_unstable();
        delimiters.dedup();
        AnyDelimiterCodec::new_with_max_length(delimiters, self.terminator.clone(), MAX_LINE_BYTES)
    }

    /// Hands a line from the device to the feedback rules.
    pub async fn line(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim_matches(|c: char| c == '\0');
        if text.is_empty() {
            return;
        }
        self.inbox.heard(text);
        let _ = self
            .lines
            .send(FeedbackLine {
                device: self.device.id.clone(),
                state: None,
                line: text.to_string(),
            })
            .await;
    }

    /// A driver device's state changed: its variable (`projector.power`)
    /// takes the value, then the feedback rules reading it run.
    pub async fn driver_state(&mut self, state: &str, value: &DriverValue) {
        let text = state_text(value);
        let variable = controller_core::project::drivers::state_variable(&self.device.id, state);
        let result = self.controller.execute(Command::SetVariable {
            variable: variable.clone(),
            value: Value::Text(text.clone()),
            source: format!("device:{}", self.device.id),
        });
        if let Err(e) = result {
            self.controller
                .log()
                .record(format!("device {}: {variable}: {e}", self.device.id));
        }
        let _ = self
            .lines
            .send(FeedbackLine {
                device: self.device.id.clone(),
                state: Some(state.to_string()),
                line: text,
            })
            .await;
    }

    /// Hands every line of a block (an HTTP body, a datagram) to feedback.
    pub async fn lines_of(&mut self, block: &Bytes) {
        let terminator = self.terminator.clone();
        for line in block.split(|b| *b == b'\n' || *b == b'\r' || terminator.contains(b)) {
            self.line(line).await;
        }
    }

    pub fn up(&mut self, detail: impl Into<String>) {
        self.set_state(true, detail.into());
    }

    pub fn down(&mut self, why: impl Into<String>) {
        let why = why.into();
        let detail = format!("{why}; retrying every {} s", self.device.reconnect_secs);
        self.set_state(false, detail);
    }

    fn set_state(&mut self, online: bool, detail: String) {
        if self.online == Some(online) && self.detail == detail {
            return;
        }
        let changed = self.online != Some(online);
        self.online = Some(online);
        self.detail = detail.clone();
        self.publish(online, detail.clone());
        if changed {
            let what = if online { "connected" } else { "down" };
            self.controller.log().record(format!(
                "device {} ({}) {what}: {detail}",
                self.device.id, self.device.address
            ));
            if let Some(button) = &self.device.status_led {
                let mode = if online { LedMode::On } else { LedMode::Off };
                let source = format!("device:{}", self.device.id);
                if let Err(e) =
                    super::set_led(&self.controller, &self.project, button, mode, &source)
                {
                    self.controller
                        .log()
                        .record(format!("device {} status LED: {e}", self.device.id));
                }
            }
            if !online {
                self.forget_state();
            }
        }
    }

    /// The device is down, so what its feedback drives is no longer known:
    /// its LEDs go out and its text variables read "unknown", rather than
    /// showing the last report as if it still held ("Display: on" for a
    /// projector nobody can reach).
    fn forget_state(&self) {
        let owned = owned_state(&self.project, &self.device.id);
        let source = format!("device:{}", self.device.id);
        for button in &owned.leds {
            if let Err(e) = super::set_led(
                &self.controller,
                &self.project,
                button,
                LedMode::Off,
                &source,
            ) {
                self.controller
                    .log()
                    .record(format!("device {}: LED {button}: {e}", self.device.id));
            }
        }
        // A driver device's state is not known either (empty until it
        // reports again).
        let prefix = format!("{}.", self.device.id);
        for v in self
            .project
            .device_state
            .iter()
            .filter(|v| v.id.starts_with(&prefix))
        {
            let result = self.controller.execute(Command::SetVariable {
                variable: v.id.clone(),
                value: Value::Text(String::new()),
                source: source.clone(),
            });
            if let Err(e) = result {
                self.controller
                    .log()
                    .record(format!("device {}: {}: {e}", self.device.id, v.id));
            }
        }
        for variable in owned.texts {
            let result = self.controller.execute(Command::SetVariable {
                variable: variable.clone(),
                value: Value::Text(UNKNOWN.into()),
                source: source.clone(),
            });
            if let Err(e) = result {
                self.controller.log().record(format!(
                    "device {}: variable {variable}: {e}",
                    self.device.id
                ));
            }
        }
    }

    /// Down without reconnecting (a UDP device that stopped answering).
    pub fn set_silent(&mut self, why: String) {
        self.set_state(false, why);
    }

    pub fn is_online(&self) -> bool {
        self.online == Some(true)
    }

    fn publish(&self, online: bool, detail: String) {
        let transport = match (&self.device.driver, self.device.raw_transport()) {
            (Some(driver), _) => driver.as_str(),
            (None, Transport::Tcp) => "tcp",
            (None, Transport::Udp) => "udp",
            (None, Transport::Http) => "http",
            (None, Transport::Serial) => "serial",
        };
        let name = if self.device.name.is_empty() {
            format!("room device ({transport})")
        } else {
            format!("{} ({transport})", self.device.name)
        };
        self.controller.status().set_device(DeviceStatus {
            id: self.device.id.clone(),
            kind: controller_core::view::ROOM_DEVICE_KIND.into(),
            name,
            address: self.device.address.clone(),
            online,
            detail,
        });
    }

    /// Refuses a request because the device is down.
    pub fn refuse(&self, request: DeviceRequest) {
        let _ = request.done.send(Err(DeviceError::NotConnected {
            device: self.device.id.clone(),
            why: self.detail.clone(),
        }));
    }

    pub fn failed(&self, why: impl std::fmt::Display) -> DeviceError {
        DeviceError::Failed {
            device: self.device.id.clone(),
            why: why.to_string(),
        }
    }

    /// Waits `delay` while down, refusing requests meanwhile. False when the
    /// runtime is stopping.
    pub async fn wait_down(&mut self, delay: Duration) -> bool {
        let deadline = tokio::time::sleep(delay);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return false,
                _ = &mut deadline => return true,
                r = self.inbox.requests.recv() => match r {
                    Some(request) => self.refuse(request),
                    None => return false,
                },
            }
        }
    }
}

/// A device's queue of requests, and whether the device said it is busy:
/// while it is (`busy_secs` after its busy reply), a request is refused or
/// held back, as the project's `when_busy` says.
pub(super) struct Inbox {
    requests: mpsc::Receiver<DeviceRequest>,
    busy: Option<BusyReply>,
    busy_for: Duration,
    when_busy: WhenBusy,
    busy_until: Option<tokio::time::Instant>,
    device: String,
    controller: Controller,
}

impl Inbox {
    /// The next request to hand to the device; None when the runtime is
    /// stopping. Cancel-safe: a request taken is handed out or refused
    /// before the next await.
    pub async fn next(&mut self) -> Option<DeviceRequest> {
        loop {
            let until = self.busy_until;
            let over = async move {
                match until {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let take = until.is_none() || self.when_busy == WhenBusy::Refuse;
            tokio::select! {
                _ = over => self.set_busy(None),
                r = self.requests.recv(), if take => {
                    let request = r?;
                    if until.is_none() {
                        return Some(request);
                    }
                    let _ = request.done.send(Err(DeviceError::Refused(self.device.clone())));
                }
            }
        }
    }

    /// Looks at a line from the device for its busy reply.
    fn heard(&mut self, line: &str) {
        if self.busy.as_ref().is_some_and(|b| b.matches(line)) {
            self.controller
                .log()
                .record(format!("device {} is busy: {line:?}", self.device));
            self.set_busy(Some(tokio::time::Instant::now() + self.busy_for));
        }
    }

    fn set_busy(&mut self, until: Option<tokio::time::Instant>) {
        self.busy_until = until;
        self.controller
            .bus()
            .publish(BusEvent::DeviceBusy(DeviceBusy {
                device: self.device.clone(),
                busy: until.is_some(),
            }));
    }
}
