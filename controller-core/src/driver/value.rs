//! Typed values of a driver: what a parameter, a setting or a piece of state
//! holds ([`Value`]), the type it must fit ([`Kind`]), and how a value is
//! written on the wire and read back from it, as text or as binary fields.

use std::fmt;

use super::format::{BinFormat, TextFormat};
use super::schema::Escape;

/// A value of a parameter, setting or state. An enumeration's value is its
/// name (`"on"`), never its wire form.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Number(f64),
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::Text(t) => f.write_str(t),
        }
    }
}

/// The type a value must fit.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Int {
        min: Option<i64>,
        max: Option<i64>,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    /// Names and their wire forms, in the order written.
    Enum(Vec<(String, String)>),
    Text {
        max_length: usize,
        escape: Escape,
    },
}

/// Text values are at most this long unless the driver says less.
pub const MAX_TEXT: usize = 255;

impl Kind {
    /// A value from what a project or transcript wrote (`"on"`, `-10`,
    /// `"-10"`), checked against the type.
    pub fn from_toml(&self, v: &toml::Value) -> Result<Value, String> {
        match v {
            toml::Value::Integer(i) => self.check(Value::Int(*i)),
            toml::Value::Float(f) => self.check(Value::Number(*f)),
            toml::Value::String(s) => self.from_user(s),
            toml::Value::Boolean(b) => self.from_user(if *b { "on" } else { "off" }),
            other => Err(format!("{} is not a value", other.type_str())),
        }
    }

