//! Level drivers: a fader bound to a device (`device` + `send`) sends its
//! value there whenever it moves, coalesced: at most one command per
//! `send_interval_ms` while it moves, and the final value always goes out,
//! so a drag on a panel neither floods the device nor leaves it behind.
//!
//! "Always" includes a device that is down when the value changes (refused,
//! or dropped for not answering its polls): the driver keeps the newest
//! value it owes the device and sends it as soon as the device is connected
//! again, so the device ends up where the panels show the level. Values
//! that a newer one replaced meanwhile are not sent.
//!
//! A change the device itself reported (source `feedback:<device>`) is not
//! sent back: that would echo every reply into a new command. The device's
//! answers to the driver's own commands are held back while they are in
//! flight (`echoes.rs`); the driver settles the level on the device's last
//! report when that window closes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use controller_core::driver::library::Library;
use controller_core::driver::Value as DriverValue;
use controller_core::project::drivers;

use controller_core::engine::{Change, Command};
use controller_core::logic::decode_escapes;
use controller_core::project::{format_number, Level, Project};
use controller_core::template;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::devices::{DeviceError, Devices, Payload};
use super::echoes::{settle_time, Echoes};
use crate::state::bus::BusEvent;
use crate::state::controller::Controller;

/// Starts one driver per level of `project` that drives a device; their
/// echo windows go in `echoes`.
pub fn start(
    controller: &Controller,
    project: &Arc<Project>,
    devices: &Devices,
    echoes: &Echoes,
    token: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    let snapshot = controller.snapshot();
    for level in &project.levels {
        let drives = level.send.is_some()
            || level.send_mute.is_some()
            || level.command.is_some()
            || level.mute_command.is_some();
        if level.device.is_some() && drives {
            if level.send.is_some() || level.command.is_some() {
                let now = snapshot.levels.get(&level.id).map(|s| s.value);
                echoes.watch(&level.id, settle_time(interval_of(level)), now);
            }
            let device = level.device.clone().unwrap_or_default();
            let protocol = project
                .devices
                .iter()
                .find(|d| d.id == device)
                .and_then(|d| drivers::driver_of(d, Library::shared()))
                .cloned();
            let driver = Driver {
                controller: controller.clone(),
                protocol,
                device,
                level: level.clone(),
                devices: devices.clone(),
                echoes: echoes.clone(),
            };
            tasks.spawn(driver.run(token.clone()));
        }
    }
}

fn interval_of(level: &Level) -> Duration {
    Duration::from_millis(level.send_interval_ms.into())
}

/// What the driver still owes the device.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Pending {
    value: Option<f64>,
    muted: Option<bool>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.value.is_none() && self.muted.is_none()
    }

    /// Puts back what could not be sent, under anything newer.
    fn restore(&mut self, unsent: Pending) {
        self.value = self.value.or(unsent.value);
        self.muted = self.muted.or(unsent.muted);
    }
}

/// How a send went.
enum Sent {
    /// Everything went out (or was dropped for good, and logged).
    Done,
    /// The device is down: these are owed until it is back.
    DeviceDown(Pending, String),
    /// The device could not take it now (busy, slow, broken write): these
    /// are tried again after an interval.
    Later(Pending),
}

/// Where a driver is with its device.
#[derive(Default)]
struct Owing {
    pending: Pending,
    /// When the last command went out: the next may go at `last + interval`.
    last: Option<Instant>,
    /// The device was down at the last try: nothing is sent until it is
    /// connected again.
    waiting: bool,
}

struct Driver {
    controller: Controller,
    /// The device's library driver, when the level calls its commands.
    protocol: Option<Arc<controller_core::driver::Driver>>,
    level: Level,
    device: String,
    devices: Devices,
    echoes: Echoes,
}

