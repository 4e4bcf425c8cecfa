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
mod edit;
pub(crate) mod error;
mod logic;
mod meeting_rules;
mod parse;
mod schema;
mod secrets;
mod validate;

pub use changes::changes;
pub use controls::*;
pub use demo::{demo_project, DEMO_PROJECT_TOML};
pub use edit::edit_toml;
pub use error::{ProjectError, ProjectErrors};
pub use logic::*;
pub use meeting_rules::*;
pub use schema::*;
pub use secrets::{redact_secrets, HIDDEN};

impl Project {
    /// Reads and validates a project. On failure, every error found, each
    /// with its line, column and field path. Never panics, whatever the input.
    pub fn from_toml(text: &str) -> Result<Project, ProjectErrors> {
        let parse::Parsed {
            project,
            mut errors,
            locator,
            broken,
        } = parse::parse(text)?;
        // Meaning is checked even when some items' shape is wrong (on the
        // items that parsed), so one upload reports every error.
        errors.extend(validate::validate(&project, &locator, &broken));
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
        if parsed.errors.is_empty() {
            Ok(parsed.project)
        } else {
            let mut errors = parsed.errors;
            errors.sort_by_key(|e| (e.line, e.column));
            Err(ProjectErrors(errors))
        }
    }
}
