//! Sequences: steps that run when a button is pressed, released or repeats.
//!
//! One task listens to the engine's stream; each triggered sequence runs as
//! a task of its own, so a long `wait_ms` or a slow device never holds up
//! the stream, other sequences, or the engine. A step that fails (a device
//! that is down, an unknown button) is logged and the sequence goes on with
//! its next step: one dead projector does not keep the lights on.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use controller_core::driver::library::Library;
use controller_core::engine::{Change, Command, Snapshot, StepOutcome};
use controller_core::logic::{decode_escapes, decode_hex, parse_http_step, Trouble};
use controller_core::project::drivers;
use controller_core::project::{Condition, LedMode, Project, Sequence, Step, Trigger, Value};
use controller_core::template;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::devices::{DeviceError, Devices, Payload};
use crate::state::bus::{BusEvent, SequenceFailure};
use crate::state::controller::Controller;

/// At most this many sequences run at once; a trigger beyond it is refused
/// (and logged) rather than queued without bound.
pub const MAX_RUNNING: usize = 256;

pub async fn run(
    controller: Controller,
    project: Arc<Project>,
    devices: Devices,
    shutdown: CancellationToken,
) {
    let mut by_trigger: HashMap<(&str, Trigger), Vec<Arc<Sequence>>> = HashMap::new();
    for s in &project.sequences {
        by_trigger
            .entry((s.button.as_str(), s.on))
            .or_default()
            .push(Arc::new(s.clone()));
    }
    let (mut state, mut steps) = controller.subscribe();
    let slots = Arc::new(Semaphore::new(MAX_RUNNING));
    let mut running = JoinSet::new();
    loop {
        let published = tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(_) = running.join_next(), if !running.is_empty() => continue,
            r = steps.recv() => r,
        };
        let event = match published {
            Ok(e) => e,
            Err(RecvError::Lagged(n)) => {
                controller.log().record(format!(
                    "sequences fell {n} steps behind the engine; presses in them started no sequence"
                ));
                state = controller.snapshot();
                continue;
            }
            Err(RecvError::Closed) => break,
        };
        let Some(published) = event.step() else {
            continue;
        };
        if state.receive(&published.step) == StepOutcome::Gap {
            state = controller.snapshot();
        }
        for change in &published.step.changes {
            let (button, trigger) = match change {
                Change::Pressed { button, .. } => (button, Trigger::Press),
                Change::Released { button, .. } => (button, Trigger::Release),
                Change::Repeated { button, .. } => (button, Trigger::Repeat),
                _ => continue,
            };
            for sequence in by_trigger
                .get(&(button.as_str(), trigger))
                .into_iter()
                .flatten()
            {
                if !condition_holds(&state, button, sequence.when) {
                    continue;
                }
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    controller.log().record(format!(
                        "sequence {} not started: {MAX_RUNNING} sequences are already running",
                        sequence.id
                    ));
                    continue;
                };
                running.spawn(run_sequence(
                    controller.clone(),
                    project.clone(),
                    devices.clone(),
                    sequence.clone(),
                    slot,
                ));
            }
        }
    }
    running.abort_all();
}

fn condition_holds(state: &Snapshot, button: &str, when: Option<Condition>) -> bool {
    let Some(when) = when else { return true };
    let Some(b) = state.buttons.get(button) else {
        return false;
    };
    match when {
        Condition::Lit => b.led.mode.is_lit(),
        Condition::Unlit => !b.led.mode.is_lit(),
        Condition::Latched => b.latched,
        Condition::Unlatched => !b.latched,
    }
}

/// Runs one triggered sequence to its end. Its steps run in order; a failed
/// step is logged and the next one runs.
pub async fn run_sequence(
    controller: Controller,
    project: Arc<Project>,
    devices: Devices,
    sequence: Arc<Sequence>,
    _slot: OwnedSemaphorePermit,
) {
    let source = format!("sequence:{}", sequence.id);
    let mut failed = 0;
    for (i, step) in sequence.steps.iter().enumerate() {
        if let Err(e) = run_step(&controller, &project, &devices, step, &source).await {
            failed += 1;
            controller.log().record(format!(
                "sequence {} step {} failed: {}",
                sequence.id,
                i + 1,
                e.reason
            ));
            if failed == 1 && e.device.is_some() && sequence.on == Trigger::Press {
                // The device did not do what the press selected: the
                // button must not light as if it had (HDMI 2 lit while
                // the video switcher was unreachable).
                let _ = controller.execute(Command::Deselect {
                    button: sequence.button.clone(),
                    source: source.clone(),
                });
            }
            controller
                .bus()
                .publish(BusEvent::SequenceFailed(SequenceFailure {
                    sequence: sequence.id.clone(),
                    button: sequence.button.clone(),
                    step: i,
                    reason: e.reason,
                    device: e.device,
                }));
        }
    }
    if failed > 0 {
        controller.log().record(format!(
            "sequence {} finished with {failed} of {} steps failed",
            sequence.id,
            sequence.steps.len()
        ));
    }
}

