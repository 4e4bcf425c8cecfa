//! The central station against real controllers on loopback: it finds the
//! rooms on its list, shows them on its grid, presses through to a room,
//! raises an `offline` alert (with its webhook) when a controller stops and
//! clears it when it comes back, and a hostile controller neither crashes
//! nor stalls it; with `transport = "mqtt"` the same through Mosquitto.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use controller_core::project::LedMode;
use roomctl::auth::Role;
use roomctl::config::{Settings, StationRoom, StationSettings, StationTransport, Webhook};
use roomctl::serve::Running;
use roomctl::station::registry::index;
use roomctl::station::{self, RunningStation};
use support::http::{cookie_of, get_with_cookie, post_form, raw};
use support::mosquitto::Mosquitto;
use support::netns::{in_namespace, Loopback};
use support::{eventually, spawn_roomctl, TestSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PATIENCE: Duration = Duration::from_secs(30);
const STATION_USER: &str = "station";
const STATION_PW: &str = "station words";
const OPS: &str = "ops";
const OPS_PW: &str = "ops words";

/// A controller with central control only, the station's account on it.
async fn controller(name: &str, port: u16) -> Running {
    controller_with(&["central"], name, port).await
}

async fn controller_with(services: &[&str], name: &str, port: u16) -> Running {
    TestSettings::only(services)
        .name(name)
        .user(STATION_USER, Role::Operator, STATION_PW)
        .edit(|s| s.central.port = port)
        .start_demo()
        .await
}

/// Station settings: web on any free port, the station account, `rooms`
/// on the static list, the history in `dir`; then `edit`.
fn station_settings(
    rooms: &[SocketAddr],
    dir: &Path,
    edit: impl FnOnce(&mut StationSettings),
) -> Settings {
    TestSettings::only(&[])
        .user(OPS, Role::Admin, OPS_PW)
        .edit(|s| {
            let st = &mut s.station;
            st.port = 0;
            st.account = STATION_USER.into();
            st.database = dir.join("station.sqlite");
            st.rooms = rooms
                .iter()
                .map(|a| StationRoom {
                    address: *a,
                    name: String::new(),
                })
                .collect();
            edit(st);
        })
        .build()
}

/// A station watching `rooms` (no lookup), its `offline` alerts after 1 s
/// posted to `hook`.
async fn station(rooms: &[SocketAddr], hook: SocketAddr, dir: &Path) -> RunningStation {
    let settings = station_settings(rooms, dir, |st| {
        st.lookup_broadcast.clear();
        st.offline_after_secs = 1;
        st.reconnect_max_secs = 1;
        st.webhooks = vec![Webhook {
            url: format!("http://{hook}/alerts"),
            kinds: vec!["offline".into()],
        }];
    });
    station::start(&settings, STATION_PW.into(), dir)
        .await
        .expect("the station starts")
}

/// A webhook receiver on loopback: keeps each POST's body.
async fn receiver() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then Content-Length bytes of body.
                loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length: ")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            keep.lock().unwrap().push(body.to_string());
                            let _ = s
                                .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                                .await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, got)
}

async fn log_in(web: SocketAddr) -> String {
    let (status, answer) =
        post_form(web, "/login", &format!("user={OPS}&password=ops+words")).await;
    assert_eq!(status, 303, "{answer}");
    cookie_of(&answer)
}

