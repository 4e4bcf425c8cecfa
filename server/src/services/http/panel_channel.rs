//! The panel live channel, server side: one WebSocket per panel at `/ws`.
//!
//! One task per connection with one `select!` loop: messages from the panel,
//! the keep-alive clock, shutdown, and the steps. A step is encoded once
//! for all panels ([`Encoding::PanelJson`]). A plain-HTTP panel is sent its
//! steps by the port's fan-out task (`fanout.rs`), which wakes this task
//! only when the socket could not take a frame at once or the panel fell
//! behind; a TLS panel's task reads the bus and sends each step itself. A
//! panel that falls behind (the bus's capacity, or its socket and queue
//! full) gets a fresh snapshot. A panel
//! silent for three keep-alive intervals is dropped. Bad messages get an
//! `error` reply and the connection stays up; only this panel is affected.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use controller_core::project::{PanelProfile, Project};
use controller_core::protocol::panel::{ClientMessage, ErrorCode, MeetingChange, ServerMessage};
use controller_core::view::PanelSession;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::audit::{AuditEvent, AuditOutcome};
use crate::security::auth::{LoginError, Role};
use crate::security::sessions;
use crate::state::bus::{BusEvent, MeetingRequest, Subscription};
use crate::state::controller::Controller;
use crate::state::held::HeldButtons;
use crate::state::level_request;

use super::fanout::{Fanout, Fed, PlainSocket};

/// Largest WebSocket message accepted at all; above the panel protocol's own
/// limit so an oversized message still gets a readable `error` reply.
mod serve;

const MAX_WS_MESSAGE: usize = 64 * 1024;
/// A new connection must say hello within this time.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// What one live-channel route serves: `/ws` serves the running
/// controller; a Project Designer preview's route serves that preview's
/// own controller (preview.rs), with the same code.
#[derive(Clone)]
pub struct LiveState {
    /// The controller whose panels these are: presses go to it alone.
    pub controller: Controller,
    /// Ends every connection (the service stopping, a preview removed).
    pub shutdown: CancellationToken,
    /// The port, as the status board lists a panel's connection.
    pub port: u16,
    pub sessions: Arc<Semaphore>,
    /// Writes steps to the plain-HTTP panels of this port; none for a
    /// designer preview (a few panels: each reads its bus itself).
    pub fanout: Option<Arc<Fanout>>,
}

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<LiveState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    plain: Option<Extension<PlainSocket>>,
    headers: HeaderMap,
) -> Response {
    // A page of another origin must not open a panel with this browser's
    // cookie (cross-site WebSocket hijacking).
    let allowed = &state.controller.settings().panel.allowed_origins;
    if let Err(why) = super::csrf::websocket_origin(&headers, allowed) {
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    let Ok(permit) = state.sessions.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many panels are connected\n",
        )
            .into_response();
    };
    let user = state.controller.sessions().from_headers(&headers);
    let login_missing = state.controller.settings().panel.require_login
        && !sessions::allowed(user.as_ref(), Role::Operator);
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    // Panel messages are tiny: small buffers keep an idle panel cheap.
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(MAX_WS_MESSAGE)
        .max_frame_size(MAX_WS_MESSAGE)
        .on_upgrade(move |mut socket| async move {
            let _permit = permit;
            if login_missing {
                refuse(
                    &mut socket,
                    ErrorCode::Forbidden,
                    "This panel needs a login: open /login on this address (an operator or admin user).",
                    CLOSE_REFUSED,
                )
                .await;
                return;
            }
            Session::run(socket, state, peer, user_agent, plain.map(|p| p.0)).await;
        })
}

fn text(message: &ServerMessage) -> Message {
    Message::Text(message.encode().into())
}

/// Why a panel is refused when an applied project adds or changes its PIN.
const PIN_CHANGED: &str = "this panel's PIN has changed: enter the new one";

/// Close code of a refused connection (unknown panel, PIN, login, a first
/// message that is not hello): the reason is the error code.
pub const CLOSE_REFUSED: u16 = 4001;
/// Close code for a message over the size limit (RFC 6455: too big).
pub const CLOSE_TOO_BIG: u16 = 1009;

/// Ends a connection properly: the `error` message, then a close frame with
/// `close_code` and the error code as its reason, then a short wait for the
/// browser's close reply, so it sees why (not 1006, "abnormal closure").
async fn refuse(socket: &mut WebSocket, code: ErrorCode, why: impl Into<String>, close_code: u16) {
    let reason = serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = socket.send(error(code, why)).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: close_code,
            reason: reason.into(),
        })))
        .await;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(Ok(m)) = socket.recv().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

