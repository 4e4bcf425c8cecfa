//! Buttons, as defined once for the whole project: unique ids, short
//! labels, interlock groups and hold-to-repeat settings.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use super::{at, field, item, k, Checker, Seg, MAX_BUTTONS, MAX_LABEL_LEN};
use crate::project::{Button, ButtonKind, LedSource, Repeat};

pub(super) fn check(c: &mut Checker<'_, '_>) {
    let project = c.project;
    if project.buttons.len() > MAX_BUTTONS {
        c.err(
            vec![k("buttons")],
            format!("more than {MAX_BUTTONS} buttons"),
        );
    }
    // Where each id first stands, so a duplicate names the button it repeats.
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    for (i, b) in project.buttons.iter().enumerate() {
        let base = item(&[], "buttons", i);
        c.id(field(&base, "id"), &b.id, "button");
        match first_of.entry(&b.id) {
            Entry::Occupied(first) => c.err(
                field(&base, "id"),
                format!(
                    "duplicate button id {:?} (also buttons[{}])",
                    b.id,
                    first.get()
                ),
            ),
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
        c.text(field(&base, "label"), &b.label, "label", MAX_LABEL_LEN);
        group(c, &base, b);
        if let Some(r) = &b.repeat {
            repeat(c, &base, b.kind, r);
        }
        if let Some(level) = &b.mutes {
            mutes(c, &base, b, level);
        }
    }
}

/// A level's mute button: a toggle whose LED shows the mute, of a level
/// that has one.
fn mutes(c: &mut Checker<'_, '_>, base: &[Seg], b: &Button, level: &str) {
    let found = c.project.level(level);
    c.reference(field(base, "mutes"), found, "level", level);
    if found.is_some_and(|l| !l.mute) {
        c.err(
            field(base, "mutes"),
            format!("level {level:?} has no mute (set mute = true on it)"),
        );
    }
    if b.kind != ButtonKind::Toggle {
        c.err(
            field(base, "mutes"),
            "only a toggle button can be a level's mute (set kind = \"toggle\")",
        );
    }
    if b.led != LedSource::State || b.led_when.is_some() {
        c.err(
            field(base, "mutes"),
            "a level's mute button shows the mute: leave out `led` and `led_when`",
        );
    }
}

/// Interlock buttons, and only they, belong to a group.
fn group(c: &mut Checker<'_, '_>, base: &[Seg], b: &Button) {
    match (b.kind, &b.group) {
        (ButtonKind::Interlock, None) => c.err(
            field(base, "kind"),
            "an interlock button needs a `group` (e.g. group = \"sources\")",
        ),
        (ButtonKind::Interlock, Some(g)) => c.id(field(base, "group"), g, "group"),
        (_, Some(_)) => c.err(
            field(base, "group"),
            "only interlock buttons belong to a group (set kind = \"interlock\")",
        ),
        (_, None) => {}
    }
}

fn repeat(c: &mut Checker<'_, '_>, base: &[Seg], kind: ButtonKind, r: &Repeat) {
    if kind != ButtonKind::Momentary {
        c.err(
            field(base, "repeat"),
            "only momentary buttons repeat while held",
        );
    }
    c.in_range(
        at(base, &[k("repeat"), k("interval_ms")]),
        r.interval_ms,
        50..=5000,
        "repeat interval_ms",
    );
    if r.delay_ms > 5000 {
        c.err(
            at(base, &[k("repeat"), k("delay_ms")]),
            "repeat delay_ms must be at most 5000",
        );
    }
}
