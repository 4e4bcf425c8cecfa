//! A WebSocket to the page's own controller, with its callbacks: the
//! panel's live channel (`panel_channel.rs`) and the status page's
//! (`status_live.rs`). Hand-written over web-sys rather than a WebSocket
//! crate to keep the wasm small.

use leptos::prelude::window;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// A WebSocket with its callbacks. Dropping it detaches the callbacks before
/// closing, so a socket given up on can never report into its owner, and
/// frees them (wasm-bindgen defers that if one of them is running).
pub struct Socket {
    pub ws: WebSocket,
    _onopen: Closure<dyn FnMut()>,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onclose: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// Opens a WebSocket to `path` under the page's base path (a designer
/// preview's own channel) on the page's own host and port; `None` when the
/// browser refuses to even try (a bad URL). `on_message` gets each text
/// message; `on_close` the close code and reason.
pub fn open(
    path: &str,
    on_open: impl FnMut() + 'static,
    mut on_message: impl FnMut(String) + 'static,
    mut on_close: impl FnMut(u16, String) + 'static,
) -> Option<Socket> {
    let location = window().location();
    let scheme = if location.protocol().ok().as_deref() == Some("https:") {
        "wss"
    } else {
        "ws"
    };
    let host = location.host().unwrap_or_default();
    let ws = WebSocket::new(&format!("{scheme}://{host}{}", crate::base::href(path))).ok()?;
    let onopen = Closure::<dyn FnMut()>::new(on_open);
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        if let Some(text) = ev.data().as_string() {
            on_message(text);
        }
    });
    let onclose = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| {
        on_close(ev.code(), ev.reason())
    });
    ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
    Some(Socket {
        ws,
        _onopen: onopen,
        _onmessage: onmessage,
        _onclose: onclose,
    })
}
