//! Sequences: the steps a button press runs. Each step does exactly one
//! thing, names a device of the right transport when it sends, and no
//! chain of `press` steps leads back to the button it started from.

use std::collections::{HashMap, HashSet};

use super::devices::{Devices, Link};
use super::{at, field, item, k, Checker, Seg, MAX_STEPS};
use crate::logic::{decode_escapes, decode_hex, parse_http_step};
use crate::project::drivers::{command_bytes, step_params, ParamField};
use crate::project::vocab::{exactly_one_of, STEP_ACTIONS};
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
            step.adjust_level.is_some(),
            step.command.is_some(),
        ],
        &exactly_one_of("a step", &STEP_ACTIONS),
    );
    step_value(c, &base, step);
    step_device(c, devices, &base, step);
    step_payload(c, &base, step);
    if let Some(mode) = &step.led {
        c.led_mode(field(&base, "led"), mode);
        match &step.button {
            Some(_) => {} // button_refs: the reference
            None => c.err(base.clone(), "an `led` step needs a `button`"),
        }
    } else if step.button.is_some() {
        c.err(
            field(&base, "button"),
            "`button` belongs to an `led` step; to press a button use `press`",
        );
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
    if !sends && step.http.is_none() && step.command.is_none() {
        if step.device.is_some() {
            c.err(
                field(base, "device"),
                "only send, send_hex, http and command steps go to a device",
            );
        }
        if step.params.is_some() {
            c.err(field(base, "params"), "only a command step has `params`");
        }
        return;
    }
    let Some(d) = &step.device else {
        c.err(base.to_vec(), "this step needs a `device`");
        return;
    };
    let link = devices.resolve(c, field(base, "device"), d);
    if let Some(command) = &step.command {
        match link {
            Some(Link::Driver(driver, settings)) => {
                command_step(c, base, step, command, &driver, settings.as_ref())
            }
            Some(Link::Raw(_)) => c.err(
                field(base, "device"),
                format!("{d:?} has no driver; send it strings with `send`"),
            ),
            Some(Link::Unknown) | None => {}
        }
        return;
    }
    if step.params.is_some() {
        c.err(field(base, "params"), "only a command step has `params`");
    }
    let transport = match link {
        Some(Link::Raw(t)) => Some(t),
        Some(Link::Driver(driver, _)) => {
            c.err(
                field(base, "device"),
                format!(
                    "{d:?} is driven by the {} driver: call its commands (`command = \"...\"`) rather than sending strings",
                    driver.id
                ),
            );
            None
        }
        _ => None,
    };
    match transport {
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

/// A command step: the command is the driver's, its parameters are given
/// and in range (checked by encoding it, as the server will).
fn command_step(
    c: &mut Checker<'_, '_>,
    base: &[Seg],
    step: &Step,
    command: &str,
    driver: &crate::driver::Driver,
    settings: Option<&std::collections::BTreeMap<String, crate::driver::Value>>,
) {
    let located = |field_at: &ParamField| match field_at {
        ParamField::Command => field(base, "command"),
        ParamField::Value => field(base, "value"),
        ParamField::Param(p) if step.params.as_ref().is_some_and(|ps| ps.contains_key(p)) => {
            at(base, &[k("params"), k(p)])
        }
        ParamField::Param(_) | ParamField::Missing => base.to_vec(),
    };
    let params = match step_params(driver, command, step.value.as_ref(), step.params.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            c.err(located(&e.field), e.message);
            return;
        }
    };
    // Without valid settings (reported at the device), the parameters are
    // still checked, against the driver's defaults where it has them.
    let defaults = driver
        .settings
        .iter()
        .filter_map(|s| Some((s.name.clone(), s.default.clone()?)))
        .collect();
    let settings_ok = settings.is_some();
    let settings = settings.unwrap_or(&defaults);
    if let Err(e) = command_bytes(driver, command, &params, settings) {
        // A template that cannot be written for want of a setting is the
        // settings' error, already reported at the device.
        if settings_ok || e.field != ParamField::Command {
            c.err(located(&e.field), e.message);
        }
    }
}

/// `set_variable` and `set_level` name what they set and carry a `value`
/// that fits it; a command step may carry its parameter as `value`; no
/// other step has a `value`.
fn step_value(c: &mut Checker<'_, '_>, base: &[Seg], step: &Step) {
    let sets =
        step.set_variable.is_some() || step.set_level.is_some() || step.adjust_level.is_some();
    match (&step.value, sets) {
        (Some(_), false) if step.command.is_some() => {}
        (Some(_), false) => c.err(
            field(base, "value"),
            "`value` belongs to a set_variable, set_level, adjust_level or command step",
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
    for (name, target) in [
        ("set_level", &step.set_level),
        ("adjust_level", &step.adjust_level),
    ] {
        if let Some(l) = target {
            c.level_ref(field(base, name), l);
            if step.value.as_ref().is_some_and(|v| v.as_number().is_none()) {
                c.err(field(base, "value"), "a level's value is a number");
            }
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
