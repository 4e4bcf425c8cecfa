//! Controls beside buttons: levels (faders and meters), variables (named
//! values from device feedback, sequences and timers), the text tiles and
//! summary lines that show them, and conditions on variables.
//!
//! Like buttons, a level is defined once and placed on any number of pages;
//! its value is engine state with revisions, so every panel, 5009 station
//! and 8001 listener sees the same value.

use serde::{Deserialize, Serialize};

/// A level: a value between `min` and `max` in steps of `step` (a volume in
/// dB, a dimmer in %). A `fader` is set from panels, 5009, device feedback
/// and sequences; a `meter` only from feedback and sequences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Level {
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub kind: LevelKind,
    pub min: f64,
    pub max: f64,
    /// Values are rounded to `min + n * step`.
    #[serde(default = "Level::default_step")]
    pub step: f64,
    /// Shown after the value ("dB", "%").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit: String,
    /// The value when the project starts; `min` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<f64>,
    /// The level has a mute (shown as a button on its fader).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mute: bool,
    /// The device that a change of this level drives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Sent to `device` when the value changes: a template where `{value}`
    /// is the new value (`"VOL {value}\r"`); escapes as in `send` steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// Sent to `device` when the mute changes; `{value}` is 1 or 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_mute: Option<String>,
    /// The driver command that a change of this level calls on `device` (a
    /// driver device), the value as its number parameter: `command =
    /// "level"` instead of `send`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The driver command that the mute calls, with `on` or `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute_command: Option<String>,
    /// At most one command per this interval while the level moves (the
    /// final value is always sent), so a drag does not flood the device.
    #[serde(default = "Level::default_send_interval_ms")]
    pub send_interval_ms: u32,
}

impl Level {
    fn default_step() -> f64 {
        1.0
    }
    fn default_send_interval_ms() -> u32 {
        100
    }

    /// `value` clamped to the range and rounded to the nearest step; `None`
    /// for a value that is not a number (NaN, infinite).
    pub fn quantise(&self, value: f64) -> Option<f64> {
        if !value.is_finite() {
            return None;
        }
        let clamped = value.clamp(self.min, self.max);
        let steps = ((clamped - self.min) / self.step).round();
        // Rounded again so repeated steps of 0.1 do not print as 0.30000000000000004.
        let stepped = ((self.min + steps * self.step) * 1e6).round() / 1e6;
        Some(stepped.clamp(self.min, self.max))
    }

    /// The starting value, already in range and on a step.
    pub fn initial_value(&self) -> f64 {
        self.initial
            .and_then(|v| self.quantise(v))
            .unwrap_or(self.min)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelKind {
    /// Set by people (panel drag, 5009) and by the room logic.
    #[default]
    Fader,
    /// Read-only on panels and 5009: only feedback and sequences move it.
    Meter,
}

/// A named value: set by feedback captures, sequences and timers; shown in
/// labels and text tiles as `{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    pub id: String,
    #[serde(default)]
    pub kind: VariableKind,
    /// The value when the project starts: 0, "" or false when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<Value>,
}

impl Variable {
    pub fn initial_value(&self) -> Value {
        self.initial
            .as_ref()
            .and_then(|v| v.coerce(self.kind))
            .unwrap_or_else(|| self.kind.zero())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariableKind {
    #[default]
    Text,
    Number,
    Bool,
}

impl VariableKind {
    pub fn zero(self) -> Value {
        match self {
            VariableKind::Text => Value::Text(String::new()),
            VariableKind::Number => Value::Number(0.0),
            VariableKind::Bool => Value::Bool(false),
        }
    }
}

/// Text values longer than this (in bytes of UTF-8) are cut at a character
/// boundary: a device reply cannot make every panel message grow without
/// bound, and every format carries the same text (8001's strings hold at
/// most 255 bytes).
pub const MAX_TEXT_VALUE: usize = 255;

/// A variable's value. In TOML and JSON: a number, a string or a boolean.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Number(f64),
    Text(String),
}

/// Read by what the input is (serde's `untagged` would buffer it into an
/// intermediate tree first, a second decoder for every type around it in
/// the panel's wasm).
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        struct Any;
        impl serde::de::Visitor<'_> for Any {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number, a string or a boolean")
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
                Ok(Value::Number(n as f64))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
                Ok(Value::Number(n as f64))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
                Ok(Value::Number(n))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                Ok(Value::Text(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Value, E> {
                Ok(Value::Text(s))
            }
        }
        d.deserialize_any(Any)
    }
}

impl Value {
    /// This value as a variable of `kind`: text is parsed into numbers and
    /// booleans (`1`/`0`, `true`/`false`, `on`/`off`), anything prints as
    /// text. `None` when it cannot be one (`"abc"` as a number, NaN).
    pub fn coerce(&self, kind: VariableKind) -> Option<Value> {
        match (kind, self) {
            (VariableKind::Text, Value::Text(t)) => Some(Value::Text(
                crate::protocol::wire::truncate(t, MAX_TEXT_VALUE).to_string(),
            )),
            (VariableKind::Text, other) => Some(Value::Text(other.to_string())),
            (VariableKind::Number, Value::Number(n)) => n.is_finite().then_some(Value::Number(*n)),
            (VariableKind::Number, Value::Bool(b)) => Some(Value::Number(f64::from(u8::from(*b)))),
            (VariableKind::Number, Value::Text(t)) => t
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Value::Number),
            (VariableKind::Bool, Value::Bool(b)) => Some(Value::Bool(*b)),
            (VariableKind::Bool, Value::Number(n)) => Some(Value::Bool(*n != 0.0)),
            (VariableKind::Bool, Value::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "on" | "yes" => Some(Value::Bool(true)),
                "0" | "false" | "off" | "no" => Some(Value::Bool(false)),
                _ => None,
            },
        }
    }

    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Text(t) => t.trim().parse().ok(),
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => f.write_str(&format_number(*n)),
            Value::Text(t) => f.write_str(t),
        }
    }
}

