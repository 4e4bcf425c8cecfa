//! Feedback rules: which device's replies they match, how (exactly one of
//! `equals` and `regex`), and what a match does (exactly one of `press`,
//! `led`, `variable`, `level` and `mute`).

use super::devices::{Devices, Link};
use super::{field, item, Checker, Seg};
use crate::logic::feedback::compile_regex;
use crate::project::drivers::listed;
use crate::project::FeedbackRule;

// A target holding `$` names a regex capture, known only once a reply
// matches; the server logs a bad one then, so it is not checked here.
use crate::project::refs::is_capture;

pub(super) fn check(c: &mut Checker<'_, '_>, devices: &Devices<'_>) {
    let project = c.project;
    for (i, f) in project.feedback.iter().enumerate() {
        let base = item(&[], "feedback", i);
        device_state(c, devices, f, &base);
        matching(c, f, &base);
        action(c, f, &base);
        targets(c, f, &base);
        value(c, f, &base);
        button(c, f, &base);
    }
}

/// A rule on a driven device reads one of its driver's states; a rule on a
/// device without a driver has none to read.
fn device_state(c: &mut Checker<'_, '_>, devices: &Devices<'_>, f: &FeedbackRule, base: &[Seg]) {
    match devices.resolve(c, field(base, "device"), &f.device) {
        Some(Link::Driver(driver, _)) => match &f.state {
            None => c.err(
                base.to_vec(),
                format!(
                    "{:?} is driven by the {} driver: name the `state` this rule reads{}",
                    f.device,
                    driver.id,
                    listed(driver.state.iter().map(|s| s.name.as_str()))
                ),
            ),
            Some(s) if driver.state_def(s).is_none() => c.err(
                field(base, "state"),
                format!(
                    "the {} driver has no state {s:?}{}",
                    driver.id,
                    listed(driver.state.iter().map(|s| s.name.as_str()))
                ),
            ),
            Some(_) => {}
        },
        Some(Link::Raw(_)) if f.state.is_some() => c.err(
            field(base, "state"),
            format!(
                "{:?} has no driver, so no state: match its lines with `equals` or `regex`",
                f.device
            ),
        ),
        _ => {}
    }
}

/// How the rule matches: `equals` or `regex` (either or neither on a state).
fn matching(c: &mut Checker<'_, '_>, f: &FeedbackRule, base: &[Seg]) {
    if f.state.is_some() {
        // Any value of the state, or one that `equals` or `regex` fits.
        if f.equals.is_some() && f.regex.is_some() {
            c.err(
                base.to_vec(),
                "a feedback rule has at most one of `equals` and `regex`",
            );
        }
    } else {
        c.exactly_one(
            base.to_vec(),
            &[f.equals.is_some(), f.regex.is_some()],
            "a feedback rule has exactly one of `equals` and `regex`",
        );
    }
    if let Some(expr) = &f.regex {
        if let Err(e) = compile_regex(expr) {
            c.err(field(base, "regex"), e.to_string());
        }
    }
}

/// What a match does: exactly one action.
fn action(c: &mut Checker<'_, '_>, f: &FeedbackRule, base: &[Seg]) {
    c.exactly_one(
        base.to_vec(),
        &[
            f.press.is_some(),
            f.led.is_some(),
            f.variable.is_some(),
            f.level.is_some(),
            f.mute.is_some(),
        ],
        "a feedback rule has exactly one of `press`, `led`, `variable`, `level` and `mute`",
    );
}

/// The variable, level or mute the rule sets exists (unless a capture names it).
fn targets(c: &mut Checker<'_, '_>, f: &FeedbackRule, base: &[Seg]) {
    if let Some(v) = f.variable.as_deref().filter(|v| !is_capture(v)) {
        c.variable_ref(field(base, "variable"), v);
    }
    let project = c.project;
    for (name, target) in [("level", &f.level), ("mute", &f.mute)] {
        if let Some(l) = target.as_deref().filter(|l| !is_capture(l)) {
            c.level_ref(field(base, name), l);
            if name == "mute" && project.level(l).is_some_and(|l| !l.mute) {
                c.err(field(base, name), format!("level {l:?} has no mute"));
            }
        }
    }
}

/// `value` belongs to a rule that sets something, and an `equals` rule,
/// having no captures, needs one.
fn value(c: &mut Checker<'_, '_>, f: &FeedbackRule, base: &[Seg]) {
    let sets = f.variable.is_some() || f.level.is_some() || f.mute.is_some();
    if f.value.is_some() && !sets {
        c.err(
            field(base, "value"),
            "`value` belongs to a `variable`, `level` or `mute` rule",
        );
    }
    if sets
        && f.state.is_none()
        && f.equals.is_some()
        && f.value.as_deref().is_none_or(|v| v.contains('$'))
    {
        c.err(
            field(base, "value"),
            "an `equals` rule has no captures: give the `value` to set",
        );
    }
}

/// An `led` rule's mode and button (the buttons a rule presses or lights
/// are checked with every other reference, by `button_refs`).
fn button(c: &mut Checker<'_, '_>, f: &FeedbackRule, base: &[Seg]) {
    if let Some(mode) = &f.led {
        if !is_capture(mode) {
            c.led_mode(field(base, "led"), mode);
        }
        match &f.button {
            Some(_) => {} // button_refs: the reference, if not a capture
            None => c.err(base.to_vec(), "a feedback rule with `led` needs a `button`"),
        }
    } else if f.button.is_some() {
        c.err(
            field(base, "button"),
            "`button` belongs to an `led` rule; to press a button use `press`",
        );
    }
}
