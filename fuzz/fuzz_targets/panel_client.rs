//! The panel WebSocket decoder (client messages, as the controller reads
//! them): no input panics.
#![no_main]

use controller_core::protocol::panel::ClientMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ClientMessage::decode(text);
    }
});
