//! The panel's live channel (browser side): one WebSocket to `/ws` on the
//! port that served the page. Sends `hello` with the revision it holds,
//! applies `snapshot` and `step` messages to the page's state through the
//! same [`Snapshot::receive`] the tests check, pings every keep-alive
//! interval, and treats one missed keep-alive as a lost connection:
//! the page shows "connection lost", then reconnects with backoff.
//!
//! Hand-written over web-sys rather than a WebSocket crate to keep the wasm
//! small (the panel loads on every wall panel at every boot).

use std::cell::RefCell;
use std::time::Duration;

use controller_core::engine::{Snapshot, StepOutcome};
use controller_core::protocol::panel::{ClientMessage, ErrorCode, ServerMessage};
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::panel::LinkState;

struct Live {
    panel: String,
    pin: Option<String>,
    state: RwSignal<Snapshot>,
    link: RwSignal<LinkState>,
    keepalive_ms: u64,
    socket: Option<WebSocket>,
    last_heard_ms: f64,
    ping_seq: u64,
    last_ping_ms: f64,
    backoff_ms: u64,
    /// Bumped on every (re)connect so callbacks of an old socket are ignored.
    generation: u64,
    refused: bool,
}

thread_local! {
    static LIVE: RefCell<Option<Live>> = const { RefCell::new(None) };
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

const PIN_KEY: &str = "roomctl.pin";

pub fn stored_pin() -> Option<String> {
    window()
        .session_storage()
        .ok()
        .flatten()?
        .get_item(PIN_KEY)
        .ok()
        .flatten()
}

pub fn store_pin(pin: &str) {
    if let Ok(Some(s)) = window().session_storage() {
        let _ = s.set_item(PIN_KEY, pin);
    }
}

fn clear_pin() {
    if let Ok(Some(s)) = window().session_storage() {
        let _ = s.remove_item(PIN_KEY);
    }
}

/// Starts the live channel for this page (once).
pub fn start(
    panel: String,
    pin: Option<String>,
    state: RwSignal<Snapshot>,
    link: RwSignal<LinkState>,
    keepalive_ms: u64,
) {
    let fresh = LIVE.with(|l| {
        let mut l = l.borrow_mut();
        if l.is_some() {
            return false;
        }
        *l = Some(Live {
            panel,
            pin,
            state,
            link,
            keepalive_ms: keepalive_ms.max(500),
            socket: None,
            last_heard_ms: now_ms(),
            ping_seq: 0,
            last_ping_ms: 0.0,
            backoff_ms: 250,
            generation: 0,
            refused: false,
        });
        true
    });
    if !fresh {
        return;
    }
    connect();
    // The keep-alive clock: ping, and notice silence. Checked four times per
    // interval so a missed keep-alive shows within a quarter of an interval.
    let tick = Duration::from_millis((keepalive_ms / 4).max(100));
    let _ = set_interval_with_handle(keepalive_tick, tick);
}

fn keepalive_tick() {
    let mut lost = false;
    LIVE.with(|l| {
        let mut l = l.borrow_mut();
        let Some(live) = l.as_mut() else { return };
        let Some(ws) = &live.socket else { return };
        if ws.ready_state() != WebSocket::OPEN {
            return;
        }
        let silent_for = now_ms() - live.last_heard_ms;
        // One keep-alive interval plus a small grace for network jitter.
        if silent_for > live.keepalive_ms as f64 + 1000.0 {
            lost = true;
            return;
        }
        if now_ms() - live.last_ping_ms >= live.keepalive_ms as f64 {
            live.last_ping_ms = now_ms();
            live.ping_seq += 1;
            let _ = ws.send_with_str(&ClientMessage::Ping { seq: live.ping_seq }.encode());
        }
    });
    if lost {
        connection_lost();
    }
}

fn connect() {
    let generation = LIVE.with(|l| {
        let mut l = l.borrow_mut();
        let live = l.as_mut()?;
        live.generation += 1;
        Some(live.generation)
    });
    let Some(generation) = generation else { return };
    let location = window().location();
    let scheme = if location.protocol().ok().as_deref() == Some("https:") {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().unwrap_or_default();
    let Ok(ws) = WebSocket::new(&format!("{scheme}://{host}/ws")) else {
        schedule_reconnect();
        return;
    };

    let onopen = Closure::<dyn FnMut()>::new(move || {
        LIVE.with(|l| {
            let mut l = l.borrow_mut();
            let Some(live) = l.as_mut().filter(|x| x.generation == generation) else {
                return;
            };
            live.last_heard_ms = now_ms();
            if let Some(ws) = &live.socket {
                let hello = ClientMessage::Hello {
                    panel: live.panel.clone(),
                    revision: live.state.with_untracked(|s| s.revision),
                    pin: live.pin.clone(),
                };
                let _ = ws.send_with_str(&hello.encode());
            }
        });
    });
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(text) = ev.data().as_string() else {
            return;
        };
        on_message(generation, &text);
    });
    let onclose = Closure::<dyn FnMut(CloseEvent)>::new(move |_ev: CloseEvent| {
        let current = LIVE.with(|l| {
            l.borrow()
                .as_ref()
                .is_some_and(|x| x.generation == generation)
        });
        if current {
            connection_lost();
        }
    });
    ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
    // The socket lives as long as the page; its callbacks with it.
    onopen.forget();
    onmessage.forget();
    onclose.forget();
    LIVE.with(|l| {
        if let Some(live) = l.borrow_mut().as_mut() {
            live.socket = Some(ws);
        }
    });
}

