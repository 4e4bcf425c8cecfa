//! Buttons held down by one client (a panel socket, a central-control
//! connection, a keypad on the extension bus). Whatever way the client goes
//! away — it closes, is cut off, times out, says goodbye, the task is
//! dropped — every button it still holds is released, so a held volume key
//! never keeps ramping after its holder is gone.

use std::collections::HashSet;

use controller_core::engine::{Command, EngineError};

use super::controller::Controller;

pub struct HeldButtons {
    controller: Controller,
    source: String,
    held: HashSet<String>,
}

impl HeldButtons {
    pub fn new(controller: Controller, source: impl Into<String>) -> HeldButtons {
        HeldButtons {
            controller,
            source: source.into(),
            held: HashSet::new(),
        }
    }

    /// The source presses are attributed to ("central:ops@10.0.0.9").
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Changes the source of later presses (e.g. after a login).
    pub fn set_source(&mut self, source: impl Into<String>) {
        self.source = source.into();
    }

    /// Presses `button` and remembers it as held.
    pub fn press(&mut self, button: &str) -> Result<(), EngineError> {
        self.controller.execute(Command::Press {
            button: button.to_string(),
            source: self.source.clone(),
        })?;
        self.held.insert(button.to_string());
        Ok(())
    }

    /// Releases `button`.
    pub fn release(&mut self, button: &str) -> Result<(), EngineError> {
        self.held.remove(button);
        self.controller.execute(Command::Release {
            button: button.to_string(),
            source: self.source.clone(),
        })?;
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Releases every button still held.
    pub fn release_all(&mut self) {
        for button in std::mem::take(&mut self.held) {
            let _ = self.controller.execute(Command::Release {
                button,
                source: self.source.clone(),
            });
        }
    }
}

impl Drop for HeldButtons {
    fn drop(&mut self) {
        self.release_all();
    }
}
