//! The extension-device bus (UDP multicast 224.10.10.25:7979), version 1:
//! keypads, I/O and relay boxes and the controller talk through the group.
//!
//! Binary, big-endian, header `RCXB`, version 1, then a kind:
//! 1 = controller lookup/keep-alive (every 3 s), 2 = device announcement
//! (the answer, and the device's own keep-alive), 3 = device goodbye,
//! 4 = key press/release from a keypad, 5 = LED states for one device.
//! Everything goes to the group, so several controllers and devices on one
//! host or LAN all hear each other. Specified in `docs/protocols.md`.

use crate::project::Led;

use super::wire::{check_size, Reader, WireError, Writer};

pub const MAGIC: &[u8; 4] = b"RCXB";
pub const VERSION: u8 = 1;
/// A device has at most this many keys (and LEDs).
pub const MAX_KEYS: usize = 64;
/// Nothing valid is larger.
pub const MAX_DATAGRAM: usize = 8192;

const KIND_CONTROLLER_HELLO: u8 = 1;
const KIND_ANNOUNCE: u8 = 2;
const KIND_GOODBYE: u8 = 3;
const KIND_KEY: u8 = 4;
const KIND_LEDS: u8 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    Press,
    Release,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionMessage {
    /// Controller -> devices: "who is there?", every keep-alive interval.
    ControllerHello {
        seq: u32,
        serial: String,
        name: String,
    },
    /// Device -> controllers: its identity and its keys (engine button ids).
    /// Sent in answer to every `ControllerHello` and when it starts.
    Announce {
        device: String,
        kind: String,
        firmware: String,
        keys: Vec<String>,
    },
    /// Device -> controllers: going away now (offline without waiting).
    Goodbye { device: String },
    /// Device -> controllers: a key went down or up.
    Key {
        device: String,
        seq: u32,
        action: KeyAction,
        button: String,
    },
    /// Controller -> one device: the LED of each of its keys.
    Leds {
        device: String,
        revision: u64,
        leds: Vec<(String, Led)>,
    },
}

impl ExtensionMessage {
    /// True for messages a controller sends (and so ignores when it hears them).
    pub fn from_controller(&self) -> bool {
        matches!(
            self,
            ExtensionMessage::ControllerHello { .. } | ExtensionMessage::Leds { .. }
        )
    }

    /// The device a device-sent message comes from.
    pub fn device(&self) -> Option<&str> {
        match self {
            ExtensionMessage::Announce { device, .. }
            | ExtensionMessage::Goodbye { device }
            | ExtensionMessage::Key { device, .. } => Some(device),
            _ => None,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            ExtensionMessage::ControllerHello { seq, serial, name } => {
                let mut w = Writer::new(MAGIC, VERSION, KIND_CONTROLLER_HELLO);
                w.u32(*seq).string(serial).string(name);
                w.finish()
            }
            ExtensionMessage::Announce {
                device,
                kind,
                firmware,
                keys,
            } => {
                let mut w = Writer::new(MAGIC, VERSION, KIND_ANNOUNCE);
                w.string(device).string(kind).string(firmware);
                let keys = &keys[..keys.len().min(MAX_KEYS)];
                w.u8(keys.len() as u8);
                for k in keys {
                    w.string(k);
                }
                w.finish()
            }
            ExtensionMessage::Goodbye { device } => {
                let mut w = Writer::new(MAGIC, VERSION, KIND_GOODBYE);
                w.string(device);
                w.finish()
            }
            ExtensionMessage::Key {
                device,
                seq,
                action,
                button,
            } => {
                let mut w = Writer::new(MAGIC, VERSION, KIND_KEY);
                w.string(device).u32(*seq).u8(match action {
                    KeyAction::Press => 1,
                    KeyAction::Release => 2,
                });
                w.string(button);
                w.finish()
            }
            ExtensionMessage::Leds {
                device,
                revision,
                leds,
            } => {
                let mut w = Writer::new(MAGIC, VERSION, KIND_LEDS);
                w.string(device).u64(*revision);
                let leds = &leds[..leds.len().min(MAX_KEYS)];
                w.u8(leds.len() as u8);
                for (button, led) in leds {
                    w.string(button).led(*led);
                }
                w.finish()
            }
        }
    }

