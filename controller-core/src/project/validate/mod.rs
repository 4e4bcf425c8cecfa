//! What a well-formed project must also mean: unique ids, references that
//! resolve, places inside their grid, values in range. Every rule violated is
//! reported, each at the field at fault.
//!
//! This file holds the limits and the [`Checker`] every rule reports
//! through, and runs the checks in the order of the project's sections; each
//! other file checks one section.

mod buttons;
mod devices;
mod feedback;
mod levels;
mod occupancy;
mod panels;
mod schedule;
mod sequences;
mod timers;
mod variables;

use std::collections::HashSet;
use std::fmt::Display;
use std::ops::RangeInclusive;

use super::error::{Locator, ProjectError, Seg};
use super::parse::Broken;
use super::{LedMode, Project};
use crate::driver::library::Library;
use crate::template::{self, MAX_TEMPLATE_LEN};

pub const MAX_ID_LEN: usize = 64;
pub const MAX_LABEL_LEN: usize = 40;
pub const MAX_GRID: u8 = 12;
pub const MAX_BUTTONS: usize = 1000;
pub const MAX_STEPS: usize = 100;

/// Every rule violated in `project`, each placed in the text by `locator`.
/// References to the items in `broken` (left out for their shape) are not
/// reported.
pub(super) fn validate(
    project: &Project,
    locator: &Locator<'_>,
    broken: &Broken,
    library: &Library,
) -> Vec<ProjectError> {
    let mut c = Checker {
        project,
        locator,
        broken,
        library,
        errors: Vec::new(),
    };
    c.text(
        vec![k("project"), k("name")],
        &project.project.name,
        "project name",
        64,
    );
    buttons::check(&mut c);
    panels::check(&mut c);
    // Every field naming a button, found as the designer finds them.
    for (path, id) in super::refs::button_refs(project) {
        c.button_ref(path, id);
    }
    panels::check_booking_kinds(&mut c);
    let devices = devices::check(&mut c, library);
    levels::check(&mut c, &devices);
    variables::check(&mut c);
    sequences::check(&mut c, &devices);
    feedback::check(&mut c, &devices);
    timers::check(&mut c);
    schedule::check(&mut c);
    occupancy::check(&mut c);
    c.errors
}

/// The project being checked and the errors found so far. The rules shared
/// by several sections live here, so each message is written once.
struct Checker<'p, 'l> {
    project: &'p Project,
    locator: &'l Locator<'l>,
    broken: &'l Broken,
    library: &'l Library,
    errors: Vec<ProjectError>,
}

impl Checker<'_, '_> {
    fn err(&mut self, path: Vec<Seg>, message: impl Into<String>) {
        self.errors.push(self.locator.error(&path, message));
    }

