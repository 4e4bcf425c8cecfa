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

mod buttons;
mod install;
mod snapshot;
#[cfg(test)]
mod tests;
mod values;
mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::project::{Led, Project, Value};

pub use snapshot::{ButtonState, LevelState, Snapshot, StepOutcome};

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
    /// Undo a selection the room is not in: a toggle or interlock button
    /// whose sequence failed is no longer latched, and its LED, if the
    /// button's state drives it, goes off. Other buttons are left alone.
    Deselect {
        button: String,
        source: Source,
    },
    /// Move a level; the value is clamped to its range and rounded to its step.
    SetLevel {
        level: String,
        value: f64,
        source: Source,
    },
    /// Mute or unmute a level that has a mute.
    SetMute {
        level: String,
        muted: bool,
        source: Source,
    },
    /// Set a variable; the value is converted to the variable's kind.
    SetVariable {
        variable: String,
        value: Value,
        source: Source,
    },
    /// Replace the running project (already validated). All state restarts.
    LoadProject {
        project: Arc<Project>,
        source: Source,
    },
}

/// What one command changed, stamped with its revision.
///
/// On the wire (JSON) the changes a version-1 client knows travel in
/// `changes` and the level and variable changes in `values`, a field such a
/// client ignores (`wire.rs`); the engine keeps `values` kinds last in
/// `changes` so that split round-trips exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "wire::WireStepIn", into = "wire::WireStep")]
pub struct Step {
    pub revision: u64,
    pub changes: Vec<Change>,
}

/// Written with serde's internal tag (`"type"`); read through
/// [`wire::ChangeIn`], one flat object (see there why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "wire::ChangeIn")]
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
    /// A level moved. `source` lets a device driver skip the changes its
    /// own device reported.
    Level {
        level: String,
        value: f64,
        source: Source,
    },
    Mute {
        level: String,
        muted: bool,
        source: Source,
    },
    Variable {
        variable: String,
        value: Value,
    },
    /// A new project runs; `buttons`, `levels` and `variables` are its
    /// complete initial state.
    ProjectLoaded {
        name: String,
        project_revision: u32,
        buttons: BTreeMap<String, ButtonState>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        levels: BTreeMap<String, LevelState>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        variables: BTreeMap<String, Value>,
    },
}

impl Change {
    /// A change of a kind added after protocol version 1 (levels,
    /// variables): sent where version-1 clients do not look.
    pub fn is_value(&self) -> bool {
        matches!(
            self,
            Change::Level { .. } | Change::Mute { .. } | Change::Variable { .. }
        )
    }

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

    /// The level and variable changes in this step, in order.
    pub fn values(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.is_value())
    }

    /// Whether this step changes anything a panel shows. A panel shows LEDs,
    /// latches, levels, mutes, variables and the project, but not who holds
    /// a button: a step of only presses, releases and repeats (a toggle's
    /// release, a repeat tick) changes nothing on screen. A panel that said
    /// `sparse` in its hello is sent only the steps for which this is true.
    pub fn shown_on_panels(&self) -> bool {
        self.changes.iter().any(|c| {
            !matches!(
                c,
                Change::Pressed { .. } | Change::Released { .. } | Change::Repeated { .. }
            )
        })
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
    #[error("there is no level {0:?} in the running project")]
    UnknownLevel(String),
    #[error("there is no variable {0:?} in the running project")]
    UnknownVariable(String),
    #[error("level {0:?} has no mute")]
    NoMute(String),
    #[error("{value} is not a valid value for {target:?}")]
    BadValue { target: String, value: String },
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
            Command::Repeat { button, source } => self.repeat(button, source, &mut changes)?,
            Command::SetLed { button, led, .. } => self.set_led(button, led, &mut changes)?,
            Command::Deselect { button, .. } => self.deselect(button, &mut changes)?,
            Command::SetLevel {
                level,
                value,
                source,
            } => self.set_level(level, value, source, &mut changes)?,
            Command::SetMute {
                level,
                muted,
                source,
            } => self.set_mute(level, muted, source, &mut changes)?,
            Command::SetVariable {
                variable, value, ..
            } => self.set_variable(variable, value, &mut changes)?,
            Command::LoadProject { project, .. } => {
                self.install(project);
                changes.push(self.project_loaded());
            }
        }
        Ok(self.commit(changes))
    }

    /// The whole initial state of the project just installed.
    fn project_loaded(&self) -> Change {
        Change::ProjectLoaded {
            name: self.state.project_name.clone(),
            project_revision: self.state.project_revision,
            buttons: self.state.buttons.clone(),
            levels: self.state.levels.clone(),
            variables: self.state.variables.clone(),
        }
    }

    /// Stamps `changes` with the next revision and applies them; `None` when
    /// there are none.
    fn commit(&mut self, mut changes: Vec<Change>) -> Option<Step> {
        if changes.is_empty() {
            return None;
        }
        // Level and variable changes last: the wire form splits them off
        // (see `Step`), and this order makes that split lossless.
        changes.sort_by_key(Change::is_value);
        let step = Step {
            revision: self.state.revision + 1,
            changes,
        };
        self.state.apply(&step);
        Some(step)
    }
}
