//! The engine: the one runtime state machine of a controller.
//!
//! Every input (a panel touch, a central-control press, a keypad, a console
//! command, a timer, a device's feedback) becomes a [`Command`]; applying it
//! yields at most one [`Step`]: the changes it caused, stamped with the next
//! revision. A subscriber that holds a [`Snapshot`] and applies the steps that
//! follow it has exactly the engine's state ([`Snapshot::apply`]); one that
//! sees a gap in revisions resynchronises from a fresh snapshot.
//!
//! Deterministic and free of I/O: no clocks, no sockets, no tasks.

mod snapshot;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::project::{ButtonKind, Led, LedMode, LedSource, Project};

pub use snapshot::{ButtonState, Snapshot, StepOutcome};

/// Who asked for a command: shown in logs and on the live streams.
/// Free text by convention `kind:detail`, e.g. `panel:tablet@10.0.0.7`.
pub type Source = String;

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Press {
        button: String,
        source: Source,
    },
    Release {
        button: String,
        source: Source,
    },
    /// Sent while a repeating button is held (volume up/down).
    Repeat {
        button: String,
        source: Source,
    },
    SetLed {
        button: String,
        led: Led,
        source: Source,
    },
    /// Replace the running project (already validated). All state restarts.
    LoadProject {
        project: Arc<Project>,
        source: Source,
    },
}

/// What one command changed, stamped with its revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub revision: u64,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    Pressed {
        button: String,
        source: Source,
    },
    Released {
        button: String,
        source: Source,
    },
    Repeated {
        button: String,
        source: Source,
    },
    Led {
        button: String,
        led: Led,
    },
    Latched {
        button: String,
        latched: bool,
    },
    /// A new project runs; `buttons` is its complete initial state.
    ProjectLoaded {
        name: String,
        project_revision: u32,
        buttons: BTreeMap<String, ButtonState>,
    },
}

impl Change {
    pub fn led(&self) -> Option<(&str, Led)> {
        match self {
            Change::Led { button, led } => Some((button, *led)),
            _ => None,
        }
    }
}

impl Step {
    /// The LED changes in this step, in order.
    pub fn leds(&self) -> impl Iterator<Item = (&str, Led)> {
        self.changes.iter().filter_map(Change::led)
    }

    pub fn loads_project(&self) -> bool {
        self.changes
            .iter()
            .any(|c| matches!(c, Change::ProjectLoaded { .. }))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("there is no button {0:?} in the running project")]
    UnknownButton(String),
}

/// The running state of a controller: the project and every button's state.
#[derive(Debug, Clone)]
pub struct Engine {
    project: Arc<Project>,
    state: Snapshot,
    /// Interlock group name -> member button ids, in project order.
    groups: BTreeMap<String, Vec<String>>,
}

impl Engine {
    pub fn new(project: Arc<Project>) -> Engine {
        let mut engine = Engine {
            project: project.clone(),
            state: Snapshot::default(),
            groups: BTreeMap::new(),
        };
        engine.install(project);
        engine
    }

    fn install(&mut self, project: Arc<Project>) {
        self.groups.clear();
        for b in &project.buttons {
            if let (ButtonKind::Interlock, Some(g)) = (b.kind, &b.group) {
                self.groups.entry(g.clone()).or_default().push(b.id.clone());
            }
        }
        self.state.project_name = project.project.name.clone();
        self.state.project_revision = project.project.revision;
        self.state.buttons = initial_buttons(&project);
        self.project = project;
    }

    pub fn project(&self) -> &Arc<Project> {
        &self.project
    }

    pub fn revision(&self) -> u64 {
        self.state.revision
    }

    pub fn snapshot(&self) -> Snapshot {
        self.state.clone()
    }

    pub fn state(&self) -> &Snapshot {
        &self.state
    }

    pub fn button_state(&self, id: &str) -> Option<&ButtonState> {
        self.state.buttons.get(id)
    }

