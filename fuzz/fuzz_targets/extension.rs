//! The extension-bus (7979) decoder: no input panics; round trip holds.
#![no_main]

use controller_core::protocol::extension::ExtensionMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ExtensionMessage::decode(data) {
        assert_eq!(ExtensionMessage::decode(&m.encode()).unwrap(), m);
    }
});
