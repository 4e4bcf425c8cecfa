//! Feedback: lines from devices, matched against the project's feedback
//! rules (`controller_core::logic::FeedbackMatcher`), become presses, LED
//! changes, variables' values and levels' moves. One task for all devices,
//! fed by the device tasks in order, so a device's replies take effect in
//! the order it sent them. A level's move that only echoes a command the
//! level's driver sent moments ago is held back (`echoes.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use controller_core::engine::Command;
use controller_core::logic::{FeedbackAction, FeedbackMatcher};
use controller_core::project::{Project, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::echoes::Echoes;
use crate::state::controller::Controller;

/// Lines waiting for the feedback task; a device's reader waits when full.
pub const QUEUE: usize = 1024;

/// One line a device sent (without its terminator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackLine {
    pub device: String,
    /// A driver device's state that changed (`line` is its new value);
    /// None for a raw device's line.
    pub state: Option<String>,
    pub line: String,
}

pub async fn run(
    controller: Controller,
    project: Arc<Project>,
    mut lines: mpsc::Receiver<FeedbackLine>,
    echoes: Echoes,
    shutdown: CancellationToken,
) {
    let rules = matchers(&controller, &project);
    let acting = Acting {
        controller: &controller,
        project: &project,
        echoes: &echoes,
    };
    loop {
        let line = tokio::select! {
            _ = shutdown.cancelled() => return,
            l = lines.recv() => match l {
                Some(l) => l,
                None => return,
            },
        };
        tracing::debug!("device {}: {:?}", line.device, line.line);
        for rule in rules.get(line.device.as_str()).into_iter().flatten() {
            if rule.state != line.state {
                continue;
            }
            let Some(action) = rule.apply(&line.line) else {
                continue;
            };
            let result = match action {
                Ok(action) => acting.act(action, &line),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = result {
                controller.log().record(format!(
                    "feedback from {} ({:?}) failed: {e}",
                    line.device, line.line
                ));
            }
        }
    }
}

/// The project's feedback rules by device; a rule that does not compile is
/// logged and left out.
fn matchers<'p>(
    controller: &Controller,
    project: &'p Project,
) -> HashMap<&'p str, Vec<FeedbackMatcher>> {
    let mut rules: HashMap<&str, Vec<FeedbackMatcher>> = HashMap::new();
    for (i, rule) in project.feedback.iter().enumerate() {
        match FeedbackMatcher::new(rule) {
            Ok(m) => rules.entry(rule.device.as_str()).or_default().push(m),
            Err(e) => controller
                .log()
                .record(format!("feedback[{i}] is ignored: {e}")),
        }
    }
    rules
}

/// What a matched rule acts on.
struct Acting<'a> {
    controller: &'a Controller,
    project: &'a Project,
    echoes: &'a Echoes,
}

impl Acting<'_> {
    /// Does what a rule matched on `line` says.
    fn act(&self, action: FeedbackAction, line: &FeedbackLine) -> Result<(), String> {
        let controller = self.controller;
        let source = format!("feedback:{}", line.device);
        match action {
            FeedbackAction::Press { button } => {
                super::press_and_release(controller, &button, &source).map_err(|e| e.to_string())
            }
            FeedbackAction::Led { button, mode } => {
                super::set_led(controller, self.project, &button, mode, &source)
                    .map_err(|e| e.to_string())
            }
            FeedbackAction::SetVariable { variable, value } => controller
                .execute(Command::SetVariable {
                    variable,
                    value: Value::Text(value),
                    source,
                })
                .map(drop)
                .map_err(|e| e.to_string()),
            FeedbackAction::SetLevel { level, value } => self.set_level(level, value, source, line),
            FeedbackAction::SetMute { level, muted } => controller
                .execute(Command::SetMute {
                    level,
                    muted,
                    source,
                })
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    }

    /// Moves a level as its device reported, unless that only echoes a
    /// command in flight.
    fn set_level(
        &self,
        level: String,
        value: f64,
        source: String,
        line: &FeedbackLine,
    ) -> Result<(), String> {
        // Compared as the engine keeps it (on a step, in range).
        let reported = self
            .project
            .level(&level)
            .and_then(|d| d.quantise(value))
            .unwrap_or(value);
        let mut result = Ok(());
        let id = level.clone();
        let applied = self.echoes.report(&id, reported, || {
            result = self
                .controller
                .execute(Command::SetLevel {
                    level,
                    value,
                    source,
                })
                .map(drop)
                .map_err(|e| e.to_string());
        });
        if !applied {
            tracing::debug!("{:?}: an echo of a command in flight", line.line);
        }
        result
    }
}
