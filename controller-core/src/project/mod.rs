//! The project: everything that defines one room, as an installer writes it.
//!
//! A project is a TOML file (see `docs/project-format.md`). Buttons are defined
//! once, at the top level, and placed on the pages of one or more panels; so the
//! same button (and its LED) shows on a tablet layout and on a wall-panel
//! layout, and a press on one lights the LED on the other.

mod demo;
mod logic;
mod parse;
mod schema;
mod validate;

pub use demo::{demo_project, DEMO_PROJECT_TOML};
pub use logic::*;
pub use parse::{ProjectError, ProjectErrors};
pub use schema::*;
