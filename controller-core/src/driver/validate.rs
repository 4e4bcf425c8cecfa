//! A driver file's meaning: every check that serde cannot make, each error
//! placed at its line, column and field (`commands.power.send`), and the
//! compiled [`Driver`] when there is none.
//!
//! Runs in three passes like a project's: syntax, shape (serde, with unknown
//! fields named), then meaning. Templates are compiled here, so a template
//! that names an unknown parameter or cannot be matched is a validation
//! error, never a runtime surprise.

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
            return Err(fail(errors));
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
    let file_spec = match parsed {
        Ok(f) => f,
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
            return Err(fail(errors));
        }
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
        let mut polls = Vec::new();
        for (i, p) in f.polls.iter().enumerate() {
            let path = vec![key("polls"), Seg::Index(i)];
            if p.every_secs == 0 {
                let mut q = path.clone();
                q.push(key("every_secs"));
                self.err(&q, "a poll's interval is at least 1 second");
            }
            if let Some(params) = self.call(&path, &p.command, &p.params, &commands) {
                polls.push(Poll {
                    command: p.command.clone(),
                    params,
                    every_secs: p.every_secs,
                });
            }
        }
        let mut on_connect = Vec::new();
        for (i, p) in f.on_connect.iter().enumerate() {
            let path = vec![key("on_connect"), Seg::Index(i)];
            if let Some(params) = self.call(&path, &p.command, &p.params, &commands) {
                on_connect.push(Poll {
                    command: p.command.clone(),
                    params,
                    every_secs: 0,
                });
            }
        }
        if let Some(l) = &f.liveness {
            if l.timeout_secs == 0 {
                self.err(
                    &at(&["liveness", "timeout_secs"]),
                    "the timeout is at least 1 second",
                );
            }
            if let Some(shortest) = polls.iter().map(|p| p.every_secs).min() {
                if l.timeout_secs <= shortest {
                    self.err(
                        &at(&["liveness", "timeout_secs"]),
                        format!("the timeout must be longer than the shortest poll ({shortest} s), or a quiet device would flap"),
                    );
                }
            }
        }
        if let Some(d) = &f.discovery {
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
        // Every command must encode with sample values (catches a value that
        // cannot fit its binary field, or text holding the terminator).
        if self.errors.is_empty() {
            let samples = sample_settings(&driver);
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
        Some(driver)
    }

    /// A command named with its parameters (polls, on_connect).
    fn call(
        &mut self,
        path: &[Seg],
        command: &str,
        given: &BTreeMap<String, toml::Value>,
        commands: &[Command],
    ) -> Option<BTreeMap<String, Value>> {
        let sub = |parts: &[&str]| {
            let mut q = path.to_vec();
            q.extend(parts.iter().map(|p| key(p)));
            q
        };
        let Some(c) = commands.iter().find(|c| c.name == command) else {
            self.err(
                &sub(&["command"]),
                format!("there is no command {command:?}"),
            );
            return None;
        };
        let mut params = BTreeMap::new();
        for (name, kind) in &c.params {
            match given.get(name).map(|v| kind.from_toml(v)) {
                Some(Ok(v)) => {
                    params.insert(name.clone(), v);
                }
                Some(Err(e)) => self.err(&sub(&["params", name]), e),
                None => self.err(&sub(&["params"]), format!("{} needs {name}", c.name)),
            }
        }
        for name in given.keys() {
            if !c.params.iter().any(|(n, _)| n == name) {
                self.err(
                    &sub(&["params", name]),
                    format!("{} has no parameter {name:?}", c.name),
                );
            }
        }
        Some(params)
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

    fn transport(&mut self, t: &TransportSpec) -> Option<Transport> {
        let serial_fields = t.baud.is_some()
            || t.data_bits.is_some()
            || t.parity.is_some()
            || t.stop_bits.is_some();
        match t.kind {
            TransportKind::Tcp | TransportKind::Udp | TransportKind::Http => {
                if serial_fields {
                    self.err(
                        &at(&["transport", "type"]),
                        "baud, data_bits, parity and stop_bits are for serial",
                    );
                }
                match t.port {
                    Some(0) => self.err(&at(&["transport", "port"]), "the port is 1 to 65535"),
                    None => self.err(
                        &at(&["transport"]),
                        "a tcp, udp or http driver gives its default port",
                    ),
                    Some(_) => {}
                }
                Some(Transport {
                    kind: t.kind,
                    port: t.port,
                    serial: None,
                })
            }
            TransportKind::Serial => {
                let parity = t.parity.clone().unwrap_or_else(|| "none".to_string());
                if !matches!(parity.as_str(), "none" | "even" | "odd") {
                    self.err(&at(&["transport", "parity"]), "parity is none, even or odd");
                }
                let data_bits = t.data_bits.unwrap_or(8);
                if !(5..=8).contains(&data_bits) {
                    self.err(&at(&["transport", "data_bits"]), "data bits are 5 to 8");
                }
                let stop_bits = t.stop_bits.unwrap_or(1);
                if !(1..=2).contains(&stop_bits) {
                    self.err(&at(&["transport", "stop_bits"]), "stop bits are 1 or 2");
                }
                let Some(baud) = t.baud else {
                    self.err(&at(&["transport"]), "a serial driver gives its baud rate");
                    return None;
                };
                Some(Transport {
                    kind: t.kind,
                    port: t.port,
                    serial: Some(SerialFraming {
                        baud,
                        data_bits,
                        parity,
                        stop_bits,
                    }),
                })
            }
        }
    }

    /// An http driver's messages are lines: each command's line is its
    /// request (`GET /path?query`, `POST /path`), and the body's lines
    /// are what the device says.
    fn http_requests(&mut self, f: &DriverFile, binary: bool) {
        if binary {
            self.err(
                &at(&["framing", "type"]),
                "an http driver's framing is line: the request line out, the response body's lines in",
            );
            return;
        }
        let mut calls: Vec<(Vec<Seg>, &str)> = f
            .commands
            .iter()
            .map(|(name, c)| {
                (
                    vec![key("commands"), key(name), key("send")],
                    c.send.as_str(),
                )
            })
            .collect();
        if f.login.is_some() {
            self.err(
                &at(&["login"]),
                "an http driver has no login exchange (each request stands alone)",
            );
        }
        calls.retain(|(_, send)| {
            let Some((method, target)) = send.split_once(' ') else {
                return true;
            };
            !(matches!(method, "GET" | "POST" | "PUT")
                && target.starts_with('/')
                && !target.contains(' '))
        });
        for (path, send) in calls {
            self.err(
                &path,
                format!("{send:?} is not an HTTP request line: GET, POST or PUT, a space, then the path (\"GET /cgi-bin/...\")"),
            );
        }
    }

    fn hex(&mut self, path: &[Seg], s: &str) -> Option<Vec<u8>> {
        match crate::logic::escape::decode_hex(s) {
            Ok(b) => Some(b),
            Err(e) => {
                self.err(path, e.to_string());
                None
            }
        }
    }

    fn framing(&mut self, f: &FramingSpec) -> Option<Framing> {
        let max_length = f.max_length.unwrap_or(DEFAULT_MAX_FRAME);
        if max_length == 0 || max_length > MAX_FRAME {
            self.err(
                &at(&["framing", "max_length"]),
                format!("max_length is 1 to {MAX_FRAME}"),
            );
        }
        match f.kind {
            FramingKind::Line => {
                for (field, set) in [
                    ("header", f.header.is_some()),
                    ("length", f.length.is_some()),
                    ("checksum", f.checksum.is_some()),
                    ("escape", f.escape.is_some()),
                ] {
                    if set {
                        self.err(
                            &at(&["framing", field]),
                            format!("{field} is for binary framing"),
                        );
                    }
                }
                let Some(t) = f.terminator.as_ref().filter(|t| !t.is_empty()) else {
                    self.err(
                        &at(&["framing"]),
                        "line framing needs a terminator (e.g. \"\\r\")",
                    );
                    return None;
                };
                let receive = f.receive_terminator.clone().unwrap_or_else(|| t.clone());
                if receive.is_empty() {
                    self.err(
                        &at(&["framing", "receive_terminator"]),
                        "the receive terminator is empty",
                    );
                }
                Some(Framing::Line {
                    terminator: t.clone().into_bytes(),
                    receive: receive.into_bytes(),
                    max_length,
                })
            }
            FramingKind::Binary => {
                if f.receive_terminator.is_some() {
                    self.err(
                        &at(&["framing", "receive_terminator"]),
                        "receive_terminator is for line framing",
                    );
                }
                let header = match &f.header {
                    Some(h) => self.hex(&at(&["framing", "header"]), h)?,
                    None => Vec::new(),
                };
                let terminator = match &f.terminator {
                    Some(t) => {
                        let b = self.hex(&at(&["framing", "terminator"]), t)?;
                        if b.len() != 1 {
                            self.err(
                                &at(&["framing", "terminator"]),
                                "a binary end is one byte (e.g. \"FF\")",
                            );
                            return None;
                        }
                        Some(b[0])
                    }
                    None => None,
                };
                let length = f.length.as_ref().map(|l| (l.offset, l.adjust));
                if let Some((offset, _)) = length {
                    if offset < header.len() {
                        self.err(
                            &at(&["framing", "length", "offset"]),
                            "the length byte comes after the header",
                        );
                    }
                    if offset >= max_length {
                        self.err(
                            &at(&["framing", "length", "offset"]),
                            "the length byte is past max_length",
                        );
                    }
                }
                if length.is_none() && terminator.is_none() {
                    self.err(&at(&["framing"]), "binary framing needs a length byte or an end byte to know where a frame ends");
                    return None;
                }
                let checksum = f.checksum.as_ref().map(|c| (c.kind, c.from));
                let escape = match &f.escape {
                    None => None,
                    Some(e) => Some(self.escape(e, &header, length.is_some(), terminator)?),
                };
                Some(Framing::Binary {
                    header,
                    length,
                    checksum,
                    terminator,
                    escape,
                    max_length,
                })
            }
        }
    }

    /// Byte stuffing: one marker byte, what is added, the bytes stuffed;
    /// frames end with an end byte (a length byte would count stuffed
    /// bytes), which, like the header's first byte and the marker itself,
    /// must be among the stuffed bytes so it never appears inside a frame.
    fn escape(
        &mut self,
        e: &EscapeSpec,
        header: &[u8],
        has_length: bool,
        terminator: Option<u8>,
    ) -> Option<ByteEscape> {
        let one = |this: &mut Self, field: &str, text: &str| -> Option<u8> {
            let b = this.hex(&at(&["framing", "escape", field]), text)?;
            if b.len() != 1 {
                this.err(
                    &at(&["framing", "escape", field]),
                    format!("{field} is one byte (e.g. \"1B\")"),
                );
                return None;
            }
            Some(b[0])
        };
        let marker = one(self, "marker", &e.marker)?;
        let add = one(self, "add", &e.add)?;
        let mut bytes = Vec::new();
        for (i, b) in e.bytes.iter().enumerate() {
            let path = at(&["framing", "escape", "bytes"]);
            let v = self.hex(&path, b)?;
            if v.len() != 1 {
                self.err(&path, format!("bytes[{i}] is one byte (e.g. \"02\")"));
                return None;
            }
            bytes.push(v[0]);
        }
        let path = at(&["framing", "escape"]);
        if has_length {
            self.err(
                &path,
                "byte stuffing needs frames that end with an end byte, not a length byte",
            );
            return None;
        }
        let Some(end) = terminator else {
            self.err(&path, "byte stuffing needs an end byte (`terminator`)");
            return None;
        };
        for (what, b) in [
            ("the marker", Some(marker)),
            ("the end byte", Some(end)),
            ("the header's first byte", header.first().copied()),
        ] {
            if let Some(b) = b {
                if !bytes.contains(&b) {
                    self.err(
                        &at(&["framing", "escape", "bytes"]),
                        format!("{what} 0x{b:02X} must be one of the stuffed bytes"),
                    );
                    return None;
                }
            }
        }
        if bytes.iter().any(|b| bytes.contains(&b.wrapping_add(add))) || add == 0 {
            self.err(
                &at(&["framing", "escape", "add"]),
                "a stuffed byte plus `add` must not be a stuffed byte itself",
            );
            return None;
        }
        Some(ByteEscape { marker, add, bytes })
    }

    fn typed_map(
        &mut self,
        section: &str,
        map: &BTreeMap<String, TypeSpec>,
        binary: bool,
        is_setting: bool,
    ) -> Vec<Typed> {
        let mut out = Vec::new();
        for (name, spec) in map {
            let path = vec![key(section), key(name)];
            if !is_name(name) {
                self.err(
                    &path,
                    "a name is lower-case letters, digits and _, starting with a letter",
                );
            }
            if spec.secret && !is_setting {
                let mut q = path.clone();
                q.push(key("secret"));
                self.err(&q, "only settings are secret");
            }
            if let Some(t) = self.typed(&path, name, spec, binary) {
                out.push(t);
            }
        }
        out
    }

    /// A type and its default.
    fn typed(&mut self, path: &[Seg], name: &str, spec: &TypeSpec, binary: bool) -> Option<Typed> {
        let kind = self.kind(path, spec, binary)?;
        let default = match &spec.default {
            Some(v) => match kind.from_toml(v) {
                Ok(v) => Some(v),
                Err(e) => {
                    let mut q = path.to_vec();
                    q.push(key("default"));
                    self.err(&q, e);
                    None
                }
            },
            None => None,
        };
        Some(Typed {
            name: name.to_string(),
            kind,
            default,
            secret: spec.secret,
            unit: spec.unit.clone(),
            description: spec.description.clone(),
        })
    }

    fn kind(&mut self, path: &[Seg], spec: &TypeSpec, binary: bool) -> Option<Kind> {
        let field = |f: &str| {
            let mut q = path.to_vec();
            q.push(key(f));
            q
        };
        let numeric = matches!(spec.kind, KindName::Int | KindName::Number);
        if !numeric && (spec.min.is_some() || spec.max.is_some()) {
            self.err(&field("min"), "min and max are for int and number");
        }
        if spec.kind != KindName::Enum && spec.values.is_some() {
            self.err(&field("values"), "values are for enum");
        }
        if spec.kind != KindName::Text && (spec.max_length.is_some() || spec.escape.is_some()) {
            self.err(&field("max_length"), "max_length and escape are for text");
        }
        if let (Some(a), Some(b)) = (spec.min, spec.max) {
            if a > b {
                self.err(&field("min"), "min is more than max");
            }
        }
        Some(match spec.kind {
            KindName::Int => {
                let whole = |v: Option<f64>| v.map(|v| v as i64);
                for (f, v) in [("min", spec.min), ("max", spec.max)] {
                    if v.is_some_and(|v| v.fract() != 0.0) {
                        self.err(&field(f), "an int's bounds are whole numbers");
                    }
                }
                Kind::Int {
                    min: whole(spec.min),
                    max: whole(spec.max),
                }
            }
            KindName::Number => Kind::Number {
                min: spec.min,
                max: spec.max,
            },
            KindName::Enum => {
                let Some(values) = spec.values.as_ref().filter(|v| !v.is_empty()) else {
                    self.err(
                        &field("type"),
                        "an enum lists its values (values = { on = \"1\", off = \"0\" })",
                    );
                    return None;
                };
                let mut seen = BTreeSet::new();
                for (n, w) in values {
                    let mut q = field("values");
                    q.push(key(n));
                    if n.is_empty() || n.chars().any(|c| c.is_control() || c.is_whitespace()) {
                        self.err(&q, "a value's name is one word");
                    }
                    if w.is_empty() {
                        self.err(&q, "a value's wire form is not empty");
                    }
                    if !seen.insert(w.to_ascii_lowercase()) {
                        self.err(&q, format!("two values are sent as {w:?}"));
                    }
                    if binary && parse_int(w).is_none_or(|i| !(0..=0xFFFF_FFFF).contains(&i)) {
                        self.err(&q, "a binary driver's value is a number (\"1\", \"0x21\")");
                    }
                }
                Kind::Enum(values.iter().map(|(n, w)| (n.clone(), w.clone())).collect())
            }
            KindName::Text => {
                let max_length = spec.max_length.unwrap_or(MAX_TEXT);
                if max_length == 0 || max_length > 4096 {
                    self.err(&field("max_length"), "max_length is 1 to 4096");
                }
                Kind::Text {
                    max_length,
                    escape: spec.escape.unwrap_or_default(),
                }
            }
        })
    }

    fn template(&mut self, path: &[Seg], source: &str, binary: bool) -> Option<Template> {
        match Template::parse(source, binary) {
            Ok(t) => Some(t),
            Err(e) => {
                self.err(path, e);
                None
            }
        }
    }

    fn login(&mut self, l: &LoginSpec, settings: &[Typed]) -> Option<Login> {
        if l.steps.is_empty() {
            self.err(&at(&["login", "steps"]), "a login has at least one step");
        }
        let mut steps = Vec::new();
        for (i, s) in l.steps.iter().enumerate() {
            let path = vec![key("login"), key("steps"), Seg::Index(i)];
            if s.prompt.is_empty() {
                let mut q = path.clone();
                q.push(key("prompt"));
                self.err(&q, "the prompt is not empty");
            }
            let send = match &s.send {
                Some(src) => {
                    let mut q = path.clone();
                    q.push(key("send"));
                    let t = self.template(&q, src, false)?;
                    for slot in t.slots() {
                        if !settings.iter().any(|s| s.name == slot) {
                            self.err(&q, format!("{{{slot}}} is not a setting"));
                        }
                    }
                    if t.has_wildcards() {
                        self.err(&q, "{*} cannot be sent");
                    }
                    Some(t)
                }
                None => None,
            };
            steps.push(LoginStep {
                prompt: s.prompt.clone().into_bytes(),
                send,
            });
        }
        for (f, v) in [("success", &l.success), ("failure", &l.failure)] {
            if v.as_ref().is_some_and(|v| v.is_empty()) {
                self.err(&at(&["login", f]), format!("{f} is not empty"));
            }
        }
        Some(Login {
            steps,
            success: l.success.clone().map(String::into_bytes),
            failure: l.failure.clone().map(String::into_bytes),
        })
    }

    fn command(
        &mut self,
        name: &str,
        c: &CommandSpec,
        binary: bool,
        settings: &[Typed],
        state: &[Typed],
    ) -> Option<Command> {
        let path = vec![key("commands"), key(name)];
        let sub = |f: &str| {
            let mut q = path.clone();
            q.push(key(f));
            q
        };
        if !is_name(name) {
            self.err(
                &path,
                "a command's name is lower-case letters, digits and _, starting with a letter",
            );
        }
        let mut params = Vec::new();
        for (p, spec) in &c.params {
            let mut q = sub("params");
            q.push(key(p));
            if !is_name(p) {
                self.err(&q, "a parameter's name is lower-case letters, digits and _");
            }
            if settings.iter().any(|s| s.name == *p) {
                self.err(&q, format!("{p} is also a setting; rename one"));
            }
            if let Some(k) = self.kind(&q, spec, binary) {
                if binary && matches!(k, Kind::Number { .. }) {
                    self.err(&q, "a binary driver's parameter is an int or enum");
                }
                params.push((p.clone(), k));
            }
        }
        let send = self.template(&sub("send"), &c.send, binary)?;
        if send.has_wildcards() {
            self.err(
                &sub("send"),
                "{*} and ?? are for responses; a command sends exact bytes",
            );
        }
        for slot in send.slots() {
            if !params.iter().any(|(n, _)| n == slot) && !settings.iter().any(|s| s.name == slot) {
                self.err(
                    &sub("send"),
                    format!("{{{slot}}} is neither a parameter of {name} nor a setting"),
                );
            }
        }
        for (p, _) in &params {
            if !send.slots().any(|s| s == p) {
                let mut q = sub("params");
                q.push(key(p));
                self.err(&q, format!("{{{p}}} is not used in send"));
            }
        }
        let kind_of = |slot: &str| {
            params
                .iter()
                .find(|(n, _)| n == slot)
                .map(|(_, k)| k.clone())
                .or_else(|| {
                    settings
                        .iter()
                        .find(|s| s.name == slot)
                        .map(|s| s.kind.clone())
                })
        };
        let matcher = match Matcher::new(&send, &kind_of) {
            Ok(m) => m,
            Err(e) => {
                self.err(&sub("send"), e);
                return None;
            }
        };
        let mut sets = Vec::new();
        for (s, v) in &c.sets {
            let mut q = sub("sets");
            q.push(key(s));
            let Some(def) = state.iter().find(|d| d.name == *s) else {
                self.err(&q, format!("there is no state {s:?}"));
                continue;
            };
            let param = v.strip_prefix('{').and_then(|v| v.strip_suffix('}'));
            match param {
                Some(p) => match params.iter().find(|(n, _)| n == p) {
                    Some((_, k)) => {
                        if !fits(k, &def.kind) {
                            self.err(
                                &q,
                                format!(
                                    "{{{p}}} ({}) does not fit {s} ({})",
                                    k.describe(),
                                    def.kind.describe()
                                ),
                            );
                        }
                        sets.push((s.clone(), SetValue::Param(p.to_string())));
                    }
                    None => self.err(&q, format!("{{{p}}} is not a parameter of {name}")),
                },
                None => match def.kind.from_user(v) {
                    Ok(v) => sets.push((s.clone(), SetValue::Fixed(v))),
                    Err(e) => self.err(&q, e),
                },
            }
        }
        let mut reply = Vec::new();
        for (i, r) in c.reply.iter().enumerate() {
            let mut q = sub("reply");
            q.push(Seg::Index(i));
            let Some(t) = self.template(&q, r, binary) else {
                continue;
            };
            if t.has_wildcards() {
                self.err(&q, "a reply is sent by the simulator: no {*} or ??");
            }
            for slot in t.slots() {
                let known = params.iter().any(|(n, _)| n == slot)
                    || settings.iter().any(|s| s.name == slot)
                    || state.iter().any(|s| s.name == slot);
                if !known {
                    self.err(
                        &q,
                        format!("{{{slot}}} is not a parameter, setting or state"),
                    );
                }
            }
            reply.push(t);
        }
        Some(Command {
            name: name.to_string(),
            params,
            send,
            description: c.description.clone(),
            matcher,
            sets,
            reply,
        })
    }

    fn response(
        &mut self,
        i: usize,
        r: &ResponseSpec,
        binary: bool,
        state: &[Typed],
        settings: &[Typed],
        commands: &BTreeSet<String>,
    ) -> Option<Response> {
        let path = vec![key("responses"), Seg::Index(i)];
        let sub = |f: &str| {
            let mut q = path.clone();
            q.push(key(f));
            q
        };
        let format = self.template(&sub("format"), &r.format, binary)?;
        if format.pieces.is_empty() || format.pieces.iter().all(|p| matches!(p, Piece::Any)) {
            self.err(
                &sub("format"),
                "a response's format has something to recognise",
            );
        }
        // A setting's slot must hold this device's value (a matrix's
        // output, a display's id); state slots are read.
        let kind_of = |slot: &str| {
            state
                .iter()
                .chain(settings)
                .find(|s| s.name == slot)
                .map(|s| s.kind.clone())
        };
        let matcher = match Matcher::new(&format, &kind_of) {
            Ok(m) => m,
            Err(e) => {
                self.err(
                    &sub("format"),
                    format!("{e} (a response's slots name state or settings)"),
                );
                return None;
            }
        };
        let mut sets = Vec::new();
        for (s, v) in &r.sets {
            let mut q = sub("sets");
            q.push(key(s));
            match state.iter().find(|d| d.name == *s) {
                Some(def) => match def.kind.from_user(v) {
                    Ok(v) => sets.push((s.clone(), v)),
                    Err(e) => self.err(&q, e),
                },
                None => self.err(&q, format!("there is no state {s:?}")),
            }
        }
        for (k, a) in r.after.iter().enumerate() {
            if !commands.contains(a) {
                let mut q = sub("after");
                q.push(Seg::Index(k));
                self.err(&q, format!("there is no command {a:?}"));
            }
        }
        Some(Response {
            name: r.name.clone(),
            format,
            matcher,
            sets,
            unsolicited: r.unsolicited,
            after: r.after.clone(),
        })
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
