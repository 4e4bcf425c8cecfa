//! The MQTT bridge against a real Mosquitto (started by each test on a free
//! loopback port): state and events out, commands in, reconnection after a
//! broker restart, the last will of a killed controller, Home Assistant
//! discovery, and garbage on the command topics. Loopback only.

use crate::support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use controller_core::engine::Command;
use controller_core::project::{LedMode, Project, Value as VarValue, DEMO_PROJECT_TOML};
use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use roomctl::runtime::serve::Running;
use serde_json::Value;
use support::mosquitto::{Mosquitto, Watcher};
use support::*;

const WAIT: Duration = Duration::from_secs(10);

/// Runs `$test(protocol)` once per MQTT version the bridge speaks, as
/// `$test::v3_1_1` and `$test::v5` (Mosquitto 2 speaks both).
macro_rules! on_both_protocols {
    ($test:ident) => {
        mod $test {
            #[tokio::test]
            async fn v3_1_1() {
                super::$test("3.1.1").await
            }

            #[tokio::test]
            async fn v5() {
                super::$test("5").await
            }
        }
    };
}

/// The `[mqtt]` lines choosing `protocol`, then `extra`.
fn with_protocol(protocol: &str, extra: &str) -> String {
    format!("protocol = \"{protocol}\"\n{extra}")
}

/// Settings with the bridge (and `also`) on, pointed at `broker`.
fn settings(broker: &Mosquitto, name: &str, also: &[&str], extra: &str) -> TestSettings {
    let mut services = vec!["mqtt"];
    services.extend_from_slice(also);
    TestSettings::only(&services).name(name).toml(&format!(
        "[mqtt]\nurl = \"{}\"\nreconnect_max_secs = 1\n{extra}",
        broker.url()
    ))
}

/// The topic prefix of a controller started with `name`.
fn prefix(name: &str) -> String {
    format!("roomctl/RC-TEST-{}", name.replace(' ', "-"))
}

/// A broker, a watcher of the room's whole tree, and the controller `name`
/// (demo project) connected to the broker.
struct Room {
    broker: Mosquitto,
    p: String,
    watcher: Watcher,
    running: Running,
}

async fn room(name: &str, also: &[&str], extra: &str) -> Room {
    let broker = Mosquitto::start().await;
    let p = prefix(name);
    let watcher = Watcher::start(broker.port, &format!("{p}/#")).await;
    let running = settings(&broker, name, also, extra).start_demo().await;
    online(&watcher, &p).await;
    Room {
        broker,
        p,
        watcher,
        running,
    }
}

async fn online(watcher: &Watcher, prefix: &str) {
    let topic = format!("{prefix}/status");
    eventually(WAIT, "the bridge says online", || {
        watcher.last(&topic).as_deref() == Some("online")
    })
    .await;
}

/// The bridge's line on the status board.
fn board_line(running: &Running) -> String {
    running
        .controller
        .status()
        .service("mqtt")
        .map(|s| s.endpoint)
        .unwrap_or_default()
}

fn json_at(watcher: &Watcher, topic: &str) -> Result<Value, String> {
    watcher
        .json(topic)
        .ok_or_else(|| format!("nothing on {topic}; topics: {:?}", watcher.topics()))
}

on_both_protocols!(a_panel_press_reaches_the_state_topic_and_the_event_stream);
async fn a_panel_press_reaches_the_state_topic_and_the_event_stream(protocol: &str) {
    let Room {
        broker: _broker,
        p,
        watcher,
        running,
    } = room("Room A", &["panel"], &with_protocol(protocol, "")).await;

    let purpose = running.controller.status().service("mqtt").unwrap().purpose;
    assert!(
        purpose.starts_with(&format!("MQTT {protocol} bridge")),
        "{purpose}"
    );
    eventually(WAIT, "the info is published", || {
        watcher.json(&format!("{p}/info")).is_some()
    })
    .await;
    let info = json_at(&watcher, &format!("{p}/info")).unwrap();
    assert_eq!(info["name"], "Room A");
    assert_eq!(info["serial"], "RC-TEST-Room-A");
    assert_eq!(info["project"]["name"], "Demo meeting room");
    assert_eq!(info["location"], "Building A, floor 2");
    assert!(info["services"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "panel" && s["state"] == "listening"));
    let mute = format!("{p}/button/mute/state");
    eventually(WAIT, "mute's initial state is retained", || {
        watcher.json(&mute).is_some_and(|v| v["latched"] == false)
    })
    .await;

    let (mut ws, _) = panel::panel(running.addrs.panel.unwrap(), "tablet").await;
    panel::send(
        &mut ws,
        &ClientMessage::Press {
            button: "mute".into(),
        },
    )
    .await;
    panel::send(
        &mut ws,
        &ClientMessage::Release {
            button: "mute".into(),
        },
    )
    .await;
    eventually(WAIT, "mute is latched and lit on the state topic", || {
        let v = json_at(&watcher, &mute)?;
        (v["latched"] == true
            && v["led"]["mode"] == "on"
            && v["led"]["color"] == "red"
            && v["held"] == false)
            .then_some(())
            .ok_or(v.to_string())
    })
    .await;
    let event = format!("{p}/event");
    eventually(WAIT, "the press is on the event topic", || {
        watcher.count(&event) >= 2
    })
    .await;
    let last = json_at(&watcher, &event).unwrap();
    assert_eq!(last["changes"][0]["type"], "released");
    assert_eq!(last["revision"], running.controller.revision());

    // An interlock group's state names its selection by id and option.
    press_and_release(&running.controller, "src_pc");
    eventually(WAIT, "the sources group shows Room PC", || {
        let v = json_at(&watcher, &format!("{p}/group/sources/state"))?;
        (v["selected"] == "src_pc" && v["option"] == "Room PC")
            .then_some(())
            .ok_or(v.to_string())
    })
    .await;

    // A graceful stop says offline (retained), not by the last will.
    running.shutdown().await;
    eventually(WAIT, "the stopped controller is offline", || {
        watcher.last(&format!("{p}/status")).as_deref() == Some("offline")
    })
    .await;
}

