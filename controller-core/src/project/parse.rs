//! Reading a project from TOML: the first two of the three passes that
//! [`Project::from_toml`] runs, so an installer sees all that is wrong in one go:
//! 1. syntax (the TOML parser; one error, since nothing after it can be trusted),
//! 2. shape (serde; the first type error, plus every unknown field).
//!
//! The third pass, meaning, is validation's; `mod.rs` runs it on what this
//! returns. Each error names its line, column and field path
//! (`panels[0].pages[1].title`), resolved through [`Locator`].

use super::error::{path_string, Locator, Positions, ProjectError, ProjectErrors, Seg};
use super::Project;

/// Projects larger than this are refused before parsing (a real room's
/// project is a few KiB; this bounds memory for hostile uploads).
pub const MAX_PROJECT_BYTES: usize = 1024 * 1024;

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

/// What survived the first two passes: the project if its shape is right,
/// the errors found so far, and the locator that validation reuses.
pub(super) struct Parsed<'a> {
    pub(super) project: Option<Project>,
    pub(super) errors: Vec<ProjectError>,
    pub(super) locator: Locator<'a>,
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
    let syntax_error = |e: toml::de::Error| {
        let (line, column) = e.span().map_or((0, 0), |s| positions.line_col(s.start));
        ProjectErrors(vec![ProjectError {
            line,
            column,
            path: String::new(),
            message: e.message().trim().to_string(),
        }])
    };
    let deserializer = toml::Deserializer::parse(text).map_err(syntax_error)?;

    let mut unknown: Vec<Vec<Seg>> = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let result: Result<Project, _> = serde_ignored::deserialize(
        serde_path_to_error::Deserializer::new(deserializer, &mut track),
        |path| {
            let mut segs = Vec::new();
            ignored_path(&path, &mut segs);
            unknown.push(segs);
        },
    );
    let locator = Locator::new(text);
    let mut errors: Vec<ProjectError> = unknown
        .iter()
        .map(|p| {
            locator.error(
                p,
                "unknown field (check its spelling in docs/project-format.md)",
            )
        })
        .collect();

    let project = match result {
        Ok(p) => Some(p),
        Err(e) => {
            errors.push(shape_error(&e, track, &positions, &locator));
            None
        }
    };
    Ok(Parsed {
        project,
        errors,
        locator,
    })
}

/// The type error serde stopped at, placed at its span or, when serde has
/// none, at the field path it was reading.
fn shape_error(
    e: &toml::de::Error,
    track: serde_path_to_error::Track,
    positions: &Positions<'_>,
    locator: &Locator<'_>,
) -> ProjectError {
    let path: Vec<Seg> = track
        .path()
        .iter()
        .filter_map(|s| match s {
            serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
            _ => None,
        })
        .collect();
    let (line, column) = match e.span() {
        Some(span) => positions.line_col(span.start),
        None => locator.locate(&path),
    };
    ProjectError {
        line,
        column,
        path: path_string(&path),
        message: e.message().trim().to_string(),
    }
}
