//! The driver format's contract, from the outside: a malformed driver is
//! refused with the line and field at fault; commands check their
//! parameters; the response parser and the framing survive any input; a
//! command's bytes read back (by the simulator) as the same command.

use std::collections::BTreeMap;
use std::sync::Arc;

use controller_core::driver::library::Library;
use controller_core::driver::session::{Event, Phase, Session};
use controller_core::driver::simulator::{Fault, Output, SimDevice};
use controller_core::driver::{CommandError, Driver, Kind, Value};
use proptest::prelude::*;

const MINIMAL: &str = r#"
[driver]
name = "Test"
maker = "Test"
models = ["T1"]
category = "display"
document = "Test protocol"
document_version = "1"

[transport]
type = "tcp"
port = 4000

[framing]
type = "line"
terminator = "\r"

[state.power]
type = "enum"
values = { off = "0", on = "1" }

[commands.power]
send = "POWER {value}"
params.value = { type = "enum", values = { off = "0", on = "1" } }
sets = { power = "{value}" }
reply = ["POWER={power}"]

[commands.volume]
send = "VOL {level}"
params.level = { type = "int", min = 0, max = 100 }

[[responses]]
format = "POWER={power}"
"#;

fn errors_of(text: &str) -> Vec<(usize, String, String)> {
    match Driver::from_toml("test.toml", text) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .errors
            .into_iter()
            .map(|e| (e.line, e.path, e.message))
            .collect(),
    }
}

#[test]
fn a_minimal_driver_validates() {
    let d = Driver::from_toml("test.toml", MINIMAL).expect("valid");
    assert_eq!(d.id, "test");
    assert_eq!(d.commands.len(), 2);
}

#[test]
fn an_unknown_slot_is_located_at_its_template() {
    let text = MINIMAL.replace("send = \"VOL {level}\"", "send = \"VOL {levl}\"");
    let errors = errors_of(&text);
    let line = text.lines().position(|l| l.contains("VOL {levl}")).unwrap() + 1;
    assert!(
        errors
            .iter()
            .any(|(l, p, m)| *l == line && p == "commands.volume.send" && m.contains("levl")),
        "{errors:?}"
    );
}

#[test]
fn an_unknown_field_and_a_bad_type_are_located() {
    let text = MINIMAL.replace("port = 4000", "port = 4000\nspeed = 9600");
    let errors = errors_of(&text);
    assert!(
        errors
            .iter()
            .any(|(l, p, _)| *l == 13 && p == "transport.speed"),
        "{errors:?}"
    );

    let text = MINIMAL.replace("port = 4000", "port = \"four\"");
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, 12);
}

#[test]
fn a_sets_that_does_not_fit_its_state_is_refused() {
    let text = MINIMAL.replace(
        "params.value = { type = \"enum\", values = { off = \"0\", on = \"1\" } }",
        "params.value = { type = \"enum\", values = { off = \"0\", standby = \"1\" } }",
    );
    let errors = errors_of(&text);
    assert!(
        errors
            .iter()
            .any(|(_, p, m)| p == "commands.power.sets.power" && m.contains("does not fit")),
        "{errors:?}"
    );
}

#[test]
fn a_binary_framing_without_an_end_is_refused() {
    let text = MINIMAL.replace(
        "type = \"line\"\nterminator = \"\\r\"",
        "type = \"binary\"\nheader = \"AA\"",
    );
    let errors = errors_of(&text);
    assert!(
        errors
            .iter()
            .any(|(_, p, m)| p == "framing" && m.contains("length byte or an end byte")),
        "{errors:?}"
    );
}

#[test]
fn datagram_framing_needs_udp_and_takes_no_terminator() {
    let udp = MINIMAL.replace("type = \"tcp\"", "type = \"udp\"").replace(
        "type = \"line\"\nterminator = \"\\r\"",
        "type = \"datagram\"",
    );
    let d = Driver::from_toml("test.toml", &udp).expect("datagram framing over udp");
    assert_eq!(
        d.framing,
        controller_core::driver::Framing::Datagram { max_length: 4096 }
    );
    // No terminator is added: the datagram is the message.
    let on = BTreeMap::from([("value".to_string(), Value::Text("on".to_string()))]);
    assert_eq!(
        d.encode("power", &on, &BTreeMap::new()).unwrap(),
        b"POWER 1"
    );

    let tcp = udp.replace("type = \"udp\"", "type = \"tcp\"");
    let line = tcp
        .lines()
        .position(|l| l == "type = \"datagram\"")
        .unwrap()
        + 1;
    let errors = errors_of(&tcp);
    assert!(
        errors.iter().any(|(l, p, m)| *l == line
            && p == "framing.type"
            && m.contains("needs transport type = \"udp\"")
            && m.contains("tcp")),
        "{errors:?}"
    );

    let ended = udp.replace(
        "type = \"datagram\"",
        "type = \"datagram\"\nterminator = \"\\r\"",
    );
    let errors = errors_of(&ended);
    assert!(
        errors.iter().any(|(_, p, m)| p == "framing.terminator"
            && m.contains("datagram framing has no terminator")),
        "{errors:?}"
    );
}

