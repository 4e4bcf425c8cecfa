//! A driver file's meaning: every check that serde cannot make, each error
//! placed at its line, column and field (`commands.power.send`), and the
//! compiled [`Driver`] when there is none.
//!
//! Runs in three passes like a project's: syntax, shape (serde, with unknown
//! fields named), then meaning. Templates are compiled here, so a template
//! that names an unknown parameter or cannot be matched is a validation
//! error, never a runtime surprise.

mod messages;
mod polls;
mod transport;
mod types;

use std::collections::{BTreeMap, BTreeSet};

use crate::project::error::{Locator, Positions, ProjectError, Seg};

use super::framing::{ByteEscape, Framing, DEFAULT_MAX_FRAME, MAX_FRAME};
use super::schema::*;
use super::template::{is_name, Matcher, Piece, Template};
use super::value::{parse_int, Kind, Value, MAX_TEXT};
use super::{
    Command, Driver, DriverErrors, Login, LoginStep, Poll, Response, SerialFraming, SetValue,
    Transport, Typed,
};

/// Driver files larger than this are refused unread.
pub const MAX_DRIVER_BYTES: usize = 256 * 1024;

const UNKNOWN_FIELD: &str = "unknown field (check its spelling in docs/drivers.md)";

/// A driver id: the file name without `.toml`, lower-case letters, digits
/// and hyphens (`samsung-mdc`).
pub fn is_driver_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The id a file name gives (`drivers/samsung-mdc.toml` -> `samsung-mdc`).
pub fn id_from_file(file: &str) -> &str {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    base.strip_suffix(".toml").unwrap_or(base)
}

pub(super) fn driver_from_toml(file: &str, text: &str) -> Result<Driver, DriverErrors> {
    let fail = |errors: Vec<ProjectError>| DriverErrors {
        file: file.to_string(),
        errors,
    };
    let whole = |message: String| ProjectError {
        line: 0,
        column: 0,
        path: String::new(),
        message,
    };
    if text.len() > MAX_DRIVER_BYTES {
        return Err(fail(vec![whole(format!(
            "the driver is {} bytes; the limit is {MAX_DRIVER_BYTES}",
            text.len()
        ))]));
    }
    let positions = Positions::new(text);
    let locator = Locator::new(text);
    let mut errors = Vec::new();
    let id = id_from_file(file);
    if !is_driver_id(id) {
        errors.push(whole(format!(
            "the file name {id:?} is not a driver id: lower-case letters, digits and hyphens, starting with a letter (e.g. samsung-mdc.toml)"
        )));
    }
    let file_spec = match read_shape(text, &positions, &locator, &mut errors) {
        Some(f) => f,
        None => return Err(fail(errors)),
    };
    let mut check = Check {
        locator: &locator,
        errors,
    };
    let driver = check.driver(id, file_spec);
    if check.errors.is_empty() {
        if let Some(d) = driver {
            return Ok(d);
        }
    }
    let mut errors = check.errors;
    errors.sort_by_key(|e| (e.line == 0, e.line, e.column));
    Err(fail(errors))
}

/// The syntax and shape passes: the file as TOML, then as a driver file
/// (serde), unknown fields named. `None` when either fails; the errors are
/// in `errors`.
fn read_shape(
    text: &str,
    positions: &Positions,
    locator: &Locator<'_>,
    errors: &mut Vec<ProjectError>,
) -> Option<DriverFile> {
    let de = match toml::de::Deserializer::parse(text) {
        Ok(de) => de,
        Err(e) => {
            let (line, column) = e.span().map_or((0, 0), |s| positions.line_col(s.start));
            errors.push(ProjectError {
                line,
                column,
                path: String::new(),
                message: e.message().trim().to_string(),
            });
            return None;
        }
    };
    let mut unknown: Vec<Vec<Seg>> = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let parsed: Result<DriverFile, toml::de::Error> = serde_ignored::deserialize(
        serde_path_to_error::Deserializer::new(de, &mut track),
        |path| {
            let mut segs = Vec::new();
            ignored_path(&path, &mut segs);
            unknown.push(segs);
        },
    );
    for path in unknown {
        errors.push(locator.error(&path, UNKNOWN_FIELD));
    }
    match parsed {
        Ok(f) => Some(f),
        Err(e) => {
            let path: Vec<Seg> = track
                .path()
                .iter()
                .filter_map(|s| match s {
                    serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                    serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                    _ => None,
                })
                .collect();
            let mut err = locator.error(&path, e.message().trim());
            if let Some(span) = e.span() {
                (err.line, err.column) = positions.line_col(span.start);
            }
            errors.push(err);
            None
        }
    }
}

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

fn key(k: &str) -> Seg {
    Seg::Key(k.to_string())
}

fn at(parts: &[&str]) -> Vec<Seg> {
    parts.iter().map(|p| key(p)).collect()
}

/// `path` and then the keys `parts`.
fn below(path: &[Seg], parts: &[&str]) -> Vec<Seg> {
    let mut q = path.to_vec();
    q.extend(parts.iter().map(|p| key(p)));
    q
}

struct Check<'a, 'b> {
    locator: &'a Locator<'b>,
    errors: Vec<ProjectError>,
}