    fn id(&mut self, path: Vec<Seg>, id: &str, what: &str) {
        if id.is_empty() {
            self.err(path, format!("the {what} id is empty"));
        } else if id.len() > MAX_ID_LEN {
            self.err(
                path,
                format!("the {what} id is longer than {MAX_ID_LEN} characters"),
            );
        } else if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            self.err(
                path,
                format!("the {what} id {id:?} may only hold letters, digits, '_' and '-'"),
            );
        }
    }

    /// An id's form, and that no sibling before it in `seen` has it.
    /// `scope` ends the duplicate message when ids are unique only within a
    /// parent (pages within a panel); empty for project-wide ids.
    fn unique_id<'a>(
        &mut self,
        path: Vec<Seg>,
        id: &'a str,
        what: &str,
        seen: &mut HashSet<&'a str>,
        scope: &str,
    ) {
        self.id(path.clone(), id, what);
        if !seen.insert(id) {
            self.err(path, format!("duplicate {what} id {id:?}{scope}"));
        }
    }

    fn text(&mut self, path: Vec<Seg>, text: &str, what: &str, max: usize) {
        if text.trim().is_empty() {
            self.err(path, format!("the {what} is empty"));
        } else if text.chars().count() > max {
            self.err(path, format!("the {what} is longer than {max} characters"));
        }
    }

    /// Passes `found` through, reporting at `path` when the `what` named
    /// `id` does not exist.
    fn reference<T>(
        &mut self,
        path: Vec<Seg>,
        found: Option<T>,
        what: &str,
        id: &str,
    ) -> Option<T> {
        if found.is_none() && !self.broken.contains(what, id) {
            self.err(path, format!("there is no {what} {id:?}"));
        }
        found
    }

    fn button_ref(&mut self, path: Vec<Seg>, id: &str) {
        self.reference(path, self.project.button(id), "button", id);
    }

    fn level_ref(&mut self, path: Vec<Seg>, id: &str) {
        self.reference(path, self.project.level(id), "level", id);
    }

    fn variable_ref(&mut self, path: Vec<Seg>, id: &str) {
        self.reference(path, self.project.variable(id), "variable", id);
    }

    /// A template that parses, whose every `{name}` is a variable or level.
    fn template(&mut self, path: Vec<Seg>, text: &str) {
        if text.len() > MAX_TEMPLATE_LEN {
            self.err(path, format!("longer than {MAX_TEMPLATE_LEN} bytes"));
            return;
        }
        match template::names(text) {
            Err(e) => self.err(path, e.to_string()),
            Ok(names) => {
                for name in names {
                    let known = self.project.variable(name).is_some()
                        || self.project.level(name).is_some()
                        || self.broken.contains("variable", name)
                        || self.broken.contains("level", name);
                    if !known {
                        match self.device_state_error(name) {
                            Some(None) => {}
                            Some(Some(e)) => self.err(path.clone(), format!("{{{name}}}: {e}")),
                            None => self.err(
                                path.clone(),
                                format!("{{{name}}} is neither a variable nor a level"),
                            ),
                        }
                    }
                }
            }
        }
    }

    /// Why `name` (`device.state`, not a known variable) is no device
    /// state: Some(None) when that is already reported elsewhere (a device
    /// that failed its shape, or whose driver is unknown), Some(why) for a
    /// driver device without that state, None when `name` names no device.
    fn device_state_error(&self, name: &str) -> Option<Option<String>> {
        let (device, state) = name.split_once('.')?;
        if self.broken.contains("device", device) {
            return Some(None);
        }
        let d = self.project.devices.iter().find(|d| d.id == device)?;
        let Some(driver) = d.driver.as_deref() else {
            return Some(Some(format!(
                "{device:?} has no driver, so no state (match its lines with feedback rules)"
            )));
        };
        let Some(driver) = self.library.get(driver) else {
            return Some(None);
        };
        Some(Some(format!(
            "the {} driver has no state {state:?}{}",
            driver.id,
            super::drivers::listed(driver.state.iter().map(|s| s.name.as_str()))
        )))
    }

    fn led_mode(&mut self, path: Vec<Seg>, mode: &str) {
        if LedMode::parse(mode).is_none() {
            self.err(
                path,
                format!("unknown LED mode {mode:?}; use off, on, slow_blink or fast_blink"),
            );
        }
    }

    fn in_range<T: PartialOrd + Display>(
        &mut self,
        path: Vec<Seg>,
        value: T,
        range: RangeInclusive<T>,
        name: &str,
    ) {
        if !range.contains(&value) {
            self.err(
                path,
                format!(
                    "{name} must be between {} and {}",
                    range.start(),
                    range.end()
                ),
            );
        }
    }

    /// For fields that are alternatives: reported at `path` unless exactly
    /// one of `present` is set.
    fn exactly_one(&mut self, path: Vec<Seg>, present: &[bool], message: &str) {
        if present.iter().filter(|set| **set).count() != 1 {
            self.err(path, message);
        }
    }
}

fn k(s: &str) -> Seg {
    Seg::Key(s.to_string())
}

fn at(base: &[Seg], more: &[Seg]) -> Vec<Seg> {
    base.iter().chain(more).cloned().collect()
}

/// `base.name`
fn field(base: &[Seg], name: &str) -> Vec<Seg> {
    at(base, &[k(name)])
}

/// `base.list[index]`
fn item(base: &[Seg], list: &str, index: usize) -> Vec<Seg> {
    at(base, &[k(list), Seg::Index(index)])
}
