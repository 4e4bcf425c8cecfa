//! Templates: what a command sends and what a response looks like, with
//! `{name}` slots for parameters, settings and state.
//!
//! Text (line framing): `%1POWR {value}`, `{{` and `}}` for braces, `{*}`
//! for anything (responses only), a format after a colon: `{v:03}` (zero
//! padded), `{v:+}` (always signed), `{v:.1}` (decimals), `{v:02X}` (hex).
//! Binary: hex bytes and slots separated by spaces, `11 {id} {value}`,
//! `{v:u16be}` for wider fields, `??` any one byte and `{*}` the rest
//! (responses only).
//!
//! The same template both writes a message (commands, the simulator's
//! replies) and reads one (responses, the simulator's view of commands), so
//! a driver cannot describe a reply it could not parse.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use regex::bytes::{Regex, RegexBuilder};

use super::value::{escape_bytes, Kind, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Literal(Vec<u8>),
    Slot {
        name: String,
        format: SlotFormat,
    },
    /// `{*}`: any text, or the remaining bytes.
    Any,
    /// `??`: any one byte (binary).
    AnyByte,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SlotFormat {
    Text(TextFormat),
    Binary(BinFormat),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextFormat {
    pub plus: bool,
    pub zero: bool,
    pub width: usize,
    pub precision: Option<usize>,
    /// Some(true): upper-case hex; Some(false): lower-case.
    pub hex: Option<bool>,
}

impl TextFormat {
    fn parse(spec: &str) -> Result<TextFormat, String> {
        let mut f = TextFormat::default();
        let mut rest = spec;
        if let Some(r) = rest.strip_prefix('+') {
            f.plus = true;
            rest = r;
        }
        if let Some(r) = rest.strip_suffix('X') {
            f.hex = Some(true);
            rest = r;
        } else if let Some(r) = rest.strip_suffix('x') {
            f.hex = Some(false);
            rest = r;
        }
        let (width, precision) = match rest.split_once('.') {
            Some((w, p)) => (w, Some(p)),
            None => (rest, None),
        };
        if let Some(w) = width.strip_prefix('0') {
            f.zero = true;
            f.width = parse_small(w, spec)?;
        } else if !width.is_empty() {
            f.width = parse_small(width, spec)?;
        }
        if let Some(p) = precision {
            f.precision = Some(parse_small(p, spec)?);
        }
        if f.hex.is_some() && (f.precision.is_some() || f.plus) {
            return Err(format!(
                "format {spec:?}: hex takes neither decimals nor a sign"
            ));
        }
        Ok(f)
    }

    pub fn int(&self, i: i64) -> String {
        let body = match self.hex {
            Some(true) => format!("{:X}", i.unsigned_abs()),
            Some(false) => format!("{:x}", i.unsigned_abs()),
            None => i.unsigned_abs().to_string(),
        };
        self.pad(i < 0, body)
    }

    pub fn number(&self, n: f64) -> String {
        let body = match self.precision {
            Some(p) => format!("{:.*}", p, n.abs()),
            None => format!("{}", n.abs()),
        };
        // -0.0 written with no decimals is "0", not "-0".
        let negative = n < 0.0 && body.chars().any(|c| c.is_ascii_digit() && c != '0');
        self.pad(negative, body)
    }

    fn pad(&self, negative: bool, body: String) -> String {
        let sign = if negative {
            "-"
        } else if self.plus {
            "+"
        } else {
            ""
        };
        let len = sign.len() + body.len();
        let fill = self.width.saturating_sub(len);
        if self.zero {
            format!("{sign}{}{body}", "0".repeat(fill))
        } else {
            format!("{}{sign}{body}", " ".repeat(fill))
        }
    }
}

fn parse_small(s: &str, spec: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n <= 32 => Ok(n),
        _ => Err(format!("format {spec:?} is not understood")),
    }
}

/// A binary field's width and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinFormat {
    U8,
    I8,
    U16Be,
    U16Le,
    I16Be,
    I16Le,
    U24Be,
    U32Be,
    U32Le,
    I32Be,
}

impl BinFormat {
    fn parse(spec: &str) -> Result<BinFormat, String> {
        Ok(match spec {
            "" | "u8" => BinFormat::U8,
            "i8" => BinFormat::I8,
            "u16be" => BinFormat::U16Be,
            "u16le" => BinFormat::U16Le,
            "i16be" => BinFormat::I16Be,
            "i16le" => BinFormat::I16Le,
            "u24be" => BinFormat::U24Be,
            "u32be" => BinFormat::U32Be,
            "u32le" => BinFormat::U32Le,
            "i32be" => BinFormat::I32Be,
            _ => {
                return Err(format!(
                    "binary field {spec:?} is not one of u8, i8, u16be, u16le, i16be, i16le, u24be, u32be, u32le, i32be"
                ))
            }
        })
    }

    pub fn width(self) -> usize {
        match self {
            BinFormat::U8 | BinFormat::I8 => 1,
            BinFormat::U16Be | BinFormat::U16Le | BinFormat::I16Be | BinFormat::I16Le => 2,
            BinFormat::U24Be => 3,
            BinFormat::U32Be | BinFormat::U32Le | BinFormat::I32Be => 4,
        }
    }