    pub fn decode(buf: &[u8]) -> Result<ExtensionMessage, WireError> {
        check_size(buf, MAX_DATAGRAM)?;
        let mut r = Reader::new(buf);
        let message = match r.header(MAGIC, "extension", VERSION)? {
            KIND_CONTROLLER_HELLO => ExtensionMessage::ControllerHello {
                seq: r.u32()?,
                serial: r.string()?,
                name: r.string()?,
            },
            KIND_ANNOUNCE => {
                let device = non_empty(r.string()?)?;
                let kind = r.string()?;
                let firmware = r.string()?;
                let count = key_count(r.u8()?)?;
                let keys = (0..count).map(|_| r.string()).collect::<Result<_, _>>()?;
                ExtensionMessage::Announce {
                    device,
                    kind,
                    firmware,
                    keys,
                }
            }
            KIND_GOODBYE => ExtensionMessage::Goodbye {
                device: non_empty(r.string()?)?,
            },
            KIND_KEY => ExtensionMessage::Key {
                device: non_empty(r.string()?)?,
                seq: r.u32()?,
                action: match r.u8()? {
                    1 => KeyAction::Press,
                    2 => KeyAction::Release,
                    v => {
                        return Err(WireError::BadValue {
                            field: "key action",
                            value: v.into(),
                        })
                    }
                },
                button: r.string()?,
            },
            KIND_LEDS => {
                let device = non_empty(r.string()?)?;
                let revision = r.u64()?;
                let count = key_count(r.u8()?)?;
                let leds = (0..count)
                    .map(|_| Ok((r.string()?, r.led()?)))
                    .collect::<Result<_, WireError>>()?;
                ExtensionMessage::Leds {
                    device,
                    revision,
                    leds,
                }
            }
            k => return Err(WireError::UnknownKind(k)),
        };
        r.finish()?;
        Ok(message)
    }
}

fn non_empty(device: String) -> Result<String, WireError> {
    if device.is_empty() {
        Err(WireError::BadValue {
            field: "device id length",
            value: 0,
        })
    } else {
        Ok(device)
    }
}

fn key_count(n: u8) -> Result<usize, WireError> {
    if n as usize > MAX_KEYS {
        Err(WireError::BadValue {
            field: "key count",
            value: n.into(),
        })
    } else {
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{LedColor, LedMode};
    use proptest::prelude::*;

    #[test]
    fn key_example_from_the_docs() {
        let m = ExtensionMessage::Key {
            device: "kp1".into(),
            seq: 5,
            action: KeyAction::Press,
            button: "mute".into(),
        };
        let bytes = m.encode();
        assert_eq!(
            bytes,
            b"RCXB\x01\x04\x03kp1\x00\x00\x00\x05\x01\x04mute".to_vec()
        );
        assert_eq!(ExtensionMessage::decode(&bytes).unwrap(), m);
        assert!(!m.from_controller());
        assert_eq!(m.device(), Some("kp1"));
    }

    #[test]
    fn bad_counts_and_empty_ids_are_rejected() {
        assert!(ExtensionMessage::decode(b"RCXB\x01\x03\x00").is_err());
        assert!(ExtensionMessage::decode(b"RCXB\x01\x02\x01a\x00\x00\xff").is_err());
        assert!(ExtensionMessage::decode(b"RCXB\x01\x09").is_err());
    }

    fn arb_led() -> impl Strategy<Value = Led> {
        (0..4usize, 0..8usize).prop_map(|(m, c)| Led {
            mode: LedMode::ALL[m],
            color: LedColor::ALL[c],
        })
    }

    fn arb_message() -> impl Strategy<Value = ExtensionMessage> {
        let id = "[a-z0-9-]{1,40}";
        let button = "[a-z0-9_]{1,64}";
        prop_oneof![
            (any::<u32>(), ".{0,20}", ".{0,40}").prop_map(|(seq, serial, name)| {
                ExtensionMessage::ControllerHello { seq, serial, name }
            }),
            (
                id,
                "[a-z]{0,10}",
                "[0-9.]{0,10}",
                proptest::collection::vec(button, 0..=MAX_KEYS)
            )
                .prop_map(|(device, kind, firmware, keys)| {
                    ExtensionMessage::Announce {
                        device,
                        kind,
                        firmware,
                        keys,
                    }
                }),
            id.prop_map(|device| ExtensionMessage::Goodbye { device }),
            (id, any::<u32>(), any::<bool>(), button).prop_map(|(device, seq, p, button)| {
                ExtensionMessage::Key {
                    device,
                    seq,
                    action: if p {
                        KeyAction::Press
                    } else {
                        KeyAction::Release
                    },
                    button,
                }
            }),
            (
                id,
                any::<u64>(),
                proptest::collection::vec((button, arb_led()), 0..=MAX_KEYS)
            )
                .prop_map(|(device, revision, leds)| ExtensionMessage::Leds {
                    device,
                    revision,
                    leds
                }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(m in arb_message()) {
            let bytes = m.encode();
            prop_assert!(bytes.len() <= MAX_DATAGRAM);
            prop_assert_eq!(ExtensionMessage::decode(&bytes).unwrap(), m);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = ExtensionMessage::decode(&bytes);
        }

        #[test]
        fn never_panics_after_a_valid_header(kind in 0u8..7, rest in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut bytes = b"RCXB\x01".to_vec();
            bytes.push(kind);
            bytes.extend(rest);
            let _ = ExtensionMessage::decode(&bytes);
        }
    }
}
