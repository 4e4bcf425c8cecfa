//! Auto-repeat for held buttons (volume up/down): one place for every input,
//! so a held key repeats the same whether it is held on a panel, a keypad or
//! a central-control client. Listens to the engine's stream; while a button
//! with `repeat` is held, sends `Repeat` commands at its interval.

use std::collections::HashMap;
use std::time::Duration;

use controller_core::engine::{Change, Command};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::AbortHandle;

use crate::services::ServiceContext;

/// Runs the repeater on `steps`, a subscription taken before the task is
/// spawned so that no press made right after start is missed.
pub async fn run(
    ctx: ServiceContext,
    mut steps: tokio::sync::broadcast::Receiver<std::sync::Arc<crate::controller::Published>>,
) -> anyhow::Result<()> {
    let controller = ctx.controller.clone();
    let mut running: HashMap<String, AbortHandle> = HashMap::new();
    loop {
        let published = tokio::select! {
            s = steps.recv() => s,
            _ = ctx.shutdown.cancelled() => break,
        };
        let published = match published {
            Ok(p) => p,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => break,
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
