//! A step's JSON form, shared by the panel channel and 5009:
//! `{"revision":42,"changes":[...],"values":[...]}`.
//!
//! Version-1 clients decode `changes` with a closed set of change types, so
//! a level or variable change among them would make them drop the whole
//! step. Those kinds travel in `values`, a field such clients ignore; the
//! revision still counts every step, so they never see a false gap. A
//! reader of this version skips entries of `values` it does not know,
//! so later kinds can be added there the same way.

use serde::{Deserialize, Serialize};

use super::{Change, Step};

/// What is written.
#[derive(Serialize)]
pub(super) struct WireStep {
    revision: u64,
    changes: Vec<Change>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    values: Vec<Change>,
}

/// What is read: as written, with unknown entries of `values` allowed.
#[derive(Deserialize)]
pub(super) struct WireStepIn {
    revision: u64,
    changes: Vec<Change>,
    #[serde(default)]
    values: Vec<Lenient>,
}

/// An entry of `values`: a change we know, or one from a later version.
#[derive(Deserialize)]
#[serde(untagged)]
enum Lenient {
    Known(Change),
    Unknown(serde::de::IgnoredAny),
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
        changes.extend(wire.values.into_iter().filter_map(|v| match v {
            Lenient::Known(c) => Some(c),
            Lenient::Unknown(_) => None,
        }));
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
