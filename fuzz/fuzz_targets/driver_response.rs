//! What a device on the room network sends to a driver: every library
//! driver's session reads arbitrary bytes (framing, login, responses into
//! state) without panicking, and its buffers stay bounded.
#![no_main]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use controller_core::driver::library::Library;
use controller_core::driver::session::Session;
use controller_core::driver::Driver;
use libfuzzer_sys::fuzz_target;

fn drivers() -> &'static Vec<Arc<Driver>> {
    static DRIVERS: OnceLock<Vec<Arc<Driver>>> = OnceLock::new();
    DRIVERS.get_or_init(|| Library::builtin().drivers.into_values().collect())
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let drivers = drivers();
    let driver = &drivers[usize::from(pick) % drivers.len()];
    let settings = driver
        .settings
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.default.clone().unwrap_or_else(|| s.kind.sample()),
            )
        })
        .collect::<BTreeMap<_, _>>();
    let mut session = Session::new(Arc::clone(driver), settings.clone());
    session.connected(0);
    // Fed in small pieces, as a network splits it.
    for (i, chunk) in rest.chunks(17).enumerate() {
        let _ = session.receive(chunk, i as u64);
    }
    for payload in driver.framing.decoder().push(rest) {
        let _ = driver.parse_payload(&payload, &settings, None);
    }
});