    fn range(self) -> (i64, i64) {
        match self {
            BinFormat::U8 => (0, 0xFF),
            BinFormat::I8 => (-0x80, 0x7F),
            BinFormat::U16Be | BinFormat::U16Le => (0, 0xFFFF),
            BinFormat::I16Be | BinFormat::I16Le => (-0x8000, 0x7FFF),
            BinFormat::U24Be => (0, 0xFF_FFFF),
            BinFormat::U32Be | BinFormat::U32Le => (0, 0xFFFF_FFFF),
            BinFormat::I32Be => (-0x8000_0000, 0x7FFF_FFFF),
        }
    }

    fn little(self) -> bool {
        matches!(self, BinFormat::U16Le | BinFormat::I16Le | BinFormat::U32Le)
    }

    pub fn write(self, i: i64, out: &mut Vec<u8>) -> Result<(), String> {
        let (lo, hi) = self.range();
        if i < lo || i > hi {
            return Err(format!("{i} does not fit a {}-byte field", self.width()));
        }
        let be = (i as u64).to_be_bytes();
        let mut bytes = be[8 - self.width()..].to_vec();
        if self.little() {
            bytes.reverse();
        }
        out.extend_from_slice(&bytes);
        Ok(())
    }

    pub fn read(self, bytes: &[u8]) -> i64 {
        let mut v: u64 = 0;
        let iter: Box<dyn Iterator<Item = &u8>> = if self.little() {
            Box::new(bytes.iter().rev())
        } else {
            Box::new(bytes.iter())
        };
        for b in iter {
            v = v << 8 | u64::from(*b);
        }
        match self {
            BinFormat::I8 => v as u8 as i8 as i64,
            BinFormat::I16Be | BinFormat::I16Le => v as u16 as i16 as i64,
            BinFormat::I32Be => v as u32 as i32 as i64,
            _ => v as i64,
        }
    }
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub pieces: Vec<Piece>,
    pub binary: bool,
}

impl Template {
    pub fn parse(source: &str, binary: bool) -> Result<Template, String> {
        let pieces = if binary {
            parse_binary(source)?
        } else {
            parse_text(source)?
        };
        Ok(Template { pieces, binary })
    }

    /// The names of the slots, in order.
    pub fn slots(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Slot { name, .. } => Some(name.as_str()),
            _ => None,
        })
    }

    pub fn has_wildcards(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Any | Piece::AnyByte))
    }

    /// The bytes for these values. `lookup` gives each slot's type and value.
    pub fn render<'a>(
        &self,
        lookup: &dyn Fn(&str) -> Option<(&'a Kind, Value)>,
    ) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(b) => out.extend_from_slice(b),
                Piece::Slot { name, format } => {
                    let (kind, value) =
                        lookup(name).ok_or_else(|| format!("no value for {{{name}}}"))?;
                    match format {
                        SlotFormat::Text(f) => kind.write_text(&value, f, &mut out)?,
                        SlotFormat::Binary(f) => kind.write_binary(&value, *f, &mut out)?,
                    }
                }
                Piece::Any | Piece::AnyByte => {
                    return Err("a template with {*} or ?? cannot be sent".to_string())
                }
            }
        }
        Ok(out)
    }
}

fn parse_text(source: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '}' => return Err("a lone } (write }} for a brace)".to_string()),
            '{' => {
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => inner.push(c),
                        None => return Err("a { is not closed (write {{ for a brace)".to_string()),
                    }
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal).into_bytes()));
                }
                pieces.push(slot(&inner, false)?);
            }
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal.into_bytes()));
    }
    Ok(pieces)
}

fn parse_binary(source: &str) -> Result<Vec<Piece>, String> {
    let mut pieces: Vec<Piece> = Vec::new();
    for token in source.split_whitespace() {
        if token == "??" {
            pieces.push(Piece::AnyByte);
        } else if let Some(inner) = token.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            pieces.push(slot(inner, true)?);
        } else {
            let bytes =
                crate::logic::escape::decode_hex(token).map_err(|e| format!("{token:?}: {e}"))?;
            if let Some(Piece::Literal(prev)) = pieces.last_mut() {
                prev.extend_from_slice(&bytes);
            } else {
                pieces.push(Piece::Literal(bytes));
            }
        }
    }
    if let Some(i) = pieces.iter().position(|p| *p == Piece::Any) {
        if i + 1 != pieces.len() {
            return Err("{*} can only end a binary template".to_string());
        }
    }
    Ok(pieces)
}

fn slot(inner: &str, binary: bool) -> Result<Piece, String> {
    if inner == "*" {
        return Ok(Piece::Any);
    }
    let (name, spec) = inner.split_once(':').unwrap_or((inner, ""));
    if !is_name(name) {
        return Err(format!(
            "{{{inner}}}: a slot names a parameter, setting or state (letters, digits, _)"
        ));
    }
    let format = if binary {
        SlotFormat::Binary(BinFormat::parse(spec)?)
    } else {
        SlotFormat::Text(TextFormat::parse(spec)?)
    };
    Ok(Piece::Slot {
        name: name.to_string(),
        format,
    })
}

