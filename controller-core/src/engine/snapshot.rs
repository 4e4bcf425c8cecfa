//! The whole observable state at one revision, and how steps move it on.
//! The panel (wasm) keeps one of these and applies the steps it receives, so
//! the same code decides what a panel shows and what the engine holds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Change, Step};
use crate::project::Led;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonState {
    pub led: Led,
    /// Toggled on, or the selected member of its interlock group.
    pub latched: bool,
    /// Between a press and its release.
    pub held: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub revision: u64,
    pub project_name: String,
    pub project_revision: u32,
    pub buttons: BTreeMap<String, ButtonState>,
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
                Change::ProjectLoaded {
                    name,
                    project_revision,
                    buttons,
                } => {
                    self.project_name = name.clone();
                    self.project_revision = *project_revision;
                    self.buttons = buttons.clone();
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

    fn with(&mut self, button: &str, f: impl FnOnce(&mut ButtonState)) {
        if let Some(b) = self.buttons.get_mut(button) {
            f(b);
        }
    }

    pub fn led(&self, button: &str) -> Option<Led> {
        self.buttons.get(button).map(|b| b.led)
    }
}
