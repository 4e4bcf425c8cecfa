//! A person's request to move a fader or mute it (panel `set_level`, 5009
//! `set_level`): checked once here for both front ends. Meters are
//! read-only to people; the room logic sets them through the engine.

use controller_core::engine::Command;
use controller_core::project::LevelKind;

use crate::controller::Controller;

/// Applies `value` and/or `muted` to `level` on behalf of `source`; the
/// reason when refused (no such fader, a meter, nothing to set, a value
/// that is not a number, no mute).
pub fn set_by_user(
    controller: &Controller,
    level: &str,
    value: Option<f64>,
    muted: Option<bool>,
    source: &str,
) -> Result<(), String> {
    let project = controller.project();
    let def = project
        .level(level)
        .ok_or_else(|| format!("there is no level {level:?} in the running project"))?;
    if def.kind == LevelKind::Meter {
        return Err(format!("{level:?} is a meter: it only shows a value"));
    }
    if value.is_none() && muted.is_none() {
        return Err("set_level needs a `value`, a `muted`, or both".into());
    }
    if let Some(value) = value {
        controller
            .execute(Command::SetLevel {
                level: level.to_string(),
                value,
                source: source.to_string(),
            })
            .map_err(|e| e.to_string())?;
    }
    if let Some(muted) = muted {
        controller
            .execute(Command::SetMute {
                level: level.to_string(),
                muted,
                source: source.to_string(),
            })
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