fn on_message(generation: u64, text: &str) {
    let Ok(message) = ServerMessage::decode(text) else {
        return;
    };
    let mut resync = false;
    let mut reload = false;
    let mut refused: Option<(ErrorCode, String)> = None;
    LIVE.with(|l| {
        let mut l = l.borrow_mut();
        let Some(live) = l.as_mut().filter(|x| x.generation == generation) else {
            return;
        };
        live.last_heard_ms = now_ms();
        match message {
            ServerMessage::Welcome { keepalive_ms, .. } => {
                live.keepalive_ms = keepalive_ms.max(500);
            }
            ServerMessage::Snapshot { snapshot } => {
                let project_changed = live.state.with_untracked(|s| {
                    s.project_name != snapshot.project_name
                        || s.project_revision != snapshot.project_revision
                });
                live.state.set(snapshot);
                live.link.set(LinkState::Live);
                live.backoff_ms = 250;
                reload = project_changed;
            }
            ServerMessage::Step { step } => {
                if step.loads_project() {
                    reload = true;
                }
                let mut outcome = StepOutcome::Stale;
                live.state.update(|s| outcome = s.receive(&step));
                resync = outcome == StepOutcome::Gap;
            }
            ServerMessage::Ping { seq } => {
                if let Some(ws) = &live.socket {
                    let _ = ws.send_with_str(&ClientMessage::Pong { seq }.encode());
                }
            }
            ServerMessage::Pong { .. } => {}
            ServerMessage::Error { code, message } => {
                if matches!(
                    code,
                    ErrorCode::PinRequired
                        | ErrorCode::WrongPin
                        | ErrorCode::Forbidden
                        | ErrorCode::UnknownPanel
                ) {
                    live.refused = true;
                    refused = Some((code, message));
                }
            }
        }
        if resync {
            if let Some(ws) = &live.socket {
                let _ = ws.send_with_str(&ClientMessage::Resync.encode());
            }
        }
    });
    if let Some((code, message)) = refused {
        if matches!(code, ErrorCode::WrongPin | ErrorCode::PinRequired) {
            clear_pin();
        }
        LIVE.with(|l| {
            if let Some(live) = l.borrow().as_ref() {
                live.link.set(LinkState::Refused(message));
            }
        });
    }
    if reload {
        // A new project: its layout may differ, so load the page anew.
        let _ = window().location().reload();
    }
}

/// Marks the link lost, closes the socket and schedules a reconnect.
fn connection_lost() {
    let refused = LIVE.with(|l| {
        let mut l = l.borrow_mut();
        let Some(live) = l.as_mut() else { return true };
        if !live.refused {
            live.link.set(LinkState::Lost);
        }
        live.generation += 1;
        if let Some(ws) = live.socket.take() {
            let _ = ws.close();
        }
        live.refused
    });
    if !refused {
        schedule_reconnect();
    }
}

fn schedule_reconnect() {
    let delay = LIVE.with(|l| {
        let mut l = l.borrow_mut();
        let live = l.as_mut()?;
        let d = live.backoff_ms;
        live.backoff_ms = (live.backoff_ms * 2).min(5000);
        Some(d)
    });
    if let Some(d) = delay {
        set_timeout(connect, Duration::from_millis(d));
    }
}

/// Sends a message if the channel is open; presses made while it is down are
/// dropped on purpose (the page shows the link is down).
pub fn send(message: ClientMessage) {
    LIVE.with(|l| {
        if let Some(ws) = l.borrow().as_ref().and_then(|x| x.socket.as_ref()) {
            if ws.ready_state() == WebSocket::OPEN {
                let _ = ws.send_with_str(&message.encode());
            }
        }
    });
}
