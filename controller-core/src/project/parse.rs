//! Reading a project from TOML: the first two of the three passes that
//! [`Project::from_toml`] runs, so an installer sees all that is wrong in one go:
//! 1. syntax (the TOML parser; one error, since nothing after it can be trusted),
//! 2. shape (serde, one section and one list item at a time: every type error
//!    and every unknown field).
//!
//! Shape is checked item by item rather than on the whole document because
//! serde stops at its first error: a typo in one button would otherwise hide
//! every meaning error (a dangling reference two pages down) until it was
//! fixed. Items whose shape is wrong are left out of the [`Project`] handed to
//! validation, and [`Parsed::broken`] names them, so validation neither
//! reports references to them as dangling nor points at the wrong list index.
//!
//! The third pass, meaning, is validation's; `mod.rs` runs it on what this
//! returns. Each error names its line, column and field path
//! (`panels[0].pages[1].title`), resolved through [`Locator`].

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::error::{path_string, Locator, Positions, ProjectError, ProjectErrors, Seg};
use super::{Project, ProjectInfo};

/// Projects larger than this are refused before parsing (a real room's
/// project is a few KiB; this bounds memory for hostile uploads).
pub const MAX_PROJECT_BYTES: usize = 1024 * 1024;

const UNKNOWN_FIELD: &str = "unknown field (check its spelling in docs/project-format.md)";

fn ignored_path(path: &serde_ignored::Path<'_>, out: &mut Vec<Seg>) {
    use serde_ignored::Path;
    match path {
        Path::Root => {}
        Path::Seq { parent, index } => {
            ignored_path(parent, out);
            out.push(Seg::Index(*index));
        }
        Path::Map { parent, key } => {
            ignored_path(parent, out);
            out.push(Seg::Key(key.clone()));
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => ignored_path(parent, out),
    }
}

/// What survived the first two passes: the project built from every item
/// whose shape is right, the errors found so far, the locator that validation
/// reuses, and the items left out.
pub(super) struct Parsed<'a> {
    pub(super) project: Project,
    pub(super) errors: Vec<ProjectError>,
    pub(super) locator: Locator<'a>,
    pub(super) broken: Broken,
}

/// The ids of the list items left out for their shape, as `(what, id)`
/// (`("button", "power")`): a reference to one is not reported as dangling,
/// since the installer is already told what is wrong with the item itself.
/// Also the sections that lost an item, so "the project has no panel" is
/// not said of a project whose only panel is malformed.
#[derive(Debug, Default)]
pub(super) struct Broken {
    ids: HashSet<(&'static str, String)>,
    sections: HashSet<String>,
}

impl Broken {
    pub(super) fn contains(&self, what: &str, id: &str) -> bool {
        self.ids.iter().any(|(w, i)| *w == what && i == id)
    }

    pub(super) fn lost_items(&self, section: &str) -> bool {
        self.sections.contains(section)
    }
}

/// Syntax and shape. `Err` when nothing more can be checked (too large, or
/// not TOML at all); otherwise every shape error, unsorted.
pub(super) fn parse(text: &str) -> Result<Parsed<'_>, ProjectErrors> {
    if text.len() > MAX_PROJECT_BYTES {
        return Err(ProjectErrors(vec![ProjectError {
            line: 0,
            column: 0,
            path: String::new(),
            message: format!(
                "the project is {} bytes; the limit is {MAX_PROJECT_BYTES} bytes",
                text.len()
            ),
        }]));
    }
    let positions = Positions::new(text);
    let root = DeTable::parse(text).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| positions.line_col(s.start));
        ProjectErrors(vec![ProjectError {
            line,
            column,
            path: String::new(),
            message: e.message().trim().to_string(),
        }])
    })?;
    let mut shape = Shape {
        errors: Vec::new(),
        locator: Locator::new(text),
        positions,
        broken: Broken::default(),
    };
    let root_span = root.span();
    let mut project = placeholder();
    let mut has_info = false;
    for (key, value) in root.into_inner() {
        let name = key.get_ref().as_ref();
        match name {
            "project" => {
                has_info = true;
                if let Some(info) = shape.item(vec![Seg::Key("project".into())], value) {
                    project.project = info;
                }
            }
            "buttons" => project.buttons = shape.list("buttons", Some("button"), value),
            "panels" => project.panels = shape.list("panels", Some("panel"), value),
            "levels" => project.levels = shape.list("levels", Some("level"), value),
            "variables" => project.variables = shape.list("variables", Some("variable"), value),
            "devices" => project.devices = shape.list("devices", Some("device"), value),
            "sequences" => project.sequences = shape.list("sequences", None, value),
            "feedback" => project.feedback = shape.list("feedback", None, value),
            "timers" => project.timers = shape.list("timers", None, value),
            "schedule" => project.schedule = shape.list("schedule", None, value),
            "occupancy" => {
                project.occupancy = shape.item(vec![Seg::Key("occupancy".into())], value);
            }
            _ => {
                let path = [Seg::Key(name.to_string())];
                let error = shape.locator.error(&path, UNKNOWN_FIELD);
                shape.errors.push(error);
            }
        }
    }
    if !has_info {
        // serde's own words, so the message reads as it did when the
        // document was read in one piece.
        let e = <toml::de::Error as serde::de::Error>::missing_field("project");
        let (line, column) = shape.positions.line_col(root_span.start);
        shape.errors.push(ProjectError {
            line,
            column,
            path: String::new(),
            message: e.message().trim().to_string(),
        });
    }
    Ok(Parsed {
        project,
        errors: shape.errors,
        locator: shape.locator,
        broken: shape.broken,
    })
}