/// Why a step failed: the log's account, and the device that let it down.
struct StepFailed {
    reason: String,
    device: Option<(String, Trouble)>,
}

impl From<String> for StepFailed {
    fn from(reason: String) -> StepFailed {
        StepFailed {
            reason,
            device: None,
        }
    }
}

impl From<DeviceError> for StepFailed {
    fn from(e: DeviceError) -> StepFailed {
        let device = match &e {
            DeviceError::NotConnected { device, .. } | DeviceError::Failed { device, .. } => {
                Some(device.clone())
            }
            DeviceError::Timeout(d) | DeviceError::Busy(d) | DeviceError::Refused(d) => {
                Some(d.clone())
            }
            _ => None,
        };
        StepFailed {
            reason: e.to_string(),
            device: device.zip(e.trouble()),
        }
    }
}

async fn run_step(
    controller: &Controller,
    project: &Project,
    devices: &Devices,
    step: &Step,
    source: &str,
) -> Result<(), StepFailed> {
    let device = step.device.as_deref().unwrap_or_default();
    if let Some(payload) = device_payload(controller, project, step, device)? {
        return Ok(devices.request(device, payload).await?);
    }
    if let Some(ms) = step.wait_ms {
        tokio::time::sleep(Duration::from_millis(ms.into())).await;
        return Ok(());
    }
    engine_step(controller, project, step, source)
}

/// What a step sends its device (text, hex, an HTTP request or a driver's
/// command), if it sends anything.
fn device_payload(
    controller: &Controller,
    project: &Project,
    step: &Step,
    device: &str,
) -> Result<Option<Payload>, String> {
    let payload = if let Some(text) = &step.send {
        // `{name}` sends a variable's or level's value as it is now.
        let text = template::render_state(text, &controller.snapshot());
        Payload::Line(decode_escapes(&text).map_err(|e| e.to_string())?)
    } else if let Some(hex) = &step.send_hex {
        Payload::Raw(decode_hex(hex).map_err(|e| e.to_string())?)
    } else if let Some(http) = &step.http {
        let req = parse_http_step(http).map_err(|e| e.to_string())?;
        Payload::Http {
            method: req.method,
            path: req.path,
            body: step.body.clone(),
        }
    } else if let Some(command) = &step.command {
        let driver = project
            .devices
            .iter()
            .find(|d| d.id == device)
            .and_then(|d| drivers::driver_of(d, Library::shared()))
            .ok_or_else(|| format!("device {device:?} has no driver"))?;
        let params =
            drivers::step_params(driver, command, step.value.as_ref(), step.params.as_ref())
                .map_err(|e| e.message)?;
        Payload::Command {
            name: command.clone(),
            params,
        }
    } else {
        return Ok(None);
    };
    Ok(Some(payload))
}

/// A step that acts on the engine: an LED, a press, a variable or a level.
fn engine_step(
    controller: &Controller,
    project: &Project,
    step: &Step,
    source: &str,
) -> Result<(), StepFailed> {
    if let Some(mode) = &step.led {
        let mode = LedMode::parse(mode).ok_or_else(|| format!("unknown LED mode {mode:?}"))?;
        let button = step.button.as_deref().unwrap_or_default();
        Ok(super::set_led(controller, project, button, mode, source).map_err(|e| e.to_string())?)
    } else if let Some(button) = &step.press {
        Ok(super::press_and_release(controller, button, source).map_err(|e| e.to_string())?)
    } else if let (Some(variable), Some(value)) = (&step.set_variable, &step.value) {
        controller
            .execute(Command::SetVariable {
                variable: variable.clone(),
                value: value.clone(),
                source: source.to_string(),
            })
            .map(drop)
            .map_err(|e| e.to_string().into())
    } else if let (Some(level), Some(by)) = (&step.adjust_level, &step.value) {
        adjust_level(controller, level, by, source)
    } else if let (Some(level), Some(value)) = (&step.set_level, &step.value) {
        let value = value
            .as_number()
            .ok_or_else(|| format!("{value} is not a number"))?;
        controller
            .execute(Command::SetLevel {
                level: level.clone(),
                value,
                source: source.to_string(),
            })
            .map(drop)
            .map_err(|e| e.to_string().into())
    } else {
        Err(String::from("the step has no action").into())
    }
}

/// Moves `level` by `by` from where it is now.
fn adjust_level(
    controller: &Controller,
    level: &str,
    by: &Value,
    source: &str,
) -> Result<(), StepFailed> {
    let by = by
        .as_number()
        .ok_or_else(|| format!("{by} is not a number"))?;
    let now = controller
        .snapshot()
        .levels
        .get(level)
        .map(|l| l.value)
        .ok_or_else(|| format!("there is no level {level:?}"))?;
    controller
        .execute(Command::SetLevel {
            level: level.to_string(),
            value: now + by,
            source: source.to_string(),
        })
        .map(drop)
        .map_err(|e| e.to_string().into())
}