/// Taps `mute` in a room through the station's web page, as an operator.
async fn tap_mute(web: SocketAddr, cookie: &str, room: &str) {
    let body = "button=mute&action=tap";
    let (status, answer) = raw(
        web,
        &format!("POST /room/{room}/press HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
    )
    .await;
    assert_eq!(status, 204, "{answer}");
}

/// Is an alert of `kind` open for the room `key`?
fn open_alert(st: &RunningStation, kind: &str, key: &str) -> bool {
    let open = st.station.alerts.list(true, 10);
    open.iter().any(|a| a.kind == kind && a.room_key == key)
}

fn online(st: &RunningStation) -> usize {
    st.station
        .registry
        .cards(&Default::default())
        .iter()
        .filter(|c| c.online)
        .count()
}

#[tokio::test]
async fn watches_rooms_presses_through_and_alerts_when_one_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let a = controller("Room A", 0).await;
    let b = controller("Room B", 0).await;
    let (a_addr, b_addr) = (a.addrs.central.unwrap(), b.addrs.central.unwrap());
    let (hook, posts) = receiver().await;
    let st = station(&[a_addr, b_addr], hook, dir.path()).await;

    eventually(PATIENCE, "both rooms online", || online(&st) == 2).await;
    let cards = st.station.registry.cards(&Default::default());
    assert_eq!(cards[0].name, "Room A");
    assert_eq!(cards[0].serial, "RC-TEST-Room-A");
    assert_eq!(cards[0].location, "Building A, floor 2");
    assert_eq!(cards[1].project_name, "Demo meeting room");

    // The grid and the room page, as a logged-in operator sees them.
    let cookie = log_in(st.addr).await;
    let (status, page) = get_with_cookie(st.addr, "/", &cookie).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Room A") && page.contains("2 of 2 rooms online"),
        "{page}"
    );
    let (status, page) = get_with_cookie(st.addr, "/room/r0", &cookie).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-button=\"mute\""), "{page}");
    let (status, _) =
        get_with_cookie(st.addr, "/?search=Room+B&page=0", "roomctl_session=forged").await;
    assert_eq!(status, 303, "no page without a session");

    // A press through the station lights the LED in room A.
    tap_mute(st.addr, &cookie, "r0").await;
    assert_eq!(
        a.controller.snapshot().led("mute").unwrap().mode,
        LedMode::On
    );
    assert_eq!(
        b.controller.snapshot().led("mute").unwrap().mode,
        LedMode::Off
    );
    eventually(PATIENCE, "the card lists the lit button", || {
        st.station
            .registry
            .card(0)
            .is_some_and(|c| c.lit.contains(&"Mute".to_string()))
    })
    .await;

    // Room B goes away: an offline alert, and its webhook.
    b.shutdown().await;
    eventually(PATIENCE, "an offline alert for room B", || {
        open_alert(&st, "offline", "r1")
    })
    .await;
    eventually(PATIENCE, "the webhook received it", || {
        posts
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.contains("\"event\":\"raised\"") && p.contains("Room B"))
    })
    .await;
    let (_, csv) = get_with_cookie(st.addr, "/alerts.csv", &cookie).await;
    assert!(csv.contains(",Room B,offline,"), "{csv}");

    // It comes back on the same port: the alert clears.
    let b = controller("Room B", b_addr.port()).await;
    eventually(PATIENCE, "room B back online and its alert cleared", || {
        online(&st) == 2 && st.station.alerts.list(true, 10).is_empty()
    })
    .await;
    eventually(PATIENCE, "the webhook heard it cleared", || {
        posts
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.contains("\"event\":\"cleared\""))
    })
    .await;
    st.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
}

