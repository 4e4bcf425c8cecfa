//! The central station against real controllers on loopback: it finds the
//! rooms on its list, shows them on its grid, presses through to a room,
//! raises an `offline` alert (with its webhook) when a controller stops and
//! clears it when it comes back, and a hostile controller neither crashes
//! nor stalls it; with `transport = "mqtt"` the same through Mosquitto.

use crate::support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use controller_core::project::LedMode;
use roomctl::config::{Settings, StationRoom, StationSettings, StationTransport, Webhook};
use roomctl::runtime::serve::Running;
use roomctl::security::auth::Role;
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
    tap(web, cookie, room, "mute").await
}

/// Taps a button in a room through the station's web page, as an operator.
async fn tap(web: SocketAddr, cookie: &str, room: &str, button: &str) {
    let body = format!("button={button}&action=tap");
    let (status, answer) = raw(
        web,
        &format!("POST /room/{room}/press HTTP/1.1\r\nHost: x\r\nOrigin: http://x\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
    )
    .await;
    assert_eq!(status, 204, "{answer}");
}

/// Is an alert of `kind` open for the room `key`?
fn open_alert(st: &RunningStation, kind: &str, key: &str) -> bool {
    let open = st.station.alerts.list(true, 10);
    open.iter().any(|a| a.kind == kind && a.room_key == key)
}

/// The key of the room added `i`th.
fn key(st: &RunningStation, i: usize) -> String {
    st.station.registry.key(i).expect("such a room")
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
    let (status, page) = get_with_cookie(st.addr, &format!("/room/{}", key(&st, 0)), &cookie).await;
    assert_eq!(status, 200);
    // These controllers serve central control only: no panel to frame
    // (tests/station_panel.rs frames a room's real one).
    assert!(
        page.contains("serves no panel the station can reach"),
        "{page}"
    );
    let (status, _) = get_with_cookie(
        st.addr,
        "/?search=Room+B&page=0",
        "roomctl_station_session=forged",
    )
    .await;
    assert_eq!(status, 303, "no page without a session");

    // A press through the station lights the LED in room A.
    tap_mute(st.addr, &cookie, &key(&st, 0)).await;
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
        open_alert(&st, "offline", &key(&st, 1))
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
        open_alert(&st, "protocol_error", &key(&st, 0))
    })
    .await;
    // Meanwhile the station still presses in the real room.
    let cookie = log_in(st.addr).await;
    tap_mute(st.addr, &cookie, &key(&st, 1)).await;
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
    // The grid's summary counts each room once too.
    assert_eq!(st.station.registry.counts(), (3, 3));
    st.shutdown().await;
    for r in rooms {
        r.shutdown().await;
    }
}

