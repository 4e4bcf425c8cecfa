//! Feedback rules: a line from a device, matched exactly or by regular
//! expression, becomes a press, an LED change, a variable's new value or a
//! level's (`regex = "VOL=(-?\\d+)"`, `level = "volume"`: the capture `$1`
//! is the value unless `value` says otherwise).
//!
//! A regex rule's captures may be used in its `button` and `led` fields as
//! `$1`, `${1}` or `${name}` (the `regex` crate's expansion syntax), so one
//! rule can cover a family of replies: `regex = "^OUT1 IN(\\d)$"` with
//! `button = "input_${1}"`. A line is matched anywhere unless the expression
//! is anchored with `^` and `$`.

use regex::{Regex, RegexBuilder};

use crate::project::{FeedbackRule, LedMode, Value, VariableKind};

/// Compiled expressions larger than this are refused (the regex crate's own
/// bound; keeps a hostile project from costing unbounded memory).
const REGEX_SIZE_LIMIT: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackError {
    #[error("invalid regular expression: {0}")]
    BadRegex(String),
    #[error("a feedback rule needs exactly one of `equals` and `regex`")]
    NoPattern,
    #[error("a feedback rule needs exactly one of `press`, `led` (with `button`), `variable`, `level` and `mute`")]
    NoAction,
    #[error("the line {line:?} gave {value:?} for level {level:?}, which is not a number")]
    BadNumber {
        line: String,
        level: String,
        value: String,
    },
    #[error(
        "the line {line:?} gave {value:?} for the mute of {level:?}; use 1/0, on/off or true/false"
    )]
    BadMute {
        line: String,
        level: String,
        value: String,
    },
    #[error("the line {line:?} gave an empty target name")]
    EmptyTarget { line: String },
    #[error("the line {line:?} gave the LED mode {mode:?}; use off, on, slow_blink or fast_blink")]
    BadLedMode { line: String, mode: String },
    #[error("the line {line:?} gave an empty button id")]
    EmptyButton { line: String },
}

/// What a matching line does.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedbackAction {
    Press {
        button: String,
    },
    Led {
        button: String,
        mode: LedMode,
    },
    /// The engine converts the text to the variable's kind.
    SetVariable {
        variable: String,
        value: String,
    },
    SetLevel {
        level: String,
        value: f64,
    },
    SetMute {
        level: String,
        muted: bool,
    },
}

#[derive(Debug, Clone)]
enum Pattern {
    Equals(String),
    Regex(Regex),
}

#[derive(Debug, Clone)]
enum Template {
    Press(String),
    Led { button: String, mode: String },
    Variable { name: String, value: String },
    Level { name: String, value: String },
    Mute { name: String, value: String },
}

/// One feedback rule, ready to match lines.
#[derive(Debug, Clone)]
pub struct FeedbackMatcher {
    pub device: String,
    /// The driver state whose changes this rule reads (None: lines).
    pub state: Option<String>,
    pattern: Pattern,
    action: Template,
}

/// Compiles a rule's regular expression (also used by project validation).
pub fn compile_regex(expr: &str) -> Result<Regex, FeedbackError> {
    RegexBuilder::new(expr)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| FeedbackError::BadRegex(e.to_string()))
}

impl FeedbackMatcher {
    pub fn new(rule: &FeedbackRule) -> Result<FeedbackMatcher, FeedbackError> {
        let pattern = match (&rule.equals, &rule.regex) {
            (Some(text), None) => Pattern::Equals(text.clone()),
            (None, Some(expr)) => Pattern::Regex(compile_regex(expr)?),
            // A state rule without a pattern reads every value, `$1` whole.
            (None, None) if rule.state.is_some() => Pattern::Regex(compile_regex("(?s)^(.*)$")?),
            _ => return Err(FeedbackError::NoPattern),
        };
        let value = rule.value.clone().unwrap_or_else(|| "$1".into());
        let action = match (
            (&rule.press, &rule.led, &rule.button),
            (&rule.variable, &rule.level, &rule.mute),
        ) {
            ((Some(b), None, _), (None, None, None)) => Template::Press(b.clone()),
            ((None, Some(mode), Some(b)), (None, None, None)) => Template::Led {
                button: b.clone(),
                mode: mode.clone(),
            },
            ((None, None, None), (Some(v), None, None)) => Template::Variable {
                name: v.clone(),
                value,
            },
            ((None, None, None), (None, Some(l), None)) => Template::Level {
                name: l.clone(),
                value,
            },
            ((None, None, None), (None, None, Some(l))) => Template::Mute {
                name: l.clone(),
                value,
            },
            _ => return Err(FeedbackError::NoAction),
        };
        Ok(FeedbackMatcher {
            device: rule.device.clone(),
            state: rule.state.clone(),
            pattern,
            action,
        })
    }