/// The project the shape pass fills in, table by table.
fn placeholder() -> Project {
    Project {
        project: ProjectInfo {
            // Stands in for a [project] table that is missing or malformed,
            // so the rest can still be validated; that table's own error is
            // already reported.
            format: super::first_format(),
            name: "?".to_string(),
            revision: 0,
            description: String::new(),
            location: String::new(),
            help: String::new(),
        },
        buttons: Vec::new(),
        panels: Vec::new(),
        levels: Vec::new(),
        variables: Vec::new(),
        devices: Vec::new(),
        sequences: Vec::new(),
        feedback: Vec::new(),
        timers: Vec::new(),
        device_state: Vec::new(),
        booking_state: Vec::new(),
        schedule: Vec::new(),
        occupancy: None,
    }
}

/// The shape pass's state: errors so far, and where to place them.
struct Shape<'a> {
    errors: Vec<ProjectError>,
    locator: Locator<'a>,
    positions: Positions<'a>,
    broken: Broken,
}

impl Shape<'_> {
    /// One list section (`[[buttons]]`), item by item. Items that deserialise
    /// are kept; the others are reported, named in `broken` under `what`
    /// (when their items are referenced by id), and their indices remapped
    /// in the locator so validation reports at the index in the text.
    fn list<T: DeserializeOwned>(
        &mut self,
        section: &str,
        what: Option<&'static str>,
        value: Spanned<DeValue<'_>>,
    ) -> Vec<T> {
        if !matches!(value.get_ref(), DeValue::Array(_)) {
            // Not a list at all: serde says what it expected, as it would
            // for the whole document.
            let _: Option<Vec<T>> = self.item(vec![Seg::Key(section.to_string())], value);
            self.broken.sections.insert(section.to_string());
            return Vec::new();
        }
        let DeValue::Array(items) = value.into_inner() else {
            return Vec::new();
        };
        let mut kept = Vec::new();
        let mut indices = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let id = match item.get_ref() {
                DeValue::Table(t) => t
                    .iter()
                    .find(|(k, _)| k.get_ref().as_ref() == "id")
                    .and_then(|(_, v)| v.get_ref().as_str().map(str::to_string)),
                _ => None,
            };
            let path = vec![Seg::Key(section.to_string()), Seg::Index(index)];
            match self.item(path, item) {
                Some(parsed) => {
                    kept.push(parsed);
                    indices.push(index);
                }
                None => {
                    self.broken.sections.insert(section.to_string());
                    if let (Some(what), Some(id)) = (what, id) {
                        self.broken.ids.insert((what, id));
                    }
                }
            }
        }
        self.locator.remap(section, indices);
        kept
    }

    /// One value at `base`: reports its unknown fields, and its type error
    /// if it has one (then `None`).
    fn item<T: DeserializeOwned>(
        &mut self,
        base: Vec<Seg>,
        value: Spanned<DeValue<'_>>,
    ) -> Option<T> {
        let mut unknown: Vec<Vec<Seg>> = Vec::new();
        let mut track = serde_path_to_error::Track::new();
        let result: Result<T, toml::de::Error> = serde_ignored::deserialize(
            serde_path_to_error::Deserializer::new(ValueDeserializer::from(value), &mut track),
            |path| {
                let mut segs = base.clone();
                ignored_path(&path, &mut segs);
                unknown.push(segs);
            },
        );
        for path in unknown {
            let error = self.locator.error(&path, UNKNOWN_FIELD);
            self.errors.push(error);
        }
        match result {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                let error = self.shape_error(&e, &base, track);
                self.errors.push(error);
                None
            }
        }
    }

    /// The type error serde stopped at, placed at its span or, when serde
    /// has none, at the field path it was reading.
    fn shape_error(
        &self,
        e: &toml::de::Error,
        base: &[Seg],
        track: serde_path_to_error::Track,
    ) -> ProjectError {
        let mut path = base.to_vec();
        path.extend(track.path().iter().filter_map(|s| match s {
            serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
            _ => None,
        }));
        let (line, column) = match e.span() {
            Some(span) => self.positions.line_col(span.start),
            None => self.locator.locate(&path),
        };
        ProjectError {
            line,
            column,
            path: path_string(&path),
            message: e.message().trim().to_string(),
        }
    }
}
