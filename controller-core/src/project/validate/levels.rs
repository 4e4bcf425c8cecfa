//! Levels (faders and meters): unique ids, a range with a step that fits
//! in it, a starting value inside it, and the device strings a fader sends.

use std::collections::HashSet;

use super::devices::Devices;
use super::{field, item, Checker, Seg, MAX_LABEL_LEN};
use crate::logic::decode_escapes;
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
    if l.kind == LevelKind::Meter && (any || l.device.is_some()) {
        c.err(
            field(base, "kind"),
            "a meter only shows a value; `device`, `send` and `send_mute` belong to faders",
        );
        return;
    }
    if l.send_mute.is_some() && !l.mute {
        c.err(
            field(base, "send_mute"),
            "send_mute needs `mute = true` on the level",
        );
    }
    match (&l.device, any) {
        (Some(d), true) => {
            if let Some(Transport::Http) = devices.resolve(c, field(base, "device"), d) {
                c.err(
                    field(base, "device"),
                    format!("{d:?} is an http device; a level sends strings (tcp, udp, serial)"),
                );
            }
        }
        (Some(_), false) => c.err(
            field(base, "device"),
            "a level with a `device` needs `send` (e.g. send = \"VOL {value}\")",
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
