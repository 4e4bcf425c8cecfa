//! A person's request to move a fader or mute it (panel `set_level`, 5009
//! `set_level`, MQTT `level/<id>/set`): checked once here for every front
//! end, and applied in one order everywhere: the mute first, then the
//! value (docs/protocols.md). Meters are read-only to people; the room
//! logic sets them through the engine.

use controller_core::engine::Command;
use controller_core::project::LevelKind;

use super::controller::Controller;

/// Applies `muted` and then `value` to `level` on behalf of `source`; the
/// reason when refused (no such fader, a meter, nothing to set, a value
/// that is not a number, no mute), in which case nothing was applied.
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
    if muted.is_some() && !def.mute {
        return Err(format!("{level:?} has no mute"));
    }
    if value.is_some_and(|v| def.quantise(v).is_none()) {
        return Err(format!("{level:?}: the value must be a number"));
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
    if let Some(value) = value {
        controller
            .execute(Command::SetLevel {
                level: level.to_string(),
                value,
                source: source.to_string(),
            })
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