#[test]
fn a_file_name_that_is_not_an_id_is_refused() {
    let e = Driver::from_toml("My Driver.toml", MINIMAL).unwrap_err();
    assert!(e.errors[0].message.contains("not a driver id"), "{e}");
}

#[test]
fn commands_check_their_parameters() {
    let d = Driver::from_toml("test.toml", MINIMAL).unwrap();
    let none = BTreeMap::new();
    let p = |k: &str, v: Value| BTreeMap::from([(k.to_string(), v)]);
    assert_eq!(
        d.encode("volume", &p("level", Value::Int(40)), &none)
            .unwrap(),
        b"VOL 40\r"
    );
    assert!(matches!(
        d.encode("volume", &p("level", Value::Int(101)), &none),
        Err(CommandError::BadParam { .. })
    ));
    assert!(matches!(
        d.encode("volume", &p("gain", Value::Int(1)), &none),
        Err(CommandError::UnknownParam { .. })
    ));
    assert!(matches!(
        d.encode("reboot", &none, &none),
        Err(CommandError::UnknownCommand { .. })
    ));
    assert!(matches!(
        d.encode("power", &p("value", Value::Text("dim".into())), &none),
        Err(CommandError::BadParam { .. })
    ));
}

#[test]
fn byte_stuffing_and_http_drivers_are_checked_with_located_errors() {
    let binary = MINIMAL
        .replace(
            "[framing]\ntype = \"line\"\nterminator = \"\\r\"",
            "[framing]\ntype = \"binary\"\nheader = \"02\"\nterminator = \"03\"\nescape = { marker = \"1B\", add = \"80\", bytes = [\"03\", \"1B\"] }",
        )
        .replace("send = \"POWER {value}\"", "send = \"50 {value}\"")
        .replace("reply = [\"POWER={power}\"]", "reply = [\"51 {power}\"]")
        .replace("send = \"VOL {level}\"", "send = \"56 {level}\"")
        .replace("format = \"POWER={power}\"", "format = \"51 {power}\"");
    let errors = errors_of(&binary);
    let e = errors
        .iter()
        .find(|(_, path, _)| path == "framing.escape.bytes")
        .unwrap_or_else(|| panic!("{errors:?}"));
    assert!(e.0 > 0 && e.2.contains("0x02"), "{e:?}");
    let fixed = binary.replace(
        "bytes = [\"03\", \"1B\"]",
        "bytes = [\"02\", \"03\", \"1B\"]",
    );
    assert!(errors_of(&fixed).is_empty(), "{:?}", errors_of(&fixed));
    let with_length = fixed.replace("terminator = \"03\"", "length = { offset = 1 }");
    assert!(errors_of(&with_length)
        .iter()
        .any(|(_, path, m)| path == "framing.escape" && m.contains("end byte")));

    let http = MINIMAL
        .replace("type = \"tcp\"\nport = 4000", "type = \"http\"\nport = 80")
        .replace(
            "send = \"POWER {value}\"",
            "send = \"GET /power?set={value}\"",
        );
    let errors = errors_of(&http);
    let e = errors
        .iter()
        .find(|(_, path, _)| path == "commands.volume.send")
        .unwrap_or_else(|| panic!("{errors:?}"));
    assert!(e.0 > 0 && e.2.contains("not an HTTP request line"), "{e:?}");
    assert!(!errors.iter().any(|(_, p, _)| p == "commands.power.send"));
}

#[test]
fn a_text_parameter_cannot_smuggle_a_second_command() {
    let text = MINIMAL.replace(
        "[[responses]]",
        "[commands.name]\nsend = \"NAME {name}\"\nparams.name = { type = \"text\" }\n\n[[responses]]",
    );
    let d = Driver::from_toml("test.toml", &text).unwrap();
    let p = BTreeMap::from([("name".to_string(), Value::Text("x\rPOWER 0".into()))]);
    assert!(d.encode("name", &p, &BTreeMap::new()).is_err());
}

