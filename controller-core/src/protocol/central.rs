//! Central control (TCP 5009), version 1: a monitoring station reads the
//! full status, subscribes to changes and presses buttons. A station also
//! asks for the running project's `layout` (to draw the room's panel) and
//! the `devices` list: requests a client only sends when it wants them, so
//! older clients see no difference.
//!
//! Text lines, each one JSON object ending in `\n` (UTF-8, at most
//! `max_message_bytes` per line, 4096 by default). The controller speaks
//! first (`hello`); every request gets exactly one reply, in request order;
//! a subscribed client also receives `step` and `device` events between
//! replies. Specified in `docs/protocols.md`.

use serde::{Deserialize, Serialize};

use crate::engine::{Snapshot, Step};
use crate::view::{DeviceStatus, RoomLayout};

pub const PROTOCOL_VERSION: u32 = 1;
/// The default (and the documented minimum) line limit.
pub const DEFAULT_MAX_LINE_BYTES: usize = 4096;

/// Client -> controller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Optional: states the protocol version the client speaks.
    Hello {
        protocol: u32,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        client: String,
    },
    Login {
        user: String,
        password: String,
    },
    /// The full status (a snapshot of every button).
    Status,
    /// The full status, then every step after it as `step` events.
    Subscribe,
    Unsubscribe,
    /// The running project's layout: panels, pages, buttons, levels, text.
    Layout,
    /// The devices the controller watches and whether each is online.
    Devices,
    Press {
        button: String,
    },
    Release {
        button: String,
    },
    /// Keep-alive: answered with `pong`.
    Ping {
        #[serde(default)]
        seq: u64,
    },
    /// Move a fader and/or set its mute (added within version 1).
    SetLevel {
        level: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        muted: Option<bool>,
    },
}

impl Request {
    /// The `type` name, echoed in `ok` replies.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Login { .. } => "login",
            Request::Status => "status",
            Request::Subscribe => "subscribe",
            Request::Unsubscribe => "unsubscribe",
            Request::Layout => "layout",
            Request::Devices => "devices",
            Request::Press { .. } => "press",
            Request::Release { .. } => "release",
            Request::Ping { .. } => "ping",
            Request::SetLevel { .. } => "set_level",
        }
    }

    /// Decodes one line (without its `\n`; a trailing `\r` is allowed).
    pub fn decode(line: &[u8], max_bytes: usize) -> Result<Request, DecodeError> {
        if line.len() > max_bytes {
            return Err(DecodeError::TooLarge {
                size: line.len(),
                limit: max_bytes,
            });
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let request: Request =
            serde_json::from_slice(line).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        // serde's deny_unknown_fields does not reach the variants without
        // fields (an internally tagged unit variant takes any map): check
        // that their object holds nothing but `type`.
        if matches!(
            request,
            Request::Status
                | Request::Subscribe
                | Request::Unsubscribe
                | Request::Layout
                | Request::Devices
        ) {
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(line).map_err(|e| DecodeError::Malformed(e.to_string()))?;
            if let Some(field) = object.keys().find(|k| *k != "type") {
                return Err(DecodeError::Malformed(format!(
                    "unknown field `{field}`: `{}` has no fields",
                    request.name()
                )));
            }
        }
        Ok(request)
    }

    /// The line for this request, `\n` included.
    pub fn encode(&self) -> Vec<u8> {
        line(self)
    }
}

/// Controller -> client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The first line on every connection.
    Hello {
        protocol: u32,
        controller: String,
        serial: String,
        login_required: bool,
        max_message_bytes: usize,
        idle_timeout_secs: u64,
    },
    /// A request succeeded.
    Ok {
        request: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// The answer to `status` and `subscribe`.
    Status {
        subscribed: bool,
        snapshot: Snapshot,
    },
    /// The answer to `layout`.
    Layout {
        layout: RoomLayout,
    },
    /// The answer to `devices`.
    Devices {
        devices: Vec<DeviceStatus>,
    },
    /// One engine step (subscribers only), in revision order.
    Step {
        step: Step,
    },
    /// An extension device went online or offline (subscribers only).
    Device {
        id: String,
        kind: String,
        address: String,
        online: bool,
    },
    Pong {
        seq: u64,
    },
    /// A request failed; the connection stays open.
    Error {
        code: ErrorCode,
        message: String,
    },
    /// The controller closes the connection after this line.
    Bye {
        code: ErrorCode,
        message: String,
    },
}