/// A fake controller on loopback that says hello, then sends garbage and
/// a line far longer than the station accepts, over and over.
async fn hostile() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut round = 0u32;
        while let Ok((mut s, _)) = listener.accept().await {
            round += 1;
            tokio::spawn(async move {
                let hello = b"{\"type\":\"hello\",\"protocol\":1,\"controller\":\"Evil\",\"serial\":\"EVIL\",\"login_required\":false,\"max_message_bytes\":4096,\"idle_timeout_secs\":60}\n";
                let _ = s.write_all(hello).await;
                if round % 2 == 1 {
                    // A "layout" that never ends.
                    let chunk = vec![b'x'; 1 << 16];
                    let _ = s.write_all(b"{\"type\":\"layout\",\"layout\":\"").await;
                    for _ in 0..200 {
                        if s.write_all(&chunk).await.is_err() {
                            return;
                        }
                    }
                } else {
                    for _ in 0..100 {
                        if s.write_all(b"\xff\xfe not json {{{\n").await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_hostile_controller_cannot_crash_or_stall_the_station() {
    let dir = tempfile::tempdir().unwrap();
    let a = controller("Room A", 0).await;
    let evil = hostile().await;
    let (hook, _) = receiver().await;
    let st = station(&[evil, a.addrs.central.unwrap()], hook, dir.path()).await;
    eventually(PATIENCE, "the real room online", || {
        st.station.registry.card(1).is_some_and(|c| c.online)
    })
    .await;
    eventually(PATIENCE, "the hostile room flagged", || {
        open_alert(&st, "protocol_error", "r0")
    })
    .await;
    // Meanwhile the station still presses in the real room.
    let cookie = log_in(st.addr).await;
    tap_mute(st.addr, &cookie, "r1").await;
    assert_eq!(
        a.controller.snapshot().led("mute").unwrap().mode,
        LedMode::On
    );
    let card = st.station.registry.card(0).unwrap();
    assert!(!card.online, "{card:?}");
    st.shutdown().await;
    a.shutdown().await;
}

#[tokio::test]
async fn lookup_finds_rooms_and_a_room_found_twice_is_one_room() {
    // Lookup broadcasts (to 127.255.255.255:8000): only in a namespace.
    if !in_namespace(
        "lookup_finds_rooms_and_a_room_found_twice_is_one_room",
        Loopback::Plain,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rooms = [
        controller_with(&["central", "lookup"], "Room A", 0).await,
        controller_with(&["central", "lookup"], "Room B", 0).await,
        controller_with(&["central", "lookup"], "Room C", 0).await,
    ];
    // Room A is on the static list as well as found by lookup.
    let settings = station_settings(&[rooms[0].addrs.central.unwrap()], dir.path(), |st| {
        st.lookup_interval_secs = 1;
    });
    assert_eq!(
        settings.station.lookup_broadcast,
        vec!["127.255.255.255".parse::<std::net::IpAddr>().unwrap()]
    );
    let st = station::start(&settings, STATION_PW.into(), dir.path())
        .await
        .unwrap();
    eventually(PATIENCE, "three rooms online", || online(&st) == 3).await;
    // Lookups go on; still three rooms, each serial once.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let cards = st.station.registry.cards(&Default::default());
    let mut serials: Vec<&str> = cards.iter().map(|c| c.serial.as_str()).collect();
    serials.sort();
    assert_eq!(
        serials,
        ["RC-TEST-Room-A", "RC-TEST-Room-B", "RC-TEST-Room-C"],
        "{cards:#?}"
    );
    st.shutdown().await;
    for r in rooms {
        r.shutdown().await;
    }
}

/// The key of the room whose card is named `name`.
fn key_of(st: &RunningStation, name: &str) -> Option<String> {
    st.station
        .registry
        .cards(&Default::default())
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.key)
}

#[tokio::test]
async fn through_a_broker_every_controller_is_a_room_that_presses_and_alerts() {
    through_a_broker("3.1.1").await
}

#[tokio::test]
async fn through_a_broker_on_mqtt_5_too() {
    through_a_broker("5").await
}

/// Three controllers and the station on one Mosquitto, all speaking `protocol`.
async fn through_a_broker(protocol: &str) {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start().await;
    let mqtt = format!(
        "[mqtt]\nurl = \"{}\"\nprotocol = \"{protocol}\"\nreconnect_max_secs = 1\ncommands = true\n",
        broker.url()
    );
    let bridged = |services: &[&str], name: &str| {
        TestSettings::only(services)
            .name(name)
            .user(STATION_USER, Role::Operator, STATION_PW)
            .toml(&mqtt)
    };
    // Room A is also on the station's list over 5009: still one room.
    let a = bridged(&["mqtt", "central"], "Room A").start_demo().await;
    let b = bridged(&["mqtt"], "Room B").start_demo().await;
    // Room C is a process of its own, so that it can be SIGKILLed.
    let c_env = bridged(&["mqtt"], "Room C").in_tempdir();
    std::fs::write(c_env.settings_file(), c_env.settings.to_toml()).unwrap();
    let mut c = spawn_roomctl(&c_env.settings_file());

    let mut settings = station_settings(&[a.addrs.central.unwrap()], dir.path(), |st| {
        st.lookup_broadcast.clear();
        st.offline_after_secs = 1;
        st.reconnect_max_secs = 1;
        st.transport = StationTransport::Mqtt;
    });
    settings.mqtt.url = broker.url();
    settings.mqtt.protocol = roomctl::config::Settings::from_toml(&mqtt, None)
        .unwrap()
        .mqtt
        .protocol;
    let st = station::start(&settings, STATION_PW.into(), dir.path())
        .await
        .expect("the station starts");

    eventually(PATIENCE, "three rooms online", || online(&st) == 3).await;
    let cards = st.station.registry.cards(&Default::default());
    let mut serials: Vec<&str> = cards.iter().map(|c| c.serial.as_str()).collect();
    serials.sort();
    assert_eq!(
        serials,
        ["RC-TEST-Room-A", "RC-TEST-Room-B", "RC-TEST-Room-C"],
        "{cards:#?}"
    );
    let b_key = key_of(&st, "Room B").expect("room B has a card");
    let card = st.station.registry.card(index(&b_key).unwrap()).unwrap();
    assert!(card.address.starts_with("mqtt:"), "{card:?}");
    assert_eq!(card.location, "Building A, floor 2");
    assert_eq!(card.project_name, "Demo meeting room");

    // Garbage on the state topics adds no room and loses no state.
    for (topic, payload) in [
        ("roomctl/EVIL/info", "{not json"),
        ("roomctl/EVIL/status", "maybe"),
        ("roomctl/EVIL/button/x/state", "[1,2]"),
        ("roomctl/RC-TEST-Room-B/button/mute/state", "[1,2]"),
        ("roomctl/RC-TEST-Room-B/layout", "\u{1}"),
        ("roomctl/RC-TEST-Room-B/status", "dunno"),
    ] {
        broker.publish(topic, payload).await;
    }

    // Room B's page is drawn from the layout on the broker, and a press
    // there goes out on its command topic and lights its LED.
    let cookie = log_in(st.addr).await;
    let (status, page) = get_with_cookie(st.addr, &format!("/room/{b_key}"), &cookie).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-button=\"mute\""), "{page}");
    tap_mute(st.addr, &cookie, &b_key).await;
    eventually(PATIENCE, "mute is lit in room B", || {
        b.controller.snapshot().led("mute").map(|l| l.mode) == Some(LedMode::On)
    })
    .await;
    assert!(
        !b.controller.snapshot().buttons["mute"].held,
        "the tap was released"
    );
    assert_eq!(
        a.controller.snapshot().led("mute").unwrap().mode,
        LedMode::Off
    );
    eventually(PATIENCE, "room B's card lists the lit button", || {
        st.station
            .registry
            .card(index(&b_key).unwrap())
            .is_some_and(|c| c.lit.contains(&"Mute".to_string()))
    })
    .await;

    let b_room = index(&b_key).unwrap();
    let b_state = st
        .station
        .registry
        .read(b_room, |r| (r.card.online, r.layout.is_some()));
    assert_eq!(b_state, Some((true, true)), "garbage changed room B");
    assert_eq!(st.station.registry.cards(&Default::default()).len(), 3);

    // Room C is killed: its last will says offline, and the alert follows.
    let c_key = key_of(&st, "Room C").expect("room C has a card");
    c.kill().await.unwrap();
    eventually(PATIENCE, "an offline alert for room C", || {
        open_alert(&st, "offline", &c_key)
    })
    .await;
    assert_eq!(online(&st), 2);
    st.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
}
