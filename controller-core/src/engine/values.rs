//! The engine's value commands: levels, mutes and variables, with the
//! buttons that show them.

use super::{Change, Engine, EngineError, LevelState, Source};
use crate::project::{ButtonKind, Led, Value};

impl Engine {
    pub(super) fn set_level(
        &self,
        level: String,
        value: f64,
        source: Source,
        changes: &mut Vec<Change>,
    ) -> Result<(), EngineError> {
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
        Ok(())
    }

    pub(super) fn set_mute(
        &self,
        level: String,
        muted: bool,
        source: Source,
        changes: &mut Vec<Change>,
    ) -> Result<(), EngineError> {
        let def = self
            .project
            .level(&level)
            .ok_or_else(|| EngineError::UnknownLevel(level.clone()))?;
        if !def.mute {
            return Err(EngineError::NoMute(level));
        }
        if self.level_state(&level)?.muted != Some(muted) {
            self.mute_buttons(&level, muted, changes);
            changes.push(Change::Mute {
                level,
                muted,
                source,
            });
        }
        Ok(())
    }

    pub(super) fn level_state(&self, level: &str) -> Result<&LevelState, EngineError> {
        self.state
            .levels
            .get(level)
            .ok_or_else(|| EngineError::UnknownLevel(level.to_string()))
    }

    /// The variable's new value, and the LEDs that follow a condition on it.
    pub(super) fn set_variable(
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
    pub(super) fn mute_buttons(&self, level: &str, muted: bool, changes: &mut Vec<Change>) {
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
}