/// A POST to the station as a browser sends it: `origin` (None: neither
/// Origin nor Referer) and a session `cookie` (may be empty).
async fn post_from(
    web: SocketAddr,
    path: &str,
    origin: Option<&str>,
    cookie: &str,
    body: &str,
) -> (u16, String) {
    let origin = origin.map(|o| format!("{o}\r\n")).unwrap_or_default();
    raw(
        web,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {web}\r\n{origin}Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

#[tokio::test]
async fn cross_site_posts_are_refused_and_same_origin_ones_work() {
    let dir = tempfile::tempdir().unwrap();
    let a = controller("Room A", 0).await;
    let (hook, _) = receiver().await;
    let st = station(&[a.addrs.central.unwrap()], hook, dir.path()).await;
    eventually(PATIENCE, "the room online", || online(&st) == 1).await;
    let web = st.addr;
    let own = format!("Origin: http://{web}");
    let evil = "Origin: http://evil.example";
    let credentials = format!("user={OPS}&password=ops+words");

    // Logging in from another site's page, or with no origin at all: refused.
    for origin in [Some(evil), None] {
        let (status, answer) = post_from(web, "/login", origin, "", &credentials).await;
        assert_eq!(status, 403, "{answer}");
        assert!(!answer.contains("set-cookie"), "{answer}");
    }
    let (_, answer) = post_from(web, "/login", Some(evil), "", &credentials).await;
    assert!(answer.contains("cross-site"), "{answer}");

    // From the station's own page: logged in.
    let (status, answer) = post_from(web, "/login", Some(&own), "", &credentials).await;
    assert_eq!(status, 303, "{answer}");
    let cookie = cookie_of(&answer);

    // A forged press carries a valid session (a browser without SameSite)
    // but comes from elsewhere: refused, nothing pressed.
    let press = "button=mute&action=tap";
    let room = format!("/room/{}", key(&st, 0));
    let (status, answer) =
        post_from(web, &format!("{room}/press"), Some(evil), &cookie, press).await;
    assert_eq!(status, 403, "{answer}");
    let (status, _) = post_from(web, "/alerts/1/ack", Some(evil), &cookie, "").await;
    assert_eq!(status, 403);
    let (status, _) = post_from(web, "/logout", Some(evil), &cookie, "").await;
    assert_eq!(status, 403);
    assert_eq!(
        a.controller.snapshot().led("mute").unwrap().mode,
        LedMode::Off
    );
    // The session survived the forged logout.
    let (status, _) = get_with_cookie(web, "/", &cookie).await;
    assert_eq!(status, 200);

    // A browser that sends only a Referer of the station's own page: works.
    let referer = format!("Referer: http://{web}{room}");
    let (status, answer) = post_from(
        web,
        &format!("{room}/press"),
        Some(&referer),
        &cookie,
        press,
    )
    .await;
    assert_eq!(status, 204, "{answer}");
    assert_eq!(
        a.controller.snapshot().led("mute").unwrap().mode,
        LedMode::On
    );
    // The cookie is SameSite=Strict and HttpOnly.
    assert!(
        answer_cookie_flags(&credentials, web).await,
        "the session cookie is SameSite=Strict; HttpOnly"
    );
    st.shutdown().await;
    a.shutdown().await;
}

async fn answer_cookie_flags(credentials: &str, web: SocketAddr) -> bool {
    let own = format!("Origin: http://{web}");
    let (_, answer) = post_from(web, "/login", Some(&own), "", credentials).await;
    answer
        .lines()
        .find(|l| l.starts_with("set-cookie: "))
        .is_some_and(|l| l.contains("SameSite=Strict") && l.contains("HttpOnly"))
}

#[tokio::test]
async fn an_operator_acknowledges_a_project_change_on_the_web_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let a = controller("Room A", 0).await;
    let (hook, _) = receiver().await;
    let st = station(&[a.addrs.central.unwrap()], hook, dir.path()).await;
    eventually(PATIENCE, "the room online", || online(&st) == 1).await;
    let cookie = log_in(st.addr).await;

    let new = support::loaded(&support::project("Lecture setup", 7));
    a.controller
        .load_project(new.project.clone(), new.source.clone(), "test")
        .unwrap();
    eventually(PATIENCE, "a project_changed alert", || {
        open_alert(&st, "project_changed", &key(&st, 0))
    })
    .await;
    let alert = st
        .station
        .alerts
        .list(true, 10)
        .into_iter()
        .find(|a| a.kind == "project_changed")
        .unwrap();
    assert!(
        alert.detail.contains("\"Demo meeting room\" rev 1")
            && alert.detail.contains("\"Lecture setup\" rev 7"),
        "{alert:?}"
    );
    eventually(PATIENCE, "the card shows the new project", || {
        st.station
            .registry
            .card(0)
            .is_some_and(|c| c.project_name == "Lecture setup" && c.project_revision == 7)
    })
    .await;

    // Acknowledged on the alert page's form: who is kept, and (nothing
    // else clears a project change) it is cleared.
    let own = format!("Origin: http://{}", st.addr);
    let path = format!("/alerts/{}/ack", alert.id);
    let (status, answer) = post_from(st.addr, &path, Some(&own), &cookie, "").await;
    assert_eq!(status, 303, "{answer}");
    let record = st.station.alerts.history().get(alert.id).unwrap().unwrap();
    assert_eq!(record.acked_by, OPS);
    assert!(record.acked_at > 0 && record.cleared_at > 0, "{record:?}");
    assert!(!open_alert(&st, "project_changed", &key(&st, 0)));
    let (_, page) = get_with_cookie(st.addr, "/alerts", &cookie).await;
    assert!(page.contains(&format!("{OPS} (")), "{page}");
    // An unknown alert: 404, not a crash.
    let (status, _) = post_from(st.addr, "/alerts/99999/ack", Some(&own), &cookie, "").await;
    assert_eq!(status, 404);
    st.shutdown().await;
    a.shutdown().await;
}

/// Reads a server-sent event stream until a `data:` line contains
/// `needle`; that line.
async fn read_event(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::net::TcpStream>>,
    needle: &str,
) -> String {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let line = lines
                .next_line()
                .await
                .expect("the stream reads")
                .expect("the stream stays open");
            if line.starts_with("data: ") && line.contains(needle) {
                return line;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no event with {needle:?} on the stream"))
}

/// A page is rendered, then opens its stream: a room that came online in
/// between must not stay shown offline. The stream starts with the current
/// cards and summary, before any change.
#[tokio::test]
async fn the_event_stream_starts_with_the_current_state() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let a = controller("Room A", 0).await;
    let b = controller("Room B", 0).await;
    let (hook, _) = receiver().await;
    let st = station(
        &[a.addrs.central.unwrap(), b.addrs.central.unwrap()],
        hook,
        dir.path(),
    )
    .await;
    eventually(PATIENCE, "both rooms online", || online(&st) == 2).await;
    let cookie = log_in(st.addr).await;
    let mut s = support::connect_from(support::OTHER_ADDRESS, st.addr).await;
    let keys = format!("{},{}", key(&st, 0), key(&st, 1));
    let req = format!(
        "GET /events?keys={keys} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n",
        st.addr
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut grid = tokio::io::BufReader::new(s).lines();
    let card = read_event(&mut grid, "\"online\":true").await;
    let cards: Vec<controller_core::fleet::RoomCard> =
        serde_json::from_str(card.trim_start_matches("data: ")).unwrap();
    assert_eq!(cards.len(), 2, "both cards at once: {cards:?}");
    assert!(cards.iter().all(|c| c.online), "{cards:?}");
    read_event(&mut grid, "{\"online\":2,\"total\":2}").await;
    st.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn the_event_stream_carries_a_card_update_when_a_button_lights() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let a = controller("Room A", 0).await;
    let b = controller("Room B", 0).await;
    let (hook, _) = receiver().await;
    let st = station(
        &[a.addrs.central.unwrap(), b.addrs.central.unwrap()],
        hook,
        dir.path(),
    )
    .await;
    eventually(PATIENCE, "both rooms online", || online(&st) == 2).await;
    let cookie = log_in(st.addr).await;

    // The grid's stream for room B's card, and a room page's for room B.
    let open = |query: String| {
        let cookie = cookie.clone();
        let web = st.addr;
        async move {
            let mut s = tokio::net::TcpStream::connect(web).await.unwrap();
            let req = format!("GET /events?{query} HTTP/1.1\r\nHost: {web}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n");
            s.write_all(req.as_bytes()).await.unwrap();
            let mut lines = tokio::io::BufReader::new(s).lines();
            let status = lines.next_line().await.unwrap().unwrap();
            assert!(status.starts_with("HTTP/1.1 200"), "{status}");
            lines
        }
    };
    let mut grid = open(format!("keys={}", key(&st, 1))).await;
    let mut room = open(format!("room={}", key(&st, 1))).await;
    tap_mute(st.addr, &cookie, &key(&st, 1)).await;
    let card = read_event(&mut grid, "\"lit\":[\"Mute\"]").await;
    let cards: Vec<controller_core::fleet::RoomCard> =
        serde_json::from_str(card.trim_start_matches("data: ")).unwrap();
    assert!(
        cards.iter().all(|c| c.key == key(&st, 1)),
        "only the followed card: {cards:?}"
    );
    // (The stream starts with the room as it is; the tap lights one LED.)
    let update = read_event(&mut room, "\"mode\":\"on\"").await;
    let update: serde_json::Value =
        serde_json::from_str(update.trim_start_matches("data: ")).unwrap();
    assert_eq!(update["card"]["key"], key(&st, 1));
    assert_eq!(update["buttons"]["mute"]["led"]["mode"], "on", "{update}");
    // Room A (not on this grid page) goes away: the grid's summary line
    // still hears of it.
    a.shutdown().await;
    read_event(&mut grid, "{\"online\":1,\"total\":2}").await;
    // A stream without a session: to the login page.
    let (status, _) = get_with_cookie(st.addr, "/events?keys=x", "roomctl_station_session=x").await;
    assert_eq!(status, 303);
    st.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_refused_station_account_raises_login_failed() {
    let dir = tempfile::tempdir().unwrap();
    let a = controller("Room A", 0).await;
    let settings = station_settings(&[a.addrs.central.unwrap()], dir.path(), |st| {
        st.lookup_broadcast.clear();
        st.reconnect_max_secs = 1;
    });
    let st = station::start(&settings, "not the password".into(), dir.path())
        .await
        .unwrap();
    eventually(PATIENCE, "a login_failed alert", || {
        open_alert(&st, "login_failed", &key(&st, 0))
    })
    .await;
    let alert = st.station.alerts.list(true, 10).remove(0);
    assert!(
        alert.detail.contains("\"station\" was refused"),
        "{alert:?}"
    );
    // Retries do not pile up alerts: still one.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let all = st.station.alerts.list(false, 100);
    assert_eq!(
        all.iter().filter(|a| a.kind == "login_failed").count(),
        1,
        "{all:?}"
    );
    let card = st.station.registry.card(0).unwrap();
    assert!(
        !card.online && card.problem.contains("login refused"),
        "{card:?}"
    );
    st.shutdown().await;
    a.shutdown().await;
}

/// The demo project with its projector and matrix at `sim`'s addresses
/// (the DSP at a port where nothing listens), reconnecting every second.
fn demo_with(sim: &roomctl::simulator::Simulator, dsp: SocketAddr) -> String {
    support::RAW_DEMO
        .replace("127.0.0.1:4352", &sim.projector_addr.unwrap().to_string())
        .replace("127.0.0.1:4353", &sim.matrix_addr.unwrap().to_string())
        .replace("127.0.0.1:4354", &dsp.to_string())
        .replace("reconnect_secs = 5", "reconnect_secs = 1")
        .replace("poll_secs = 5", "poll_secs = 1")
}

fn simulator_config(
    projector: SocketAddr,
    matrix: SocketAddr,
) -> roomctl::simulator::SimulatorConfig {
    roomctl::simulator::SimulatorConfig {
        projector: Some(projector),
        matrix: Some(matrix),
        dsp: None,
        warmup: Duration::from_millis(300),
        cooldown: Duration::from_millis(300),
    }
}

#[tokio::test]
async fn usage_is_recorded_from_the_demo_room_and_devices_raise_alerts() {
    use roomctl::simulator::Simulator;
    let dir = tempfile::tempdir().unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let sim = Simulator::start(simulator_config(any, any)).await.unwrap();
    let (projector, matrix) = (sim.projector_addr.unwrap(), sim.matrix_addr.unwrap());
    let nothing = TcpListener::bind(any).await.unwrap();
    let dsp = nothing.local_addr().unwrap();
    drop(nothing);
    let room = TestSettings::only(&["central", "logic"])
        .name("Room A")
        .user(STATION_USER, Role::Operator, STATION_PW)
        .start(support::loaded(&demo_with(&sim, dsp)))
        .await;
    let (hook, _) = receiver().await;
    let st = station(&[room.addrs.central.unwrap()], hook, dir.path()).await;
    eventually(PATIENCE, "the room online", || online(&st) == 1).await;
    // The DSP is not there: a device_offline alert names it.
    eventually(PATIENCE, "a device_offline alert for the DSP", || {
        st.station
            .alerts
            .list(true, 10)
            .iter()
            .any(|a| a.kind == "device_offline" && a.detail.contains("dsp"))
    })
    .await;
    let cookie = log_in(st.addr).await;

    // The display on (the LED follows the projector), a source, the
    // display off: what the default rules (display_power, sources) see.
    tap(st.addr, &cookie, &key(&st, 0), "display_power").await;
    eventually(PATIENCE, "the display LED lit", || {
        st.station
            .registry
            .read(0, |r| r.usage.display == Some(true))
            .unwrap_or(false)
    })
    .await;
    tap(st.addr, &cookie, &key(&st, 0), "src_hdmi2").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    tap(st.addr, &cookie, &key(&st, 0), "display_power").await;
    eventually(PATIENCE, "display on, off and HDMI 2 recorded", || {
        let history = st.station.alerts.history();
        let display: Vec<String> = history
            .states_since(0)
            .unwrap()
            .into_iter()
            .map(|r| r.subject)
            .collect();
        let counts = history.counts_since(0).unwrap();
        let ok = display.ends_with(&["on".to_string(), "off".to_string()])
            && counts
                .iter()
                .any(|(r, n)| r.kind == "source" && r.subject == "HDMI 2" && *n == 1)
            && counts
                .iter()
                .any(|(r, n)| r.kind == "press" && r.room == "Room A" && *n >= 3);
        if ok {
            Ok(())
        } else {
            Err(format!("{display:?} {counts:?}"))
        }
    })
    .await;

    // The usage page and its CSV.
    let (status, page) = get_with_cookie(st.addr, "/usage?period=day", &cookie).await;
    assert_eq!(status, 200);
    for part in [
        "<title id=\"chart-display-title\">",
        "<desc id=\"chart-presses-desc\">",
        "HDMI 2: 1",
        "Room A",
        "Building A",
    ] {
        assert!(page.contains(part), "{part:?} not on the page:\n{page}");
    }
    let (status, csv) = get_with_cookie(st.addr, "/usage.csv?period=week", &cookie).await;
    assert_eq!(status, 200);
    let row = csv
        .lines()
        .find(|l| l.starts_with("room,Room A,Building A,week,"))
        .unwrap_or_else(|| panic!("no row for Room A:\n{csv}"));
    let fields: Vec<&str> = row.split(',').collect();
    assert!(fields[7].parse::<u64>().unwrap() >= 3, "presses: {row}");
    assert_eq!(fields[9], "1", "source selections: {row}");
    assert_eq!(fields[10], "HDMI 2: 1", "{row}");
    assert!(
        csv.contains("\nbuilding,Building A,Building A,week,"),
        "{csv}"
    );

    // The projector and matrix go away: device_offline for each; back: cleared.
    sim.shutdown().await;
    eventually(PATIENCE, "device_offline for the projector", || {
        st.station
            .alerts
            .list(true, 10)
            .iter()
            .any(|a| a.kind == "device_offline" && a.detail.contains("projector"))
    })
    .await;
    assert!(
        st.station
            .registry
            .card(0)
            .unwrap()
            .faults
            .contains(&"projector".to_string()),
        "the card lists the device"
    );
    let sim = Simulator::start(simulator_config(projector, matrix))
        .await
        .unwrap();
    eventually(PATIENCE, "the projector's alert cleared", || {
        !st.station
            .alerts
            .list(true, 10)
            .iter()
            .any(|a| a.detail.contains("projector") || a.detail.contains("matrix"))
    })
    .await;
    st.shutdown().await;
    room.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_veth_lan_three_rooms_are_found_one_goes_offline_and_comes_back() {
    // A LAN of its own (veth, 10.9.0.1/24) in a private namespace: lookup
    // broadcasts go to its broadcast address and nowhere else.
    if !in_namespace(
        "on_a_veth_lan_three_rooms_are_found_one_goes_offline_and_comes_back",
        Loopback::Lan,
    ) {
        return;
    }
    let on_lan = |name: &str, port: u16| {
        TestSettings::only(&["central", "lookup"])
            .name(name)
            .user(STATION_USER, Role::Operator, STATION_PW)
            .edit(|s| {
                s.central.bind = std::net::Ipv4Addr::UNSPECIFIED.into();
                s.central.port = port;
                s.lookup.bind = std::net::Ipv4Addr::UNSPECIFIED.into();
            })
            .start_demo()
    };
    let dir = tempfile::tempdir().unwrap();
    let a = on_lan("Room A", 0).await;
    let b = on_lan("Room B", 0).await;
    let c = on_lan("Room C", 0).await;
    let b_port = b.addrs.central.unwrap().port();
    let (hook, posts) = receiver().await;
    // Nothing on the static list: every room comes from lookup.
    let settings = station_settings(&[], dir.path(), |st| {
        st.lookup_broadcast = vec!["10.9.0.255".parse().unwrap()];
        st.lookup_interval_secs = 1;
        st.offline_after_secs = 1;
        st.reconnect_max_secs = 1;
        st.webhooks = vec![Webhook {
            url: format!("http://{hook}/alerts"),
            kinds: vec![],
        }];
    });
    let st = station::start(&settings, STATION_PW.into(), dir.path())
        .await
        .unwrap();
    eventually(PATIENCE, "three rooms found and online", || {
        online(&st) == 3
    })
    .await;
    let cards = st.station.registry.cards(&Default::default());
    let mut found: Vec<(String, String)> = cards
        .iter()
        .map(|c| (c.name.clone(), c.address.clone()))
        .collect();
    found.sort();
    for (name, address) in &found {
        assert!(
            address.starts_with("10.9.0.1:"),
            "{name} found at its LAN address, not {address}"
        );
    }
    assert_eq!(
        found.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["Room A", "Room B", "Room C"]
    );
    let key_b = cards
        .iter()
        .find(|c| c.name == "Room B")
        .unwrap()
        .key
        .clone();

    // Room B's controller stops: an offline alert (and its webhook).
    b.shutdown().await;
    eventually(PATIENCE, "an offline alert for room B", || {
        open_alert(&st, "offline", &key_b)
    })
    .await;
    assert_eq!(online(&st), 2);
    eventually(PATIENCE, "the webhook heard it", || {
        posts
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.contains("\"event\":\"raised\"") && p.contains("Room B"))
    })
    .await;

    // It comes back on the same port: online again, the alert cleared,
    // and still three rooms (found again by lookup, not added twice).
    let b = on_lan("Room B", b_port).await;
    eventually(PATIENCE, "room B back and its alert cleared", || {
        online(&st) == 3 && !open_alert(&st, "offline", &key_b)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(st.station.registry.cards(&Default::default()).len(), 3);
    st.shutdown().await;
    for r in [a, b, c] {
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
    let card = st
        .station
        .registry
        .card(st.station.registry.find(&b_key).unwrap())
        .unwrap();
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

    // Room B's page says why its panel is not shown (the station does not
    // reach it directly), and a press through the station goes out on its
    // command topic and lights its LED.
    let cookie = log_in(st.addr).await;
    let (status, page) = get_with_cookie(st.addr, &format!("/room/{b_key}"), &cookie).await;
    assert_eq!(status, 200);
    assert!(page.contains("watched through the MQTT broker"), "{page}");
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
            .card(st.station.registry.find(&b_key).unwrap())
            .is_some_and(|c| c.lit.contains(&"Mute".to_string()))
    })
    .await;
    // The press is counted for room B's usage, from its event topic.
    eventually(PATIENCE, "room B's press in the usage history", || {
        let counts = st.station.alerts.history().counts_since(0).unwrap();
        let pressed = counts
            .iter()
            .any(|(r, n)| r.kind == "press" && r.room == "Room B" && *n >= 1);
        if pressed {
            Ok(())
        } else {
            Err(format!("{counts:?}"))
        }
    })
    .await;

    let b_room = st.station.registry.find(&b_key).unwrap();
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
    // Room C comes back (its retained status says online): the alert clears.
    let mut c = spawn_roomctl(&c_env.settings_file());
    eventually(
        PATIENCE,
        "room C online again and its alert cleared",
        || online(&st) == 3 && !open_alert(&st, "offline", &c_key),
    )
    .await;
    c.kill().await.unwrap();
    st.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
}

/// A controller with central control on `ip:port`, its data in `dir` and
/// no serial in its settings: its serial is its installation's own.
async fn installation(ip: &str, port: u16, dir: &Path) -> Running {
    let ip: std::net::IpAddr = ip.parse().unwrap();
    TestSettings::only(&["central"])
        .user(STATION_USER, Role::Operator, STATION_PW)
        .edit(|s| {
            s.identity.serial.clear();
            s.central.bind = ip;
            s.central.port = port;
            s.project.dir = dir.join("project");
        })
        .start_demo()
        .await
}

#[tokio::test]
async fn cloned_controllers_are_rooms_of_their_own_and_a_shared_serial_is_an_alert() {
    // Three controllers on one host share /etc/machine-id, as three boxes
    // cloned from one image do. A and B were installed apart; C's data
    // folder is a copy of A's (a cloned disk).
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let a = installation("127.0.0.2", 0, dirs[0].path()).await;
    let b = installation("127.0.0.3", 0, dirs[1].path()).await;
    std::fs::copy(
        dirs[0].path().join("installation-id"),
        dirs[2].path().join("installation-id"),
    )
    .expect("A made its installation-id at its first start");
    let c = installation("127.0.0.4", 0, dirs[2].path()).await;
    let (sa, sb, sc) = (
        a.controller.identity().serial.clone(),
        b.controller.identity().serial.clone(),
        c.controller.identity().serial.clone(),
    );
    assert_ne!(sa, sb, "one machine-id, two installations, two serials");
    assert_eq!(sa, sc, "a cloned data folder clones the serial");
    // A restart keeps the identity.
    let a_port = a.addrs.central.unwrap().port();
    a.shutdown().await;
    let a = installation("127.0.0.2", a_port, dirs[0].path()).await;
    assert_eq!(a.controller.identity().serial, sa);

    let station_dir = tempfile::tempdir().unwrap();
    let (hook, posts) = receiver().await;
    let rooms = [&a, &b, &c].map(|r| r.addrs.central.unwrap());
    let settings = station_settings(&rooms, station_dir.path(), |st| {
        st.lookup_broadcast.clear();
        st.webhooks = vec![Webhook {
            url: format!("http://{hook}/alerts"),
            kinds: vec!["duplicate_serial".into()],
        }];
    });
    let st = station::start(&settings, STATION_PW.into(), station_dir.path())
        .await
        .unwrap();
    eventually(PATIENCE, "three rooms online", || online(&st) == 3).await;
    assert_eq!(st.station.registry.counts(), (3, 3));
    eventually(PATIENCE, "A and C alerted as sharing a serial", || {
        open_alert(&st, "duplicate_serial", &key(&st, 0))
            && open_alert(&st, "duplicate_serial", &key(&st, 2))
    })
    .await;
    assert!(!open_alert(&st, "duplicate_serial", &key(&st, 1)));
    let alert = st
        .station
        .alerts
        .list(true, 10)
        .into_iter()
        .find(|a| a.kind == "duplicate_serial")
        .unwrap();
    assert!(
        alert.detail.contains(&sa) && alert.detail.contains("installation-id"),
        "{alert:?}"
    );
    eventually(PATIENCE, "the webhook heard it", || {
        posts
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.contains("duplicate_serial"))
    })
    .await;
    st.shutdown().await;
    for r in [a, b, c] {
        r.shutdown().await;
    }
}

#[tokio::test]
async fn room_keys_stay_the_same_across_a_station_restart() {
    let dir = tempfile::tempdir().unwrap();
    let a = controller("Room A", 0).await;
    let b = controller("Room B", 0).await;
    let (a_addr, b_addr) = (a.addrs.central.unwrap(), b.addrs.central.unwrap());
    let (hook, _) = receiver().await;
    let keys = |st: &RunningStation| {
        let mut k: Vec<(String, String)> = st
            .station
            .registry
            .cards(&Default::default())
            .into_iter()
            .map(|c| (c.name, c.key))
            .collect();
        k.sort();
        k
    };
    let st = station(&[a_addr, b_addr], hook, dir.path()).await;
    eventually(PATIENCE, "both rooms online", || online(&st) == 2).await;
    let before = keys(&st);
    st.shutdown().await;
    // The list in another order (as lookup answers come in any order).
    let st = station(&[b_addr, a_addr], hook, dir.path()).await;
    eventually(PATIENCE, "both rooms online again", || online(&st) == 2).await;
    assert_eq!(keys(&st), before);
    // A bookmark of room A's page still shows room A.
    let cookie = log_in(st.addr).await;
    let a_key = &before.iter().find(|(n, _)| n == "Room A").unwrap().1;
    let (status, page) = get_with_cookie(st.addr, &format!("/room/{a_key}"), &cookie).await;
    assert_eq!(status, 200);
    assert!(page.contains("<h1>Room A</h1>"), "{page}");
    st.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn the_grid_filters_answer_from_another_address() {
    let dir = tempfile::tempdir().unwrap();
    let a = controller("Room A", 0).await;
    let (hook, _) = receiver().await;
    let st = station(&[a.addrs.central.unwrap()], hook, dir.path()).await;
    eventually(PATIENCE, "the room online", || online(&st) == 1).await;
    let cookie = log_in(st.addr).await;
    let client: Option<std::net::IpAddr> = Some("127.0.0.2".parse().unwrap());
    let web = st.addr;
    let get = |path: &str| {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {web}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        );
        async move { support::http::raw_from(client, web, &request).await }
    };
    // The grid's own form sends `offline=true` and `alerts=true`.
    for (path, shows_a) in [
        ("/?search=&location=&offline=true", false),
        ("/?search=&location=&alerts=true&page=0", false),
        ("/?offline=true&alerts=true", false),
        ("/?search=Room&page=0", true),
    ] {
        let (status, page) = get(path).await;
        assert_eq!(status, 200, "{path}: {page}");
        assert_eq!(page.contains("Room A"), shows_a, "{path}: {page}");
    }
    // Checked boxes stay checked.
    let (_, page) = get("/?offline=true").await;
    assert!(
        page.contains("name=\"offline\" value=\"true\" checked"),
        "{page}"
    );
    st.shutdown().await;
    a.shutdown().await;
}

#[tokio::test]
async fn a_station_and_a_controller_on_one_host_keep_their_logins_apart() {
    // One browser (curl's cookie jar, from 127.0.0.2) logs in to a
    // controller's admin page and to a station on the same host: cookies
    // are kept per host, not per port.
    let dir = tempfile::tempdir().unwrap();
    let a = TestSettings::only(&["central", "panel"])
        .name("Room A")
        .user(STATION_USER, Role::Operator, STATION_PW)
        .user(OPS, Role::Admin, OPS_PW)
        .start_demo()
        .await;
    let (hook, _) = receiver().await;
    let st = station(&[a.addrs.central.unwrap()], hook, dir.path()).await;
    let jar = dir.path().join("cookies");
    let jar = jar.to_str().unwrap();
    let panel = a.addrs.panel.unwrap();
    let curl = |url: String, form: Option<String>| async move {
        let origin = format!(
            "Origin: http://{}",
            url.trim_start_matches("http://").split('/').next().unwrap()
        );
        let mut args = vec![
            "-sS".to_string(),
            "--interface".into(),
            "127.0.0.2".into(),
            "-b".into(),
            jar.into(),
            "-c".into(),
            jar.into(),
            "-H".into(),
            origin,
            "-H".into(),
            "Accept: application/json".into(),
            "-o".into(),
            "/dev/null".into(),
            "-w".into(),
            "%{http_code}".into(),
        ];
        if let Some(form) = form {
            args.extend(["-d".into(), form]);
        }
        args.push(url);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out, err) = support::run("curl", &args).await;
        assert!(ok, "curl: {err}");
        out.trim().to_string()
    };
    let login = format!("user={OPS}&password=ops+words");
    assert_eq!(
        curl(
            format!("http://{panel}/login"),
            Some(format!("{login}&next=/admin"))
        )
        .await,
        "303"
    );
    assert_eq!(
        curl(format!("http://{panel}/admin/api/whoami"), None).await,
        "200"
    );
    assert_eq!(
        curl(format!("http://{}/login", st.addr), Some(login)).await,
        "303"
    );
    assert_eq!(
        curl(format!("http://{}/", st.addr), None).await,
        "200",
        "logged in at the station"
    );
    assert_eq!(
        curl(format!("http://{panel}/admin/api/whoami"), None).await,
        "200",
        "still logged in at the controller"
    );
    st.shutdown().await;
    a.shutdown().await;
}

#[tokio::test]
async fn a_room_that_answers_lookup_again_is_retried_at_once() {
    // Lookup broadcasts (to 127.255.255.255:8000): only in a namespace.
    if !in_namespace(
        "a_room_that_answers_lookup_again_is_retried_at_once",
        Loopback::Plain,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let b = controller_with(&["central", "lookup"], "Room B", 0).await;
    let port = b.addrs.central.unwrap().port();
    // A back-off of an hour: the room can only be back in time by being
    // tried when it answers lookup.
    let settings = station_settings(&[], dir.path(), |st| {
        st.lookup_interval_secs = 1;
        st.reconnect_first_ms = 3_600_000;
        st.reconnect_max_secs = 3_600;
    });
    let st = station::start(&settings, STATION_PW.into(), dir.path())
        .await
        .unwrap();
    eventually(PATIENCE, "room B found and online", || online(&st) == 1).await;
    b.shutdown().await;
    eventually(PATIENCE, "room B offline", || online(&st) == 0).await;
    // It comes back; its first lookup answer has the station try it.
    let b = controller_with(&["central", "lookup"], "Room B", port).await;
    eventually(PATIENCE, "room B online again", || online(&st) == 1).await;
    assert_eq!(st.station.registry.counts(), (1, 1));
    st.shutdown().await;
    b.shutdown().await;
}
