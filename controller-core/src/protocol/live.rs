//! Live updates (UDP 8001), version 1: what the controller broadcasts so a
//! monitoring tool sees every LED as it changes.
//!
//! Binary, big-endian, header `RCLV`, version 1, then a kind:
//! 1 = the LED changes of one engine step (with its revision, so a listener
//! sees a lost datagram as a gap), 2 = full status (every LED), 3 = an
//! extension device went online or offline. Specified in `docs/protocols.md`.

use crate::engine::{Snapshot, Step};
use crate::project::Led;

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
const FLAG_TRUNCATED: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedEntry {
    pub button: String,
    pub led: Led,
}

#[derive(Debug, Clone, PartialEq, Eq)]
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
            k => return Err(WireError::UnknownKind(k)),
        };
        r.finish()?;
        Ok(message)
    }
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
        fn never_panics_after_a_valid_header(kind in 0u8..5, rest in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut bytes = b"RCLV\x01".to_vec();
            bytes.push(kind);
            bytes.extend(rest);
            let _ = LiveMessage::decode(&bytes);
        }
    }
}