impl Event {
    pub fn encode(&self) -> Vec<u8> {
        line(self)
    }

    /// Decodes one line (a client's decoder: no size limit of its own).
    pub fn decode(line: &[u8]) -> Result<Event, DecodeError> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        serde_json::from_slice(line).map_err(|e| DecodeError::Malformed(e.to_string()))
    }
}

/// The `step` event line for a step: encoded once, sent to every subscriber.
pub fn step_line(step: &Step) -> Vec<u8> {
    let mut out = br#"{"type":"step","step":"#.to_vec();
    // A Step holds only strings, numbers and enums: it always serialises.
    let _ = serde_json::to_writer(&mut out, step);
    out.extend_from_slice(b"}\n");
    out
}

fn line<T: Serialize>(value: &T) -> Vec<u8> {
    // Requests and events hold only strings, numbers and enums.
    let mut out = serde_json::to_vec(value).unwrap_or_default();
    out.push(b'\n');
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The line is longer than the limit; it was discarded.
    TooLarge,
    /// Not JSON, or not one of the requests.
    Malformed,
    /// `hello` named a protocol version the controller does not speak.
    UnsupportedVersion,
    /// Log in first.
    LoginRequired,
    /// Wrong user name or password (or, after repeated failures, no check
    /// until the back-off the message names is over).
    WrongCredentials,
    /// The controller is checking other logins (or one from this address):
    /// nothing was checked; try again in a moment.
    Busy,
    /// The user's role does not allow this (presses need operator).
    Forbidden,
    UnknownButton,
    /// `set_level` named no fader (or a meter), or gave no valid value.
    UnknownLevel,
    /// The client's address is not on the allow-list.
    NotAllowed,
    TooManyConnections,
    /// The client read too slowly; its queue filled up.
    SlowConsumer,
    /// Nothing was received for the idle timeout.
    IdleTimeout,
    ShuttingDown,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("line of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("malformed request: {0}")]
    Malformed(String),
}

impl DecodeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::TooLarge { .. } => ErrorCode::TooLarge,
            DecodeError::Malformed(_) => ErrorCode::Malformed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Change;
    use proptest::prelude::*;

    #[test]
    fn requests_without_fields_refuse_unknown_ones() {
        for t in ["status", "subscribe", "unsubscribe", "layout", "devices"] {
            let plain = format!(r#"{{"type":"{t}"}}"#);
            assert!(Request::decode(plain.as_bytes(), 4096).is_ok(), "{t}");
            let extra = format!(r#"{{"type":"{t}","button":"mute"}}"#);
            match Request::decode(extra.as_bytes(), 4096) {
                Err(DecodeError::Malformed(m)) => assert!(m.contains("button"), "{m}"),
                other => panic!("{t} with an unknown field: {other:?}"),
            }
        }
        let extra = br#"{"type":"press","button":"mute","force":true}"#;
        assert!(Request::decode(extra, 4096).is_err());
    }

    #[test]
    fn examples_from_the_docs() {
        assert_eq!(
            Request::decode(br#"{"type":"press","button":"mute"}"#, 4096).unwrap(),
            Request::Press {
                button: "mute".into()
            }
        );
        assert_eq!(
            Request::decode(b"{\"type\":\"status\"}\r", 4096).unwrap(),
            Request::Status
        );
        assert_eq!(
            Request::decode(br#"{"type":"ping"}"#, 4096).unwrap(),
            Request::Ping { seq: 0 }
        );
        assert!(matches!(
            Request::decode(br#"{"type":"press","button":"x","as":"admin"}"#, 4096),
            Err(DecodeError::Malformed(_))
        ));
        assert_eq!(
            Request::decode(
                br#"{"type":"set_level","level":"volume","value":-20}"#,
                4096
            )
            .unwrap(),
            Request::SetLevel {
                level: "volume".into(),
                value: Some(-20.0),
                muted: None
            }
        );
        assert!(matches!(
            Request::decode(&[b' '; 5000], 4096),
            Err(DecodeError::TooLarge { .. })
        ));
        let step = Step {
            revision: 9,
            changes: vec![Change::Released {
                button: "mute".into(),
                source: "central:ops@10.0.0.9".into(),
            }],
        };
        let line = step_line(&step);
        assert_eq!(
            String::from_utf8(line.clone()).unwrap(),
            "{\"type\":\"step\",\"step\":{\"revision\":9,\"changes\":[{\"type\":\"released\",\"button\":\"mute\",\"source\":\"central:ops@10.0.0.9\"}]}}\n"
        );
        assert_eq!(Event::decode(&line).unwrap(), Event::Step { step });
    }

    fn arb_request() -> impl Strategy<Value = Request> {
        prop_oneof![
            (any::<u32>(), ".{0,20}")
                .prop_map(|(protocol, client)| Request::Hello { protocol, client }),
            (".{0,20}", ".{0,40}").prop_map(|(user, password)| Request::Login { user, password }),
            Just(Request::Status),
            Just(Request::Subscribe),
            Just(Request::Unsubscribe),
            Just(Request::Layout),
            Just(Request::Devices),
            ".{0,64}".prop_map(|button| Request::Press { button }),
            ".{0,64}".prop_map(|button| Request::Release { button }),
            any::<u64>().prop_map(|seq| Request::Ping { seq }),
            (
                ".{0,64}",
                proptest::option::of(quarter()),
                proptest::option::of(any::<bool>())
            )
                .prop_map(|(level, value, muted)| Request::SetLevel {
                    level,
                    value,
                    muted
                }),
        ]
    }

    fn arb_code() -> impl Strategy<Value = ErrorCode> {
        prop_oneof![
            Just(ErrorCode::TooLarge),
            Just(ErrorCode::Malformed),
            Just(ErrorCode::LoginRequired),
            Just(ErrorCode::SlowConsumer),
            Just(ErrorCode::UnknownButton),
        ]
    }

    fn arb_event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (
                any::<u32>(),
                ".{0,20}",
                ".{0,20}",
                any::<bool>(),
                any::<u32>(),
                any::<u32>()
            )
                .prop_map(|(protocol, controller, serial, login_required, m, i)| {
                    Event::Hello {
                        protocol,
                        controller,
                        serial,
                        login_required,
                        max_message_bytes: m as usize,
                        idle_timeout_secs: i.into(),
                    }
                }),
            ("[a-z]{1,10}", proptest::option::of(".{0,20}"))
                .prop_map(|(request, detail)| Event::Ok { request, detail }),
            any::<u64>().prop_map(|seq| Event::Pong { seq }),
            (arb_code(), ".{0,40}").prop_map(|(code, message)| Event::Error { code, message }),
            (arb_code(), ".{0,40}").prop_map(|(code, message)| Event::Bye { code, message }),
            (
                "[a-z0-9-]{1,20}",
                "[a-z]{0,8}",
                "[0-9.:]{0,21}",
                any::<bool>()
            )
                .prop_map(|(id, kind, address, online)| Event::Device {
                    id,
                    kind,
                    address,
                    online
                }),
        ]
    }

    /// Values on a grid of quarters: serde_json (without its slower
    /// `float_roundtrip` parser) may read the last digit of an arbitrary
    /// f64 one ulp off; levels are quantised to their step anyway.
    fn quarter() -> impl Strategy<Value = f64> {
        (-4_000_000i32..4_000_000).prop_map(|n| f64::from(n) / 4.0)
    }

    fn arb_device() -> impl Strategy<Value = DeviceStatus> {
        (
            "[a-z0-9-]{1,20}",
            "[a-z]{0,8}",
            "[0-9.:]{0,21}",
            any::<bool>(),
            ".{0,30}",
        )
            .prop_map(|(id, kind, address, online, detail)| DeviceStatus {
                id,
                kind,
                address,
                online,
                detail,
                ..Default::default()
            })
    }

    /// Layouts: the demo project's, under any name, revision and location
    /// (the panels, buttons and levels are real ones, so the round trip
    /// covers every field the model has).
    fn arb_layout() -> impl Strategy<Value = RoomLayout> {
        (".{0,30}", any::<u32>(), ".{0,30}", any::<bool>()).prop_map(
            |(name, revision, location, empty)| {
                let mut project = crate::project::demo_project().clone();
                project.project.name = name;
                project.project.revision = revision;
                project.project.location = location;
                if empty {
                    project.panels.clear();
                }
                RoomLayout::of(&project)
            },
        )
    }

    #[test]
    fn layout_and_devices_examples() {
        assert_eq!(
            Request::decode(br#"{"type":"layout"}"#, 4096).unwrap(),
            Request::Layout
        );
        assert_eq!(
            Request::decode(br#"{"type":"devices"}"#, 4096).unwrap(),
            Request::Devices
        );
        let line = Event::Devices { devices: vec![] }.encode();
        assert_eq!(line, b"{\"type\":\"devices\",\"devices\":[]}\n");
        // A layout never carries a panel's PIN.
        let mut project = crate::project::demo_project().clone();
        project.panels[0].pin = Some("1234".into());
        let layout = RoomLayout::of(&project);
        assert!(layout.panels.iter().all(|p| p.pin.is_none()));
        let text = String::from_utf8(Event::Layout { layout }.encode()).unwrap();
        assert!(!text.contains("1234"), "{text}");
    }

    proptest! {
        #[test]
        fn layout_round_trip(layout in arb_layout()) {
            let e = Event::Layout { layout };
            let line = e.encode();
            prop_assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
            prop_assert_eq!(Event::decode(&line).unwrap(), e);
        }

        #[test]
        fn devices_round_trip(devices in proptest::collection::vec(arb_device(), 0..8)) {
            let e = Event::Devices { devices };
            prop_assert_eq!(Event::decode(&e.encode()).unwrap(), e);
        }

        #[test]
        fn event_decoder_never_panics_on_near_layouts(s in r#"\{"type":"(layout|devices)","(layout|devices)":(\{"panels":\[\{"id":"[a-z]{0,3}"(,"pages":\[\{\}\])?\}\]\}|\[\{"id":1\}\]|null|"x")\}"#) {
            let _ = Event::decode(s.as_bytes());
        }

        #[test]
        fn request_round_trip(r in arb_request()) {
            let line = r.encode();
            prop_assert_eq!(line.last(), Some(&b'\n'));
            prop_assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
            prop_assert_eq!(Request::decode(&line[..line.len() - 1], 4096).unwrap(), r);
        }

        #[test]
        fn event_round_trip(e in arb_event()) {
            let line = e.encode();
            prop_assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
            prop_assert_eq!(Event::decode(&line).unwrap(), e);
        }

        #[test]
        fn request_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..5000)) {
            let _ = Request::decode(&bytes, 4096);
        }

        #[test]
        fn request_decoder_never_panics_on_near_json(s in r#"\{"type":"[a-z]{0,12}"(,"[a-z]{0,8}":("[^"]{0,10}"|[0-9]{0,25}|null|\[\]|\{\}))*\}"#) {
            let _ = Request::decode(s.as_bytes(), 4096);
        }

        #[test]
        fn event_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = Event::decode(&bytes);
        }
    }
}
