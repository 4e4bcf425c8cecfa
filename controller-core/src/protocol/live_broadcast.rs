//! Live updates (UDP 8001), version 1: what the controller broadcasts so a
//! monitoring tool sees every LED as it changes.
//!
//! Binary, big-endian, header `RCLV`, version 1, then a kind:
//! 1 = the LED changes of one engine step (with its revision, so a listener
//! sees a lost datagram as a gap), 2 = full status (every LED), 3 = an
//! extension device went online or offline, 4 = level and variable values
//! (added within version 1: a listener that does not know kind 4 drops it,
//! as the rules say). Specified in `docs/protocols.md`.

use crate::engine::{Change, Snapshot, Step};
use crate::project::{Led, Value};

use super::wire::{check_size, string_len, Reader, WireError, Writer};

pub const MAGIC: &[u8; 4] = b"RCLV";
pub const VERSION: u8 = 1;
/// The largest datagram either side handles (the UDP payload limit is
/// 65,507). The encoder stays below it: entries that do not fit are left out
/// and the `truncated` flag is set.
pub const MAX_DATAGRAM: usize = 65_000;

const KIND_CHANGES: u8 = 1;
const KIND_FULL_STATUS: u8 = 2;
const KIND_DEVICE: u8 = 3;
const KIND_VALUES: u8 = 4;
const FLAG_TRUNCATED: u8 = 1;
/// Kind 4: the datagram holds every level and variable, not one step's.
const FLAG_FULL: u8 = 2;

const ENTRY_LEVEL: u8 = 1;
const ENTRY_MUTE: u8 = 2;
const ENTRY_VARIABLE: u8 = 3;
const VALUE_TEXT: u8 = 0;
const VALUE_NUMBER: u8 = 1;
const VALUE_BOOL: u8 = 2;