#[test]
fn the_simulator_refuses_a_login_when_told_to() {
    let lib = Library::builtin();
    let driver = Arc::clone(lib.get("extron-sis").expect("in the library"));
    let settings = BTreeMap::from([("password".to_string(), Value::Text("pw".into()))]);
    let mut sim = SimDevice::new(Arc::clone(&driver), settings.clone(), Fault::RefuseLogin);
    let mut session = Session::new(driver, settings);
    session.connected(0);
    let mut to_session = sim.connect();
    let mut refused = false;
    for _ in 0..8 {
        let mut to_sim = Vec::new();
        for out in to_session.drain(..) {
            if let Output::Send { bytes, .. } = out {
                for e in session.receive(&bytes, 0) {
                    match e {
                        Event::Send(b) => to_sim.push(b),
                        Event::LoginRefused => refused = true,
                        _ => {}
                    }
                }
            }
        }
        for b in to_sim {
            to_session.extend(sim.receive(&b));
        }
    }
    assert!(refused);
    assert_eq!(session.phase(), Phase::Refused);
}

#[test]
fn a_devices_poll_secs_replaces_every_poll_interval_of_its_driver() {
    let lib = Library::builtin();
    let driver = Arc::clone(lib.get("samsung-mdc").unwrap());
    let settings = driver.resolve_settings(&BTreeMap::new()).unwrap();
    // samsung-mdc polls every 5, 10 and 10 s.
    let intervals: Vec<u32> = driver.polls.iter().map(|p| p.every_secs).collect();
    assert_eq!(intervals, vec![5, 10, 10]);
    let polls = driver.polls.len();

    let mut own = Session::new(Arc::clone(&driver), settings.clone());
    let mut every_second = Session::new(Arc::clone(&driver), settings).with_poll_secs(Some(1));
    own.connected(0);
    every_second.connected(0);
    let (mut sent_own, mut sent_fast) = (0, 0);
    for ms in (0..=60_000).step_by(100) {
        sent_own += own.due_polls(ms).len();
        sent_fast += every_second.due_polls(ms).len();
    }
    // Over 60 s (both ends counted): 13 + 7 + 7 at the driver's intervals,
    // 61 of each poll at one second.
    assert_eq!(sent_own, 13 + 7 + 7);
    assert_eq!(sent_fast, 61 * polls);
    assert_eq!(every_second.next_poll_ms(), Some(61_000));
}

#[test]
fn a_silent_simulator_leaves_the_device_down_after_its_liveness_timeout() {
    let lib = Library::builtin();
    let driver = Arc::clone(lib.get("samsung-mdc").unwrap());
    let settings = driver.resolve_settings(&BTreeMap::new()).unwrap();
    let mut sim = SimDevice::new(Arc::clone(&driver), settings.clone(), Fault::Silent);
    let mut session = Session::new(Arc::clone(&driver), settings);
    session.connected(0);
    sim.connect();
    for poll in session.due_polls(0) {
        assert!(sim.receive(&poll).is_empty());
    }
    assert!(session.alive(1000));
    let timeout = u64::from(driver.liveness_secs.unwrap()) * 1000;
    assert!(!session.alive(timeout + 1));
}

#[test]
fn a_garbled_answer_is_dropped_and_counted_not_read() {
    let lib = Library::builtin();
    let driver = Arc::clone(lib.get("samsung-mdc").unwrap());
    let settings = driver.resolve_settings(&BTreeMap::new()).unwrap();
    let mut sim = SimDevice::new(Arc::clone(&driver), settings.clone(), Fault::Garbled);
    let mut session = Session::new(Arc::clone(&driver), settings);
    session.connected(0);
    sim.connect();
    let cmd = session
        .command(
            "power",
            &BTreeMap::from([("value".to_string(), Value::Text("on".into()))]),
        )
        .unwrap();
    let mut states = 0;
    for out in sim.receive(&cmd) {
        if let Output::Send { bytes, .. } = out {
            states += session
                .receive(&bytes, 0)
                .iter()
                .filter(|e| matches!(e, Event::State { .. }))
                .count();
        }
    }
    assert_eq!(states, 0);
    assert!(session.dropped().bad_frames > 0);
}

fn library() -> Vec<Arc<Driver>> {
    Library::builtin().drivers.into_values().collect()
}

