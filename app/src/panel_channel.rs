//! The panel's live channel, browser side: glue between
//! [`controller_core::link::PanelLink`], which makes every decision (hello,
//! keep-alive, lost, backoff, resync, refusal; tested natively there), and
//! the browser: one WebSocket to `/ws` on the port that served the page, one
//! timer for the link's next deadline, the page's signals (and a new
//! layout handed to the page), and the PIN in sessionStorage.
//!
//! Hand-written over web-sys rather than a WebSocket crate to keep the wasm
//! small (the panel loads on every wall panel at every boot).

use std::cell::RefCell;
use std::time::Duration;

use controller_core::engine::Snapshot;
use controller_core::link::{LinkAction, LinkState, PanelLink};
use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use controller_core::view::PanelView;

use crate::notice::Notice;
use crate::socket::Socket;
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

struct Live {
    link: PanelLink,
    /// What the page shows: copies of the link's snapshot and state.
    state: RwSignal<Snapshot>,
    shown: RwSignal<LinkState>,
    /// The banners shown: one per key, replaced or cleared by later notices.
    notices: RwSignal<Vec<Notice>>,
    /// Shows a new layout, or why the panel is not available.
    on_layout: Box<dyn Fn(Result<PanelView, String>)>,
    socket: Option<Socket>,
    /// The armed timer and the deadline it is for.
    timer: Option<(u64, TimeoutHandle)>,
}

thread_local! {
    static LIVE: RefCell<Option<Live>> = const { RefCell::new(None) };
}

