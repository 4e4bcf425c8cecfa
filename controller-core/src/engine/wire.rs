//! A step's JSON form, shared by the panel channel and 5009:
//! `{"revision":42,"changes":[...],"values":[...]}`.
//!
//! A change is read as one flat object ([`ChangeIn`]: every field any kind
//! has, each optional) and then checked against its `type`. serde's
//! internally tagged enums (and `untagged` ones) buffer each object into
//! an intermediate tree first, which puts a second decoder for every type
//! they contain into the panel's wasm; this way there is one. A later kind
//! added to `values` reuses a field name only with the same type.
//!
//! Version-1 clients decode `changes` with a closed set of change types, so
//! a level or variable change among them would make them drop the whole
//! step. Those kinds travel in `values`, a field such clients ignore; the
//! revision still counts every step, so they never see a false gap. A
//! reader of this version skips entries of `values` it does not know,
//! so later kinds can be added there the same way.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ButtonState, Change, LevelState, Source, Step};
use crate::flat::BadFlat;
use crate::project::{Led, Value};

/// What is written.
#[derive(Serialize)]
pub(super) struct WireStep {
    revision: u64,
    changes: Vec<Change>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    values: Vec<Change>,
}

/// What is read: as written; entries of `values` of a kind this version
/// does not know (or cannot read) are skipped.
#[derive(Deserialize)]
pub(super) struct WireStepIn {
    revision: u64,
    changes: Vec<Change>,
    #[serde(default)]
    values: Vec<ChangeIn>,
}

/// A change as read: `type` and the fields of every kind.
#[derive(Deserialize)]
pub(super) struct ChangeIn {
    #[serde(rename = "type")]
    kind: String,
    button: Option<String>,
    source: Option<Source>,
    led: Option<Led>,
    latched: Option<bool>,
    level: Option<String>,
    value: Option<Value>,
    muted: Option<bool>,
    variable: Option<String>,
    name: Option<String>,
    project_revision: Option<u32>,
    buttons: Option<BTreeMap<String, ButtonState>>,
    levels: Option<BTreeMap<String, LevelState>>,
    variables: Option<BTreeMap<String, Value>>,
}

fn need<T>(field: Option<T>, kind: &str, name: &str) -> Result<T, BadFlat> {
    crate::flat::need(field, "change", kind, name)
}

impl TryFrom<ChangeIn> for Change {
    type Error = BadFlat;

    fn try_from(c: ChangeIn) -> Result<Change, BadFlat> {
        let k = c.kind.as_str();
        Ok(match k {
            "pressed" => Change::Pressed {
                button: need(c.button, k, "button")?,
                source: need(c.source, k, "source")?,
            },
            "released" => Change::Released {
                button: need(c.button, k, "button")?,
                source: need(c.source, k, "source")?,
            },
            "repeated" => Change::Repeated {
                button: need(c.button, k, "button")?,
                source: need(c.source, k, "source")?,
            },
            "led" => Change::Led {
                button: need(c.button, k, "button")?,
                led: need(c.led, k, "led")?,
            },
            "latched" => Change::Latched {
                button: need(c.button, k, "button")?,
                latched: need(c.latched, k, "latched")?,
            },
            "level" => Change::Level {
                level: need(c.level, k, "level")?,
                value: match need(c.value, k, "value")? {
                    Value::Number(n) => n,
                    _ => return Err(BadFlat("a `level` change's value is a number".into())),
                },
                source: need(c.source, k, "source")?,
            },
            "mute" => Change::Mute {
                level: need(c.level, k, "level")?,
                muted: need(c.muted, k, "muted")?,
                source: need(c.source, k, "source")?,
            },
            "variable" => Change::Variable {
                variable: need(c.variable, k, "variable")?,
                value: need(c.value, k, "value")?,
            },
            "project_loaded" => Change::ProjectLoaded {
                name: need(c.name, k, "name")?,
                project_revision: need(c.project_revision, k, "project_revision")?,
                buttons: need(c.buttons, k, "buttons")?,
                levels: c.levels.unwrap_or_default(),
                variables: c.variables.unwrap_or_default(),
            },
            other => return Err(BadFlat(format!("unknown change type `{other}`"))),
        })
    }
}

impl From<Step> for WireStep {
    fn from(step: Step) -> WireStep {
        let (values, changes): (Vec<Change>, Vec<Change>) =
            step.changes.into_iter().partition(Change::is_value);
        WireStep {
            revision: step.revision,
            changes,
            values,
        }
    }
}

impl From<WireStepIn> for Step {
    fn from(wire: WireStepIn) -> Step {
        let mut changes = wire.changes;
        changes.extend(
            wire.values
                .into_iter()
                .filter_map(|v| Change::try_from(v).ok()),
        );
        Step {
            revision: wire.revision,
            changes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_travel_beside_changes_and_unknown_ones_are_skipped() {
        let step = Step {
            revision: 7,
            changes: vec![
                Change::Latched {
                    button: "mute".into(),
                    latched: true,
                },
                Change::Level {
                    level: "volume".into(),
                    value: -20.5,
                    source: "panel:tablet".into(),
                },
            ],
        };
        let json = serde_json::to_string(&step).unwrap();
        assert_eq!(
            json,
            r#"{"revision":7,"changes":[{"type":"latched","button":"mute","latched":true}],"values":[{"type":"level","level":"volume","value":-20.5,"source":"panel:tablet"}]}"#
        );
        assert_eq!(serde_json::from_str::<Step>(&json).unwrap(), step);

        let later = r#"{"revision":8,"changes":[],"values":[{"type":"hologram","x":1},{"type":"variable","variable":"state","value":"on"}]}"#;
        let step: Step = serde_json::from_str(later).unwrap();
        assert_eq!(step.changes.len(), 1);
    }

    /// What a version-1 client does: a struct with only `revision` and
    /// `changes`, whose change enum knows only the version-1 kinds.
    #[test]
    fn a_version_1_reader_still_decodes_the_step() {
        #[derive(Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        #[allow(dead_code)]
        enum V1Change {
            Latched { button: String, latched: bool },
        }
        #[derive(Deserialize)]
        struct V1Step {
            revision: u64,
            changes: Vec<V1Change>,
        }
        let step = Step {
            revision: 3,
            changes: vec![Change::Variable {
                variable: "state".into(),
                value: crate::project::Value::Text("on".into()),
            }],
        };
        let v1: V1Step = serde_json::from_str(&serde_json::to_string(&step).unwrap()).unwrap();
        assert_eq!(v1.revision, 3);
        assert!(v1.changes.is_empty());
    }
}