/// A number as panels show it: no trailing zeros, at most 3 decimals
/// (`-20`, `-20.5`, `0.125`), rounded half away from zero.
///
/// Integer arithmetic only: `format!("{:.3}")` (or any float `Display`)
/// links core's float formatting into the panel's wasm, about 9 KiB gzipped.
pub fn format_number(n: f64) -> String {
    let thousandths = (n * 1000.0).round();
    if thousandths.is_nan() {
        return "NaN".into();
    }
    if thousandths.is_infinite() {
        return if n < 0.0 { "-inf" } else { "inf" }.into();
    }
    // Below 2^53 the thousandths are an exact integer.
    if thousandths.abs() < 9_007_199_254_740_992.0 {
        let t = thousandths as i64;
        return print_thousandths(t < 0, t.unsigned_abs());
    }
    // Larger: the value shown is `thousandths / 1000` as an f64, whose exact
    // decimal expansion is mantissa * 2^exponent.
    let rounded = thousandths / 1000.0;
    let bits = rounded.to_bits();
    let negative = rounded < 0.0;
    let exponent = ((bits >> 52) & 0x7ff) as i32 - 1075;
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    if exponent < 0 {
        // At most a few fractional bits: round mantissa * 1000 / 2^k (below
        // 2^53 * 1000 < 2^63: no overflow) to the
        // nearest integer, ties to even (as core's `{:.3}` does).
        let k = exponent.unsigned_abs();
        let scaled = mantissa * 1000;
        let (mut q, rem, half) = (scaled >> k, scaled & ((1 << k) - 1), 1u64 << (k - 1));
        if rem > half || (rem == half && q % 2 == 1) {
            q += 1;
        }
        return print_thousandths(negative, q);
    }
    // A whole number: mantissa * 2^exponent in base-10^9 limbs.
    let mut limbs: Vec<u64> = vec![mantissa % 1_000_000_000, mantissa / 1_000_000_000];
    for _ in 0..exponent {
        let mut carry = 0;
        for limb in &mut limbs {
            let v = *limb * 2 + carry;
            *limb = v % 1_000_000_000;
            carry = v / 1_000_000_000;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut out = String::from(if negative { "-" } else { "" });
    let mut iter = limbs.iter().rev();
    if let Some(top) = iter.next() {
        out.push_str(&top.to_string());
    }
    for limb in iter {
        let digits = limb.to_string();
        out.extend(std::iter::repeat_n('0', 9 - digits.len()));
        out.push_str(&digits);
    }
    out
}

/// `t` thousandths as `-12.5`: no trailing zeros, no `-0`.
fn print_thousandths(negative: bool, t: u64) -> String {
    let (int, mut frac) = (t / 1000, t % 1000);
    let mut out = String::new();
    if negative && t != 0 {
        out.push('-');
    }
    out.push_str(&int.to_string());
    if frac != 0 {
        out.push('.');
        let mut width = 3;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        let digits = frac.to_string();
        out.extend(std::iter::repeat_n('0', width - digits.len()));
        out.push_str(&digits);
    }
    out
}

/// A condition on a variable: a button's `enabled` or `led_when`.
/// Exactly one of the comparisons is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VarCondition {
    pub variable: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<Value>,
    /// The variable is a number greater than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    /// The variable is a number less than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
}

impl VarCondition {
    /// Whether the condition holds for the variable's current value (`None`:
    /// no such variable, which never holds).
    pub fn holds(&self, value: Option<&Value>) -> bool {
        let Some(value) = value else { return false };
        let same = |want: &Value| match (want, value) {
            (Value::Text(a), b) | (b, Value::Text(a)) if !matches!(b, Value::Text(_)) => {
                a.trim() == b.to_string()
            }
            (a, b) => a == b,
        };
        if let Some(want) = &self.equals {
            return same(want);
        }
        if let Some(want) = &self.not_equals {
            return !same(want);
        }
        let n = value.as_number();
        if let Some(limit) = self.above {
            return n.is_some_and(|n| n > limit);
        }
        if let Some(limit) = self.below {
            return n.is_some_and(|n| n < limit);
        }
        false
    }
}

/// A level placed on a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelPlace {
    pub level: String,
    pub row: u8,
    pub col: u8,
    #[serde(default = "one")]
    pub width: u8,
    #[serde(default = "one")]
    pub height: u8,
    /// Vertical (default) or horizontal fader.
    #[serde(default)]
    pub orientation: Orientation,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Orientation {
    #[default]
    Vertical,
    Horizontal,
}

/// A text tile placed on a page: a template showing variables and levels
/// (`"Projector: {projector_state}"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextPlace {
    pub text: String,
    pub row: u8,
    pub col: u8,
    #[serde(default = "one")]
    pub width: u8,
    #[serde(default = "one")]
    pub height: u8,
}