/// One level or variable value in a kind-4 datagram.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueEntry {
    Level { level: String, value: f64 },
    Mute { level: String, muted: bool },
    Variable { variable: String, value: Value },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedEntry {
    pub button: String,
    pub led: Led,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LiveMessage {
    /// The LEDs one engine step changed.
    Changes {
        revision: u64,
        /// Some entries did not fit in one datagram: wait for the next full
        /// status or read it over central control (5009).
        truncated: bool,
        leds: Vec<LedEntry>,
    },
    /// Every LED at `revision`.
    FullStatus {
        revision: u64,
        truncated: bool,
        project_name: String,
        project_revision: u32,
        leds: Vec<LedEntry>,
    },
    /// An extension device (keypad, I/O box) went online or offline.
    Device {
        id: String,
        kind: String,
        address: String,
        online: bool,
    },
    /// The level and variable changes of one step (`full`: every level and
    /// variable at `revision`, sent with each full status).
    Values {
        revision: u64,
        truncated: bool,
        full: bool,
        entries: Vec<ValueEntry>,
    },
}

impl LiveMessage {
    /// The datagram for one step: `None` when it changed no LED.
    pub fn of_step(step: &Step) -> Option<LiveMessage> {
        let leds: Vec<LedEntry> = step
            .leds()
            .map(|(button, led)| LedEntry {
                button: button.to_string(),
                led,
            })
            .collect();
        (!leds.is_empty()).then_some(LiveMessage::Changes {
            revision: step.revision,
            truncated: false,
            leds,
        })
    }

    /// The kind-4 datagram for one step: `None` when it changed no level
    /// or variable.
    pub fn values_of_step(step: &Step) -> Option<LiveMessage> {
        let entries: Vec<ValueEntry> = step
            .values()
            .filter_map(|c| match c {
                Change::Level { level, value, .. } => Some(ValueEntry::Level {
                    level: level.clone(),
                    value: *value,
                }),
                Change::Mute { level, muted, .. } => Some(ValueEntry::Mute {
                    level: level.clone(),
                    muted: *muted,
                }),
                Change::Variable { variable, value } => Some(ValueEntry::Variable {
                    variable: variable.clone(),
                    value: value.clone(),
                }),
                _ => None,
            })
            .collect();
        (!entries.is_empty()).then_some(LiveMessage::Values {
            revision: step.revision,
            truncated: false,
            full: false,
            entries,
        })
    }

    /// Every level and variable of `snapshot`; `None` when it has none.
    pub fn full_values(snapshot: &Snapshot) -> Option<LiveMessage> {
        let mut entries = Vec::new();
        for (level, state) in &snapshot.levels {
            entries.push(ValueEntry::Level {
                level: level.clone(),
                value: state.value,
            });
            // A level without a mute has no mute entry.
            if let Some(muted) = state.muted {
                entries.push(ValueEntry::Mute {
                    level: level.clone(),
                    muted,
                });
            }
        }
        for (variable, value) in &snapshot.variables {
            entries.push(ValueEntry::Variable {
                variable: variable.clone(),
                value: value.clone(),
            });
        }
        (!entries.is_empty()).then_some(LiveMessage::Values {
            revision: snapshot.revision,
            truncated: false,
            full: true,
            entries,
        })
    }

    pub fn full_status(snapshot: &Snapshot) -> LiveMessage {
        LiveMessage::FullStatus {
            revision: snapshot.revision,
            truncated: false,
            project_name: snapshot.project_name.clone(),
            project_revision: snapshot.project_revision,
            leds: snapshot
                .buttons
                .iter()
                .map(|(button, state)| LedEntry {
                    button: button.clone(),
                    led: state.led,
                })
                .collect(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            LiveMessage::Changes {
                revision,
                truncated,
                leds,
            } => {
                let mut w = Writer::new(MAGIC, VERSION, KIND_CHANGES);
                w.u64(*revision);
                write_leds(w, *truncated, leds)
            }
            LiveMessage::FullStatus {
                revision,
                truncated,
                project_name,
                project_revision,
                leds,
            } => {
                let mut w = Writer::new(MAGIC, VERSION, KIND_FULL_STATUS);
                w.u64(*revision).u32(*project_revision).string(project_name);
                write_leds(w, *truncated, leds)
            }
            LiveMessage::Device {
                id,
                kind,
                address,
                online,
            } => {
                let mut w = Writer::new(MAGIC, VERSION, KIND_DEVICE);
                w.u8(u8::from(*online))
                    .string(id)
                    .string(kind)
                    .string(address);
                w.finish()
            }
            LiveMessage::Values {
                revision,
                truncated,
                full,
                entries,
            } => {
                let mut w = Writer::new(MAGIC, VERSION, KIND_VALUES);
                w.u64(*revision);
                write_values(w, *truncated, *full, entries)
            }
        }
    }

    pub fn decode(buf: &[u8]) -> Result<LiveMessage, WireError> {
        check_size(buf, MAX_DATAGRAM)?;
        let mut r = Reader::new(buf);
        let message = match r.header(MAGIC, "live update", VERSION)? {
            KIND_CHANGES => {
                let revision = r.u64()?;
                let (truncated, leds) = read_leds(&mut r)?;
                LiveMessage::Changes {
                    revision,
                    truncated,
                    leds,
                }
            }
            KIND_FULL_STATUS => {
                let revision = r.u64()?;
                let project_revision = r.u32()?;
                let project_name = r.string()?;
                let (truncated, leds) = read_leds(&mut r)?;
                LiveMessage::FullStatus {
                    revision,
                    truncated,
                    project_name,
                    project_revision,
                    leds,
                }
            }
            KIND_DEVICE => {
                let online = match r.u8()? {
                    0 => false,
                    1 => true,
                    v => {
                        return Err(WireError::BadValue {
                            field: "online",
                            value: v.into(),
                        })
                    }
                };
                LiveMessage::Device {
                    online,
                    id: r.string()?,
                    kind: r.string()?,
                    address: r.string()?,
                }
            }
            KIND_VALUES => {
                let revision = r.u64()?;
                let flags = r.u8()?;
                if flags & !(FLAG_TRUNCATED | FLAG_FULL) != 0 {
                    return Err(WireError::BadValue {
                        field: "flags",
                        value: flags.into(),
                    });
                }
                let count = r.u16()? as usize;
                // Each entry is at least 4 bytes: no allocation beyond what
                // the datagram can hold, whatever the count claims.
                let mut entries = Vec::with_capacity(count.min(r.remaining() / 4));
                for _ in 0..count {
                    entries.push(read_value(&mut r)?);
                }
                LiveMessage::Values {
                    revision,
                    truncated: flags & FLAG_TRUNCATED != 0,
                    full: flags & FLAG_FULL != 0,
                    entries,
                }
            }
            k => return Err(WireError::UnknownKind(k)),
        };
        r.finish()?;
        Ok(message)
    }
}

/// flags, count, then the entries that fit (see `docs/protocols.md`).
fn write_values(mut w: Writer, truncated: bool, full: bool, entries: &[ValueEntry]) -> Vec<u8> {
    let fixed = w.len() + 3;
    let mut fitting = 0;
    let mut size = fixed;
    for e in entries.iter().take(u16::MAX as usize) {
        let entry = value_len(e);
        if size + entry > MAX_DATAGRAM {
            break;
        }
        size += entry;
        fitting += 1;
    }
    let truncated = truncated || fitting < entries.len();
    let flags = if truncated { FLAG_TRUNCATED } else { 0 } | if full { FLAG_FULL } else { 0 };
    w.u8(flags).u16(fitting as u16);
    for e in &entries[..fitting] {
        match e {
            ValueEntry::Level { level, value } => {
                w.u8(ENTRY_LEVEL).string(level).u64(value.to_bits());
            }
            ValueEntry::Mute { level, muted } => {
                w.u8(ENTRY_MUTE).string(level).u8(u8::from(*muted));
            }
            ValueEntry::Variable { variable, value } => {
                w.u8(ENTRY_VARIABLE).string(variable);
                match value {
                    Value::Text(t) => w.u8(VALUE_TEXT).string(t),
                    Value::Number(n) => w.u8(VALUE_NUMBER).u64(n.to_bits()),
                    Value::Bool(b) => w.u8(VALUE_BOOL).u8(u8::from(*b)),
                };
            }
        }
    }
    w.finish()
}

/// The encoded size of an entry (text is cut to 255 bytes by the writer).
fn value_len(e: &ValueEntry) -> usize {
    match e {
        ValueEntry::Level { level, .. } => 1 + string_len(level) + 8,
        ValueEntry::Mute { level, .. } => 1 + string_len(level) + 1,
        ValueEntry::Variable { variable, value } => {
            1 + string_len(variable)
                + 1
                + match value {
                    Value::Text(t) => string_len(t),
                    Value::Number(_) => 8,
                    Value::Bool(_) => 1,
                }
        }
    }
}

fn read_bool(r: &mut Reader, field: &'static str) -> Result<bool, WireError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(WireError::BadValue {
            field,
            value: v.into(),
        }),
    }
}