fn error(code: ErrorCode, message: impl Into<String>) -> Message {
    text(&ServerMessage::Error {
        code,
        message: message.into(),
    })
}

struct Session {
    controller: Controller,
    id: u64,
    /// Buttons this panel holds down; released if it goes away mid-press.
    held: HeldButtons,
    last_heard: Instant,
    /// The panel said `sparse` in hello: it is sent only the steps that
    /// change what it shows (one frame per change on screen, not one per
    /// engine step), and tells skipped steps from missed ones by `after`.
    sparse: bool,
    /// The panel's id, as said in hello.
    panel: String,
    /// The PIN this panel was opened with, when the panel has one: still
    /// good after a project is applied unless that changes (or adds) it.
    pin: Option<String>,
    /// For a panel that re-renders layouts in place (`layout` in hello):
    /// the layout it shows (empty while it shows "not available"). `None`
    /// for earlier panels, which reload their page on a new project.
    layout: Option<String>,
    /// `unavailable` was the last thing this panel was told: a project load
    /// that leaves it unavailable says nothing more (once per change).
    told_unavailable: bool,
    /// The panel's address (the audit trail of a meeting change).
    address: IpAddr,
}

impl Session {
    async fn run(
        mut socket: WebSocket,
        state: LiveState,
        peer: SocketAddr,
        user_agent: String,
        plain: Option<PlainSocket>,
    ) {
        let controller = state.controller.clone();
        let keepalive = Duration::from_secs(controller.settings().panel.keepalive_secs.max(1));

        let Some(Hello {
            panel,
            sparse,
            pin,
            layout,
        }) = read_hello(&mut socket, &state, peer).await
        else {
            return;
        };

        let id = controller.next_id();
        let now = controller.now();
        controller.status().panel_connected(PanelSession {
            id,
            address: peer.to_string(),
            user_agent,
            panel: panel.clone(),
            connected_at: now,
            last_keepalive_at: now,
            port: state.port,
        });
        let mut session = Session {
            controller: controller.clone(),
            id,
            held: HeldButtons::new(controller.clone(), format!("panel:{panel}@{}", peer.ip())),
            last_heard: Instant::now(),
            sparse,
            panel,
            pin,
            layout,
            told_unavailable: false,
            address: peer.ip(),
        };
        // A plain TCP panel is sent its steps by the port's fan-out; a TLS
        // panel's task sends them itself.
        let fed = plain
            .zip(state.fanout.as_ref())
            .map(|(p, fanout)| fanout.register(p, sparse, session.layout.is_some()));
        session.serve(&mut socket, &state, keepalive, fed).await;
        drop(session);
        controller.status().panel_disconnected(id);
    }

    /// Sends a fresh snapshot and returns the stream that continues from it
    /// (for a panel `fed` by the fan-out: none, the fan-out continues).
    /// To an in-place panel whose layout is not the one it shows, sends the
    /// new layout (with the state) instead, or `unavailable` when the
    /// project has no such panel; a panel whose PIN the project changed is
    /// refused (None, as when the connection is gone).
    async fn resync(
        &mut self,
        socket: &mut WebSocket,
        fed: Option<&Fed>,
        asked: bool,
    ) -> Option<Option<Subscription>> {
        // Steps the fan-out takes meanwhile wait, and those the snapshot
        // already covers are dropped, so the panel sees each change once.
        if let Some(fed) = fed {
            fed.hold();
        }
        // A panel fed by the fan-out needs no subscription of its own.
        let (project, snapshot, rx) = match fed {
            Some(_) => {
                let (project, snapshot) = self.controller.project_and_snapshot();
                (project, snapshot, None)
            }
            None => {
                let (project, snapshot, rx) = self.controller.subscribe_with_project();
                (project, snapshot, Some(rx))
            }
        };
        let revision = snapshot.revision;
        if !self.pin_still_good(&project) {
            refuse(socket, ErrorCode::PinRequired, PIN_CHANGED, CLOSE_REFUSED).await;
            return None;
        }
        let mut unavailable = false;
        let message = match &self.layout {
            None => ServerMessage::Snapshot { snapshot },
            Some(shown) => {
                // The profile only chooses a panel when none is named.
                let view = super::backend::view_of(
                    &self.controller,
                    &project,
                    snapshot,
                    Some(&self.panel),
                    PanelProfile::Tablet,
                );
                match view {
                    Ok(view) if view.layout == *shown => ServerMessage::Snapshot {
                        snapshot: view.snapshot,
                    },
                    Ok(view) => {
                        self.layout = Some(view.layout.clone());
                        ServerMessage::Layout {
                            view: Box::new(view),
                        }
                    }
                    Err(message) => {
                        self.layout = Some(String::new());
                        unavailable = true;
                        // It operates nothing from now on: what it held
                        // is let go (a held volume key stops repeating).
                        self.held.release_all();
                        ServerMessage::Unavailable { message }
                    }
                }
            }
        };
        // Told once: a project load that leaves the panel unavailable, or
        // a fall behind while it is, has nothing new to say; the panel's
        // own `resync` is answered.
        let repeat = unavailable && self.told_unavailable && !asked;
        self.told_unavailable = unavailable;
        if !repeat {
            socket.send(text(&message)).await.ok()?;
        }
        if let Some(fed) = fed {
            // "Not available" shows no state: no steps until a project
            // brings the panel back (the fan-out resyncs every panel on a
            // project load).
            fed.release(revision, unavailable);
        }
        Some(rx)
    }