    /// What `line` does under this rule: `None` when it does not match; an
    /// error when it matches but the captures make no valid action.
    pub fn apply(&self, line: &str) -> Option<Result<FeedbackAction, FeedbackError>> {
        let expand = |template: &str| -> Option<String> {
            match &self.pattern {
                Pattern::Equals(text) => (line == text).then(|| template.to_string()),
                Pattern::Regex(re) => re.captures(line).map(|caps| {
                    let mut out = String::new();
                    caps.expand(template, &mut out);
                    out
                }),
            }
        };
        let result = match &self.action {
            Template::Press(b) => {
                let button = expand(b)?;
                if button.is_empty() {
                    Err(FeedbackError::EmptyButton { line: line.into() })
                } else {
                    Ok(FeedbackAction::Press { button })
                }
            }
            Template::Led { button, mode } => {
                let button = expand(button)?;
                let mode_text = expand(mode)?;
                match LedMode::parse(&mode_text) {
                    _ if button.is_empty() => Err(FeedbackError::EmptyButton { line: line.into() }),
                    Some(mode) => Ok(FeedbackAction::Led { button, mode }),
                    None => Err(FeedbackError::BadLedMode {
                        line: line.into(),
                        mode: mode_text,
                    }),
                }
            }
            Template::Variable { name, value } => {
                let (variable, value) = (expand(name)?, expand(value)?);
                if variable.is_empty() {
                    Err(FeedbackError::EmptyTarget { line: line.into() })
                } else {
                    Ok(FeedbackAction::SetVariable { variable, value })
                }
            }
            Template::Level { name, value } => {
                let (level, text) = (expand(name)?, expand(value)?);
                match text.trim().parse::<f64>() {
                    _ if level.is_empty() => Err(FeedbackError::EmptyTarget { line: line.into() }),
                    Ok(value) if value.is_finite() => Ok(FeedbackAction::SetLevel { level, value }),
                    _ => Err(FeedbackError::BadNumber {
                        line: line.into(),
                        level,
                        value: text,
                    }),
                }
            }
            Template::Mute { name, value } => {
                let (level, text) = (expand(name)?, expand(value)?);
                match Value::Text(text.clone()).coerce(VariableKind::Bool) {
                    _ if level.is_empty() => Err(FeedbackError::EmptyTarget { line: line.into() }),
                    Some(Value::Bool(muted)) => Ok(FeedbackAction::SetMute { level, muted }),
                    _ => Err(FeedbackError::BadMute {
                        line: line.into(),
                        level,
                        value: text,
                    }),
                }
            }
        };
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(equals: Option<&str>, regex: Option<&str>) -> FeedbackRule {
        FeedbackRule {
            device: "projector".into(),
            state: None,
            equals: equals.map(Into::into),
            regex: regex.map(Into::into),
            press: None,
            button: Some("display_power".into()),
            led: Some("on".into()),
            variable: None,
            level: None,
            mute: None,
            value: None,
        }
    }

    #[test]
    fn equals_matches_the_whole_line_only() {
        let m = FeedbackMatcher::new(&rule(Some("%1POWR=1"), None)).unwrap();
        assert_eq!(
            m.apply("%1POWR=1"),
            Some(Ok(FeedbackAction::Led {
                button: "display_power".into(),
                mode: LedMode::On
            }))
        );
        assert_eq!(m.apply("%1POWR=10"), None);
        assert_eq!(m.apply(" %1POWR=1"), None);
    }

    #[test]
    fn regex_captures_fill_the_action() {
        let mut r = rule(None, Some(r"^LED (\w+) (?P<mode>\w+)$"));
        r.button = Some("${1}".into());
        r.led = Some("$mode".into());
        let m = FeedbackMatcher::new(&r).unwrap();
        assert_eq!(
            m.apply("LED mute fast_blink"),
            Some(Ok(FeedbackAction::Led {
                button: "mute".into(),
                mode: LedMode::FastBlink
            }))
        );
        assert!(matches!(
            m.apply("LED mute purple"),
            Some(Err(FeedbackError::BadLedMode { .. }))
        ));
        assert_eq!(m.apply("nothing"), None);

        let press = FeedbackRule {
            press: Some("src_hdmi$1".into()),
            button: None,
            led: None,
            ..rule(None, Some(r"IN(\d)"))
        };
        let m = FeedbackMatcher::new(&press).unwrap();
        assert_eq!(
            m.apply("OUT1 IN2"),
            Some(Ok(FeedbackAction::Press {
                button: "src_hdmi2".into()
            }))
        );
    }

    #[test]
    fn captures_set_variables_levels_and_mutes() {
        let base = FeedbackRule {
            button: None,
            led: None,
            ..rule(None, Some(r"^VOL=(-?\d+)$"))
        };
        let level = FeedbackMatcher::new(&FeedbackRule {
            level: Some("volume".into()),
            ..base.clone()
        })
        .unwrap();
        assert_eq!(
            level.apply("VOL=-20"),
            Some(Ok(FeedbackAction::SetLevel {
                level: "volume".into(),
                value: -20.0
            }))
        );
        let var = FeedbackMatcher::new(&FeedbackRule {
            variable: Some("vol_text".into()),
            value: Some("$1 dB".into()),
            ..base.clone()
        })
        .unwrap();
        assert_eq!(
            var.apply("VOL=-3"),
            Some(Ok(FeedbackAction::SetVariable {
                variable: "vol_text".into(),
                value: "-3 dB".into()
            }))
        );
        let mute = FeedbackMatcher::new(&FeedbackRule {
            mute: Some("volume".into()),
            ..rule(None, Some(r"^MUTE=(\w+)$"))
        });
        // `button`/`led` set as well: two actions is no action.
        assert_eq!(mute.unwrap_err(), FeedbackError::NoAction);
        let mute = FeedbackMatcher::new(&FeedbackRule {
            mute: Some("volume".into()),
            ..FeedbackRule {
                regex: Some(r"^MUTE=(\w+)$".into()),
                ..base
            }
        })
        .unwrap();
        assert_eq!(
            mute.apply("MUTE=1"),
            Some(Ok(FeedbackAction::SetMute {
                level: "volume".into(),
                muted: true
            }))
        );
        assert!(matches!(
            mute.apply("MUTE=maybe"),
            Some(Err(FeedbackError::BadMute { .. }))
        ));
    }

    #[test]
    fn bad_rules_are_refused() {
        assert!(matches!(
            FeedbackMatcher::new(&rule(None, Some("("))),
            Err(FeedbackError::BadRegex(_))
        ));
        assert!(matches!(
            FeedbackMatcher::new(&rule(None, Some("a{1000}{1000}"))),
            Err(FeedbackError::BadRegex(_))
        ));
        assert_eq!(
            FeedbackMatcher::new(&rule(Some("a"), Some("b"))).unwrap_err(),
            FeedbackError::NoPattern
        );
    }

    proptest! {
        #[test]
        fn matching_never_panics(
            expr in "[a-z()\\\\d.*+?$^|]{0,12}",
            button in "[a-z$0-9{}]{0,10}",
            mode in "[a-z$0-9{}_]{0,10}",
            line in "\\PC{0,40}",
        ) {
            let r = FeedbackRule {
                device: "d".into(),
                state: None,
                equals: None,
                regex: Some(expr),
                press: None,
                button: Some(button),
                led: Some(mode),
                variable: None,
                level: None,
                mute: None,
                value: None,
            };
            if let Ok(m) = FeedbackMatcher::new(&r) {
                let _ = m.apply(&line);
            }
            let exact = FeedbackRule { equals: Some(line.clone()), regex: None, ..r };
            let m = FeedbackMatcher::new(&exact).unwrap();
            prop_assert!(m.apply(&line).is_some());
        }
    }
}
