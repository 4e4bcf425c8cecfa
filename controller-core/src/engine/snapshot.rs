//! The whole observable state at one revision, and how steps move it on.
//! The panel (wasm) keeps one of these and applies the steps it receives, so
//! the same code decides what a panel shows and what the engine holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Change, Step};
use crate::project::{Led, Value};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonState {
    pub led: Led,
    /// Toggled on, or the selected member of its interlock group.
    pub latched: bool,
    /// Between a press and its release.
    pub held: bool,
}

/// A level's state: its value (on a step, within range) and its mute:
/// `None` (JSON `null`) for a level without a mute, on every format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LevelState {
    pub value: f64,
    #[serde(default)]
    pub muted: Option<bool>,
}

/// `levels` and `variables` are left out of the JSON when empty, and a
/// version-1 client ignores them: they are fields it does not know.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub revision: u64,
    pub project_name: String,
    pub project_revision: u32,
    pub buttons: BTreeMap<String, ButtonState>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub levels: BTreeMap<String, LevelState>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, Value>,
}

/// What a subscriber should do with a step it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// The step followed on from our revision and is now applied.
    Applied,
    /// We already had it (a duplicate after a reconnect): ignored.
    Stale,
    /// One or more steps were missed: fetch a fresh snapshot.
    Gap,
}

impl Snapshot {
    /// Applies a step unconditionally (the engine's own bookkeeping).
    pub fn apply(&mut self, step: &Step) {
        for change in &step.changes {
            match change {
                Change::Pressed { button, .. } => self.with(button, |b| b.held = true),
                Change::Released { button, .. } => self.with(button, |b| b.held = false),
                Change::Repeated { .. } => {}
                Change::Led { button, led } => self.with(button, |b| b.led = *led),
                Change::Latched { button, latched } => self.with(button, |b| b.latched = *latched),
                Change::Level { level, value, .. } => {
                    if let Some(l) = self.levels.get_mut(level) {
                        l.value = *value;
                    }
                }
                Change::Mute { level, muted, .. } => {
                    if let Some(l) = self.levels.get_mut(level) {
                        l.muted = Some(*muted);
                    }
                }
                Change::Variable { variable, value } => {
                    if let Some(v) = self.variables.get_mut(variable) {
                        *v = value.clone();
                    }
                }
                Change::ProjectLoaded {
                    name,
                    project_revision,
                    buttons,
                    levels,
                    variables,
                } => {
                    self.project_name = name.clone();
                    self.project_revision = *project_revision;
                    self.buttons = buttons.clone();
                    self.levels = levels.clone();
                    self.variables = variables.clone();
                }
            }
        }
        self.revision = step.revision;
    }

    /// Applies a step received from a stream, checking its revision follows
    /// on from ours: the subscriber side of "no missed or doubled change".
    pub fn receive(&mut self, step: &Step) -> StepOutcome {
        if step.revision <= self.revision {
            StepOutcome::Stale
        } else if step.revision == self.revision + 1 {
            self.apply(step);
            StepOutcome::Applied
        } else {
            StepOutcome::Gap
        }
    }

    /// [`Self::receive`] for a stream that leaves out steps a panel does not
    /// show (a `sparse` panel link): `after` is the revision of the last
    /// step before this one that was not left out. The step applies when we
    /// hold `after` or anything since, up to the revision before it: the
    /// steps in between changed only what a panel does not show (who holds
    /// a button), so the state shown is the same as the engine's. Without
    /// `after` the step must follow on directly, as in [`Self::receive`].
    pub fn receive_after(&mut self, step: &Step, after: Option<u64>) -> StepOutcome {
        match after {
            Some(after) if step.revision > self.revision && after <= self.revision => {
                self.apply(step);
                StepOutcome::Applied
            }
            _ => self.receive(step),
        }
    }

    fn with(&mut self, button: &str, f: impl FnOnce(&mut ButtonState)) {
        if let Some(b) = self.buttons.get_mut(button) {
            f(b);
        }
    }

    pub fn led(&self, button: &str) -> Option<Led> {
        self.buttons.get(button).map(|b| b.led)
    }
}
