//! Sequences: the steps a button press runs. Each step does exactly one
//! thing, names a device of the right transport when it sends, and no
//! chain of `press` steps leads back to the button it started from.

use std::collections::{HashMap, HashSet};

use super::devices::Devices;
use super::{field, item, Checker, Seg, MAX_STEPS};
use crate::logic::{decode_escapes, decode_hex, parse_http_step};
use crate::project::{Step, Transport};

/// For each button, the buttons its sequences press.
type Presses<'p> = HashMap<&'p str, Vec<&'p str>>;

pub(super) fn check(c: &mut Checker<'_, '_>, devices: &Devices<'_>) {
    let project = c.project;
    let mut ids = HashSet::new();
    let mut presses = Presses::new();
    for (i, s) in project.sequences.iter().enumerate() {
        let base = item(&[], "sequences", i);
        c.unique_id(field(&base, "id"), &s.id, "sequence", &mut ids, "");
        c.button_ref(field(&base, "button"), &s.button);
        if s.steps.is_empty() {
            c.err(field(&base, "steps"), "a sequence needs at least one step");
        }
        if s.steps.len() > MAX_STEPS {
            c.err(
                field(&base, "steps"),
                format!("a sequence has at most {MAX_STEPS} steps"),
            );
        }
        for (j, step) in s.steps.iter().enumerate() {
            check_step(c, devices, item(&base, "steps", j), step);
            if let Some(b) = &step.press {
                presses
                    .entry(s.button.as_str())
                    .or_default()
                    .push(b.as_str());
            }
        }
    }
    press_loops(c, &presses);
}

fn check_step(c: &mut Checker<'_, '_>, devices: &Devices<'_>, base: Vec<Seg>, step: &Step) {
    c.exactly_one(
        base.clone(),
        &[
            step.send.is_some(),
            step.send_hex.is_some(),
            step.http.is_some(),
            step.wait_ms.is_some(),
            step.led.is_some(),
            step.press.is_some(),
            step.set_variable.is_some(),
            step.set_level.is_some(),
        ],
        "a step has exactly one of send, send_hex, http, wait_ms, led, press, set_variable, set_level",
    );
    step_value(c, &base, step);
    step_device(c, devices, &base, step);
    step_payload(c, &base, step);
    if let Some(mode) = &step.led {
        c.led_mode(field(&base, "led"), mode);
        match &step.button {
            Some(b) => c.button_ref(field(&base, "button"), b),
            None => c.err(base.clone(), "an `led` step needs a `button`"),
        }
    } else if step.button.is_some() {
        c.err(
            field(&base, "button"),
            "`button` belongs to an `led` step; to press a button use `press`",
        );
    }
    if let Some(b) = &step.press {
        c.button_ref(field(&base, "press"), b);
    }
    if let Some(w) = step.wait_ms {
        if w > 600_000 {
            c.err(
                field(&base, "wait_ms"),
                "wait_ms must be at most 600000 (10 minutes)",
            );
        }
    }
}

/// Sending steps name a device whose transport carries what they send;
/// other steps name none.
fn step_device(c: &mut Checker<'_, '_>, devices: &Devices<'_>, base: &[Seg], step: &Step) {
    let sends = step.send.is_some() || step.send_hex.is_some();
    if !sends && step.http.is_none() {
        if step.device.is_some() {
            c.err(
                field(base, "device"),
                "only send, send_hex and http steps go to a device",
            );
        }
        return;
    }
    let Some(d) = &step.device else {
        c.err(base.to_vec(), "this step needs a `device`");
        return;
    };
    match devices.resolve(c, field(base, "device"), d) {
        Some(Transport::Http) if sends => c.err(
            field(base, "device"),
            format!("{d:?} is an http device; use an `http` step"),
        ),
        Some(Transport::Tcp | Transport::Udp | Transport::Serial) if step.http.is_some() => c.err(
            field(base, "device"),
            format!("{d:?} is not an http device; use `send` or `send_hex`"),
        ),
        _ => {}
    }
}

/// `set_variable` and `set_level` name what they set and carry a `value`
/// that fits it; no other step has a `value`.
fn step_value(c: &mut Checker<'_, '_>, base: &[Seg], step: &Step) {
    let sets = step.set_variable.is_some() || step.set_level.is_some();
    match (&step.value, sets) {
        (Some(_), false) => c.err(
            field(base, "value"),
            "`value` belongs to a set_variable or set_level step",
        ),
        (None, true) => c.err(base.to_vec(), "this step needs a `value`"),
        _ => {}
    }
    if let Some(v) = &step.set_variable {
        c.variable_ref(field(base, "set_variable"), v);
        let kind = c.project.variable(v).map(|v| v.kind);
        if let (Some(kind), Some(value)) = (kind, &step.value) {
            if value.coerce(kind).is_none() {
                c.err(
                    field(base, "value"),
                    format!("{value} does not fit variable {v:?}"),
                );
            }
        }
    }
    if let Some(l) = &step.set_level {
        c.level_ref(field(base, "set_level"), l);
        if step.value.as_ref().is_some_and(|v| v.as_number().is_none()) {
            c.err(field(base, "value"), "a level's value is a number");
        }
    }
}

/// What a sending step sends must decode: escapes, hex, or an http request.
fn step_payload(c: &mut Checker<'_, '_>, base: &[Seg], step: &Step) {
    if let Some(text) = &step.send {
        c.template(field(base, "send"), text);
        if let Err(e) = decode_escapes(text) {
            c.err(field(base, "send"), e.to_string());
        }
    }
    if let Some(text) = &step.send_hex {
        match decode_hex(text) {
            Err(e) => c.err(field(base, "send_hex"), e.to_string()),
            Ok(b) if b.is_empty() => c.err(field(base, "send_hex"), "send_hex holds no bytes"),
            Ok(_) => {}
        }
    }
    if let Some(text) = &step.http {
        if let Err(e) = parse_http_step(text) {
            c.err(field(base, "http"), e.to_string());
        }
    } else if step.body.is_some() {
        c.err(field(base, "body"), "only an http step has a body");
    }
}

/// A press step that leads back to its own button would run forever.
fn press_loops(c: &mut Checker<'_, '_>, presses: &Presses<'_>) {
    let project = c.project;
    for (i, s) in project.sequences.iter().enumerate() {
        for (j, step) in s.steps.iter().enumerate() {
            let Some(target) = step.press.as_deref() else {
                continue;
            };
            if let Some(chain) = press_path(presses, target, &s.button) {
                let path = field(&item(&item(&[], "sequences", i), "steps", j), "press");
                c.err(
                    path,
                    format!(
                        "pressing {target:?} leads back to {:?} ({}), which would repeat forever",
                        s.button,
                        chain.join(" -> ")
                    ),
                );
            }
        }
    }
}

/// The chain of buttons from `from` to `to` through sequences' press steps.
fn press_path<'a>(presses: &Presses<'a>, from: &'a str, to: &str) -> Option<Vec<&'a str>> {
    let mut seen = HashSet::new();
    let mut stack = vec![vec![from]];
    while let Some(chain) = stack.pop() {
        let last = *chain.last()?;
        if last == to {
            return Some(chain);
        }
        if !seen.insert(last) {
            continue;
        }
        for next in presses.get(last).into_iter().flatten() {
            let mut longer = chain.clone();
            longer.push(next);
            stack.push(longer);
        }
    }
    None
}