fn value_in(kind: &Kind, pick: u64) -> Value {
    match kind {
        Kind::Int { min, max } => {
            let lo = min.unwrap_or(-1000);
            let hi = max.unwrap_or(1000);
            Value::Int(lo + (pick % ((hi - lo) as u64 + 1)) as i64)
        }
        Kind::Number { min, max } => {
            let lo = min.unwrap_or(-100.0);
            let hi = max.unwrap_or(100.0);
            // Whole tenths, as the drivers' formats keep them.
            let steps = ((hi - lo) * 10.0) as u64;
            Value::Number(lo + (pick % (steps + 1)) as f64 / 10.0)
        }
        Kind::Enum(values) => Value::Text(values[(pick % values.len() as u64) as usize].0.clone()),
        Kind::Text { max_length, .. } => {
            let len = (pick % (*max_length as u64).min(12)) as usize;
            Value::Text("abcdefghijkl"[..len].to_string())
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// No input panics any driver's session; its buffers stay bounded.
    #[test]
    fn any_bytes_from_a_device_are_read_safely(
        pick in any::<usize>(),
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..12),
    ) {
        let drivers = library();
        let driver = &drivers[pick % drivers.len()];
        let settings = driver.settings.iter().map(|s| (s.name.clone(), s.default.clone().unwrap_or_else(|| s.kind.sample()))).collect::<BTreeMap<_, _>>();
        let mut session = Session::new(Arc::clone(driver), settings.clone());
        session.connected(0);
        for (i, c) in chunks.iter().enumerate() {
            for e in session.receive(c, i as u64) {
                if let Event::Unrecognised(m) = e {
                    prop_assert!(m.len() <= driver.framing.max_length());
                }
            }
        }
    }

    /// The driver fuzz target's body (`driver::fuzz::driver_response`,
    /// fuzz/fuzz_targets/driver_response.rs) on random input: what the
    /// fuzzer runs, `cargo test` runs too.
    #[test]
    fn the_driver_response_fuzz_target_holds(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        controller_core::driver::fuzz::driver_response(&data);
    }

    /// The device search fuzz target's body on random input, and on
    /// answers built around random text.
    #[test]
    fn the_device_search_fuzz_target_holds(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        text in "[ -~\r\n]{0,80}",
    ) {
        use controller_core::driver::fuzz::device_search;
        device_search(&data);
        device_search(format!("%2ACKN={text}\r").as_bytes());
        device_search(format!("HTTP/1.1 200 OK\r\nST: {text}\r\n\r\n").as_bytes());
        device_search(format!("M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nST: {text}\r\n\r\n").as_bytes());
        // An mDNS answer around the text, whole and with random bytes
        // written over part of it.
        use controller_core::driver::discovery::mdns::{query, MdnsResponder};
        let device = MdnsResponder {
            service: "_ssc._udp".into(),
            instance: text.chars().filter(|c| !c.is_control()).take(60).collect::<String>() + "x",
            host: "device.local".into(),
            port: 45,
            address: [10, 0, 0, 9].into(),
            txt: vec![format!("t={}", text.len())],
        };
        let mut reply = device.answer(&query(&["_ssc._udp".to_string()])).unwrap();
        device_search(&reply);
        let at = data.len() % reply.len();
        let n = data.len().min(reply.len() - at);
        reply[at..at + n].copy_from_slice(&data[..n]);
        device_search(&reply);
    }

    /// Every command of every driver, with any valid parameters, encodes;
    /// its simulator reads the bytes back as the same command and the same
    /// parameters (the templates are their own inverse).
    #[test]
    fn every_command_reads_back_as_itself(pick in any::<usize>(), which in any::<usize>(), seed in any::<u64>()) {
        let drivers = library();
        let driver = &drivers[pick % drivers.len()];
        let command = &driver.commands[which % driver.commands.len()];
        let settings = driver.settings.iter().map(|s| (s.name.clone(), s.default.clone().unwrap_or_else(|| s.kind.sample()))).collect::<BTreeMap<_, _>>();
        let params: BTreeMap<String, Value> = command
            .params
            .iter()
            .enumerate()
            .map(|(i, (n, k))| (n.clone(), value_in(k, seed.rotate_left(i as u32 * 7))))
            .collect();
        let frame = driver.encode(&command.name, &params, &settings).unwrap();
        // Commands are read as the device reads them.
        let payload = driver.framing.mirrored().unwrap(&frame).expect("one whole frame");
        let read = command.matcher.read(&payload).expect("the command's own template reads it");
        for (name, v) in &params {
            let got = read.get(name).unwrap();
            match (v, got) {
                (Value::Number(a), Value::Number(b)) => prop_assert!((a - b).abs() < 1e-6),
                _ => prop_assert_eq!(v, got),
            }
        }
    }
}