fn read_value(r: &mut Reader) -> Result<ValueEntry, WireError> {
    Ok(match r.u8()? {
        ENTRY_LEVEL => ValueEntry::Level {
            level: r.string()?,
            value: f64::from_bits(r.u64()?),
        },
        ENTRY_MUTE => ValueEntry::Mute {
            level: r.string()?,
            muted: read_bool(r, "muted")?,
        },
        ENTRY_VARIABLE => {
            let variable = r.string()?;
            let value = match r.u8()? {
                VALUE_TEXT => Value::Text(r.string()?),
                VALUE_NUMBER => Value::Number(f64::from_bits(r.u64()?)),
                VALUE_BOOL => Value::Bool(read_bool(r, "value")?),
                v => {
                    return Err(WireError::BadValue {
                        field: "value type",
                        value: v.into(),
                    })
                }
            };
            ValueEntry::Variable { variable, value }
        }
        v => {
            return Err(WireError::BadValue {
                field: "entry",
                value: v.into(),
            })
        }
    })
}

/// flags, count, then (button, mode, colour) per entry, as many as fit.
fn write_leds(mut w: Writer, truncated: bool, leds: &[LedEntry]) -> Vec<u8> {
    let fixed = w.len() + 3;
    let mut fitting = 0;
    let mut size = fixed;
    for e in leds.iter().take(u16::MAX as usize) {
        let entry = string_len(&e.button) + 2;
        if size + entry > MAX_DATAGRAM {
            break;
        }
        size += entry;
        fitting += 1;
    }
    let truncated = truncated || fitting < leds.len();
    w.u8(if truncated { FLAG_TRUNCATED } else { 0 })
        .u16(fitting as u16);
    for e in &leds[..fitting] {
        w.string(&e.button).led(e.led);
    }
    w.finish()
}

