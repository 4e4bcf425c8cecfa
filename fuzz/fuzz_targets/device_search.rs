//! Datagrams on the device search ports (PJLink UDP 4352, SSDP UDP 1900,
//! mDNS UDP 5353: DNS packets read by controller-core's `discovery::mdns`),
//! read as answers (the controller) and as searches (the simulators): no
//! input panics. The body is `controller_core::driver::fuzz::device_search`,
//! which the property tests of `cargo test -p controller-core` also run.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    controller_core::driver::fuzz::device_search(data);
});
