//! A room's real panel at the station: the panel app (the same Leptos
//! page and wasm a tablet in the room loads) under the base path
//! `/room/{key}/panel`, as the Project Designer's preview runs it under
//! its own (services/http/preview.rs), with its live channel relayed to
//! the room's own panel service.
//!
//! Why a relay and not a panel over the station's central-control (5009)
//! connection: what makes the panel behave as on the room's tablet lives
//! in the room's panel service, not in the state 5009 carries: the PIN
//! check and its back-off, notices, fader rules, meeting changes, a new
//! layout in place when a project is applied. A panel fed from 5009
//! would need a second implementation of each in the station; relaying
//! the live channel to the room keeps one. So:
//!
//! - `GET /room/{key}/panel/` and `/room/{key}/panel/panel/{panel}`: the
//!   room's view of that panel (layout, state, PIN required or not) is
//!   read from the room's own page of it (`app::view_in_page`, beside the
//!   code that writes it), and the station renders the app with it under
//!   the base path. Templates, confirmations and the PIN keypad are then
//!   the panel's own code, with the station's copy of its wasm (the same
//!   build as the page it renders). Framable by the station's own pages
//!   only (its room page shows it in an iframe).
//! - `GET /room/{key}/panel/ws`: the panel's live channel, relayed message
//!   by message to the room's `/ws`; the room answers hello, checks the
//!   PIN, presses, moves faders and sends notices.
//!
//! Who may: any signed-in station user sees the panel live; an operator
//! (or admin) operates it. A viewer's messages that would operate the room
//! are answered here (`unavailable`, which the panel takes without ending
//! its session) and never reach it: the panel has no read-only mode, so a
//! viewer gets no control. The relay is bounded: one connection per
//! browser panel under `[panel] max_connections` in all, a connect
//! deadline, message sizes (the panel's 64 KiB towards the room, `[station]
//! max_line_bytes` from it, where a layout is the largest message), and it
//! ends with the user's station session and with the station. The room
//! sees the station's address: its PIN back-off counts every station user
//! together, and its status page lists the panel as `roomctl station`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::backend::{Backend, PanelBackend};
use app::base::Base;
use app::shell;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use controller_core::protocol::panel::{ClientMessage, ErrorCode, ServerMessage};
use controller_core::view::{PanelView, StatusReport};
use futures::{SinkExt, StreamExt};
use leptos::prelude::provide_context;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame as RoomCloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as RoomMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::web::signed_in;
use super::Station;
use crate::auth::Role;
use crate::services::http::layers::{in_frame, page_csp, Framing};
use crate::sessions::{cookie_token, STATION_COOKIE};

/// Time allowed for reaching the room's panel service (connect and answer).
const ROOM_TIMEOUT: Duration = Duration::from_secs(5);
/// The panel's own limit for one message to its controller (the panel
/// service's `MAX_WS_MESSAGE`).
const FROM_PANEL_MAX: usize = 64 * 1024;
/// How often a relayed channel checks that its user is still signed in.
const SESSION_CHECK: Duration = Duration::from_secs(5);

type RoomSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The base path of room `key`'s panel.
fn base_of(key: &str) -> String {
    format!("/room/{key}/panel")
}

/// The panel routes, one screen of the station's web page.
pub(super) fn screen() -> Router<Arc<Station>> {
    // Leptos runs resources on the tokio runtime (a no-op when set already).
    let _ = any_spawner::Executor::init_tokio();
    Router::new()
        .route("/room/{key}/panel/", get(page))
        .route("/room/{key}/panel/panel/{panel}", get(page))
        .route("/room/{key}/panel/ws", get(socket))
}

/// Where room `key`'s panel service is: the address its central control
/// was reached at, with the panel port its layout names; or the answer
/// saying why there is none.
pub(super) fn panel_address(st: &Station, key: &str) -> Result<SocketAddr, Response> {
    let Some(room) = st.registry.find(key) else {
        return Err(in_frame(StatusCode::NOT_FOUND, "no such room\n"));
    };
    let found = st.registry.read(room, |r| {
        let reached = r.card.address.parse::<SocketAddr>().ok();
        let port = r.layout.as_ref().and_then(|l| l.panel_port);
        (reached, port, r.card.online)
    });
    match found {
        Some((Some(at), Some(port), _)) => Ok(SocketAddr::new(at.ip(), port)),
        Some((_, _, false)) => Err(in_frame(
            StatusCode::SERVICE_UNAVAILABLE,
            "the room is offline: its panel shows again when the station reaches it\n",
        )),
        Some((None, _, _)) => Err(in_frame(StatusCode::NOT_FOUND, NOT_DIRECT)),
        _ => Err(in_frame(StatusCode::NOT_FOUND, NO_PANEL_PORT)),
    }
}

