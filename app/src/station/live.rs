//! The station's screens in the browser (the `station` bundle): one
//! server-sent event stream per page (`/events`, server/src/station/web.rs)
//! carries what the page shows as it changes — `cards` (the changed rooms'
//! cards), `summary` (the grid's rooms online) or, on a room's page, `room`
//! ([`super::RoomLive`]) — into the page's signals; the browser's
//! `EventSource` opens it again by itself when it breaks, and the stream
//! starts with the state of every room it follows. (A room's presses are
//! its real panel's, in the frame of its page: server/src/station/panel.rs.)

use std::collections::HashMap;

use controller_core::fleet::RoomCard;
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{EventSource, MessageEvent};

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

/// Follows a room's card (its page).
pub fn follow_room(room: &str, card: RwSignal<RoomCard>) {
    let handler = move |data: String| {
        if let Some(live) = read::<RoomLive>("room", &data) {
            card.set(live.card);
        }
    };
    follow(
        &format!("/events?room={}", crate::text::urlencode(room)),
        vec![("room", Box::new(handler))],
    );
}
