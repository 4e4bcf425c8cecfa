//! The live-update (UDP 8001) decoder: no input panics; round trip holds.
#![no_main]

use controller_core::protocol::live_broadcast::LiveMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = LiveMessage::decode(data) {
        assert_eq!(LiveMessage::decode(&m.encode()).unwrap(), m);
    }
});