/// Why a room watched through the broker shows no panel.
pub const NOT_DIRECT: &str = "this room is watched through the MQTT broker: the station does not \
     reach it directly, so its panel opens only on the room's own network\n";
/// Why a room without a panel service shows no panel.
pub const NO_PANEL_PORT: &str = "this room's controller serves no panel the station can reach \
     (its [panel] service is off, or it is too old to say where it is)\n";

/// What the app renders: the room's view of one panel, as its page carried it.
struct RoomPanel(Result<PanelView, String>);

impl PanelBackend for RoomPanel {
    fn panel_view(&self, _: Option<&str>) -> Result<PanelView, String> {
        self.0.clone()
    }

    fn status(&self, _: Option<&str>) -> Result<StatusReport, String> {
        Err("The station shows a room's panels; its status page is the room's own.".into())
    }
}

/// A room's panel page: the app, rendered with the room's view of the
/// panel under the room's base path.
async fn page(
    State(st): State<Arc<Station>>,
    Path(params): Path<HashMap<String, String>>,
    request: Request,
) -> Response {
    if signed_in(&st, request.headers(), Role::Viewer).is_err() {
        return in_frame(
            StatusCode::UNAUTHORIZED,
            "Log in to the station first (/login).\n",
        );
    }
    let key = params.get("key").cloned().unwrap_or_default();
    let address = match panel_address(&st, &key) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let path = match params.get("panel") {
        Some(panel) => format!("/panel/{}", app::text::urlencode(panel)),
        None => "/".into(),
    };
    let view = match room_view(address, &path).await {
        Ok(view) => view,
        Err(why) => {
            tracing::warn!("station: the panel of room {key} at {address}{path}: {why}");
            return in_frame(
                StatusCode::BAD_GATEWAY,
                format!("The room's panel did not answer: {why}\n"),
            );
        }
    };
    let backend = Backend(Arc::new(RoomPanel(view)));
    let base = Base(base_of(&key));
    let options = crate::services::http::leptos_options();
    let render = leptos_axum::render_app_async_with_context(
        move || {
            provide_context(backend.clone());
            provide_context(base.clone());
            page_csp(Framing::SameOrigin);
        },
        move || shell(options.clone()),
    );
    render(request).await
}

