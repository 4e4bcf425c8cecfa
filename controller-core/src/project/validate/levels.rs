//! Levels (faders and meters): unique ids, a range with a step that fits
//! in it, a starting value inside it, and the device strings a fader sends.

use std::collections::HashSet;

use super::devices::{Devices, Link};
use super::{field, item, Checker, Seg, MAX_LABEL_LEN};
use crate::logic::decode_escapes;
use crate::project::drivers::level_param;
use crate::project::{Level, LevelKind, Transport};
use crate::template;

/// The longest unit ("dB", "%", "lux").
const MAX_UNIT_LEN: usize = 8;

pub(super) fn check(c: &mut Checker<'_, '_>, devices: &Devices<'_>) {
    let project = c.project;
    let mut ids = HashSet::new();
    for (i, l) in project.levels.iter().enumerate() {
        let base = item(&[], "levels", i);
        c.unique_id(field(&base, "id"), &l.id, "level", &mut ids, "");
        if project.button(&l.id).is_some() || project.variable(&l.id).is_some() {
            c.err(
                field(&base, "id"),
                format!(
                    "{:?} is also a button or variable id; `{{{}}}` in a label would be ambiguous",
                    l.id, l.id
                ),
            );
        }
        c.text(field(&base, "label"), &l.label, "label", MAX_LABEL_LEN);
        if l.unit.chars().count() > MAX_UNIT_LEN {
            c.err(
                field(&base, "unit"),
                format!("a unit is at most {MAX_UNIT_LEN} characters"),
            );
        }
        range(c, &base, l);
        sends(c, devices, &base, l);
    }
}

/// `min < max`, `0 < step <= max - min`, and `initial` inside the range,
/// all finite.
fn range(c: &mut Checker<'_, '_>, base: &[Seg], l: &Level) {
    if !(l.min.is_finite() && l.max.is_finite() && l.min < l.max) {
        c.err(field(base, "max"), "a level needs finite min < max");
        return;
    }
    if !(l.step.is_finite() && l.step > 0.0 && l.step <= l.max - l.min) {
        c.err(
            field(base, "step"),
            "step must be greater than 0 and at most max - min",
        );
    } else if (l.max - l.min) / l.step > 1_000_000.0 {
        c.err(
            field(base, "step"),
            "step is too small: at most 1000000 steps between min and max",
        );
    }
    if let Some(v) = l.initial {
        if !(v.is_finite() && (l.min..=l.max).contains(&v)) {
            c.err(
                field(base, "initial"),
                format!("initial must be between {} and {}", l.min, l.max),
            );
        }
    }
}

/// A fader that drives a device names one that takes strings, and its
/// strings are templates of `{value}` that decode.
fn sends(c: &mut Checker<'_, '_>, devices: &Devices<'_>, base: &[Seg], l: &Level) {
    let strings = [("send", &l.send), ("send_mute", &l.send_mute)];
    let any = strings.iter().any(|(_, s)| s.is_some());
    let commands = l.command.is_some() || l.mute_command.is_some();
    if l.kind == LevelKind::Meter && (any || commands || l.device.is_some()) {
        c.err(
            field(base, "kind"),
            "a meter only shows a value; `device`, `send`, `send_mute`, `command` and `mute_command` belong to faders",
        );
        return;
    }
    if commands {
        if any {
            c.err(
                base.to_vec(),
                "a level calls a driver's `command` or sends strings (`send`), not both",
            );
        }
        commands_of(c, devices, base, l);
        return;
    }
    if l.send_mute.is_some() && !l.mute {
        c.err(
            field(base, "send_mute"),
            "send_mute needs `mute = true` on the level",
        );
    }
    match (&l.device, any) {
        (Some(d), true) => match devices.resolve(c, field(base, "device"), d) {
            Some(Link::Raw(Transport::Http)) => c.err(
                field(base, "device"),
                format!("{d:?} is an http device; a level sends strings (tcp, udp, serial)"),
            ),
            Some(Link::Driver(driver, _)) => c.err(
                field(base, "device"),
                format!(
                    "{d:?} is driven by the {} driver: give the level its `command` rather than `send`",
                    driver.id
                ),
            ),
            _ => {}
        },
        (Some(_), false) => c.err(
            field(base, "device"),
            "a level with a `device` needs `send` (e.g. send = \"VOL {value}\") or, for a driver device, `command`",
        ),
        (None, true) => c.err(base.to_vec(), "`send` needs a `device` to send to"),
        (None, false) => {}
    }
    for (name, text) in strings {
        let Some(text) = text else { continue };
        match template::names(text) {
            Err(e) => c.err(field(base, name), e.to_string()),
            Ok(names) => {
                if let Some(bad) = names.iter().find(|n| **n != "value") {
                    c.err(
                        field(base, name),
                        format!("{{{bad}}}: a level's strings know only {{value}}"),
                    );
                }
            }
        }
        if let Err(e) = decode_escapes(text) {
            c.err(field(base, name), e.to_string());
        }
    }
    c.in_range(
        field(base, "send_interval_ms"),
        l.send_interval_ms,
        0..=10_000,
        "send_interval_ms",
    );
}

/// A fader that calls a driver device's commands: the device has a
/// driver, `command` takes the value as its one number parameter and
/// `mute_command` takes on/off.
fn commands_of(c: &mut Checker<'_, '_>, devices: &Devices<'_>, base: &[Seg], l: &Level) {
    if l.mute_command.is_some() && !l.mute {
        c.err(
            field(base, "mute_command"),
            "mute_command needs `mute = true` on the level",
        );
    }
    let Some(d) = &l.device else {
        c.err(
            base.to_vec(),
            "`command` needs a driver `device` to call it on",
        );
        return;
    };
    let driver = match devices.resolve(c, field(base, "device"), d) {
        Some(Link::Driver(driver, _)) => driver,
        Some(Link::Raw(_)) => {
            c.err(
                field(base, "device"),
                format!("{d:?} has no driver; give the level `send` strings instead of `command`"),
            );
            return;
        }
        _ => return,
    };
    for (name, command, mute) in [
        ("command", &l.command, false),
        ("mute_command", &l.mute_command, true),
    ] {
        if let Some(command) = command {
            if let Err(e) = level_param(&driver, command, mute) {
                c.err(field(base, name), e);
            }
        }
    }
    c.in_range(
        field(base, "send_interval_ms"),
        l.send_interval_ms,
        0..=10_000,
        "send_interval_ms",
    );
}
