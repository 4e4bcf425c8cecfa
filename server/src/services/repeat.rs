//! Auto-repeat for held buttons (volume up/down): one place for every input,
//! so a held key repeats the same whether it is held on a panel, a keypad or
//! a central-control client. Listens to the engine's stream; while a button
//! with `repeat` is held, sends `Repeat` commands at its interval.

use std::collections::HashMap;
use std::time::Duration;

use controller_core::engine::{Change, Command};
use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use super::{Service, StartEnv, StartError, Started};
use crate::config::Settings;
use crate::state::bus::Subscription;
use crate::state::controller::Controller;

pub struct RepeatService;

impl Service for RepeatService {
    fn name(&self) -> &'static str {
        "repeat"
    }

    fn setting(&self) -> &'static str {
        "-"
    }

    fn enabled(&self, _: &Settings) -> bool {
        true
    }

    fn purpose(&self, _: &Settings) -> String {
        "auto-repeat of held buttons (internal, no port)".into()
    }

    fn start(&self, env: StartEnv) -> BoxFuture<'static, Result<Started, StartError>> {
        // Subscribed before the task first runs: no press right after start is missed.
        let steps = env.bus.subscribe();
        async move {
            Ok(Started::running(
                run(env.controller, env.shutdown, steps).boxed(),
            ))
        }
        .boxed()
    }
}

async fn run(
    controller: Controller,
    shutdown: CancellationToken,
    mut steps: Subscription,
) -> anyhow::Result<()> {
    let mut running: HashMap<String, AbortHandle> = HashMap::new();
    loop {
        let event = tokio::select! {
            s = steps.recv() => s,
            _ = shutdown.cancelled() => break,
        };
        let event = match event {
            Ok(e) => e,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => break,
        };
        let Some(published) = event.step() else {
            continue;
        };
        for change in &published.step.changes {
            match change {
                Change::Pressed { button, source } => {
                    let project = controller.project();
                    let Some(repeat) = project.button(button).and_then(|b| b.repeat) else {
                        continue;
                    };
                    let (c, b, s) = (controller.clone(), button.clone(), source.clone());
                    let task = tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(repeat.delay_ms.into())).await;
                        let mut tick = tokio::time::interval(Duration::from_millis(
                            repeat.interval_ms.max(50).into(),
                        ));
                        loop {
                            tick.tick().await;
                            let still_held = matches!(
                                c.execute(Command::Repeat {
                                    button: b.clone(),
                                    source: s.clone()
                                }),
                                Ok(Some(_))
                            );
                            if !still_held {
                                break;
                            }
                        }
                    });
                    if let Some(old) = running.insert(button.clone(), task.abort_handle()) {
                        old.abort();
                    }
                }
                Change::Released { button, .. } => {
                    if let Some(task) = running.remove(button) {
                        task.abort();
                    }
                }
                Change::ProjectLoaded { .. } => {
                    for (_, task) in running.drain() {
                        task.abort();
                    }
                }
                _ => {}
            }
        }
    }
    for (_, task) in running.drain() {
        task.abort();
    }
    Ok(())
}
