//! The panel live channel: JSON text messages on a WebSocket (`/ws`).
//!
//! Version 1. The server sends `welcome` then `snapshot`, then a `step` for
//! every engine step; both sides send `ping` every keep-alive interval and
//! answer each `ping` with a `pong`. A panel that sees a gap in step revisions
//! sends `resync` and receives a fresh `snapshot`. See `docs/protocols.md`.
//!
//! Added within version 1 (a panel ignores what it does not know): the
//! client's `set_level`, the server's `notice`, and the `values` of a step;
//! `sparse` in hello with `after` on each step (a sparse panel is sent only
//! the steps that change what it shows); `layout` in hello with the
//! server's `layout` and `unavailable` (a panel that re-renders a new
//! project's layout in place instead of reloading its page); the client's
//! `meeting` (the meeting tile's "End meeting" and "Extend").

use serde::{Deserialize, Serialize};

use crate::engine::{Snapshot, Step};
use crate::flat::BadFlat;
use crate::view::PanelView;

pub const PROTOCOL_VERSION: u32 = 1;

/// The largest message a panel may send. Real ones are under 100 bytes.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 1024;

/// Panel -> controller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Opens the session: which panel layout this is, and the last revision it
    /// holds (0 for none).
    Hello {
        panel: String,
        #[serde(default)]
        revision: u64,
        /// The panel PIN, for panels that have one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pin: Option<String>,
        /// The panel needs only the steps that change what it shows, each
        /// with the `after` revision it follows on from (see
        /// [`crate::engine::Step::shown_on_panels`]). Left out (false) by
        /// earlier panels, which are sent every step.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        sparse: bool,
        /// The layout the page shows ([`PanelView::layout`]): the panel
        /// re-renders a new one in place, so the controller sends `layout`
        /// (or `unavailable`) instead of leaving it to reload its page. Left
        /// out by earlier panels, which reload when the project changes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layout: Option<String>,
    },
    Press {
        button: String,
    },
    Release {
        button: String,
    },
    Ping {
        seq: u64,
    },
    Pong {
        seq: u64,
    },
    /// "I missed a step; send me a snapshot."
    Resync,
    /// Move a fader (`value`) and/or set its mute (`muted`).
    SetLevel {
        level: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        muted: Option<bool>,
    },
    /// The meeting tile's "End meeting" or "Extend" (confirmed on the
    /// panel): the calendar service changes the meeting on now.
    Meeting {
        change: MeetingChange,
    },
}

/// What a panel asks of the meeting on now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingChange {
    /// End it now.
    End,
    /// Move its end later by the room's `extend_minutes`.
    Extend,
}

/// Controller -> panel. Written with serde's internal tag; read through
/// [`ServerMessageIn`], one flat object (as `engine::wire` reads changes,
/// and for the same reason: one decoder per type in the panel's wasm).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "ServerMessageIn")]
pub enum ServerMessage {
    Welcome {
        protocol: u32,
        keepalive_ms: u64,
        controller: String,
    },
    Snapshot {
        snapshot: Snapshot,
    },
    Step {
        step: Step,
        /// The revision of the previous step a `sparse` panel was sent (or
        /// could have been): the steps between changed nothing a panel
        /// shows. Absent from older controllers; ignored by older panels.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<u64>,
    },
    Ping {
        seq: u64,
    },
    Pong {
        seq: u64,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    /// Something the room's user should know: a device went down, a
    /// sequence step failed. `active: false` clears the notice with that
    /// `key` (the device is back).
    Notice {
        key: String,
        severity: Severity,
        message: String,
        active: bool,
    },
    /// To a panel that said `layout` in hello: its new layout and the state
    /// at one revision (`view.snapshot`, which replaces the state held, as
    /// a `snapshot` does). Sent instead of the snapshot when the layout
    /// differs from the one the panel holds: after hello, and when a
    /// project is applied.
    Layout {
        view: Box<PanelView>,
    },
    /// To a panel that said `layout` in hello: the running project has no
    /// such panel (any more). The session stays open; a `layout` follows
    /// if a project with this panel is applied.
    Unavailable {
        message: String,
    },
}

/// A server message as read: `type` and the fields of every kind.
#[derive(Deserialize)]
struct ServerMessageIn {
    #[serde(rename = "type")]
    kind: String,
    protocol: Option<u32>,
    keepalive_ms: Option<u64>,
    controller: Option<String>,
    snapshot: Option<Snapshot>,
    step: Option<Step>,
    after: Option<u64>,
    seq: Option<u64>,
    code: Option<ErrorCode>,
    message: Option<String>,
    key: Option<String>,
    severity: Option<Severity>,
    active: Option<bool>,
    view: Option<Box<PanelView>>,
}

fn need<T>(field: Option<T>, kind: &str, name: &str) -> Result<T, BadFlat> {
    crate::flat::need(field, "message", kind, name)
}

impl TryFrom<ServerMessageIn> for ServerMessage {
    type Error = BadFlat;

