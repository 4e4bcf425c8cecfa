//! The project: everything that defines one room, as an installer writes it.
//!
//! A project is a TOML file (see `docs/project-format.md`). Buttons are defined
//! once, at the top level, and placed on the pages of one or more panels; so the
//! same button (and its LED) shows on a tablet layout and on a wall-panel
//! layout, and a press on one lights the LED on the other.
//!
//! Reading one runs parsing (`parse.rs`: syntax, shape) and then validation
//! (`validate/`: meaning); both report through `error.rs`, and only this file
//! joins them, so neither depends on the other.

mod changes;
mod controls;
mod demo;
pub mod drivers;
mod edit;
pub(crate) mod error;
mod logic;
mod meeting_rules;
pub mod meeting_tile;
pub mod occupancy;
mod parse;
mod refs;
mod schema;
mod secrets;
mod validate;
pub mod vocab;

use crate::driver::library::Library;

pub use changes::changes;
pub use controls::*;
pub use demo::{demo_project, DEMO_PROJECT_TOML};
pub use edit::edit_toml;
pub use error::{ProjectError, ProjectErrors};
pub use logic::*;
pub use meeting_rules::*;
pub use meeting_tile::MeetingPlace;
pub use occupancy::{Occupancy, OccupancyRule, OccupancyWhen, PresenceSource};
pub use refs::{button_references, ButtonRef};
pub use schema::*;
pub use secrets::{redact_secrets, HIDDEN};

/// The newest project format this build reads (`format` in `[project]`,
/// docs/project-format.md). A file of a newer one is refused as a whole,
/// with a message saying so, never half-read.
pub const PROJECT_FORMAT: u32 = 1;

/// The format of a project that names none.
pub(crate) fn first_format() -> u32 {
    1
}

pub(crate) fn is_first_format(format: &u32) -> bool {
    *format == 1
}

/// A project of a format this build does not read: that error alone (its
/// other fields are another format's, so their errors would mislead).
fn check_format(parsed: &parse::Parsed<'_>) -> Result<(), ProjectErrors> {
    let format = parsed.project.project.format;
    if (1..=PROJECT_FORMAT).contains(&format) {
        return Ok(());
    }
    let path = [
        error::Seg::Key("project".into()),
        error::Seg::Key("format".into()),
    ];
    let message = if format == 0 {
        "format 0 does not exist: the first project format is 1".to_string()
    } else {
        format!(
            "this project is format {format}, written for a newer roomctl; this one reads project format {PROJECT_FORMAT} at most: upgrade roomctl"
        )
    };
    Err(ProjectErrors(vec![parsed.locator.error(&path, message)]))
}

impl Project {
    /// Reads and validates a project, its devices' drivers from the
    /// built-in library. On failure, every error found, each with its line,
    /// column and field path. Never panics, whatever the input.
    pub fn from_toml(text: &str) -> Result<Project, ProjectErrors> {
        Project::from_toml_with(text, Library::shared())
    }

    /// As [`Project::from_toml`], drivers from `library`.
    pub fn from_toml_with(text: &str, library: &Library) -> Result<Project, ProjectErrors> {
        let parsed = parse::parse(text)?;
        check_format(&parsed)?;
        let parse::Parsed {
            mut project,
            mut errors,
            locator,
            broken,
        } = parsed;
        project.device_state = drivers::device_state(&project, library);
        project.booking_state = meeting_tile::booking_state(&project);
        project
            .booking_state
            .extend(occupancy::occupancy_state(&project));
        // Meaning is checked even when some items' shape is wrong (on the
        // items that parsed), so one upload reports every error.
        errors.extend(validate::validate(&project, &locator, &broken, library));
        errors.sort_by_key(|e| (e.line, e.column));
        if errors.is_empty() {
            Ok(project)
        } else {
            Err(ProjectErrors(errors))
        }
    }

    /// Reads a project's shape only (syntax, types, unknown fields), not its
    /// meaning: what an editor opens to fix a project's meaning errors in.
    /// `Err` with the shape errors when any item's shape is wrong (opening
    /// the rest would lose that item on save).
    pub fn from_toml_shape(text: &str) -> Result<Project, ProjectErrors> {
        let parsed = parse::parse(text)?;
        check_format(&parsed)?;
        if parsed.errors.is_empty() {
            Ok(parsed.project)
        } else {
            let mut errors = parsed.errors;
            errors.sort_by_key(|e| (e.line, e.column));
            Err(ProjectErrors(errors))
        }
    }
}
