//! The status page's live channel, server side: one WebSocket per open
//! status page at `/status/live`, which sends the status report (the JSON
//! of `get_status`, checked against the page's login the same way) when
//! the page connects and again whenever something on it changed: an event
//! on the bus (an engine step, a device going online or offline, a service
//! changing state, a failed sequence step), a change of the status board
//! that is not on the bus (a panel connecting or leaving, timers, devices
//! found) or a new line in the recent events. Nothing is sent while
//! nothing happens; the page never polls.
//!
//! Events that arrive together are answered with one report, and reports
//! are at least [`MIN_GAP`] apart, so a fader being dragged cannot turn
//! every open status page into a stream of full reports. A login that is
//! no longer valid (logged out, the user removed) ends the channel with
//! [`CLOSE_REFUSED`] and the reason, which the page shows.

use std::sync::Arc;
use std::time::Duration;

use app::backend::Backend;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::TryRecvError;
use tokio::sync::{broadcast, Semaphore};
use tokio::time::{interval_at, Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::state::controller::Controller;

/// The shortest time between two reports to one page.
pub const MIN_GAP: Duration = Duration::from_millis(250);
/// A ping this often; a page silent for three of them (no pong) is gone.
const KEEPALIVE: Duration = Duration::from_secs(30);
/// The page sends nothing but pongs and its close.
const MAX_MESSAGE: usize = 1024;
/// Close code when the page's login no longer lets it see the status
/// (the panel channel's code for a refusal); the reason says why.
pub const CLOSE_REFUSED: u16 = 4001;

/// What the `/status/live` route needs.
#[derive(Clone)]
pub struct StatusFeed {
    /// Builds the report and checks the login, as `get_status` does.
    pub backend: Backend,
    pub controller: Controller,
    /// Ends every channel (the service stopping).
    pub shutdown: CancellationToken,
    /// Shared with the port's panels: `[panel] max_connections` in all.
    pub sessions: Arc<Semaphore>,
}

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(feed): State<StatusFeed>,
    headers: HeaderMap,
) -> Response {
    // Another site's page must not read the status with this browser's
    // cookie (cross-site WebSocket hijacking).
    let allowed = &feed.controller.settings().panel.allowed_origins;
    if let Err(why) = super::csrf::websocket_origin(&headers, allowed) {
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Err(why) = feed.backend.status(cookie.as_deref()) {
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    let Ok(permit) = feed.sessions.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many panels and status pages are connected\n",
        )
            .into_response();
    };
    ws.max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            let _permit = permit;
            run(socket, feed, cookie).await;
        })
}

/// What woke the channel.
enum Woken {
    Changed,
    Ping,
    Gone,
}

async fn run(mut socket: WebSocket, feed: StatusFeed, cookie: Option<String>) {
    // Subscribed before the first report: nothing after it is missed.
    let controller = &feed.controller;
    let mut bus = controller.bus().subscribe();
    let mut board = controller.status().changes();
    let mut log = controller.log().changes();
    let mut keepalive = interval_at(Instant::now() + KEEPALIVE, KEEPALIVE);
    keepalive.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut heard = Instant::now();
    loop {
        board.borrow_and_update();
        log.borrow_and_update();
        if !send_report(&mut socket, &feed, cookie.as_deref()).await {
            return;
        }
        // The gap first, then wait for news; what arrives meanwhile is
        // answered by the next report.
        let pause = tokio::time::sleep(MIN_GAP);
        tokio::pin!(pause);
        let mut paused = true;
        loop {
            let woken = tokio::select! {
                _ = feed.shutdown.cancelled() => Woken::Gone,
                _ = &mut pause, if paused => {
                    paused = false;
                    if news(&mut bus, &mut board, &mut log) {
                        Woken::Changed
                    } else {
                        continue;
                    }
                }
                event = bus.recv(), if !paused => match event {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => Woken::Changed,
                    Err(broadcast::error::RecvError::Closed) => Woken::Gone,
                },
                changed = board.changed(), if !paused => match changed {
                    Ok(()) => Woken::Changed,
                    Err(_) => Woken::Gone,
                },
                changed = log.changed(), if !paused => match changed {
                    Ok(()) => Woken::Changed,
                    Err(_) => Woken::Gone,
                },
                message = socket.recv() => match message {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Woken::Gone,
                    Some(Ok(_)) => {
                        heard = Instant::now();
                        continue;
                    }
                },
                _ = keepalive.tick() => Woken::Ping,
            };
            match woken {
                Woken::Changed => {
                    // Everything already waiting is in the next report.
                    drain(&mut bus);
                    break;
                }
                Woken::Ping => {
                    if heard.elapsed() > KEEPALIVE * 3
                        || socket
                            .send(Message::Ping(Default::default()))
                            .await
                            .is_err()
                    {
                        return;
                    }
                }
                Woken::Gone => {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            }
        }
    }
}

/// Sends the report as `cookie`'s login may see it, or closes the channel
/// with the reason it may not; whether the channel is still open.
async fn send_report(socket: &mut WebSocket, feed: &StatusFeed, cookie: Option<&str>) -> bool {
    match feed.backend.status(cookie) {
        Ok(report) => {
            let json = serde_json::to_string(&report).unwrap_or_default();
            socket.send(Message::Text(json.into())).await.is_ok()
        }
        Err(why) => {
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: CLOSE_REFUSED,
                    reason: close_reason(&why).into(),
                })))
                .await;
            false
        }
    }
}

/// `why` cut to what a close frame carries (123 bytes, RFC 6455 5.5).
fn close_reason(why: &str) -> String {
    let mut end = why.len().min(123);
    while !why.is_char_boundary(end) {
        end -= 1;
    }
    why[..end].to_string()
}

/// Whether anything arrived while the channel was pausing between reports.
fn news(
    bus: &mut broadcast::Receiver<Arc<crate::state::bus::BusEvent>>,
    board: &mut tokio::sync::watch::Receiver<u64>,
    log: &mut tokio::sync::watch::Receiver<u64>,
) -> bool {
    let on_bus = !matches!(bus.try_recv(), Err(TryRecvError::Empty));
    on_bus | board.has_changed().unwrap_or(true) | log.has_changed().unwrap_or(true)
}

fn drain(bus: &mut broadcast::Receiver<Arc<crate::state::bus::BusEvent>>) {
    while !matches!(
        bus.try_recv(),
        Err(TryRecvError::Empty) | Err(TryRecvError::Closed)
    ) {}
}
