//! Installing a project in the engine: its initial state, with what still
//! exists carried over from the project that ran before.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{ButtonState, Engine, LevelState, Snapshot};
use crate::project::{ButtonKind, Led, Project, Value};

impl Engine {
    /// Installs `project`. What still exists carries over from the project
    /// that ran before (nothing does on a new engine): a button with the
    /// same id, kind and group keeps its LED mode, latch and hold; a level
    /// with the same id keeps its value (clamped and stepped to the new
    /// range) and its mute if it still has one; a variable with the same id
    /// keeps its value if it converts to the new kind. So applying an edited
    /// project does not drop the selected source or the volume.
    pub(super) fn install(&mut self, project: Arc<Project>) {
        self.groups = interlock_groups(&project);
        let old_project = std::mem::replace(&mut self.project, project.clone());
        let old = std::mem::take(&mut self.state);
        self.state.revision = old.revision;
        self.state.project_name = project.project.name.clone();
        self.state.project_revision = project.project.revision;
        self.state.buttons = carried_buttons(&project, &old_project, &old);
        self.state.levels = carried_levels(&project, &old);
        self.state.variables = carried_variables(&project, &old);
        self.show_mutes();
        self.show_conditions();
    }

    /// A level's mute button shows the level's mute.
    fn show_mutes(&mut self) {
        for b in &self.project.buttons {
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
    }

    /// LEDs that follow a condition show what it says now.
    fn show_conditions(&mut self) {
        for b in &self.project.buttons {
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
}

/// Interlock group name -> member button ids, in project order.
fn interlock_groups(project: &Project) -> BTreeMap<String, Vec<String>> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in &project.buttons {
        if let (ButtonKind::Interlock, Some(g)) = (b.kind, &b.group) {
            groups.entry(g.clone()).or_default().push(b.id.clone());
        }
    }
    groups
}

/// Every button off, except that one with the same id, kind and group as
/// before keeps its LED mode, latch and hold (in its new colour).
fn carried_buttons(
    project: &Project,
    old_project: &Project,
    old: &Snapshot,
) -> BTreeMap<String, ButtonState> {
    let mut buttons = initial_buttons(project);
    for b in &project.buttons {
        let same = old_project
            .button(&b.id)
            .is_some_and(|was| was.kind == b.kind && was.group == b.group);
        if let (true, Some(was), Some(now)) = (same, old.buttons.get(&b.id), buttons.get_mut(&b.id))
        {
            *now = ButtonState {
                led: Led {
                    mode: was.led.mode,
                    color: b.color,
                },
                ..*was
            };
        }
    }
    buttons
}

/// Each level at its old value fitted to its new range (or its initial
/// value), muted if it still has a mute and was muted.
fn carried_levels(project: &Project, old: &Snapshot) -> BTreeMap<String, LevelState> {
    project
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
        .collect()
}

/// Each variable at its old value if that converts to its new kind, else
/// its initial value.
fn carried_variables(project: &Project, old: &Snapshot) -> BTreeMap<String, Value> {
    project
        .all_variables()
        .map(|v| {
            let value = old
                .variables
                .get(&v.id)
                .and_then(|w| w.coerce(v.kind))
                .unwrap_or_else(|| v.initial_value());
            (v.id.clone(), value)
        })
        .collect()
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