fn one() -> u8 {
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(min: f64, max: f64, step: f64) -> Level {
        Level {
            id: "v".into(),
            label: "V".into(),
            kind: LevelKind::Fader,
            min,
            max,
            step,
            unit: String::new(),
            initial: None,
            mute: false,
            device: None,
            send: None,
            send_mute: None,
            command: None,
            mute_command: None,
            send_interval_ms: 100,
        }
    }

    #[test]
    fn quantise_clamps_and_steps() {
        let l = level(-60.0, 10.0, 0.5);
        assert_eq!(l.quantise(-100.0), Some(-60.0));
        assert_eq!(l.quantise(12.0), Some(10.0));
        assert_eq!(l.quantise(-20.26), Some(-20.5));
        assert_eq!(l.quantise(-20.24), Some(-20.0));
        assert_eq!(l.quantise(f64::NAN), None);
        assert_eq!(l.quantise(f64::INFINITY), None);
        let tenth = level(0.0, 1.0, 0.1);
        assert_eq!(tenth.quantise(0.3), Some(0.3));
        // A step that does not divide the range never passes max.
        let odd = level(0.0, 10.0, 3.0);
        assert_eq!(odd.quantise(10.0), Some(9.0));
    }

    #[test]
    fn coerce_and_display() {
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(
            t(" -12 ").coerce(VariableKind::Number),
            Some(Value::Number(-12.0))
        );
        assert_eq!(t("abc").coerce(VariableKind::Number), None);
        assert_eq!(t("NaN").coerce(VariableKind::Number), None);
        assert_eq!(t("ON").coerce(VariableKind::Bool), Some(Value::Bool(true)));
        assert_eq!(
            Value::Number(-20.5).coerce(VariableKind::Text),
            Some(t("-20.5"))
        );
        let long = t(&"x".repeat(1000)).coerce(VariableKind::Text).unwrap();
        assert_eq!(long.to_string().len(), MAX_TEXT_VALUE);
        // Cut on a character boundary: 127 two-byte characters fit in 255.
        let wide = t(&"é".repeat(200)).coerce(VariableKind::Text).unwrap();
        assert_eq!(wide.to_string(), "é".repeat(127));
        assert_eq!(format_number(-0.0001), "0");
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(0.125), "0.125");
    }

    #[test]
    fn format_number_matches_float_formatting() {
        let reference = |n: f64| {
            let rounded = (n * 1000.0).round() / 1000.0;
            let text = format!("{rounded:.3}");
            let text = text.trim_end_matches('0').trim_end_matches('.');
            match text {
                "-0" | "" => "0".to_string(),
                t => t.to_string(),
            }
        };
        for n in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            0.05,
            0.005,
            0.0005,
            -0.0005,
            0.1,
            0.25,
            -20.5,
            100.0,
            -60.0,
            1.2345,
            6.0005,
            12.04,
            1e6,
            1.5e12,
            9.1e15,
            1e17,
            1e19,
            -3e20,
            1e300,
            f64::MAX,
            f64::MIN,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(format_number(n), reference(n), "{n}");
        }
    }

    use proptest::prelude::*;
    proptest! {
        #[test]
        fn format_number_is_float_formatting(n in proptest::num::f64::ANY) {
            let rounded = (n * 1000.0).round() / 1000.0;
            let text = format!("{rounded:.3}");
            let text = text.trim_end_matches('0').trim_end_matches('.');
            let expected = match text { "-0" | "" => "0", t => t };
            prop_assert_eq!(format_number(n), expected);
        }
    }

    #[test]
    fn conditions() {
        let c = |equals, above| VarCondition {
            variable: "x".into(),
            equals,
            not_equals: None,
            above,
            below: None,
        };
        let on = c(Some(Value::Text("on".into())), None);
        assert!(on.holds(Some(&Value::Text("on".into()))));
        assert!(!on.holds(Some(&Value::Text("off".into()))));
        assert!(!on.holds(None));
        let three = c(Some(Value::Number(3.0)), None);
        assert!(three.holds(Some(&Value::Text("3".into()))));
        assert!(three.holds(Some(&Value::Number(3.0))));
        let warm = c(None, Some(0.0));
        assert!(warm.holds(Some(&Value::Number(12.0))));
        assert!(!warm.holds(Some(&Value::Number(0.0))));
        assert!(!warm.holds(Some(&Value::Text("soon".into()))));
    }
}