    /// Whether the PIN this panel was opened with still opens it in
    /// `project` (a panel gone from the project has none to ask).
    fn pin_still_good(&self, project: &Project) -> bool {
        match project.panel(&self.panel).and_then(|p| p.pin.as_ref()) {
            None => true,
            Some(pin) => self.pin.as_ref() == Some(pin),
        }
    }

    /// Whether this panel may operate the room: it is shown a layout (not
    /// "not available") and the running project still has it (an earlier
    /// panel removed by an apply, until it reloads, has none).
    fn available(&self) -> bool {
        self.layout.as_deref() != Some("") && self.controller.project().panel(&self.panel).is_some()
    }

    fn handle(&mut self, text: &str) -> Option<Reply> {
        let message = match ClientMessage::decode(text) {
            Ok(m) => m,
            Err(e) => return Some(Reply::Send(error(e.code(), e.to_string()))),
        };
        if message.operates() && !self.available() {
            return Some(Reply::Send(error(
                ErrorCode::Unavailable,
                "this panel is not in the running project: it can operate nothing until it is sent a layout again",
            )));
        }
        match message {
            ClientMessage::Press { button } => match self.held.press(&button) {
                Ok(()) => None,
                Err(e) => Some(Reply::Send(error(ErrorCode::UnknownButton, e.to_string()))),
            },
            ClientMessage::Release { button } => match self.held.release(&button) {
                Ok(()) => None,
                Err(e) => Some(Reply::Send(error(ErrorCode::UnknownButton, e.to_string()))),
            },
            ClientMessage::Ping { seq } => {
                self.kept_alive();
                Some(Reply::Send(text_pong(seq)))
            }
            ClientMessage::Pong { .. } => {
                self.kept_alive();
                None
            }
            ClientMessage::Resync => Some(Reply::Resync),
            ClientMessage::SetLevel {
                level,
                value,
                muted,
            } => {
                let source = self.held.source().to_string();
                level_request::set_by_user(&self.controller, &level, value, muted, &source)
                    .err()
                    .map(|why| Reply::Send(error(ErrorCode::UnknownLevel, why)))
            }
            ClientMessage::Meeting { change } => self.meeting(change),
            ClientMessage::Hello { .. } => Some(Reply::Send(error(
                ErrorCode::Malformed,
                "hello was already received",
            ))),
        }
    }

    /// The panel's keep-alive: the status board's last-heard time.
    fn kept_alive(&self) {
        let now = self.controller.now();
        self.controller
            .status()
            .panel_update(self.id, |s| s.last_keepalive_at = now);
    }

    /// A meeting change from the panel's tile, handed to the calendar
    /// service; refused for a panel without a meeting tile.
    fn meeting(&self, change: MeetingChange) -> Option<Reply> {
        let has_tile = self
            .controller
            .project()
            .panel(&self.panel)
            .is_some_and(|p| p.pages.iter().any(|page| !page.meetings.is_empty()));
        if !has_tile {
            return Some(Reply::Send(error(
                ErrorCode::Unavailable,
                "this panel has no meeting tile",
            )));
        }
        // The calendar service does it (or says why not, in the
        // audit trail and the log); the tile shows the result.
        self.controller
            .bus()
            .publish(BusEvent::Meeting(MeetingRequest {
                change,
                by: self.held.source().to_string(),
                service: "panel",
                address: Some(self.address),
            }));
        None
    }
}

