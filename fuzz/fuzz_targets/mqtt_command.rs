//! The MQTT command parser, as the bridge runs it on every message the
//! broker delivers, and the station's reading of state topics: no topic
//! or payload panics. The first byte splits the
//! input into a topic and a payload.
#![no_main]

use controller_core::protocol::mqtt::{Fleet, Topics};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let (topic, payload) = rest.split_at((split as usize).min(rest.len()));
    let topic = String::from_utf8_lossy(topic);
    let topics = Topics::new("roomctl/{serial}", "RC-FUZZ");
    let _ = topics.parse_command(&format!("roomctl/RC-FUZZ/{topic}"), payload);
    let _ = topics.parse_command(&topic, payload);
    if let Ok(fleet) = Fleet::new("roomctl/{serial}") {
        let _ = fleet.parse(&format!("roomctl/{topic}"));
        let _ = fleet.parse(&topic);
    }
});