/// The room's view of the panel at `path` on its panel service, read from
/// the page the room serves for it (a bounded request: time and size).
async fn room_view(address: SocketAddr, path: &str) -> Result<Result<PanelView, String>, String> {
    let client = reqwest::Client::builder()
        .timeout(ROOM_TIMEOUT)
        .connect_timeout(ROOM_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("roomctl station")
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let url = format!("http://{address}{path}");
    let mut response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    // A panel the project lacks is answered 404 with its reason in the
    // page, which the panel shows as the tablet would.
    let status = response.status();
    let limit = PAGE_MAX;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading {url}: {e}"))?
    {
        if body.len() + chunk.len() > limit {
            return Err(format!("{url} is larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    let html = String::from_utf8_lossy(&body);
    app::view_in_page(&html).ok_or_else(|| format!("{url} ({status}) carries no panel view"))
}

/// The largest panel page read from a room (a large project's layout and
/// state, as a page).
const PAGE_MAX: usize = 8 << 20;

/// A room panel's live channel: relayed to the room's own.
async fn socket(
    ws: WebSocketUpgrade,
    State(st): State<Arc<Station>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(user) = signed_in(&st, &headers, Role::Viewer) else {
        return (StatusCode::FORBIDDEN, "log in to the station first\n").into_response();
    };
    // A page of another site must not open a room's panel with this
    // browser's station cookie.
    if let Err(why) = crate::services::http::csrf::websocket_origin(&headers, &[]) {
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    let address = match panel_address(&st, &key) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Ok(permit) = st.panels.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many room panels are open at the station\n",
        )
            .into_response();
    };
    let token = cookie_token(&headers, STATION_COOKIE).unwrap_or_default();
    let room = match connect(address, &user.name, st.settings.max_line_bytes).await {
        Ok(room) => room,
        Err(why) => {
            tracing::warn!("station: the live channel of room {key} at {address}: {why}");
            return (StatusCode::BAD_GATEWAY, format!("{why}\n")).into_response();
        }
    };
    let operates = user.role >= Role::Operator;
    tracing::info!(
        "station: {} ({}) opened the panel of room {key}",
        user.name,
        user.role
    );
    ws.read_buffer_size(4 * 1024)
        .max_message_size(FROM_PANEL_MAX)
        .max_frame_size(FROM_PANEL_MAX)
        .on_upgrade(move |browser| async move {
            let _permit = permit;
            Relay {
                st,
                token,
                operates,
            }
            .run(browser, room)
            .await;
        })
}

/// Opens the room's live channel as `user`'s panel (the room lists it so
/// on its status page).
async fn connect(address: SocketAddr, user: &str, max_bytes: usize) -> Result<RoomSocket, String> {
    let mut request = format!("ws://{address}/ws")
        .into_client_request()
        .map_err(|e| format!("bad address {address}: {e}"))?;
    let agent = format!(
        "roomctl station ({})",
        controller_core::printable::printable(user)
    );
    if let Ok(agent) = agent.parse() {
        request.headers_mut().insert("user-agent", agent);
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(max_bytes.max(FROM_PANEL_MAX)))
        .max_frame_size(Some(max_bytes.max(FROM_PANEL_MAX)));
    let connected = tokio::time::timeout(
        ROOM_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(request, Some(config), true),
    )
    .await;
    match connected {
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(e)) => Err(format!("the room's panel service refused: {e}")),
        Err(_) => Err("the room's panel service did not answer in time".into()),
    }
}

/// One relayed live channel.
struct Relay {
    st: Arc<Station>,
    /// The user's station session: the channel ends with it.
    token: String,
    /// An operator or admin: everything goes to the room.
    operates: bool,
}

impl Relay {
    async fn run(self, mut browser: WebSocket, mut room: RoomSocket) {
        let mut check = tokio::time::interval(SESSION_CHECK);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ended = loop {
            tokio::select! {
                _ = self.st.shutdown.cancelled() => break (1001, "the station is stopping"),
                _ = check.tick() => if self.st.sessions.user(&self.token).is_none() {
                    break (4001, "signed out of the station");
                },
                m = browser.recv() => match m {
                    Some(Ok(Message::Text(text))) => {
                        if let Some(refusal) = self.refusal(&text) {
                            if browser.send(refusal).await.is_err() {
                                break (1000, "");
                            }
                        } else if room.send(RoomMessage::Text(text.as_str().into())).await.is_err() {
                            break (1011, "the room's panel connection broke");
                        }
                    }
                    // The room answers what it does not read.
                    Some(Ok(Message::Binary(b))) => {
                        if room.send(RoomMessage::Binary(b)).await.is_err() {
                            break (1011, "the room's panel connection broke");
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let frame = frame.map(|f| RoomCloseFrame {
                            code: CloseCode::from(f.code),
                            reason: f.reason.as_str().into(),
                        });
                        let _ = room.send(RoomMessage::Close(frame)).await;
                        return;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Err(_)) => break (1009, "a message may be at most 64 KiB"),
                    None => {
                        let _ = room.close(None).await;
                        return;
                    }
                },
                m = room.next() => match m {
                    Some(Ok(RoomMessage::Text(text))) => {
                        if browser.send(Message::Text(text.as_str().into())).await.is_err() {
                            let _ = room.close(None).await;
                            return;
                        }
                    }
                    Some(Ok(RoomMessage::Binary(b))) => {
                        if browser.send(Message::Binary(b)).await.is_err() {
                            let _ = room.close(None).await;
                            return;
                        }
                    }
                    // The room's refusal (a wrong PIN, a changed one) and
                    // its reason, as the room's own tablet would see it.
                    Some(Ok(RoomMessage::Close(frame))) => {
                        let frame = frame.map(|f| CloseFrame {
                            code: f.code.into(),
                            reason: f.reason.as_str().into(),
                        });
                        let _ = browser.send(Message::Close(frame)).await;
                        return;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break (1011, "the room's panel connection broke"),
                },
            }
        };
        let (code, reason) = ended;
        let _ = room.close(None).await;
        let _ = browser
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }

    /// The answer to a message a viewer may not send (one that operates
    /// the room, or one that does not read: it is not passed on unread).
    fn refusal(&self, text: &str) -> Option<Message> {
        if self.operates {
            return None;
        }
        if ClientMessage::decode(text).is_ok_and(|m| !m.operates()) {
            return None;
        }
        let error = ServerMessage::Error {
            code: ErrorCode::Unavailable,
            message: "a station viewer cannot operate rooms: the panel shows the room as it is"
                .into(),
        };
        Some(Message::Text(error.encode().into()))
    }
}