impl Check<'_, '_> {
    fn err(&mut self, path: &[Seg], message: impl Into<String>) {
        let e = self.locator.error(path, message);
        self.errors.push(e);
    }

    fn driver(&mut self, id: &str, f: DriverFile) -> Option<Driver> {
        self.identity(&f.driver);
        let transport = self.transport(&f.transport);
        let framing = self.framing(&f.framing);
        self.framing_fits_transport(&f.framing, &f.transport);
        let binary = matches!(framing, Some(Framing::Binary { .. }));
        if f.transport.kind == TransportKind::Http {
            self.http_requests(&f, binary);
        }
        let settings = self.typed_map("settings", &f.settings, binary, true);
        let state = self.typed_map("state", &f.state, binary, false);
        for s in &state {
            if settings.iter().any(|t| t.name == s.name) {
                self.err(
                    &[key("state"), key(&s.name)],
                    format!("{} is also a setting; rename one", s.name),
                );
            }
        }
        let login = f.login.as_ref().and_then(|l| self.login(l, &settings));
        let mut commands = Vec::new();
        for (name, c) in &f.commands {
            if let Some(c) = self.command(name, c, binary, &settings, &state) {
                commands.push(c);
            }
        }
        let command_names: BTreeSet<String> = f.commands.keys().cloned().collect();
        let mut responses = Vec::new();
        for (i, r) in f.responses.iter().enumerate() {
            if let Some(r) = self.response(i, r, binary, &state, &settings, &command_names) {
                responses.push(r);
            }
        }
        if f.responses.is_empty() {
            self.err(
                &[],
                "the driver has no [[responses]]: nothing the device says could be read",
            );
        }
        let polls = self.polls(&f.polls, &commands);
        let on_connect = self.on_connect(&f.on_connect, &commands);
        if let Some(l) = &f.liveness {
            self.liveness(l, &polls);
        }
        if let Some(d) = &f.discovery {
            self.discovery(d);
        }
        let driver = Driver {
            id: id.to_string(),
            identity: f.driver,
            transport: transport?,
            framing: framing?,
            settings,
            login,
            state,
            commands,
            responses,
            polls,
            on_connect,
            liveness_secs: f.liveness.map(|l| l.timeout_secs),
            discovery: f.discovery.unwrap_or_default(),
        };
        if self.errors.is_empty() {
            self.encode_samples(&driver);
        }
        Some(driver)
    }

    fn discovery(&mut self, d: &DiscoverySpec) {
        for (i, text) in d.ssdp.iter().enumerate() {
            if text.trim().is_empty() || text.len() > 128 {
                self.err(
                    &[key("discovery"), key("ssdp"), Seg::Index(i)],
                    "an SSDP match is 1 to 128 characters",
                );
            } else if text.chars().any(char::is_control) {
                self.err(
                    &[key("discovery"), key("ssdp"), Seg::Index(i)],
                    "an SSDP match is one header's text: no control characters or line breaks",
                );
            }
        }
        for (i, service) in d.mdns.iter().enumerate() {
            if let Err(e) = super::discovery::mdns::service_type(service) {
                self.err(&[key("discovery"), key("mdns"), Seg::Index(i)], e);
            }
        }
    }

    /// Every command must encode with sample values (catches a value that
    /// cannot fit its binary field, or text holding the terminator).
    fn encode_samples(&mut self, driver: &Driver) {
        let samples = sample_settings(driver);
        for c in &driver.commands {
            let params: BTreeMap<String, Value> = c
                .params
                .iter()
                .map(|(n, k)| (n.clone(), k.sample()))
                .collect();
            if let Err(e) = driver.encode(&c.name, &params, &samples) {
                self.err(&at(&["commands", &c.name, "send"]), e.to_string());
            }
        }
    }

    fn identity(&mut self, i: &Identity) {
        for (field, v) in [
            ("name", &i.name),
            ("maker", &i.maker),
            ("document", &i.document),
            ("document_version", &i.document_version),
        ] {
            if v.trim().is_empty() {
                self.err(&at(&["driver", field]), format!("{field} is empty"));
            }
        }
        if i.models.is_empty() || i.models.iter().any(|m| m.trim().is_empty()) {
            self.err(
                &at(&["driver", "models"]),
                "name at least one model, none empty",
            );
        }
    }
}

/// A parameter's values all fit a state (so a simulator can copy one to the other).
fn fits(param: &Kind, state: &Kind) -> bool {
    match (param, state) {
        (Kind::Enum(p), Kind::Enum(s)) => p.iter().all(|(n, _)| s.iter().any(|(m, _)| m == n)),
        (Kind::Int { .. }, Kind::Int { .. } | Kind::Number { .. }) => true,
        (Kind::Number { .. }, Kind::Number { .. }) => true,
        (Kind::Text { .. }, Kind::Text { .. }) => true,
        _ => false,
    }
}

/// Each setting's default, or a sample value (validation and the simulator).
pub fn sample_settings(driver: &Driver) -> BTreeMap<String, Value> {
    driver
        .settings
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.default.clone().unwrap_or_else(|| s.kind.sample()),
            )
        })
        .collect()
}
