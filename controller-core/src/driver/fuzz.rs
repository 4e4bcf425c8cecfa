//! The bodies of the driver fuzz targets (`fuzz/fuzz_targets/driver_response.rs`,
//! `fuzz/fuzz_targets/device_search.rs`). They live here, not in the fuzz
//! crate, so that the property tests of `cargo test` run the very same code
//! on random input (tests/driver_format.rs): the targets cannot rot on a
//! machine without the nightly toolchain, and a crash the fuzzer finds is
//! replayed by calling these functions.
//!
//! Each function takes any bytes and must neither panic nor let a buffer
//! grow past its bound; a broken promise panics (the fuzzer's finding).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use super::discovery::{self, Answer, SearchResponder};
use super::library::Library;
use super::session::{Event, Session};
use super::Driver;

fn drivers() -> &'static [Arc<Driver>] {
    static DRIVERS: OnceLock<Vec<Arc<Driver>>> = OnceLock::new();
    DRIVERS.get_or_init(|| Library::builtin().drivers.into_values().collect())
}

/// What a device on the room network sends to a driver: the first byte
/// picks a library driver, the rest is what the device sends. Its session
/// reads it (framing, login, responses into state), fed in small pieces as
/// a network splits it, and its decoder and response parser read it whole.
pub fn driver_response(data: &[u8]) {
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
    let bound = driver.framing.max_length();
    for (i, chunk) in rest.chunks(17).enumerate() {
        for event in session.receive(chunk, i as u64) {
            if let Event::Unrecognised(m) = event {
                assert!(
                    m.len() <= bound,
                    "{}: an unrecognised message of {} bytes passed the framing's bound of {bound}",
                    driver.id,
                    m.len()
                );
            }
        }
    }
    for payload in driver.framing.decoder().push(rest) {
        assert!(
            payload.len() <= bound,
            "{}: a frame past its bound",
            driver.id
        );
        let _ = driver.parse_payload(&payload, &settings, None);
    }
}

/// A datagram on the search ports (UDP 4352, 1900 and 5353): read as an
/// answer (the controller's side) and as a search (the simulators' side).
/// An answer that is read names a well-formed device.
pub fn device_search(data: &[u8]) {
    for answer in Answer::read_all(data) {
        assert!(data.len() <= discovery::MAX_DATAGRAM);
        match &answer {
            Answer::Pjlink { mac } => assert_eq!(mac.len(), 17, "{mac:?}"),
            Answer::Ssdp(a) => assert!(!a.st.is_empty() || !a.usn.is_empty()),
            Answer::Mdns(a) => {
                assert!(
                    discovery::mdns::service_type(&a.service).as_deref() == Ok(a.service.as_str())
                );
                assert!(!a.instance.is_empty());
            }
        }
    }
    let _ = discovery::read_ssdp_search(data);
    let _ = discovery::mdns::read_query(data);
    for driver in drivers() {
        if let Some(responder) = SearchResponder::for_driver(driver, [10, 0, 0, 9].into(), 80) {
            if let Some(reply) = responder.answer(data) {
                // A simulated device's answer is one the controller reads.
                assert!(Answer::read(&reply).is_some(), "{}: {reply:?}", driver.id);
            }
        }
    }
}