/// What a panel said in hello, once it is let in.
struct Hello {
    panel: String,
    sparse: bool,
    /// Kept only as a PIN the panel was let in with.
    pin: Option<String>,
    layout: Option<String>,
}

/// The panel's hello: which panel, and its PIN if it has one. None (after
/// refusing it, when it can still be told why) when the panel is not let in.
async fn read_hello(socket: &mut WebSocket, state: &LiveState, peer: SocketAddr) -> Option<Hello> {
    let controller = &state.controller;
    let hello = tokio::select! {
        m = tokio::time::timeout(HELLO_TIMEOUT, socket.recv()) => m,
        _ = state.shutdown.cancelled() => return None,
    };
    let refused = match hello {
        Ok(Some(Ok(Message::Text(t)))) => match ClientMessage::decode(&t) {
            Ok(ClientMessage::Hello {
                panel,
                pin,
                sparse,
                layout,
                ..
            }) => match check_panel(controller, peer.ip(), &panel, pin.as_deref()) {
                Ok(()) => {
                    let pin = pin.filter(|given| {
                        controller
                            .project()
                            .panel(&panel)
                            .and_then(|p| p.pin.as_ref())
                            == Some(given)
                    });
                    return Some(Hello {
                        panel,
                        sparse,
                        pin,
                        layout,
                    });
                }
                // A panel that can show "not available" stays
                // connected: the project may get its panel back.
                Err((ErrorCode::UnknownPanel, _)) if layout.is_some() => {
                    return Some(Hello {
                        panel,
                        sparse,
                        pin: None,
                        layout: Some(String::new()),
                    });
                }
                Err((code, why)) => (code, why, CLOSE_REFUSED),
            },
            Ok(_) => (
                ErrorCode::Malformed,
                "the first message must be hello".to_string(),
                CLOSE_REFUSED,
            ),
            Err(e) => (e.code(), e.to_string(), CLOSE_REFUSED),
        },
        Ok(Some(Err(_))) => (
            ErrorCode::TooLarge,
            format!("a message may be at most {MAX_WS_MESSAGE} bytes"),
            CLOSE_TOO_BIG,
        ),
        _ => return None,
    };
    let (code, why, close_code) = refused;
    refuse(socket, code, why, close_code).await;
    None
}

fn text_pong(seq: u64) -> Message {
    text(&ServerMessage::Pong { seq })
}

enum Reply {
    Send(Message),
    Resync,
}

/// Whether `panel` exists and, if it has a PIN, whether `pin` is it. PIN
/// guesses go through the logins' back-off per address (a 4-digit PIN is
/// found in seconds otherwise): during back-off no PIN is compared.
fn check_panel(
    controller: &Controller,
    source: IpAddr,
    panel: &str,
    pin: Option<&str>,
) -> Result<(), (ErrorCode, String)> {
    let project = controller.project();
    let Some(p) = project.panel(panel) else {
        return Err((
            ErrorCode::UnknownPanel,
            format!("the project has no panel {panel:?}"),
        ));
    };
    let (Some(expected), Some(given)) = (&p.pin, pin) else {
        return match p.pin {
            None => Ok(()),
            Some(_) => Err((ErrorCode::PinRequired, "this panel needs its PIN".into())),
        };
    };
    if let Err(why) = controller.logins().check(source, None) {
        let why = match why {
            LoginError::Backoff(wait) => format!(
                "too many wrong PINs from this address; try again in {} s",
                wait.as_secs().max(1)
            ),
            other => other.to_string(),
        };
        return Err((ErrorCode::WrongPin, why));
    }
    let ok = expected == given;
    controller.logins().record(source, None, ok);
    controller.audit().record(
        AuditEvent::Login,
        if ok {
            AuditOutcome::Ok
        } else {
            AuditOutcome::Failed
        },
        "panel",
        None,
        Some(source),
        format!("panel {panel}: {}", if ok { "PIN" } else { "wrong PIN" }),
    );
    if ok {
        Ok(())
    } else {
        Err((ErrorCode::WrongPin, "wrong PIN".into()))
    }
}