/// Milliseconds on the page's monotonic clock: the link's deadlines must not
/// move when the wall clock is set (NTP at boot is common on wall panels).
fn now_ms() -> u64 {
    window()
        .performance()
        .map_or_else(js_sys::Date::now, |p| p.now()) as u64
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

/// Where the page shown is remembered for this tab, per panel.
fn page_key(panel: &str) -> String {
    format!("roomctl.page.{panel}")
}

/// The page this tab showed last on `panel` (its id), if any.
pub fn saved_page(panel: &str) -> Option<String> {
    window()
        .session_storage()
        .ok()
        .flatten()?
        .get_item(&page_key(panel))
        .ok()
        .flatten()
}

pub fn save_page(panel: &str, page: &str) {
    if let Ok(Some(s)) = window().session_storage() {
        let _ = s.set_item(&page_key(panel), page);
    }
}

/// Calls `go_home` when nobody has touched the page (pointer or key) for
/// `idle_ms()` (read each second: a new layout may change it; `None`:
/// never), and again after each further such time untouched.
pub fn go_home_when_idle(
    idle_ms: impl Fn() -> Option<u64> + 'static,
    go_home: impl Fn() + 'static,
) {
    use std::cell::Cell;
    use std::rc::Rc;
    let last = Rc::new(Cell::new(now_ms()));
    for event in ["pointerdown", "keydown"] {
        let last = last.clone();
        let touched = Closure::<dyn FnMut()>::new(move || last.set(now_ms()));
        let _ = window().add_event_listener_with_callback_and_bool(
            event,
            touched.as_ref().unchecked_ref(),
            true,
        );
        // Lives as long as the page.
        touched.forget();
    }
    let _ = set_interval_with_handle(
        move || {
            let now = now_ms();
            let Some(idle_ms) = idle_ms() else {
                last.set(now);
                return;
            };
            if now.saturating_sub(last.get()) >= idle_ms {
                last.set(now);
                go_home();
            }
        },
        Duration::from_secs(1),
    );
}

/// Starts the live channel for the panel of `view`, the layout the page was
/// rendered with (once): `state` starts as the server-rendered snapshot and
/// from then on shows the link's; `on_layout` shows the layouts of projects
/// applied later (in place: see [`PanelLink::in_place`]).
pub fn start(
    view: &PanelView,
    pin: Option<String>,
    state: RwSignal<Snapshot>,
    link: RwSignal<LinkState>,
    notices: RwSignal<Vec<Notice>>,
    on_layout: impl Fn(Result<PanelView, String>) + 'static,
) {
    LIVE.with(|l| {
        let mut l = l.borrow_mut();
        if l.is_some() {
            return;
        }
        let mut live = Live {
            link: PanelLink::new(
                view.panel.id.clone(),
                pin,
                view.keepalive_ms,
                state.get_untracked(),
            )
            .in_place(view.layout.clone()),
            state,
            shown: link,
            notices,
            on_layout: Box::new(on_layout),
            socket: None,
            timer: None,
        };
        let actions = live.link.start();
        live.perform(now_ms(), actions);
        *l = Some(live);
    });
}

/// Sends a press or release if the channel is open; the link drops it
/// otherwise (see [`PanelLink::send`]).
pub fn send(message: ClientMessage) {
    input(|link, _| link.send(message));
}

/// Tries the PIN the person entered after the controller asked for it.
pub fn enter_pin(pin: String) {
    input(|link, _| link.enter_pin(pin));
}

/// Feeds one event into the link and carries out what it decides.
fn input(event: impl FnOnce(&mut PanelLink, u64) -> Vec<LinkAction>) {
    LIVE.with(|l| {
        let mut l = l.borrow_mut();
        let Some(live) = l.as_mut() else { return };
        let now = now_ms();
        let actions = event(&mut live.link, now);
        live.perform(now, actions);
    });
}

fn on_timer() {
    LIVE.with(|l| {
        if let Some(live) = l.borrow_mut().as_mut() {
            live.timer = None;
        }
    });
    input(PanelLink::tick);
}

impl Live {
    fn perform(&mut self, now: u64, actions: Vec<LinkAction>) {
        for action in actions {
            match action {
                LinkAction::Connect => match open_socket() {
                    Some(socket) => self.socket = Some(socket),
                    // The browser refused to even try (a bad URL): the same
                    // as a connection that closed at once.
                    None => {
                        let more = self.link.closed(now);
                        self.perform(now, more);
                    }
                },
                LinkAction::Send(message) => {
                    if let Some(socket) = &self.socket {
                        let _ = socket.ws.send_with_str(&message.encode());
                    }
                }
                LinkAction::Close => self.socket = None,
                LinkAction::State(state) => {
                    // Live again after a (re)connect: the controller sends
                    // the notices that still hold right after the snapshot,
                    // so the ones held from before (a device back meanwhile)
                    // go.
                    if state == LinkState::Live {
                        self.notices.set(Vec::new());
                    }
                    self.shown.set(state)
                }
                LinkAction::ShowSnapshot => self.state.set(self.link.snapshot().clone()),
                LinkAction::ShowLayout(view) => (self.on_layout)(Ok(*view)),
                LinkAction::Unavailable(why) => (self.on_layout)(Err(why)),
                LinkAction::Reload => {
                    let _ = window().location().reload();
                }
                LinkAction::ForgetPin => clear_pin(),
                LinkAction::Notice {
                    key,
                    severity,
                    message,
                    active,
                } => self.notices.update(|all| {
                    all.retain(|n| n.key != key);
                    if active {
                        all.push(Notice {
                            key,
                            severity,
                            message,
                        });
                    }
                }),
            }
        }
        self.arm_timer(now);
    }

    /// Keeps one timer armed for the link's next deadline. Most inputs leave
    /// the deadline where it was, and then the timer is left alone.
    fn arm_timer(&mut self, now: u64) {
        let deadline = self.link.next_deadline();
        if self.timer.as_ref().map(|(at, _)| *at) == deadline {
            return;
        }
        if let Some((_, handle)) = self.timer.take() {
            handle.clear();
        }
        if let Some(at) = deadline {
            let delay = Duration::from_millis(at.saturating_sub(now));
            if let Ok(handle) = set_timeout_with_handle(on_timer, delay) {
                self.timer = Some((at, handle));
            }
        }
    }
}

/// Opens the WebSocket to `/ws` under the page's base path (a designer
/// preview's own channel) on the page's own host and port.
fn open_socket() -> Option<Socket> {
    crate::socket::open(
        "/ws",
        || input(PanelLink::opened),
        |text| {
            if let Ok(message) = ServerMessage::decode(&text) {
                input(|link, now| link.received(now, message));
            }
        },
        |_, _| input(PanelLink::closed),
    )
}
