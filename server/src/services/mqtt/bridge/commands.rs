//! What comes in from the broker: an occupancy sensor's reading (to the
//! bus, for the occupancy service), or a command (a press, a level, a
//! variable, a layout), checked and refused with a counted reason, then
//! run through the engine as a panel's would be.

use controller_core::logic::occupancy::MAX_PAYLOAD;

use super::*;

impl Bridge {
    pub(super) fn command(&mut self, message: &Message) {
        if self.sensors.contains(&message.topic) {
            // A sensor's reading, not a command: to the bus, for the
            // occupancy service (retained ones too: the sensor's last state).
            if message.payload.len() <= MAX_PAYLOAD {
                self.controller
                    .bus()
                    .publish(BusEvent::Reading(SensorReading {
                        topic: message.topic.clone(),
                        payload: String::from_utf8_lossy(&message.payload).into_owned(),
                    }));
            }
            return;
        }
        if self.is_swept(&message.topic) {
            // The sweep's subscriptions: noted, not a command. Empty ones
            // are already cleared; ones arriving after the sweep ended
            // (before the unsubscribe took effect) are ignored.
            if let Some(sweep) = &mut self.sweep {
                if !message.payload.is_empty() {
                    sweep.seen.insert(message.topic.clone());
                }
            }
            return;
        }
        // Only command topics are subscribed, and only with `commands = true`.
        if let Err(why) = self.run_command(message) {
            self.counters.refused();
            // The topic and the reason come from whoever may publish:
            // escaped, so they cannot forge a line or reach a terminal.
            let what = format!("{:?}: {}", message.topic, why.escape_debug());
            if let Some(line) = self.refusals.refused(Instant::now(), what) {
                self.controller.log().record(line);
            }
        }
    }

    pub(super) fn run_command(&mut self, message: &Message) -> Result<(), String> {
        let command = self
            .topics
            .parse_command(&message.topic, &message.payload)
            .map_err(|e| e.to_string())?;
        let source = "mqtt".to_string();
        let (button, hold, latched) = match command {
            Command::Press {
                button,
                hold,
                latched,
            } => (button, hold, latched),
            Command::Release { button } => {
                return self
                    .held
                    .release(&button)
                    .map_err(|e| format!("cannot release {button}: {e}"));
            }
            Command::Select { group, option } => {
                let button = discovery::member_of(&self.project, &group, &option)
                    .ok_or_else(|| format!("group {group} has no option {option}"))?;
                (button, false, Some(true))
            }
            Command::SetLevel {
                level,
                value,
                muted,
            } => return self.set_level(level, value, muted),
        };
        // `latched` names the wanted state: already there, nothing to press.
        let state = self
            .controller
            .snapshot()
            .buttons
            .get(&button)
            .copied()
            .ok_or_else(|| format!("there is no button {button}"))?;
        if latched.is_some_and(|want| want == state.latched) {
            return Ok(());
        }
        if hold {
            return self.held.press(&button).map_err(|e| e.to_string());
        }
        let press = EngineCommand::Press {
            button: button.clone(),
            source: source.clone(),
        };
        self.controller.execute(press).map_err(|e| e.to_string())?;
        let release = EngineCommand::Release { button, source };
        self.controller
            .execute(release)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Moves a fader and/or sets its mute, as from a panel or 5009 (one
    /// check, one order: the mute first).
    pub(super) fn set_level(
        &mut self,
        level: String,
        value: Option<f64>,
        muted: Option<bool>,
    ) -> Result<(), String> {
        crate::state::level_request::set_by_user(&self.controller, &level, value, muted, "mqtt")
    }

    // ---- the status board ----
}
