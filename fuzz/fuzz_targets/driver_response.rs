//! What a device on the room network sends to a driver: every library
//! driver's session reads arbitrary bytes (framing, login, responses into
//! state) without panicking, and its buffers stay bounded. The body is
//! `controller_core::driver::fuzz::driver_response`, which the property
//! tests of `cargo test -p controller-core` also run.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    controller_core::driver::fuzz::driver_response(data);
});