on_both_protocols!(commands_from_the_broker_move_the_engine_and_light_the_panel);
async fn commands_from_the_broker_move_the_engine_and_light_the_panel(protocol: &str) {
    let Room {
        broker,
        p,
        watcher: _watcher,
        running,
    } = room(
        "Room B",
        &["panel"],
        &with_protocol(protocol, "commands = true\n"),
    )
    .await;
    let c = running.controller.clone();
    let (mut ws, _) = panel::panel(running.addrs.panel.unwrap(), "tablet").await;

    broker.publish(&format!("{p}/button/mute/press"), "").await;
    loop {
        if let ServerMessage::Step { step, .. } = panel::recv_data(&mut ws).await {
            let lit = step
                .leds()
                .any(|(b, led)| b == "mute" && led.mode == LedMode::On);
            if lit {
                break;
            }
        }
    }
    let s = c.snapshot();
    assert!(s.buttons["mute"].latched, "{s:?}");
    assert!(!s.buttons["mute"].held, "a press without hold is released");

    // "latched": the wanted state; already there: nothing happens.
    let before = c.revision();
    broker
        .publish(&format!("{p}/button/mute/press"), r#"{"latched": true}"#)
        .await;
    broker
        .publish(&format!("{p}/button/mute/press"), r#"{"latched": false}"#)
        .await;
    eventually(WAIT, "mute is switched off by latched:false", || {
        !c.snapshot().buttons["mute"].latched
    })
    .await;
    assert_eq!(
        c.revision(),
        before + 2,
        "one press and one release, no more"
    );

    // Hold and release.
    broker
        .publish(&format!("{p}/button/vol_up/press"), r#"{"hold": true}"#)
        .await;
    eventually(WAIT, "vol_up is held", || {
        c.snapshot().buttons["vol_up"].held
    })
    .await;
    broker
        .publish(&format!("{p}/button/vol_up/release"), "{}")
        .await;
    eventually(WAIT, "vol_up is released", || {
        !c.snapshot().buttons["vol_up"].held
    })
    .await;

    // A select by option (the label Home Assistant shows).
    broker
        .publish(
            &format!("{p}/group/sources/select"),
            r#"{"option": "HDMI 2"}"#,
        )
        .await;
    eventually(WAIT, "HDMI 2 is selected", || {
        c.snapshot().buttons["src_hdmi2"].latched
    })
    .await;
    assert!(
        board_line(&running).contains("0 commands refused"),
        "{}",
        board_line(&running)
    );
    running.shutdown().await;
}

on_both_protocols!(garbage_on_the_command_topics_changes_nothing_and_is_counted);
async fn garbage_on_the_command_topics_changes_nothing_and_is_counted(protocol: &str) {
    let broker = Mosquitto::start().await;
    let p = prefix("Room C");
    let watcher = Watcher::start(broker.port, &format!("{p}/status")).await;
    let running = settings(
        &broker,
        "Room C",
        &[],
        &with_protocol(protocol, "commands = true\n"),
    )
    .start_demo()
    .await;
    online(&watcher, &p).await;
    let before = running.controller.snapshot();
    let big = "x".repeat(4000);
    let garbage = [
        ("button/mute/press", "PRESS"),
        ("button/mute/press", r#"{"hold": "yes"}"#),
        ("button/mute/press", r#"{"colour": "red"}"#),
        ("button/mute/press", "[1,2,3]"),
        ("button/mute/press", big.as_str()),
        ("button/no_such_button/press", "{}"),
        ("button/mute/release", "release!"),
        ("group/sources/select", "{}"),
        ("group/sources/select", r#"{"option": "Betamax"}"#),
        ("group/no_group/select", r#"{"option": "PC"}"#),
        ("button/mute/press", "\u{1}\u{ff}\u{7f}"),
    ];
    for (topic, payload) in garbage {
        broker.publish(&format!("{p}/{topic}"), payload).await;
    }
    let want = format!("{} commands refused", garbage.len());
    eventually(WAIT, "every bad command is counted", || {
        board_line(&running)
            .contains(&want)
            .then_some(())
            .ok_or(board_line(&running))
    })
    .await;
    assert_eq!(
        running.controller.snapshot(),
        before,
        "the engine did not move"
    );
    // And the bridge is still there: a good command works.
    broker
        .publish(&format!("{p}/button/mute/press"), "{}")
        .await;
    eventually(WAIT, "a good command after the garbage works", || {
        running.controller.snapshot().buttons["mute"].latched
    })
    .await;
    running.shutdown().await;
}

#[tokio::test]
async fn commands_are_ignored_when_switched_off() {
    let Room {
        broker,
        p,
        watcher,
        running,
    } = room("Room D", &[], "").await;
    broker
        .publish(&format!("{p}/button/mute/press"), "{}")
        .await;
    broker
        .publish(&format!("{p}/level/volume/set"), r#"{"value": 0}"#)
        .await;
    // The press would be on the event topic within milliseconds; a press of
    // our own afterwards shows the bridge is live and only that one counts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    press_and_release(&running.controller, "all_off");
    eventually(WAIT, "our own press is published", || {
        watcher.count(&format!("{p}/event")) == 2
    })
    .await;
    assert!(!running.controller.snapshot().buttons["mute"].latched);
    assert_eq!(running.controller.snapshot().levels["volume"].value, -30.0);
    running.shutdown().await;
}

on_both_protocols!(a_broker_restart_is_survived_and_the_state_republished);
async fn a_broker_restart_is_survived_and_the_state_republished(protocol: &str) {
    let mut broker = Mosquitto::start().await;
    let p = prefix("Room E");
    let running = settings(&broker, "Room E", &[], &with_protocol(protocol, ""))
        .start_demo()
        .await;
    let watcher = Watcher::start(broker.port, &format!("{p}/#")).await;
    online(&watcher, &p).await;
    eventually(WAIT, "connected on the status board", || {
        board_line(&running).contains(" connected;")
    })
    .await;

    broker.stop().await;
    eventually(WAIT, "the bridge notices the broker is gone", || {
        !board_line(&running).contains(" connected;")
    })
    .await;
    // Changed while the broker is away: nothing is queued for it...
    press_and_release(&running.controller, "mute");
    eventually(WAIT, "the lost events are counted", || {
        board_line(&running)
            .contains("2 dropped")
            .then_some(())
            .ok_or(board_line(&running))
    })
    .await;
    // ...and a fresh broker (persistence off: it knows nothing) gets the
    // whole retained state on reconnection.
    watcher.clear();
    broker.restart().await;
    eventually(
        WAIT,
        "mute's state after the restart is republished",
        || {
            let v = json_at(&watcher, &format!("{p}/button/mute/state"))?;
            (v["latched"] == true).then_some(()).ok_or(v.to_string())
        },
    )
    .await;
    assert_eq!(
        watcher.last(&format!("{p}/status")).as_deref(),
        Some("online")
    );
    assert!(watcher.json(&format!("{p}/info")).is_some());
    assert!(watcher.json(&format!("{p}/button/src_pc/state")).is_some());
    running.shutdown().await;
}

#[tokio::test]
async fn discovery_configs_carry_what_home_assistant_needs_and_follow_the_project() {
    let broker = Mosquitto::start().await;
    let p = prefix("Room F");
    let watcher = Watcher::start(broker.port, "homeassistant/#").await;
    let state = Watcher::start(broker.port, &format!("{p}/button/+/state")).await;
    let running = settings(&broker, "Room F", &["logic"], "")
        .start_demo()
        .await;
    let node = "RC-TEST-Room-F";
    let config =
        |component: &str, object: &str| format!("homeassistant/{component}/{node}/{object}/config");
    // Every config read below (they arrive in no particular order).
    eventually(WAIT, "the configs are published", || {
        [
            ("binary_sensor", "device_projector"),
            ("switch", "mute"),
            ("select", "sources"),
            ("button", "all_off"),
        ]
        .iter()
        .all(|(component, object)| watcher.json(&config(component, object)).is_some())
    })
    .await;

    let switch = json_at(&watcher, &config("switch", "mute")).unwrap();
    for (key, want) in [
        ("name", "Mute".to_string()),
        ("unique_id", format!("{node}_mute")),
        ("state_topic", format!("{p}/button/mute/state")),
        ("command_topic", format!("{p}/button/mute/press")),
        ("availability_topic", format!("{p}/status")),
        ("payload_on", r#"{"latched":true}"#.to_string()),
        ("payload_off", r#"{"latched":false}"#.to_string()),
        ("state_on", "ON".to_string()),
    ] {
        assert_eq!(switch[key], want.as_str(), "{key} in {switch}");
    }
    let device = &switch["device"];
    assert_eq!(device["identifiers"][0], format!("roomctl_{node}").as_str());
    assert_eq!(device["name"], "Room F");
    assert_eq!(device["model"], "roomctl");
    assert_eq!(device["sw_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(device["suggested_area"], "Building A, floor 2");

    let select = json_at(&watcher, &config("select", "sources")).unwrap();
    assert_eq!(
        select["command_topic"],
        format!("{p}/group/sources/select").as_str()
    );
    assert_eq!(
        select["state_topic"],
        format!("{p}/group/sources/state").as_str()
    );
    let options: Vec<&str> = select["options"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(options, ["HDMI 1", "HDMI 2", "Room PC"]);
    let button = json_at(&watcher, &config("button", "all_off")).unwrap();
    assert_eq!(
        button["command_topic"],
        format!("{p}/button/all_off/press").as_str()
    );
    let sensor = json_at(&watcher, &config("binary_sensor", "device_projector")).unwrap();
    assert_eq!(sensor["device_class"], "connectivity");
    assert_eq!(
        sensor["state_topic"],
        format!("{p}/device/projector/state").as_str()
    );
    for c in [&switch, &select, &button, &sensor] {
        assert_eq!(c["availability_topic"], format!("{p}/status").as_str());
        assert_eq!(c["device"]["identifiers"], device["identifiers"]);
    }
    // Interlock buttons are the select's options, not entities of their own.
    assert!(!watcher.topics().iter().any(|t| t.contains("src_pc")));

    // A new project where `all_off` is now `shutdown`: all_off's entity
    // and state are removed (empty retained messages), shutdown appears.
    let text = DEMO_PROJECT_TOML.replace("\"all_off\"", "\"shutdown\"");
    let project = Project::from_toml(&text).unwrap();
    running
        .controller
        .load_project(Arc::new(project), text, "test")
        .unwrap();
    eventually(WAIT, "all_off's config is emptied", || {
        watcher.last(&config("button", "all_off")).as_deref() == Some("")
    })
    .await;
    eventually(WAIT, "shutdown's config is published", || {
        watcher.json(&config("button", "shutdown")).is_some()
    })
    .await;
    assert!(watcher.json(&config("switch", "mute")).is_some());
    assert_eq!(
        state.last(&format!("{p}/button/all_off/state")).as_deref(),
        Some(""),
        "all_off's retained state is cleared"
    );
    running.shutdown().await;
}

on_both_protocols!(a_silent_or_killed_controller_shows_offline_by_its_last_will);
async fn a_silent_or_killed_controller_shows_offline_by_its_last_will(protocol: &str) {
    let broker = Mosquitto::start().await;
    let p = prefix("Room G");
    let status = format!("{p}/status");
    // The least keep-alive each client allows: offline comes sooner.
    let keepalive = if protocol == "5" { 5 } else { 2 };
    let silent_wait = Duration::from_secs(keepalive * 3 + 1);
    let env = settings(
        &broker,
        "Room G",
        &[],
        &with_protocol(protocol, &format!("keepalive_secs = {keepalive}\n")),
    )
    .in_tempdir();
    std::fs::write(env.settings_file(), env.settings.to_toml()).unwrap();
    let watcher = Watcher::start(broker.port, &status).await;
    let mut child = spawn_roomctl(&env.settings_file());
    let pid = child.id().unwrap() as libc::pid_t;
    online(&watcher, &p).await;

    // SIGSTOP: the connection stays open but the controller falls silent,
    // as after a power cut or a pulled cable. Only the keep-alive tells.
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let stopped = Instant::now();
    eventually(silent_wait, "the silent controller is offline", || {
        watcher.last(&status).as_deref() == Some("offline")
    })
    .await;
    let took = stopped.elapsed();
    // MQTT asks the broker to act after 1.5 keep-alives of silence;
    // Debian's Mosquitto 2.0.11 measured 2.3-2.6 keep-alives here (for its
    // own mosquitto_sub too), so the bound is 3 keep-alives and a second.
    let silent_limit = Duration::from_millis(keepalive * 3000 + 1000);
    assert!(
        took <= silent_limit,
        "offline {took:?} after the stop, limit {silent_limit:?}"
    );
    assert!(
        took >= Duration::from_secs(keepalive),
        "offline after {took:?}: sooner than one keep-alive, so not by the keep-alive"
    );

    // Woken up, it reconnects and says online again.
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    online(&watcher, &p).await;

    // SIGKILL: no goodbye; the broker sees the socket close and sends the
    // will at once, well within 1.5 keep-alives.
    child.kill().await.unwrap();
    let killed = Instant::now();
    eventually(WAIT, "the killed controller is offline", || {
        watcher.last(&status).as_deref() == Some("offline")
    })
    .await;
    let took = killed.elapsed();
    let limit = Duration::from_millis(keepalive * 1500);
    assert!(
        took <= limit,
        "offline {took:?} after the kill, limit {limit:?}"
    );
}

#[tokio::test]
async fn only_the_buttons_a_step_changed_are_republished() {
    // Only the buttons a step changed get a state message: a release of a
    // button that is not held is no step, and vol_up's press and release
    // touch vol_up alone.
    let Room {
        broker: _broker,
        p,
        watcher,
        running,
    } = room("Room H", &[], "").await;
    let mute = format!("{p}/button/mute/state");
    eventually(WAIT, "mute's state is there", || watcher.count(&mute) == 1).await;
    release(&running.controller, "mute");
    press_and_release(&running.controller, "vol_up");
    eventually(WAIT, "vol_up's press and release are published", || {
        watcher.count(&format!("{p}/button/vol_up/state")) == 3
    })
    .await;
    assert_eq!(watcher.count(&mute), 1, "mute did not change");
    running.shutdown().await;
}

on_both_protocols!(tls_and_a_password_reach_a_broker_that_demands_them);
async fn tls_and_a_password_reach_a_broker_that_demands_them(protocol: &str) {
    let (broker, ca) = Mosquitto::start_tls("room-t", "t-secret").await;
    let env = TestSettings::only(&["mqtt"]).name("Room T").in_tempdir();
    let password = env.dir.path().join("mqtt-password");
    std::fs::write(&password, "t-secret\n").unwrap();
    let settings = env.settings.clone();
    let tls = |password_file: &std::path::Path| {
        let mut s = settings.clone();
        s.mqtt.url = format!("mqtts://127.0.0.1:{}", broker.port);
        s.mqtt.ca_file = Some(ca.clone());
        s.mqtt.username = "room-t".into();
        s.mqtt.password_file = Some(password_file.to_path_buf());
        s.mqtt.protocol = match protocol {
            "5" => roomctl::config::MqttProtocol::V5,
            _ => roomctl::config::MqttProtocol::V311,
        };
        s
    };
    // The right password over TLS: connected.
    let running = start(tls(&password), roomctl::storage::project_store::demo()).await;
    eventually(WAIT, "connected over TLS with the password", || {
        board_line(&running)
            .contains(" connected;")
            .then_some(())
            .ok_or(board_line(&running))
    })
    .await;
    running.shutdown().await;
    // A wrong password: refused by the broker, said on the status board,
    // and the controller goes on.
    let wrong = env.dir.path().join("wrong");
    std::fs::write(&wrong, "nope\n").unwrap();
    let running = start(tls(&wrong), roomctl::storage::project_store::demo()).await;
    eventually(WAIT, "the refusal is on the status board", || {
        let line = board_line(&running);
        line.contains("connecting (").then_some(()).ok_or(line)
    })
    .await;
    running.shutdown().await;
}

#[tokio::test]
async fn levels_and_variables_go_out_and_faders_come_in() {
    let broker = Mosquitto::start().await;
    let p = prefix("Room L");
    let watcher = Watcher::start(broker.port, &format!("{p}/#")).await;
    let ha = Watcher::start(broker.port, "homeassistant/#").await;
    let running = settings(&broker, "Room L", &[], "commands = true\n")
        .start_demo()
        .await;
    online(&watcher, &p).await;
    let c = running.controller.clone();
    let volume = format!("{p}/level/volume/state");

    // The full retained publish carries every level and variable.
    eventually(WAIT, "volume's initial state is retained", || {
        let v = json_at(&watcher, &volume)?;
        (v["value"] == -30.0
            && v["min"] == -60.0
            && v["max"] == 10.0
            && v["step"] == 0.5
            && v["unit"] == "dB"
            && v["muted"] == false)
            .then_some(())
            .ok_or(v.to_string())
    })
    .await;
    eventually(WAIT, "the meter and the variables are retained", || {
        let mic = json_at(&watcher, &format!("{p}/level/mic/state"))?;
        let state = json_at(&watcher, &format!("{p}/var/projector_state"))?;
        (mic["kind"] == "meter" && mic["muted"].is_null() && state == "unknown")
            .then_some(())
            .ok_or(format!("{mic} {state}"))
    })
    .await;

    // A change from anywhere (here the engine, as a panel or 5009 would).
    c.execute(Command::SetLevel {
        level: "volume".into(),
        value: -12.0,
        source: "test".into(),
    })
    .unwrap();
    c.execute(Command::SetVariable {
        variable: "warmup".into(),
        value: VarValue::Text("30 s".into()),
        source: "test".into(),
    })
    .unwrap();
    eventually(WAIT, "volume -12 dB on its state topic", || {
        let v = json_at(&watcher, &volume)?;
        (v["value"] == -12.0).then_some(()).ok_or(v.to_string())
    })
    .await;
    eventually(WAIT, "warmup on its var topic", || {
        watcher.json(&format!("{p}/var/warmup")) == Some(Value::from("30 s"))
    })
    .await;

    // From the broker: a value (clamped and stepped by the engine) and a mute.
    let set = format!("{p}/level/volume/set");
    broker.publish(&set, r#"{"value": -6.3}"#).await;
    eventually(WAIT, "volume moved to -6.5 dB", || {
        c.snapshot().levels["volume"].value == -6.5
    })
    .await;
    broker.publish(&set, r#"{"muted": true}"#).await;
    eventually(WAIT, "volume muted on the state topic", || {
        let v = json_at(&watcher, &volume)?;
        (v["muted"] == true && v["value"] == -6.5)
            .then_some(())
            .ok_or(v.to_string())
    })
    .await;
    assert_eq!(c.snapshot().levels["volume"].muted, Some(true));
    assert!(board_line(&running).contains("0 commands refused"));

    // A meter is read-only; nonsense is refused; neither moves anything.
    let before = c.revision();
    broker
        .publish(&format!("{p}/level/mic/set"), r#"{"value": -3}"#)
        .await;
    broker.publish(&set, r#"{"value": "loud"}"#).await;
    broker
        .publish(&format!("{p}/level/nothing/set"), r#"{"value": 1}"#)
        .await;
    eventually(WAIT, "three level commands refused", || {
        board_line(&running).contains("3 commands refused")
    })
    .await;
    assert_eq!(c.revision(), before);

    // Home Assistant: the fader is a number, its mute a switch, the meter
    // and the variables sensors.
    let node = "RC-TEST-Room-L";
    let config =
        |component: &str, object: &str| format!("homeassistant/{component}/{node}/{object}/config");
    eventually(WAIT, "the level and variable configs are published", || {
        [
            ("number", "level_volume"),
            ("switch", "level_volume_mute"),
            ("sensor", "level_mic"),
            ("sensor", "var_projector_state"),
        ]
        .iter()
        .all(|(component, object)| ha.json(&config(component, object)).is_some())
    })
    .await;
    let number = json_at(&ha, &config("number", "level_volume")).unwrap();
    assert_eq!(number["min"], -60.0);
    assert_eq!(number["max"], 10.0);
    assert_eq!(number["step"], 0.5);
    assert_eq!(number["unit_of_measurement"], "dB");
    assert_eq!(number["command_topic"], set.as_str());
    assert_eq!(number["state_topic"], volume.as_str());
    assert_eq!(number["value_template"], "{{ value_json.value }}");
    assert_eq!(number["unique_id"], format!("{node}_level_volume").as_str());
    let mute = json_at(&ha, &config("switch", "level_volume_mute")).unwrap();
    assert_eq!(mute["command_topic"], set.as_str());
    let meter = json_at(&ha, &config("sensor", "level_mic")).unwrap();
    assert_eq!(meter["unit_of_measurement"], "dB");
    assert!(meter.get("command_topic").is_none());
    let var = json_at(&ha, &config("sensor", "var_projector_state")).unwrap();
    assert_eq!(
        var["state_topic"],
        format!("{p}/var/projector_state").as_str()
    );
    running.shutdown().await;
}

#[tokio::test]
async fn a_restart_with_a_smaller_project_clears_the_stale_discovery_configs() {
    let broker = Mosquitto::start().await;
    let ha = Watcher::start(broker.port, "homeassistant/#").await;
    let node = "RC-TEST-Room-S";
    let config =
        |component: &str, object: &str| format!("homeassistant/{component}/{node}/{object}/config");
    // Another controller's config is not this node's business.
    broker
        .publish("homeassistant/button/RC-OTHER/all_off/config", "{}")
        .await;

    // Project A (the demo) announces all_off; the controller then stops.
    let running = settings(&broker, "Room S", &[], "").start_demo().await;
    eventually(WAIT, "all_off's config is published", || {
        ha.json(&config("button", "all_off")).is_some()
    })
    .await;
    running.shutdown().await;

    // Project B has no all_off: the broker still holds its retained config
    // until the new run sweeps it away.
    let text = DEMO_PROJECT_TOML.replace("\"all_off\"", "\"shutdown\"");
    let running = settings(&broker, "Room S", &[], "")
        .start(loaded(&text))
        .await;
    eventually(WAIT, "all_off's stale config is emptied", || {
        ha.last(&config("button", "all_off")).as_deref() == Some("")
    })
    .await;
    assert!(ha.json(&config("button", "shutdown")).is_some());
    assert!(ha.json(&config("switch", "mute")).is_some());
    assert!(ha.json(&config("number", "level_volume")).is_some());
    assert_eq!(
        ha.last("homeassistant/button/RC-OTHER/all_off/config")
            .as_deref(),
        Some("{}"),
        "another node's config is left alone"
    );
    // A fresh watcher gets only what the broker still retains.
    let fresh = Watcher::start(broker.port, &format!("homeassistant/+/{node}/+/config")).await;
    eventually(WAIT, "the fresh watcher has the configs", || {
        fresh.json(&config("button", "shutdown")).is_some()
    })
    .await;
    assert!(fresh.last(&config("button", "all_off")).is_none());
    running.shutdown().await;
}

// ---- clients from another address: the broker listens on 127.0.0.2 ----

/// A broker on 127.0.0.2 (the controller and the watchers reach it from
/// 127.0.0.1), a watcher of `filter` there, and the controller `name`
/// running the demo, with `extra` `[mqtt]` lines.
async fn room_at_2(name: &str, filter: &str, extra: &str) -> (Mosquitto, Watcher, String, Running) {
    let broker = Mosquitto::start_on("127.0.0.2").await;
    let p = prefix(name);
    let watcher = Watcher::start_at(broker.host, broker.port, filter).await;
    let running = settings(&broker, name, &[], extra).start_demo().await;
    (broker, watcher, p, running)
}

#[tokio::test]
async fn home_assistant_entity_ids_come_from_the_button_ids() {
    let (_broker, ha, _p, running) = room_at_2("Room H", "homeassistant/#", "").await;
    let node = "RC-TEST-Room-H";
    let config =
        |component: &str, object: &str| format!("homeassistant/{component}/{node}/{object}/config");
    let wanted = [
        ("button", "vol_up", "button.room_h_vol_up"),
        ("button", "vol_down", "button.room_h_vol_down"),
        ("switch", "mute", "switch.room_h_mute"),
        ("select", "sources", "select.room_h_sources"),
        ("number", "level_volume", "number.room_h_level_volume"),
        (
            "switch",
            "level_volume_mute",
            "switch.room_h_level_volume_mute",
        ),
        (
            "sensor",
            "var_projector_state",
            "sensor.room_h_var_projector_state",
        ),
    ];
    eventually(WAIT, "the configs are published", || {
        wanted
            .iter()
            .all(|(c, o, _)| ha.json(&config(c, o)).is_some())
    })
    .await;
    // The two volume keys share the label's first word ("Volume + / -"),
    // which Home Assistant would make `volume` and `volume_2`.
    for (component, object, entity) in wanted {
        let c = json_at(&ha, &config(component, object)).unwrap();
        assert_eq!(c["default_entity_id"], entity, "{c}");
        assert!(c.get("object_id").is_none(), "object_id is gone: {c}");
    }
    let all: Vec<Value> = ha
        .topics()
        .iter()
        .filter(|t| t.contains(node))
        .filter_map(|t| ha.json(t))
        .collect();
    let mut ids: Vec<&str> = all
        .iter()
        .map(|c| {
            c["default_entity_id"]
                .as_str()
                .expect("every config has one")
        })
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "entity ids are unique: {ids:?}");
    running.shutdown().await;
}

#[tokio::test]
async fn retained_state_of_removed_buttons_levels_and_variables_is_cleared() {
    let (broker, state, p, running) = room_at_2("Room R", "roomctl/RC-TEST-Room-R/#", "").await;
    let removed = [
        format!("{p}/button/all_off/state"),
        format!("{p}/level/mic/state"),
        format!("{p}/var/warmup"),
    ];
    eventually(WAIT, "the demo's state is retained", || {
        removed.iter().all(|t| state.json(t).is_some())
    })
    .await;
    running.shutdown().await;

    // The next run's project has no all_off, no mic meter and no warmup
    // variable: what the broker kept of them from the earlier run goes.
    let text = DEMO_PROJECT_TOML
        .replace("\"all_off\"", "\"shutdown\"")
        .replace("\"mic\"", "\"microphone\"")
        .replace("\"warmup\"", "\"countdown\"")
        .replace("{warmup}", "{countdown}");
    let running = settings(&broker, "Room R", &[], "")
        .start(loaded(&text))
        .await;
    for topic in &removed {
        eventually(WAIT, &format!("{topic} is cleared"), || {
            state.last(topic).as_deref() == Some("")
        })
        .await;
    }
    assert!(state.json(&format!("{p}/button/shutdown/state")).is_some());
    assert!(state.json(&format!("{p}/level/microphone/state")).is_some());
    // A fresh client gets only what the broker still retains.
    let fresh = Watcher::start_at(broker.host, broker.port, &format!("{p}/#")).await;
    eventually(WAIT, "the fresh watcher has the new state", || {
        fresh.json(&format!("{p}/var/countdown")).is_some()
    })
    .await;
    for topic in &removed {
        assert!(fresh.last(topic).is_none(), "{topic} is still retained");
    }

    // And within one run: an apply that drops the volume fader and the
    // projector_state variable clears theirs.
    let text = DEMO_PROJECT_TOML
        .replace("\"volume\"", "\"program\"")
        .replace("{volume}", "{program}")
        .replace("\"projector_state\"", "\"display_state\"")
        .replace("{projector_state}", "{display_state}");
    running
        .controller
        .load_project(Arc::new(Project::from_toml(&text).unwrap()), text, "test")
        .unwrap();
    for topic in [
        format!("{p}/level/volume/state"),
        format!("{p}/var/projector_state"),
    ] {
        eventually(WAIT, &format!("{topic} is cleared"), || {
            state.last(&topic).as_deref() == Some("")
        })
        .await;
    }
    running.shutdown().await;
}

#[tokio::test]
async fn refused_commands_are_logged_at_most_once_per_interval() {
    let (broker, _status, p, running) = room_at_2(
        "Room L",
        "roomctl/RC-TEST-Room-L/status",
        "commands = true\n",
    )
    .await;
    eventually(WAIT, "connected on the status board", || {
        board_line(&running).contains(" connected;")
    })
    .await;
    let bad = [
        ("button/mute/press", "PRESS"),
        ("button/no_such_button/press", "{}"),
        ("group/sources/select", r#"{"option": "Betamax"}"#),
        ("level/mic/set", r#"{"value": 1}"#),
        // Control characters must not reach the log raw.
        ("button/mute/press", "{\"\u{1b}[31mred\": 1}"),
    ];
    let rounds = 3;
    for _ in 0..rounds {
        for (topic, payload) in bad {
            broker.publish(&format!("{p}/{topic}"), payload).await;
        }
    }
    let total = bad.len() * rounds;
    let lines = || -> Vec<String> {
        running
            .controller
            .log()
            .recent(500)
            .into_iter()
            .filter(|l| l.contains("mqtt:") && l.contains("refused"))
            .collect()
    };
    // Every refusal is accounted for: one line for the first, then one
    // line with the count of the others once the interval is over.
    let counted = |lines: &[String]| -> usize {
        lines
            .iter()
            .map(|l| {
                if l.contains("refused a command:") {
                    1
                } else {
                    l.split("mqtt: ")
                        .nth(1)
                        .and_then(|r| r.split(' ').next())
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0)
                }
            })
            .sum()
    };
    eventually(
        Duration::from_secs(30),
        "every refusal is logged or counted",
        || {
            let l = lines();
            (counted(&l) == total)
                .then_some(())
                .ok_or(format!("{l:#?}"))
        },
    )
    .await;
    let l = lines();
    assert!(
        l.len() < total,
        "rate-limited: fewer lines than refusals: {l:#?}"
    );
    assert!(
        l[0].contains(
            "refused a command: \"roomctl/RC-TEST-Room-L/button/mute/press\": bad payload"
        ),
        "{l:#?}"
    );
    assert!(
        l.iter().any(|x| x.contains("more commands refused")),
        "{l:#?}"
    );
    assert!(
        l.iter().all(|x| !x.contains('\u{1b}')),
        "no raw escape in the log: {l:#?}"
    );
    assert!(board_line(&running).contains(&format!("{total} commands refused")));
    running.shutdown().await;
}

/// A driver device's state by name (item 8 of issue 22): the demo's
/// projector on a simulated PJLink projector; `device/projector/power`
/// carries its power as the projector reports it, a Home Assistant sensor
/// reads that topic, and a press of the display key changes it.
#[tokio::test]
async fn a_driver_devices_state_is_published_by_name_with_a_home_assistant_sensor() {
    let sim = simulate_driver("pjlink").await;
    let broker = Mosquitto::start().await;
    let name = "Room D";
    let p = prefix(name);
    let watcher = Watcher::start(broker.port, &format!("{p}/#")).await;
    let ha = Watcher::start(broker.port, "homeassistant/#").await;
    let text = DEMO_PROJECT_TOML.replace("127.0.0.1:4352", &sim.addr.to_string());
    let running = settings(&broker, name, &["logic"], "")
        .start(loaded(&text))
        .await;
    let power = format!("{p}/device/projector/power");
    let c = running.controller.clone();
    let simulated = || {
        sim.state()
            .get("power")
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    eventually(WAIT, "the projector's power is published", || {
        (watcher.last(&power) == Some(simulated()))
            .then_some(())
            .ok_or(format!(
                "{:?}, simulated {:?}; {:?}",
                watcher.last(&power),
                simulated(),
                c.status().devices()
            ))
    })
    .await;
    let first = simulated();
    let node = "RC-TEST-Room-D";
    let config = format!("homeassistant/sensor/{node}/device_projector_power/config");
    eventually(WAIT, "its sensor is announced", || {
        ha.json(&config).is_some()
    })
    .await;
    let sensor = ha.json(&config).unwrap();
    assert_eq!(sensor["state_topic"], Value::String(power.clone()));
    assert_eq!(sensor["name"], "Projector power");

    // The display key switches the projector (on from standby, off when it
    // is on, cooling or warming): its new power is published.
    press_and_release(&running.controller, "display_power");
    eventually(WAIT, "the projector's new power is published", || {
        let now = simulated();
        now != first && watcher.last(&power) == Some(now)
    })
    .await;
    running.shutdown().await;
    sim.shutdown().await;
}
