//! The lookup (UDP 8000) decoder: no input panics; whatever decodes,
//! re-encodes to something that decodes again.
#![no_main]

use controller_core::protocol::lookup::LookupMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = LookupMessage::decode(data) {
        // Re-encoding may drop unknown fields and cap the service list, so
        // only decodability is checked.
        assert!(LookupMessage::decode(&m.encode()).is_ok());
    }
});