    /// A value from text a person wrote: a number for int/number, a name
    /// for an enumeration, anything for text.
    pub fn from_user(&self, s: &str) -> Result<Value, String> {
        match self {
            Kind::Int { .. } => {
                let i = s
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| format!("{s:?} is not a whole number"))?;
                self.check(Value::Int(i))
            }
            Kind::Number { .. } => {
                let n = s
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| format!("{s:?} is not a number"))?;
                self.check(Value::Number(n))
            }
            Kind::Enum(_) | Kind::Text { .. } => self.check(Value::Text(s.to_string())),
        }
    }

    /// `v` if it fits the type (a whole number is accepted for a number,
    /// a whole-valued number for an int).
    pub fn check(&self, v: Value) -> Result<Value, String> {
        match (self, v) {
            (Kind::Int { min, max }, v) => {
                let i = match v {
                    Value::Int(i) => i,
                    Value::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => n as i64,
                    other => return Err(format!("{other} is not a whole number")),
                };
                if min.is_some_and(|m| i < m) || max.is_some_and(|m| i > m) {
                    return Err(format!("{i} is out of range ({})", self.describe()));
                }
                Ok(Value::Int(i))
            }
            (Kind::Number { min, max }, v) => {
                let n = match v {
                    Value::Int(i) => i as f64,
                    Value::Number(n) if n.is_finite() => n,
                    other => return Err(format!("{other} is not a number")),
                };
                if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                    return Err(format!("{n} is out of range ({})", self.describe()));
                }
                Ok(Value::Number(n))
            }
            (Kind::Enum(values), v) => {
                let name = v.to_string();
                if values.iter().any(|(n, _)| *n == name) {
                    Ok(Value::Text(name))
                } else {
                    Err(format!("{name:?} is not one of {}", self.describe()))
                }
            }
            (Kind::Text { max_length, .. }, v) => {
                let t = v.to_string();
                if t.chars().count() > *max_length {
                    return Err(format!("the text is longer than {max_length} characters"));
                }
                if t.chars().any(char::is_control) {
                    return Err("the text has a control character".to_string());
                }
                Ok(Value::Text(t))
            }
        }
    }

    /// The allowed values in words (`0 to 100`, `on, off`).
    pub fn describe(&self) -> String {
        match self {
            Kind::Int { min, max } => range_words(min.map(|v| v as f64), max.map(|v| v as f64)),
            Kind::Number { min, max } => range_words(*min, *max),
            Kind::Enum(values) => values
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            Kind::Text { max_length, .. } => format!("text up to {max_length} characters"),
        }
    }

    /// A value that fits, for examples and the simulator's start: zero
    /// (or the empty text) when allowed, else the bound nearest to it.
    pub fn sample(&self) -> Value {
        match self {
            Kind::Int { min, max } => {
                let mut v = 0;
                if let Some(m) = max {
                    v = v.min(*m);
                }
                if let Some(m) = min {
                    v = v.max(*m);
                }
                Value::Int(v)
            }
            Kind::Number { min, max } => {
                let mut v = 0.0f64;
                if let Some(m) = max {
                    v = v.min(*m);
                }
                if let Some(m) = min {
                    v = v.max(*m);
                }
                Value::Number(v)
            }
            Kind::Enum(values) => Value::Text(values[0].0.clone()),
            Kind::Text { .. } => Value::Text(String::new()),
        }
    }

    fn wire_of(&self, name: &str) -> Option<&str> {
        match self {
            Kind::Enum(values) => values
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, w)| w.as_str()),
            _ => None,
        }
    }

    /// Writes `v` as text in `format`.
    pub fn write_text(
        &self,
        v: &Value,
        format: &TextFormat,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        match (self, v) {
            (Kind::Enum(_), Value::Text(name)) => {
                let wire = self
                    .wire_of(name)
                    .ok_or_else(|| format!("{name:?} is not one of {}", self.describe()))?;
                out.extend_from_slice(wire.as_bytes());
            }
            (Kind::Text { escape, .. }, Value::Text(t)) => match escape {
                Escape::None => out.extend_from_slice(t.as_bytes()),
                Escape::Json => {
                    for c in t.chars() {
                        match c {
                            '"' => out.extend_from_slice(b"\\\""),
                            '\\' => out.extend_from_slice(b"\\\\"),
                            c => {
                                let mut buf = [0u8; 4];
                                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                            }
                        }
                    }
                }
            },
            (_, Value::Int(i)) => out.extend_from_slice(format.int(*i).as_bytes()),
            (_, Value::Number(n)) => out.extend_from_slice(format.number(*n).as_bytes()),
            (_, other) => return Err(format!("{other} does not fit {}", self.describe())),
        }
        Ok(())
    }

    /// Reads text captured by a template slot.
    pub fn read_text(&self, raw: &[u8], format: &TextFormat) -> Option<Value> {
        let s = std::str::from_utf8(raw).ok()?;
        match self {
            Kind::Int { .. } => {
                let s = s.strip_prefix('+').unwrap_or(s);
                let i = if format.hex.is_some() {
                    i64::from_str_radix(s, 16).ok()?
                } else {
                    s.parse().ok()?
                };
                Some(Value::Int(i))
            }
            Kind::Number { .. } => s
                .strip_prefix('+')
                .unwrap_or(s)
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Value::Number),
            Kind::Enum(values) => values
                .iter()
                .find(|(_, w)| w == s)
                .or_else(|| values.iter().find(|(_, w)| w.eq_ignore_ascii_case(s)))
                .map(|(n, _)| Value::Text(n.clone())),
            Kind::Text { .. } => Some(Value::Text(s.to_string())),
        }
    }

    /// The regular expression a text slot of this kind matches.
    pub fn text_pattern(&self, format: &TextFormat) -> String {
        match self {
            Kind::Int { .. } if format.hex.is_some() => "[0-9A-Fa-f]+".to_string(),
            Kind::Int { .. } => "[+-]?[0-9]+".to_string(),
            Kind::Number { .. } => "[+-]?[0-9]+(?:\\.[0-9]*)?".to_string(),
            Kind::Enum(values) => {
                let mut wires: Vec<&str> = values.iter().map(|(_, w)| w.as_str()).collect();
                // Longest first, so "10" is not read as "1" followed by "0".
                wires.sort_by_key(|w| std::cmp::Reverse(w.len()));
                let alts: Vec<String> = wires.iter().map(|w| escape_bytes(w.as_bytes())).collect();
                format!("(?i:{})", alts.join("|"))
            }
            Kind::Text { .. } => ".*?".to_string(),
        }
    }

    /// The integer a binary field holds for `v`.
    pub fn binary_int(&self, v: &Value) -> Result<i64, String> {
        match (self, v) {
            (Kind::Enum(_), Value::Text(name)) => {
                let wire = self
                    .wire_of(name)
                    .ok_or_else(|| format!("{name:?} is not one of {}", self.describe()))?;
                parse_int(wire).ok_or_else(|| format!("{wire:?} is not a byte value"))
            }
            (_, Value::Int(i)) => Ok(*i),
            (_, other) => Err(format!("{other} cannot be sent as a binary field")),
        }
    }

    /// Writes `v` as a binary field.
    pub fn write_binary(
        &self,
        v: &Value,
        format: BinFormat,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        if let (Kind::Text { .. }, Value::Text(t)) = (self, v) {
            out.extend_from_slice(t.as_bytes());
            return Ok(());
        }
        let i = self.binary_int(v)?;
        format.write(i, out)
    }

    /// Reads a binary field's integer into a value of this kind.
    pub fn read_binary(&self, i: i64) -> Option<Value> {
        match self {
            Kind::Int { .. } => Some(Value::Int(i)),
            Kind::Number { .. } => Some(Value::Number(i as f64)),
            Kind::Enum(values) => values
                .iter()
                .find(|(_, w)| parse_int(w) == Some(i))
                .map(|(n, _)| Value::Text(n.clone())),
            Kind::Text { .. } => None,
        }
    }
}

fn range_words(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        (Some(a), None) => format!("at least {a}"),
        (None, Some(b)) => format!("at most {b}"),
        (None, None) => "any number".to_string(),
    }
}

/// `"33"`, `"0x21"`, `"-4"` as an integer.
pub fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

/// Bytes as a regular expression that matches exactly them (for a bytes
/// regex with Unicode off: every non-alphanumeric byte as `\xNN`).
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}
