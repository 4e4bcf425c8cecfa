//! The central-control (TCP 5009) request decoder, as the controller runs
//! it on every line: no input panics; round trip holds.
#![no_main]

use controller_core::protocol::central::{Request, DEFAULT_MAX_LINE_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Request::decode(data, DEFAULT_MAX_LINE_BYTES) {
        let line = r.encode();
        assert_eq!(
            Request::decode(&line[..line.len() - 1], usize::MAX).unwrap(),
            r
        );
    }
});
