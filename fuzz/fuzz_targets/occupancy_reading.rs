//! A sensor's payload as the MQTT bridge hands it over (docs/occupancy.md):
//! read with each way a source may be configured, no input panics, and a
//! source with only `occupied_values` always decides.
#![no_main]

use controller_core::logic::occupancy::reading;
use controller_core::project::PresenceSource;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let payload = String::from_utf8_lossy(data);
    let plain = PresenceSource {
        variable: None,
        mqtt_topic: Some("site/room/pir".into()),
        json_field: None,
        occupied_values: Vec::new(),
        vacant_values: Vec::new(),
        occupied_above: None,
    };
    let _ = reading(&plain, &payload);
    let json = PresenceSource {
        json_field: Some("state.occupancy".into()),
        occupied_above: Some(0.5),
        ..plain.clone()
    };
    let _ = reading(&json, &payload);
    let own = PresenceSource {
        occupied_values: vec!["motion".into()],
        ..plain
    };
    if payload.len() <= controller_core::logic::occupancy::MAX_PAYLOAD {
        assert!(reading(&own, &payload).is_some());
    }
});
