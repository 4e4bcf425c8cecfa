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
mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::project::{ButtonKind, Led, LedMode, LedSource, Project, Value};

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

    /// Installs `project`. What still exists carries over from the project
    /// that ran before (nothing does on a new engine): a button with the
    /// same id, kind and group keeps its LED mode, latch and hold; a level
    /// with the same id keeps its value (clamped and stepped to the new
    /// range) and its mute if it still has one; a variable with the same id
    /// keeps its value if it converts to the new kind. So applying an edited
    /// project does not drop the selected source or the volume.
    fn install(&mut self, project: Arc<Project>) {
        self.groups.clear();
        for b in &project.buttons {
            if let (ButtonKind::Interlock, Some(g)) = (b.kind, &b.group) {
                self.groups.entry(g.clone()).or_default().push(b.id.clone());
            }
        }
        let old_project = std::mem::replace(&mut self.project, project.clone());
        let old = std::mem::take(&mut self.state);
        self.state.revision = old.revision;
        self.state.project_name = project.project.name.clone();
        self.state.project_revision = project.project.revision;
        self.state.buttons = initial_buttons(&project);
        for b in &project.buttons {
            let same = old_project
                .button(&b.id)
                .is_some_and(|was| was.kind == b.kind && was.group == b.group);
            if let (true, Some(was), Some(now)) = (
                same,
                old.buttons.get(&b.id),
                self.state.buttons.get_mut(&b.id),
            ) {
                *now = ButtonState {
                    led: Led {
                        mode: was.led.mode,
                        color: b.color,
                    },
                    ..*was
                };
            }
        }
        self.state.levels = project
            .levels
            .iter()
            .map(|l| {
                let was = old.levels.get(&l.id);
                let state = LevelState {
                    value: was
                        .and_then(|w| l.quantise(w.value))
                        .unwrap_or_else(|| l.initial_value()),
                    muted: l.mute.then(|| was.is_some_and(|w| w.muted == Some(true))),
                };
                (l.id.clone(), state)
            })
            .collect();
        self.state.variables = project
            .all_variables()
            .map(|v| {
                let value = old
                    .variables
                    .get(&v.id)
                    .and_then(|w| w.coerce(v.kind))
                    .unwrap_or_else(|| v.initial_value());
                (v.id.clone(), value)
            })
            .collect();
        // A level's mute button shows the level's mute.
        for b in &project.buttons {
            let Some(level) = b.mutes.as_ref().filter(|_| b.kind == ButtonKind::Toggle) else {
                continue;
            };
            let muted = self
                .state
                .levels
                .get(level)
                .is_some_and(|l| l.muted == Some(true));
            if let Some(state) = self.state.buttons.get_mut(&b.id) {
                state.latched = muted;
                state.led = if muted {
                    Led::on(b.color)
                } else {
                    Led::off(b.color)
                };
            }
        }
        // LEDs that follow a condition show what it says now.
        for b in &project.buttons {
            if let Some(cond) = &b.led_when {
                let lit = cond.holds(self.state.variables.get(&cond.variable));
                if let Some(state) = self.state.buttons.get_mut(&b.id) {
                    state.led = if lit {
                        Led::on(b.color)
                    } else {
                        Led::off(b.color)
                    };
                }
            }
        }
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
                let state = *self.known(&button)?;
                // A toggle whose LED shows the device's state (`led =
                // "feedback"`, e.g. display power) is latched exactly while
                // the device reports it on (or on its way): so after "All
                // off" the display's button no longer reports itself pressed.
                let follows = self
                    .project
                    .button(&button)
                    .is_some_and(|b| b.kind == ButtonKind::Toggle && b.led == LedSource::Feedback);
                let lit = led.mode != LedMode::Off;
                if state.led != led {
                    changes.push(Change::Led {
                        button: button.clone(),
                        led,
                    });
                }
                if follows && state.latched != lit {
                    changes.push(Change::Latched {
                        button,
                        latched: lit,
                    });
                }
            }
            Command::Deselect { button, .. } => {
                let state = *self.known(&button)?;
                let def = self
                    .project
                    .button(&button)
                    .ok_or_else(|| EngineError::UnknownButton(button.clone()))?;
                if def.kind != ButtonKind::Momentary && state.latched {
                    changes.push(Change::Latched {
                        button: button.clone(),
                        latched: false,
                    });
                    if def.led == LedSource::State
                        && def.led_when.is_none()
                        && state.led.mode != LedMode::Off
                    {
                        changes.push(Change::Led {
                            button,
                            led: Led::off(def.color),
                        });
                    }
                }
            }
            Command::SetLevel {
                level,
                value,
                source,
            } => {
                let def = self
                    .project
                    .level(&level)
                    .ok_or_else(|| EngineError::UnknownLevel(level.clone()))?;
                let value = def.quantise(value).ok_or_else(|| EngineError::BadValue {
                    target: level.clone(),
                    value: value.to_string(),
                })?;
                let state = self.level_state(&level)?;
                if state.value != value {
                    changes.push(Change::Level {
                        level,
                        value,
                        source,
                    });
                }
            }
            Command::SetMute {
                level,
                muted,
                source,
            } => {
                let def = self
                    .project
                    .level(&level)
                    .ok_or_else(|| EngineError::UnknownLevel(level.clone()))?;
                if !def.mute {
                    return Err(EngineError::NoMute(level));
                }
                if self.level_state(&level)?.muted != Some(muted) {
                    self.mute_buttons(&level, muted, &mut changes);
                    changes.push(Change::Mute {
                        level,
                        muted,
                        source,
                    });
                }
            }
            Command::SetVariable {
                variable, value, ..
            } => self.set_variable(variable, value, &mut changes)?,
            Command::LoadProject { project, .. } => {
                self.install(project);
                changes.push(Change::ProjectLoaded {
                    name: self.state.project_name.clone(),
                    project_revision: self.state.project_revision,
                    buttons: self.state.buttons.clone(),
                    levels: self.state.levels.clone(),
                    variables: self.state.variables.clone(),
                });
            }
        }
        if changes.is_empty() {
            return Ok(None);
        }
        // Level and variable changes last: the wire form splits them off
        // (see `Step`), and this order makes that split lossless.
        changes.sort_by_key(Change::is_value);
        let step = Step {
            revision: self.state.revision + 1,
            changes,
        };
        self.state.apply(&step);
        Ok(Some(step))
    }

    fn level_state(&self, level: &str) -> Result<&LevelState, EngineError> {
        self.state
            .levels
            .get(level)
            .ok_or_else(|| EngineError::UnknownLevel(level.to_string()))
    }

    /// The variable's new value, and the LEDs that follow a condition on it.
    fn set_variable(
        &self,
        variable: String,
        value: Value,
        changes: &mut Vec<Change>,
    ) -> Result<(), EngineError> {
        let def = self
            .project
            .variable(&variable)
            .ok_or_else(|| EngineError::UnknownVariable(variable.clone()))?;
        let value = value
            .coerce(def.kind)
            .ok_or_else(|| EngineError::BadValue {
                target: variable.clone(),
                value: value.to_string(),
            })?;
        if self.state.variables.get(&variable) == Some(&value) {
            return Ok(());
        }
        for b in &self.project.buttons {
            let Some(cond) = b.led_when.as_ref().filter(|c| c.variable == variable) else {
                continue;
            };
            let led = if cond.holds(Some(&value)) {
                Led::on(b.color)
            } else {
                Led::off(b.color)
            };
            if self.state.led(&b.id).is_some_and(|now| now != led) {
                changes.push(Change::Led {
                    button: b.id.clone(),
                    led,
                });
            }
        }
        changes.push(Change::Variable { variable, value });
        Ok(())
    }

    /// The latch and LED of every button that is `level`'s mute, made to
    /// show `muted`.
    fn mute_buttons(&self, level: &str, muted: bool, changes: &mut Vec<Change>) {
        for b in &self.project.buttons {
            if b.mutes.as_deref() != Some(level) || b.kind != ButtonKind::Toggle {
                continue;
            }
            let Some(state) = self.state.buttons.get(&b.id) else {
                continue;
            };
            if state.latched != muted {
                changes.push(Change::Latched {
                    button: b.id.clone(),
                    latched: muted,
                });
            }
            let led = if muted {
                Led::on(b.color)
            } else {
                Led::off(b.color)
            };
            if state.led != led {
                changes.push(Change::Led {
                    button: b.id.clone(),
                    led,
                });
            }
        }
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
            source: source.clone(),
        });
        let follows_state = def.led == LedSource::State && def.led_when.is_none();
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
            ButtonKind::Toggle if def.mutes.is_some() => {
                // The level's mute flips; this button (and any other mute
                // button of the level) shows it.
                let level = def.mutes.clone().unwrap_or_default();
                let muted = self.level_state(&level)?.muted != Some(true);
                self.mute_buttons(&level, muted, changes);
                changes.push(Change::Mute {
                    level,
                    muted,
                    source,
                });
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
                    if let Some(od) =
                        other_def.filter(|d| d.led == LedSource::State && d.led_when.is_none())
                    {
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
            && def.led_when.is_none()
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