    fn try_from(m: ServerMessageIn) -> Result<ServerMessage, BadFlat> {
        let k = m.kind.as_str();
        Ok(match k {
            "welcome" => ServerMessage::Welcome {
                protocol: need(m.protocol, k, "protocol")?,
                keepalive_ms: need(m.keepalive_ms, k, "keepalive_ms")?,
                controller: need(m.controller, k, "controller")?,
            },
            "snapshot" => ServerMessage::Snapshot {
                snapshot: need(m.snapshot, k, "snapshot")?,
            },
            "step" => ServerMessage::Step {
                step: need(m.step, k, "step")?,
                after: m.after,
            },
            "ping" => ServerMessage::Ping {
                seq: need(m.seq, k, "seq")?,
            },
            "pong" => ServerMessage::Pong {
                seq: need(m.seq, k, "seq")?,
            },
            "error" => ServerMessage::Error {
                code: need(m.code, k, "code")?,
                message: need(m.message, k, "message")?,
            },
            "notice" => ServerMessage::Notice {
                key: need(m.key, k, "key")?,
                severity: need(m.severity, k, "severity")?,
                message: need(m.message, k, "message")?,
                active: need(m.active, k, "active")?,
            },
            "layout" => ServerMessage::Layout {
                view: need(m.view, k, "view")?,
            },
            "unavailable" => ServerMessage::Unavailable {
                message: need(m.message, k, "message")?,
            },
            other => return Err(BadFlat(format!("unknown message type `{other}`"))),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    TooLarge,
    Malformed,
    UnknownButton,
    /// `set_level` named no fader of the project, or a meter, or a bad value.
    UnknownLevel,
    UnknownPanel,
    PinRequired,
    WrongPin,
    Forbidden,
    /// A press, release or `set_level` from a panel told `unavailable` (or
    /// one the running project no longer has): refused, the connection
    /// stays open.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message of {0} bytes exceeds the limit of {MAX_CLIENT_MESSAGE_BYTES} bytes")]
    TooLarge(usize),
    #[error("malformed message: {0}")]
    Malformed(String),
}

impl DecodeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::TooLarge(_) => ErrorCode::TooLarge,
            DecodeError::Malformed(_) => ErrorCode::Malformed,
        }
    }
}

impl ClientMessage {
    /// Whether the message operates the room (a press, a release, a
    /// fader, a meeting change) rather than keeping the session: what a
    /// panel shown "not available", or a station viewer, may not send.
    pub fn operates(&self) -> bool {
        matches!(
            self,
            ClientMessage::Press { .. }
                | ClientMessage::Release { .. }
                | ClientMessage::SetLevel { .. }
                | ClientMessage::Meeting { .. }
        )
    }

    pub fn decode(text: &str) -> Result<ClientMessage, DecodeError> {
        if text.len() > MAX_CLIENT_MESSAGE_BYTES {
            return Err(DecodeError::TooLarge(text.len()));
        }
        serde_json::from_str(text).map_err(|e| DecodeError::Malformed(e.to_string()))
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("panel client messages always serialise")
    }
}

impl ServerMessage {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("panel server messages always serialise")
    }

