//! A room panel's live channel at the station, relayed message by message
//! to the room's own (`/ws` on its panel port): see [`super`] for why, who
//! may, and the bounds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use controller_core::protocol::panel::{ClientMessage, ErrorCode, ServerMessage};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame as RoomCloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as RoomMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{panel_address, ROOM_TIMEOUT};
use crate::security::auth::Role;
use crate::security::sessions::{cookie_token, STATION_COOKIE};
use crate::station::signin::signed_in;
use crate::station::Station;

/// The panel's own limit for one message to its controller (the panel
/// service's `MAX_WS_MESSAGE`).
const FROM_PANEL_MAX: usize = 64 * 1024;
/// How often a relayed channel checks that its user is still signed in.
const SESSION_CHECK: Duration = Duration::from_secs(5);

type RoomSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A room panel's live channel: relayed to the room's own.
pub(super) async fn socket(
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
        Err(why) => return why.answer(),
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