impl Driver {
    async fn run(self, shutdown: CancellationToken) {
        let level = &self.level;
        let echo = format!("feedback:{}", self.device);
        let interval = interval_of(level);
        let mut events = self.controller.bus().subscribe();
        let mut owing = Owing::default();
        loop {
            let due = match (owing.pending.is_empty() || owing.waiting, owing.last) {
                (true, _) => None,
                (false, Some(at)) => Some(at + interval),
                (false, None) => Some(Instant::now()),
            };
            let settles = self.echoes.closes_at(&level.id);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = sleep_until(due) => self.send_owed(&mut owing).await,
                _ = sleep_until(settles) => self.settle(&echo),
                event = events.recv() => match event {
                    Ok(event) => self.heard(&event, &echo, &mut owing),
                    Err(RecvError::Lagged(_)) => self.caught_up(&mut owing),
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }

    /// Sends what is owed now; what could not go stays owed.
    async fn send_owed(&self, owing: &mut Owing) {
        owing.last = Some(Instant::now());
        match self.send(std::mem::take(&mut owing.pending)).await {
            Sent::Done => {}
            Sent::Later(unsent) => owing.pending.restore(unsent),
            Sent::DeviceDown(unsent, why) => {
                owing.pending.restore(unsent);
                owing.waiting = true;
                self.controller.log().record(format!(
                    "level {}: {why}; its value will be sent when the device is back",
                    self.level.id
                ));
            }
        }
    }

    /// The echo window closed: the level settles on the device's last report.
    fn settle(&self, echo: &str) {
        let level = &self.level;
        self.echoes.close(&level.id, |value| {
            let settle = Command::SetLevel {
                level: level.id.clone(),
                value,
                source: echo.to_string(),
            };
            if let Err(e) = self.controller.execute(settle) {
                self.controller
                    .log()
                    .record(format!("level {}: {e}", level.id));
            }
        });
    }

    /// A bus event: the level's moves (not the device's own) become owed;
    /// the device coming online ends the wait.
    fn heard(&self, event: &BusEvent, echo: &str, owing: &mut Owing) {
        let id = &self.level.id;
        match event {
            BusEvent::Step(published) => {
                for change in published.step.values() {
                    match change {
                        Change::Level {
                            level,
                            value,
                            source,
                        } if level == id && source != echo => {
                            owing.pending.value = Some(*value);
                        }
                        Change::Mute {
                            level,
                            muted,
                            source,
                        } if level == id && source != echo => {
                            owing.pending.muted = Some(*muted);
                        }
                        _ => {}
                    }
                }
            }
            BusEvent::Device(status) if status.id == self.device && status.online => {
                owing.waiting = false;
            }
            _ => {}
        }
    }

    /// Fell behind the bus: send what the level is now, and look again
    /// whether the device is connected.
    fn caught_up(&self, owing: &mut Owing) {
        if let Some(state) = self.controller.snapshot().levels.get(&self.level.id) {
            owing.pending.value = Some(state.value);
            owing.pending.muted = state.muted;
        }
        if owing.waiting {
            owing.waiting = !self
                .controller
                .status()
                .devices()
                .iter()
                .any(|d| d.id == self.device && d.online);
        }
    }

    /// Sends what is owed: the value, then the mute.
    async fn send(&self, owed: Pending) -> Sent {
        let level = &self.level;
        let owed = Pending {
            value: owed
                .value
                .filter(|_| level.send.is_some() || level.command.is_some()),
            muted: owed
                .muted
                .filter(|_| level.send_mute.is_some() || level.mute_command.is_some()),
        };
        if let Some(v) = owed.value {
            self.echoes.sent(&level.id, v);
            let sent = match (&level.send, &level.command) {
                (Some(template), _) => self.request(template, format_number(v)).await,
                (None, Some(command)) => {
                    self.call(command, |d| drivers::level_params(d, command, v))
                        .await
                }
                (None, None) => Ok(()),
            };
            if let Err(e) = sent {
                return self.failed(e, owed);
            }
        }
        if let Some(m) = owed.muted {
            let sent = match (&level.send_mute, &level.mute_command) {
                (Some(template), _) => self.request(template, u8::from(m).to_string()).await,
                (None, Some(command)) => {
                    self.call(command, |d| drivers::mute_params(d, command, m))
                        .await
                }
                (None, None) => Ok(()),
            };
            if let Err(e) = sent {
                let unsent = Pending {
                    value: None,
                    muted: Some(m),
                };
                return self.failed(e, unsent);
            }
        }
        Sent::Done
    }

    async fn request(&self, template: &str, value: String) -> Result<(), DeviceError> {
        let text = template::render(template, |name| (name == "value").then(|| value.clone()));
        let bytes = decode_escapes(&text).map_err(|e| DeviceError::Invalid(e.to_string()))?;
        self.devices
            .request(&self.device, Payload::Line(bytes))
            .await
    }

    /// Calls a driver command with the parameters `params` makes.
    async fn call(
        &self,
        command: &str,
        params: impl FnOnce(
            &controller_core::driver::Driver,
        ) -> Result<BTreeMap<String, DriverValue>, String>,
    ) -> Result<(), DeviceError> {
        let driver = self.protocol.as_ref().ok_or_else(|| {
            DeviceError::Invalid(format!("device {:?} has no driver", self.device))
        })?;
        let params = params(driver).map_err(DeviceError::Invalid)?;
        let payload = Payload::Command {
            name: command.to_string(),
            params,
        };
        self.devices.request(&self.device, payload).await
    }

    /// What a failed request means for what is owed.
    fn failed(&self, e: DeviceError, unsent: Pending) -> Sent {
        match e {
            DeviceError::NotConnected { .. } => Sent::DeviceDown(unsent, e.to_string()),
            DeviceError::Busy(_)
            | DeviceError::Refused(_)
            | DeviceError::Timeout(_)
            | DeviceError::Failed { .. } => {
                self.controller
                    .log()
                    .record(format!("level {}: {e}; trying again", self.level.id));
                Sent::Later(unsent)
            }
            // Not the device's state: sending again would fail the same way.
            DeviceError::Unknown(_) | DeviceError::Invalid(_) | DeviceError::Stopping(_) => {
                self.controller.log().record(format!(
                    "level {}: cannot send to {}: {e}",
                    self.level.id, self.device
                ));
                Sent::Done
            }
        }
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