fn read_leds(r: &mut Reader) -> Result<(bool, Vec<LedEntry>), WireError> {
    let flags = r.u8()?;
    if flags & !FLAG_TRUNCATED != 0 {
        return Err(WireError::BadValue {
            field: "flags",
            value: flags.into(),
        });
    }
    let count = r.u16()? as usize;
    // Each entry is at least 3 bytes: no allocation beyond what the
    // datagram can hold, whatever the count claims.
    let mut leds = Vec::with_capacity(count.min(r.remaining() / 3));
    for _ in 0..count {
        leds.push(LedEntry {
            button: r.string()?,
            led: r.led()?,
        });
    }
    Ok((flags & FLAG_TRUNCATED != 0, leds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Change;
    use crate::project::{LedColor, LedMode};
    use proptest::prelude::*;

    #[test]
    fn changes_example_from_the_docs() {
        let step = Step {
            revision: 42,
            changes: vec![
                Change::Pressed {
                    button: "mute".into(),
                    source: "central:1.2.3.4".into(),
                },
                Change::Led {
                    button: "mute".into(),
                    led: Led::on(LedColor::Red),
                },
            ],
        };
        let bytes = LiveMessage::of_step(&step).unwrap().encode();
        let mut expected = b"RCLV\x01\x01".to_vec();
        expected.extend_from_slice(&42u64.to_be_bytes());
        expected.extend_from_slice(&[0, 0, 1, 4, b'm', b'u', b't', b'e', 1, 0]);
        assert_eq!(bytes, expected);
        assert!(LiveMessage::of_step(&Step {
            revision: 1,
            changes: vec![]
        })
        .is_none());
    }

    #[test]
    fn values_example_from_the_docs() {
        let step = Step {
            revision: 43,
            changes: vec![
                Change::Level {
                    level: "volume".into(),
                    value: -20.5,
                    source: "panel:tablet".into(),
                },
                Change::Variable {
                    variable: "state".into(),
                    value: Value::Text("on".into()),
                },
            ],
        };
        assert!(LiveMessage::of_step(&step).is_none());
        let bytes = LiveMessage::values_of_step(&step).unwrap().encode();
        let mut expected = b"RCLV\x01\x04".to_vec();
        expected.extend_from_slice(&43u64.to_be_bytes());
        expected.extend_from_slice(&[0, 0, 2, 1, 6]);
        expected.extend_from_slice(b"volume");
        expected.extend_from_slice(&(-20.5f64).to_be_bytes());
        expected.extend_from_slice(&[3, 5]);
        expected.extend_from_slice(b"state");
        expected.extend_from_slice(&[0, 2, b'o', b'n']);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn too_many_entries_are_cut_and_flagged() {
        let leds: Vec<LedEntry> = (0..2000)
            .map(|i| LedEntry {
                button: format!("{i:0>60}"),
                led: Led::off(LedColor::Green),
            })
            .collect();
        let bytes = LiveMessage::Changes {
            revision: 1,
            truncated: false,
            leds,
        }
        .encode();
        assert!(bytes.len() <= MAX_DATAGRAM);
        let LiveMessage::Changes {
            truncated, leds, ..
        } = LiveMessage::decode(&bytes).unwrap()
        else {
            panic!("not changes")
        };
        assert!(truncated);
        assert!(leds.len() > 500 && leds.len() < 2000);
    }

    fn arb_led() -> impl Strategy<Value = Led> {
        (0..4usize, 0..8usize).prop_map(|(m, c)| Led {
            mode: LedMode::ALL[m],
            color: LedColor::ALL[c],
        })
    }

    fn arb_leds() -> impl Strategy<Value = Vec<LedEntry>> {
        proptest::collection::vec(
            ("[a-z0-9_]{1,64}", arb_led()).prop_map(|(button, led)| LedEntry { button, led }),
            0..40,
        )
    }

    fn arb_message() -> impl Strategy<Value = LiveMessage> {
        prop_oneof![
            (any::<u64>(), any::<bool>(), arb_leds()).prop_map(|(revision, truncated, leds)| {
                LiveMessage::Changes {
                    revision,
                    truncated,
                    leds,
                }
            }),
            (
                any::<u64>(),
                any::<bool>(),
                ".{0,60}",
                any::<u32>(),
                arb_leds()
            )
                .prop_map(
                    |(revision, truncated, project_name, project_revision, leds)| {
                        LiveMessage::FullStatus {
                            revision,
                            truncated,
                            project_name,
                            project_revision,
                            leds,
                        }
                    }
                ),
            (
                "[a-z0-9-]{1,40}",
                "[a-z]{0,10}",
                "[0-9.:]{0,21}",
                any::<bool>()
            )
                .prop_map(|(id, kind, address, online)| LiveMessage::Device {
                    id,
                    kind,
                    address,
                    online
                }),
            (
                any::<u64>(),
                any::<bool>(),
                any::<bool>(),
                proptest::collection::vec(arb_value(), 0..30)
            )
                .prop_map(|(revision, truncated, full, entries)| LiveMessage::Values {
                    revision,
                    truncated,
                    full,
                    entries
                }),
        ]
    }

    fn arb_value() -> impl Strategy<Value = ValueEntry> {
        let id = "[a-z0-9_]{1,64}";
        prop_oneof![
            (id, -1e9..1e9f64).prop_map(|(level, value)| ValueEntry::Level { level, value }),
            (id, any::<bool>()).prop_map(|(level, muted)| ValueEntry::Mute { level, muted }),
            (
                id,
                prop_oneof![
                    "[a-z ]{0,40}".prop_map(Value::Text),
                    (-1e9..1e9f64).prop_map(Value::Number),
                    any::<bool>().prop_map(Value::Bool),
                ]
            )
                .prop_map(|(variable, value)| ValueEntry::Variable { variable, value }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(m in arb_message()) {
            prop_assert_eq!(LiveMessage::decode(&m.encode()).unwrap(), m);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = LiveMessage::decode(&bytes);
        }

        #[test]
        fn never_panics_after_a_valid_header(kind in 0u8..6, rest in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut bytes = b"RCLV\x01".to_vec();
            bytes.push(kind);
            bytes.extend(rest);
            let _ = LiveMessage::decode(&bytes);
        }
    }
}
