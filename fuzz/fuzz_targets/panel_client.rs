//! The panel WebSocket decoders: client messages as the controller reads
//! them, and server messages (a `layout` carries a whole panel view) as
//! the panel reads them. No input panics either.
#![no_main]

use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ClientMessage::decode(text);
        let _ = ServerMessage::decode(text);
    }
});