/// A name of a parameter, setting, state or command: `power`, `lamp_hours`.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A template compiled for reading messages: which slots it fills.
#[derive(Debug, Clone)]
pub struct Matcher {
    template: Template,
    /// Text templates: the anchored expression, one group per slot.
    regex: Option<LazyRegex>,
    kinds: Vec<Kind>,
}

/// A matcher's expression, compiled when a message is first read with it.
/// The library holds every driver's matchers, but a room uses a few
/// drivers: compiled up front, the matchers of the unused ones cost the
/// controller megabytes of resident memory for nothing. The pattern is
/// compiled once when the matcher is made, so a bad one is still an error
/// of the driver file, and that compiled form is dropped.
#[derive(Debug, Clone)]
struct LazyRegex {
    pattern: String,
    compiled: std::sync::OnceLock<Regex>,
}

impl LazyRegex {
    fn build(pattern: &str) -> Result<Regex, regex::Error> {
        RegexBuilder::new(pattern)
            .unicode(false)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
    }

    fn get(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            LazyRegex::build(&self.pattern).expect("the pattern compiled when its matcher was made")
        })
    }
}

/// The most a compiled matcher may take (bounds a hostile driver file).
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

impl Matcher {
    /// `kind_of` gives each slot's type; a slot it does not know is an error.
    pub fn new(
        template: &Template,
        kind_of: &dyn Fn(&str) -> Option<Kind>,
    ) -> Result<Matcher, String> {
        let mut kinds = Vec::new();
        for name in template.slots() {
            kinds.push(kind_of(name).ok_or_else(|| format!("{{{name}}} is not known here"))?);
        }
        let regex = if template.binary {
            None
        } else {
            let mut pattern = String::from("(?s-u)^");
            let mut k = 0;
            for piece in &template.pieces {
                match piece {
                    Piece::Literal(b) => pattern.push_str(&escape_bytes(b)),
                    Piece::Slot { format, .. } => {
                        let SlotFormat::Text(f) = format else {
                            unreachable!("text templates have text slots")
                        };
                        let _ = write!(pattern, "({})", kinds[k].text_pattern(f));
                        k += 1;
                    }
                    Piece::Any => pattern.push_str(".*?"),
                    Piece::AnyByte => pattern.push('.'),
                }
            }
            pattern.push('$');
            LazyRegex::build(&pattern)
                .map_err(|e| format!("the template cannot be matched: {e}"))?;
            Some(LazyRegex {
                pattern,
                compiled: std::sync::OnceLock::new(),
            })
        };
        Ok(Matcher {
            template: template.clone(),
            regex,
            kinds,
        })
    }

    /// The slots' values if `message` has this template's shape.
    pub fn read(&self, message: &[u8]) -> Option<BTreeMap<String, Value>> {
        let names: Vec<&str> = self.template.slots().collect();
        let mut out = BTreeMap::new();
        if let Some(regex) = &self.regex {
            let caps = regex.get().captures(message)?;
            let mut k = 0;
            for piece in &self.template.pieces {
                if let Piece::Slot {
                    format: SlotFormat::Text(f),
                    ..
                } = piece
                {
                    let raw = caps.get(k + 1)?.as_bytes();
                    let value = self.kinds[k].read_text(raw, f)?;
                    insert_agreeing(&mut out, names[k], value)?;
                    k += 1;
                }
            }
            return Some(out);
        }
        let mut at = 0;
        let mut k = 0;
        for piece in &self.template.pieces {
            match piece {
                Piece::Literal(b) => {
                    if message.get(at..at + b.len())? != b.as_slice() {
                        return None;
                    }
                    at += b.len();
                }
                Piece::AnyByte => {
                    message.get(at)?;
                    at += 1;
                }
                Piece::Any => at = message.len(),
                Piece::Slot { format, .. } => {
                    let SlotFormat::Binary(f) = format else {
                        unreachable!("binary templates have binary slots")
                    };
                    let field = message.get(at..at + f.width())?;
                    let value = self.kinds[k].read_binary(f.read(field))?;
                    insert_agreeing(&mut out, names[k], value)?;
                    at += f.width();
                    k += 1;
                }
            }
        }
        (at == message.len()).then_some(out)
    }

    /// Literal bytes in the template: more means a more specific match.
    pub fn specificity(&self) -> usize {
        self.template
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(b) => b.len() * 2,
                Piece::Slot { .. } => 1,
                _ => 0,
            })
            .sum()
    }
}

/// A slot named twice must read the same value both times.
fn insert_agreeing(out: &mut BTreeMap<String, Value>, name: &str, value: Value) -> Option<()> {
    match out.get(name) {
        Some(v) if *v != value => None,
        _ => {
            out.insert(name.to_string(), value);
            Some(())
        }
    }
}