    /// Applies a command. `Ok(None)` when it changed nothing (a release of a
    /// button that was not held); an error when it names no known button.
    pub fn apply(&mut self, command: Command) -> Result<Option<Step>, EngineError> {
        let mut changes = Vec::new();
        match command {
            Command::Press { button, source } => self.press(button, source, &mut changes)?,
            Command::Release { button, source } => self.release(button, source, &mut changes)?,
            Command::Repeat { button, source } => {
                let state = self.known(&button)?;
                if state.held {
                    changes.push(Change::Repeated { button, source });
                }
            }
            Command::SetLed { button, led, .. } => {
                let state = self.known(&button)?;
                if state.led != led {
                    changes.push(Change::Led { button, led });
                }
            }
            Command::LoadProject { project, .. } => {
                self.install(project);
                changes.push(Change::ProjectLoaded {
                    name: self.state.project_name.clone(),
                    project_revision: self.state.project_revision,
                    buttons: self.state.buttons.clone(),
                });
            }
        }
        if changes.is_empty() {
            return Ok(None);
        }
        let step = Step {
            revision: self.state.revision + 1,
            changes,
        };
        self.state.apply(&step);
        Ok(Some(step))
    }

    fn known(&self, button: &str) -> Result<&ButtonState, EngineError> {
        self.state
            .buttons
            .get(button)
            .ok_or_else(|| EngineError::UnknownButton(button.to_string()))
    }

    fn press(
        &self,
        button: String,
        source: Source,
        changes: &mut Vec<Change>,
    ) -> Result<(), EngineError> {
        let state = self.known(&button)?;
        let def = self
            .project
            .button(&button)
            .ok_or_else(|| EngineError::UnknownButton(button.clone()))?;
        let was_latched = state.latched;
        changes.push(Change::Pressed {
            button: button.clone(),
            source,
        });
        let follows_state = def.led == LedSource::State;
        let lit = |on: bool| {
            if on {
                Led::on(def.color)
            } else {
                Led::off(def.color)
            }
        };
        match def.kind {
            ButtonKind::Momentary => {
                if follows_state && state.led != lit(true) {
                    changes.push(Change::Led {
                        button,
                        led: lit(true),
                    });
                }
            }
            ButtonKind::Toggle => {
                let latched = !was_latched;
                changes.push(Change::Latched {
                    button: button.clone(),
                    latched,
                });
                if follows_state && state.led != lit(latched) {
                    changes.push(Change::Led {
                        button,
                        led: lit(latched),
                    });
                }
            }
            ButtonKind::Interlock => {
                let group = def.group.as_deref().unwrap_or_default();
                for other in self.groups.get(group).into_iter().flatten() {
                    if *other == button {
                        continue;
                    }
                    let Some(other_state) = self.state.buttons.get(other) else {
                        continue;
                    };
                    if other_state.latched {
                        changes.push(Change::Latched {
                            button: other.clone(),
                            latched: false,
                        });
                    }
                    let other_def = self.project.button(other);
                    if let Some(od) = other_def.filter(|d| d.led == LedSource::State) {
                        if other_state.led.mode != LedMode::Off {
                            changes.push(Change::Led {
                                button: other.clone(),
                                led: Led::off(od.color),
                            });
                        }
                    }
                }
                if !was_latched {
                    changes.push(Change::Latched {
                        button: button.clone(),
                        latched: true,
                    });
                }
                if follows_state && state.led != lit(true) {
                    changes.push(Change::Led {
                        button,
                        led: lit(true),
                    });
                }
            }
        }
        Ok(())
    }

    fn release(
        &self,
        button: String,
        source: Source,
        changes: &mut Vec<Change>,
    ) -> Result<(), EngineError> {
        let state = self.known(&button)?;
        if !state.held {
            return Ok(());
        }
        let def = self
            .project
            .button(&button)
            .ok_or_else(|| EngineError::UnknownButton(button.clone()))?;
        changes.push(Change::Released {
            button: button.clone(),
            source,
        });
        if def.kind == ButtonKind::Momentary
            && def.led == LedSource::State
            && state.led.mode != LedMode::Off
        {
            changes.push(Change::Led {
                button,
                led: Led::off(def.color),
            });
        }
        Ok(())
    }
}

fn initial_buttons(project: &Project) -> BTreeMap<String, ButtonState> {
    project
        .buttons
        .iter()
        .map(|b| {
            (
                b.id.clone(),
                ButtonState {
                    led: Led::off(b.color),
                    latched: false,
                    held: false,
                },
            )
        })
        .collect()
}