    /// A `step` message written without building a [`ServerMessage`]: the
    /// controller encodes each step once for every panel. `after` goes to
    /// every panel; earlier panels ignore it (and are sent every step).
    pub fn step_bytes(step: &Step, after: u64) -> Vec<u8> {
        let mut out = format!(r#"{{"type":"step","after":{after},"step":"#).into_bytes();
        // A Step holds only strings, numbers and enums: it always serialises.
        let _ = serde_json::to_writer(&mut out, step);
        out.push(b'}');
        out
    }

    /// The panel's decoder. Server messages can be large (a snapshot of a big
    /// project), so the limit is the panel's own concern.
    pub fn decode(text: &str) -> Result<ServerMessage, DecodeError> {
        serde_json::from_str(text).map_err(|e| DecodeError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wire_examples_from_the_docs() {
        assert_eq!(
            ClientMessage::decode(r#"{"type":"press","button":"src_hdmi1"}"#).unwrap(),
            ClientMessage::Press {
                button: "src_hdmi1".into()
            }
        );
        assert_eq!(
            ClientMessage::decode(r#"{"type":"hello","panel":"tablet"}"#).unwrap(),
            ClientMessage::Hello {
                panel: "tablet".into(),
                revision: 0,
                pin: None,
                sparse: false,
                layout: None
            }
        );
        // A panel that handles `after` says so; earlier ones leave it out.
        assert_eq!(
            ClientMessage::decode(r#"{"type":"hello","panel":"tablet","sparse":true}"#).unwrap(),
            ClientMessage::Hello {
                panel: "tablet".into(),
                revision: 0,
                pin: None,
                sparse: true,
                layout: None
            }
        );
        assert_eq!(
            ClientMessage::decode(r#"{"type":"meeting","change":"extend"}"#).unwrap(),
            ClientMessage::Meeting {
                change: MeetingChange::Extend
            }
        );
        assert!(ClientMessage::decode(r#"{"type":"meeting","change":"cancel"}"#).is_err());
        assert!(matches!(
            ClientMessage::decode(r#"{"type":"press","button":"x","extra":1}"#),
            Err(DecodeError::Malformed(_))
        ));
        let big = format!(r#"{{"type":"press","button":"{}"}}"#, "x".repeat(2000));
        assert!(matches!(
            ClientMessage::decode(&big),
            Err(DecodeError::TooLarge(_))
        ));
    }

    fn arb_client() -> impl Strategy<Value = ClientMessage> {
        prop_oneof![
            (
                "[a-z_]{1,20}",
                any::<u64>(),
                proptest::option::of("[0-9]{4,8}"),
                any::<bool>(),
                proptest::option::of("[0-9a-f]{16}")
            )
                .prop_map(|(panel, revision, pin, sparse, layout)| {
                    ClientMessage::Hello {
                        panel,
                        revision,
                        pin,
                        sparse,
                        layout,
                    }
                }),
            "[a-z_0-9]{1,30}".prop_map(|button| ClientMessage::Press { button }),
            "[a-z_0-9]{1,30}".prop_map(|button| ClientMessage::Release { button }),
            any::<u64>().prop_map(|seq| ClientMessage::Ping { seq }),
            any::<u64>().prop_map(|seq| ClientMessage::Pong { seq }),
            Just(ClientMessage::Resync),
            Just(ClientMessage::Meeting {
                change: MeetingChange::End
            }),
            Just(ClientMessage::Meeting {
                change: MeetingChange::Extend
            }),
            (
                "[a-z_0-9]{1,30}",
                proptest::option::of(quarter()),
                proptest::option::of(any::<bool>())
            )
                .prop_map(|(level, value, muted)| ClientMessage::SetLevel {
                    level,
                    value,
                    muted
                }),
        ]
    }

    #[test]
    fn set_level_and_notice_on_the_wire() {
        assert_eq!(
            ClientMessage::decode(r#"{"type":"set_level","level":"volume","value":-20.5}"#)
                .unwrap(),
            ClientMessage::SetLevel {
                level: "volume".into(),
                value: Some(-20.5),
                muted: None
            }
        );
        assert!(
            ClientMessage::decode(r#"{"type":"set_level","level":"v","value":"loud"}"#).is_err()
        );
        let notice = ServerMessage::Notice {
            key: "device:dsp".into(),
            severity: Severity::Warning,
            message: "Audio DSP is not responding".into(),
            active: true,
        };
        assert_eq!(
            notice.encode(),
            r#"{"type":"notice","key":"device:dsp","severity":"warning","message":"Audio DSP is not responding","active":true}"#
        );
        assert_eq!(ServerMessage::decode(&notice.encode()).unwrap(), notice);
    }

    #[test]
    fn a_step_written_once_reads_as_a_step_message() {
        let step = Step {
            revision: 9,
            changes: vec![crate::engine::Change::Released {
                button: "mute".into(),
                source: "panel:lobby@10.0.0.9".into(),
            }],
        };
        let bytes = ServerMessage::step_bytes(&step, 7);
        assert_eq!(
            ServerMessage::decode(std::str::from_utf8(&bytes).unwrap()).unwrap(),
            ServerMessage::Step {
                step,
                after: Some(7)
            }
        );
    }

    /// The demo's view of `panel` with a state at `revision`.
    fn demo_view(panel: &str, revision: u64) -> PanelView {
        let project = crate::project::demo_project();
        let mut snapshot =
            crate::engine::Engine::new(std::sync::Arc::new(project.clone())).snapshot();
        snapshot.revision = revision;
        PanelView::build(
            "roomctl",
            project,
            Some(panel),
            crate::project::PanelProfile::Tablet,
            snapshot,
            5000,
        )
        .expect("the demo has this panel")
    }

    #[test]
    fn layout_and_unavailable_on_the_wire() {
        // A panel that re-renders in place says which layout it holds.
        assert_eq!(
            ClientMessage::decode(
                r#"{"type":"hello","panel":"tablet","sparse":true,"layout":"00ff00ff00ff00ff"}"#
            )
            .unwrap(),
            ClientMessage::Hello {
                panel: "tablet".into(),
                revision: 0,
                pin: None,
                sparse: true,
                layout: Some("00ff00ff00ff00ff".into())
            }
        );
        let view = demo_view("tablet", 7);
        assert_eq!(view.layout, view.layout_key());
        let layout = ServerMessage::Layout {
            view: Box::new(view.clone()),
        };
        let text = layout.encode();
        assert!(text.starts_with(r#"{"type":"layout","view":{"#), "{text}");
        assert_eq!(ServerMessage::decode(&text).unwrap(), layout);
        let gone = ServerMessage::Unavailable {
            message: "The project \"X\" has no panel \"tablet\".".into(),
        };
        assert_eq!(
            gone.encode(),
            r#"{"type":"unavailable","message":"The project \"X\" has no panel \"tablet\"."}"#
        );
        assert_eq!(ServerMessage::decode(&gone.encode()).unwrap(), gone);
        // Each needs its field; a layout that is not a view is refused.
        for bad in [
            r#"{"type":"layout"}"#,
            r#"{"type":"unavailable"}"#,
            r#"{"type":"layout","view":{"panel":"tablet"}}"#,
            r#"{"type":"layout","view":[]}"#,
        ] {
            assert!(ServerMessage::decode(bad).is_err(), "{bad}");
        }
        // The key names the layout, not the state.
        assert_eq!(demo_view("tablet", 99).layout, view.layout);
        assert_ne!(demo_view("wall", 7).layout, view.layout);
    }

    fn arb_server() -> impl Strategy<Value = ServerMessage> {
        prop_oneof![
            ("[a-z ]{0,20}", any::<u64>(), "[a-zA-Z ]{0,20}").prop_map(
                |(name, revision, label)| {
                    let mut view =
                        demo_view(if revision % 2 == 0 { "tablet" } else { "wall" }, revision);
                    view.project_name = name;
                    if let Some(b) = view.buttons.values_mut().next() {
                        b.label = label;
                    }
                    view.layout = view.layout_key();
                    ServerMessage::Layout {
                        view: Box::new(view),
                    }
                }
            ),
            ".{0,40}".prop_map(|message| ServerMessage::Unavailable { message }),
            any::<u64>().prop_map(|seq| ServerMessage::Ping { seq }),
            (any::<u32>(), any::<u64>(), "[a-z]{0,10}").prop_map(
                |(protocol, keepalive_ms, controller)| ServerMessage::Welcome {
                    protocol,
                    keepalive_ms,
                    controller
                }
            ),
        ]
    }

    /// Values on a grid of quarters: serde_json (without its slower
    /// `float_roundtrip` parser) may read the last digit of an arbitrary
    /// f64 one ulp off; levels are quantised to their step anyway.
    fn quarter() -> impl Strategy<Value = f64> {
        (-4_000_000i32..4_000_000).prop_map(|n| f64::from(n) / 4.0)
    }

    proptest! {
        #[test]
        fn client_round_trip(m in arb_client()) {
            prop_assert_eq!(ClientMessage::decode(&m.encode()).unwrap(), m);
        }

        #[test]
        fn client_decoder_never_panics(s in ".{0,2000}") {
            let _ = ClientMessage::decode(&s);
        }

        #[test]
        fn server_decoder_never_panics(s in ".{0,500}") {
            let _ = ServerMessage::decode(&s);
        }

        #[test]
        fn server_round_trip(m in arb_server()) {
            prop_assert_eq!(ServerMessage::decode(&m.encode()).unwrap(), m);
        }

        /// A layout message cut short or with one byte changed: an error or
        /// a message, never a panic (random text rarely gets this deep).
        #[test]
        fn damaged_layouts_never_panic(m in arb_server(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let text = m.encode().into_bytes();
            let at = cut.index(text.len());
            let _ = ServerMessage::decode(&String::from_utf8_lossy(&text[..at]));
            let mut changed = text.clone();
            changed[at] = byte;
            let _ = ServerMessage::decode(&String::from_utf8_lossy(&changed));
        }
    }
}
