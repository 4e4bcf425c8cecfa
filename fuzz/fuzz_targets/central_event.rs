//! The central-control event decoder that clients (`roomctl press`) run on
//! what a controller sends: no input panics.
#![no_main]

use controller_core::protocol::central::Event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Event::decode(data);
});
