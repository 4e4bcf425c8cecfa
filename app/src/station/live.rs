//! The station's screens in the browser (the `station` bundle): one
//! server-sent event stream per page (`/events`, server/src/station/web.rs)
//! carries what the page shows as it changes — `cards` (the changed rooms'
//! cards), `summary` (the grid's rooms online) or, on a room's page, `room`
//! ([`super::RoomLive`]) — into the page's signals; the browser's
//! `EventSource` opens it again by itself when it breaks, and the stream
//! starts with the state of every room it follows. Presses go to the
//! station one after another, so a release never overtakes its press.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};

use controller_core::engine::Snapshot;
use controller_core::fleet::RoomCard;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    EventSource, MessageEvent, RequestCredentials, RequestInit, Response, UrlSearchParams,
};

use super::{OnlineCount, RoomLive};

/// An event's name on the stream and what takes its data (JSON text).
type Handler = (&'static str, Box<dyn Fn(String)>);

/// Opens the stream at `url`, handing the data of each event named in
/// `handlers` to the handler of that name.
fn follow(url: &str, handlers: Vec<Handler>) {
    let Ok(stream) = EventSource::new(url) else {
        leptos::logging::error!("station: cannot open {url}");
        return;
    };
    for (name, handler) in handlers {
        let listener = Closure::<dyn Fn(MessageEvent)>::new(move |ev: MessageEvent| {
            if let Some(data) = ev.data().as_string() {
                handler(data);
            }
        });
        let _ = stream.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        // The page's listeners live as long as the page.
        listener.forget();
    }
    // As does the stream (an `EventSource` nobody holds may be collected).
    std::mem::forget(stream);
}

/// JSON from the station, or a word in the console.
fn read<T: serde::de::DeserializeOwned>(what: &str, data: &str) -> Option<T> {
    serde_json::from_str(data)
        .map_err(|e| leptos::logging::warn!("station: a {what} event that does not read: {e}"))
        .ok()
}

/// Follows the cards of `keys` (comma-separated, as the page lists them)
/// into `cards`, and the rooms online into `counts` (the grid).
pub fn follow_cards(
    keys: &str,
    cards: Vec<RwSignal<RoomCard>>,
    counts: Option<RwSignal<(usize, usize)>>,
) {
    let by_key: HashMap<String, RwSignal<RoomCard>> = cards
        .into_iter()
        .map(|c| (c.with_untracked(|c| c.key.clone()), c))
        .collect();
    let mut handlers: Vec<Handler> = vec![(
        "cards",
        Box::new(move |data: String| {
            for card in read::<Vec<RoomCard>>("cards", &data).unwrap_or_default() {
                if let Some(signal) = by_key.get(&card.key) {
                    signal.set(card);
                }
            }
        }),
    )];
    if let Some(counts) = counts {
        handlers.push((
            "summary",
            Box::new(move |data: String| {
                if let Some(c) = read::<OnlineCount>("summary", &data) {
                    counts.set((c.online, c.total));
                }
            }),
        ));
    }
    follow(
        &format!("/events?keys={}", crate::text::urlencode(keys)),
        handlers,
    );
}

/// Follows a room's card, LEDs and levels (its page).
pub fn follow_room(room: &str, card: RwSignal<RoomCard>, snapshot: RwSignal<Snapshot>) {
    let handler = move |data: String| {
        if let Some(live) = read::<RoomLive>("room", &data) {
            card.set(live.card);
            snapshot.update(|s| {
                s.buttons = live.buttons;
                s.levels = live.levels;
            });
        }
    };
    follow(
        &format!("/events?room={}", crate::text::urlencode(room)),
        vec![("room", Box::new(handler))],
    );
}

thread_local! {
    /// Presses not yet sent: (room, button, action).
    static PRESSES: RefCell<VecDeque<(String, String, &'static str)>> = RefCell::default();
    /// A press is on its way.
    static SENDING: Cell<bool> = const { Cell::new(false) };
}

/// Sends `action` (`press`, `release`, `tap`) on `button` to `room`
/// through the station, after the presses before it.
pub fn press(room: &str, button: &str, action: &'static str) {
    PRESSES.with(|q| {
        q.borrow_mut()
            .push_back((room.to_string(), button.to_string(), action))
    });
    if SENDING.with(|s| s.replace(true)) {
        return;
    }
    spawn_local(async {
        while let Some((room, button, action)) = PRESSES.with(|q| q.borrow_mut().pop_front()) {
            send(&room, &button, action).await;
        }
        SENDING.with(|s| s.set(false));
    });
}

/// One press to the station (`POST /room/{key}/press`); a refusal (a
/// viewer, a room offline) is said in the console.
async fn send(room: &str, button: &str, action: &str) {
    let Ok(body) = UrlSearchParams::new() else {
        return;
    };
    body.append("button", button);
    body.append("action", action);
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_credentials(RequestCredentials::SameOrigin);
    init.set_body(&body);
    let url = format!("/room/{}/press", crate::text::urlencode(room));
    let answer = JsFuture::from(window().fetch_with_str_and_init(&url, &init)).await;
    let Ok(response) = answer.map(JsCast::unchecked_into::<Response>) else {
        leptos::logging::warn!("press: the station did not answer");
        return;
    };
    if !response.ok() {
        let text = match response.text() {
            Ok(p) => JsFuture::from(p).await.ok().and_then(|t| t.as_string()),
            Err(_) => None,
        };
        leptos::logging::warn!("press: {} {}", response.status(), text.unwrap_or_default());
    }
}
