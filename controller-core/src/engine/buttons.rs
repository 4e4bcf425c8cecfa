//! The engine's button commands: press, release, repeat, an LED set from
//! outside, and a deselection.

use super::{ButtonState, Change, Engine, EngineError, Source};
use crate::project::{Button, ButtonKind, Led, LedMode, LedSource};

impl Engine {
    pub(super) fn known(&self, button: &str) -> Result<&ButtonState, EngineError> {
        self.state
            .buttons
            .get(button)
            .ok_or_else(|| EngineError::UnknownButton(button.to_string()))
    }

    fn definition(&self, button: &str) -> Result<&Button, EngineError> {
        self.project
            .button(button)
            .ok_or_else(|| EngineError::UnknownButton(button.to_string()))
    }

    pub(super) fn press(
        &self,
        button: String,
        source: Source,
        changes: &mut Vec<Change>,
    ) -> Result<(), EngineError> {
        let state = *self.known(&button)?;
        let def = self.definition(&button)?;
        changes.push(Change::Pressed {
            button: button.clone(),
            source: source.clone(),
        });
        match def.kind {
            ButtonKind::Momentary => show_state(def, &state, button, true, changes),
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
                let latched = !state.latched;
                changes.push(Change::Latched {
                    button: button.clone(),
                    latched,
                });
                show_state(def, &state, button, latched, changes);
            }
            ButtonKind::Interlock => {
                self.release_others(def, &button, changes);
                if !state.latched {
                    changes.push(Change::Latched {
                        button: button.clone(),
                        latched: true,
                    });
                }
                show_state(def, &state, button, true, changes);
            }
        }
        Ok(())
    }

    /// Unlatches the other members of `def`'s interlock group, and turns off
    /// the LEDs of those whose LED shows their state.
    fn release_others(&self, def: &Button, button: &str, changes: &mut Vec<Change>) {
        let group = def.group.as_deref().unwrap_or_default();
        for other in self.groups.get(group).into_iter().flatten() {
            if other == button {
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
    }

    pub(super) fn release(
        &self,
        button: String,
        source: Source,
        changes: &mut Vec<Change>,
    ) -> Result<(), EngineError> {
        let state = self.known(&button)?;
        if !state.held {
            return Ok(());
        }
        let def = self.definition(&button)?;
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

    pub(super) fn repeat(
        &self,
        button: String,
        source: Source,
        changes: &mut Vec<Change>,
    ) -> Result<(), EngineError> {
        let state = self.known(&button)?;
        if state.held {
            changes.push(Change::Repeated { button, source });
        }
        Ok(())
    }

    pub(super) fn set_led(
        &self,
        button: String,
        led: Led,
        changes: &mut Vec<Change>,
    ) -> Result<(), EngineError> {
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
        Ok(())
    }

    pub(super) fn deselect(
        &self,
        button: String,
        changes: &mut Vec<Change>,
    ) -> Result<(), EngineError> {
        let state = *self.known(&button)?;
        let def = self.definition(&button)?;
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
        Ok(())
    }
}

/// The LED of a button whose LED shows its state, made to show `on` if it
/// does not already.
fn show_state(
    def: &Button,
    state: &ButtonState,
    button: String,
    on: bool,
    changes: &mut Vec<Change>,
) {
    let follows_state = def.led == LedSource::State && def.led_when.is_none();
    let led = if on {
        Led::on(def.color)
    } else {
        Led::off(def.color)
    };
    if follows_state && state.led != led {
        changes.push(Change::Led { button, led });
    }
}
