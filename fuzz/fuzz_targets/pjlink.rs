//! PJLink lines (what a projector on the room network sends back, and what
//! the simulator reads): no input panics either decoder.
#![no_main]

use controller_core::protocol::pjlink::{Request, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Request::decode(data);
    let _ = Response::decode(data);
});
