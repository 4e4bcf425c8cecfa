//! Level drivers: a fader bound to a device (`device` + `send`) sends its
//! value there whenever it moves, coalesced: at most one command per
//! `send_interval_ms` while it moves, and the final value always goes out,
//! so a drag on a panel neither floods the device nor leaves it behind.
//!
//! A change the device itself reported (source `feedback:<device>`) is not
//! sent back: that would echo every reply into a new command.

use std::sync::Arc;
use std::time::Duration;

use controller_core::engine::Change;
use controller_core::logic::decode_escapes;
use controller_core::project::{format_number, Level, Project};
use controller_core::template;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::devices::{Devices, Payload};
use crate::controller::Controller;

/// Starts one driver per level of `project` that drives a device.
pub fn start(
    controller: &Controller,
    project: &Arc<Project>,
    devices: &Devices,
    token: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    for level in &project.levels {
        if level.device.is_some() && (level.send.is_some() || level.send_mute.is_some()) {
            tasks.spawn(run(
                controller.clone(),
                level.clone(),
                devices.clone(),
                token.clone(),
            ));
        }
    }
}

/// What the driver still owes the device.
#[derive(Default)]
struct Pending {
    value: Option<f64>,
    muted: Option<bool>,
}

async fn run(controller: Controller, level: Level, devices: Devices, shutdown: CancellationToken) {
    let device = level.device.clone().unwrap_or_default();
    let echo = format!("feedback:{device}");
    let interval = Duration::from_millis(level.send_interval_ms.into());
    let mut steps = controller.bus().subscribe();
    let mut pending = Pending::default();
    // When the last command went out: the next may go at `last + interval`.
    let mut last: Option<Instant> = None;
    loop {
        let due = match (&pending, last) {
            (
                Pending {
                    value: None,
                    muted: None,
                },
                _,
            ) => None,
            (_, Some(at)) => Some(at + interval),
            (_, None) => Some(Instant::now()),
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = sleep_until(due) => {
                last = Some(Instant::now());
                send(&controller, &devices, &level, &device, std::mem::take(&mut pending)).await;
            }
            event = steps.recv() => match event {
                Ok(event) => {
                    let Some(published) = event.step() else { continue };
                    for change in published.step.values() {
                        match change {
                            Change::Level { level: id, value, source } if *id == level.id && *source != echo => {
                                pending.value = Some(*value);
                            }
                            Change::Mute { level: id, muted, source } if *id == level.id && *source != echo => {
                                pending.muted = Some(*muted);
                            }
                            _ => {}
                        }
                    }
                }
                // Fell behind: send what the level is now.
                Err(RecvError::Lagged(_)) => {
                    if let Some(state) = controller.snapshot().levels.get(&level.id) {
                        pending.value = Some(state.value);
                        pending.muted = Some(state.muted);
                    }
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn send(controller: &Controller, devices: &Devices, level: &Level, device: &str, p: Pending) {
    let strings = [
        (p.value.map(format_number), &level.send),
        (p.muted.map(|m| u8::from(m).to_string()), &level.send_mute),
    ];
    for (value, template) in strings {
        let (Some(value), Some(template)) = (value, template) else {
            continue;
        };
        let text = template::render(template, |name| (name == "value").then(|| value.clone()));
        let result = match decode_escapes(&text) {
            Ok(bytes) => devices
                .request(device, Payload::Line(bytes))
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = result {
            controller
                .log()
                .record(format!("level {}: cannot send to {device}: {e}", level.id));
        }
    }
}
