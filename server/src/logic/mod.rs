//! The room logic runtime: drives the project's devices, runs its sequences,
//! applies its feedback rules, sends its levels and fires its timers. One service, no port:
//! every connection it makes is outgoing, to the devices the project names.
//!
//! Everything is started for one project and stopped together; when a new
//! project is loaded (a `ProjectLoaded` step on the stream) the runtime is
//! restarted for it, since the new project may name other devices. The
//! decisions (escapes, matching, schedules) are controller-core's
//! (`controller_core::logic`); this module owns the sockets and the tasks.

pub mod devices;
pub mod echoes;
pub mod feedback;
pub mod level_driver;
pub mod sequences;
pub mod timers;

use std::sync::Arc;
use std::time::Duration;

use controller_core::engine::Command;
use controller_core::project::{Led, LedMode, Project};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::state::bus::Subscription;
use crate::state::controller::Controller;

pub use timers::Clock;

/// How long the runtime of an old project gets to stop before its tasks are
/// aborted.
const STOP_DEADLINE: Duration = Duration::from_secs(2);

/// Runs the room logic until shutdown (the `logic` service); `steps` is a
/// subscription taken before the call, so no project load is missed.
pub async fn run(
    controller: Controller,
    shutdown: CancellationToken,
    steps: Subscription,
) -> anyhow::Result<()> {
    run_with_clock(controller, shutdown, steps, Clock::System).await
}

/// As [`run`], with the clock timers read (tests use tokio's paused clock).
pub async fn run_with_clock(
    controller: Controller,
    shutdown: CancellationToken,
    mut steps: Subscription,
    clock: Clock,
) -> anyhow::Result<()> {
    loop {
        let project = controller.project();
        let token = shutdown.child_token();
        let mut tasks = start(&controller, project.clone(), clock, token.clone());
        let reload = loop {
            tokio::select! {
                _ = shutdown.cancelled() => break false,
                r = steps.recv() => match r {
                    Ok(e) if e.step().is_some_and(|p| p.step.loads_project()) => break true,
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        if !Arc::ptr_eq(&controller.project(), &project) {
                            break true;
                        }
                    }
                    Err(RecvError::Closed) => break false,
                },
            }
        };
        token.cancel();
        let all = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(STOP_DEADLINE, all).await.is_err() {
            tasks.abort_all();
        }
        for d in &project.devices {
            controller.status().remove_device(&d.id);
        }
        controller.status().set_timers(Vec::new());
        if !reload {
            return Ok(());
        }
        controller
            .log()
            .record("room logic restarted for the new project");
    }
}

/// Starts the devices, feedback, sequences and timers of one project.
fn start(
    controller: &Controller,
    project: Arc<Project>,
    clock: Clock,
    token: CancellationToken,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    let (lines_tx, lines_rx) = mpsc::channel(feedback::QUEUE);
    let devices = devices::start(controller, &project, lines_tx, &token, &mut tasks);
    let echoes = echoes::Echoes::default();
    level_driver::start(controller, &project, &devices, &echoes, &token, &mut tasks);
    tasks.spawn(feedback::run(
        controller.clone(),
        project.clone(),
        lines_rx,
        echoes,
        token.clone(),
    ));
    tasks.spawn(sequences::run(
        controller.clone(),
        project.clone(),
        devices,
        token.clone(),
    ));
    tasks.spawn(timers::run(controller.clone(), project, clock, token));
    tasks
}

/// Presses and releases a button on behalf of the room logic.
pub(crate) fn press_and_release(
    controller: &Controller,
    button: &str,
    source: &str,
) -> Result<(), controller_core::EngineError> {
    controller.execute(Command::Press {
        button: button.to_string(),
        source: source.to_string(),
    })?;
    controller.execute(Command::Release {
        button: button.to_string(),
        source: source.to_string(),
    })?;
    Ok(())
}

/// Presses (and releases) `press`, or the button of the sequence
/// `sequence`, as a rule does: `source` names the rule.
pub(crate) fn press_or_run(
    controller: &Controller,
    project: &Project,
    press: Option<&str>,
    sequence: Option<&str>,
    source: &str,
) -> Result<(), String> {
    let button = match (press, sequence) {
        (Some(b), _) => b.to_string(),
        (None, Some(s)) => project
            .sequences
            .iter()
            .find(|q| q.id == s)
            .map(|q| q.button.clone())
            .ok_or_else(|| format!("there is no sequence {s:?}"))?,
        _ => return Ok(()),
    };
    press_and_release(controller, &button, source).map_err(|e| e.to_string())
}

/// Sets a button's LED to `mode` in the button's own colour.
pub(crate) fn set_led(
    controller: &Controller,
    project: &Project,
    button: &str,
    mode: LedMode,
    source: &str,
) -> Result<(), controller_core::EngineError> {
    let color = project
        .button(button)
        .map(|b| b.color)
        .ok_or_else(|| controller_core::EngineError::UnknownButton(button.to_string()))?;
    controller.execute(Command::SetLed {
        button: button.to_string(),
        led: Led { mode, color },
        source: source.to_string(),
    })?;
    Ok(())
}
