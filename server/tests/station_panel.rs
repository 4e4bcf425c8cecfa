//! The station's room page is the room's real panel: a real room
//! controller and a station on loopback, a browser's requests from
//! 127.0.0.2. The page frames the panel app under the room's base path,
//! drawn from the room's own view of the panel (templates rendered, the
//! confirmation question and the PIN as the room's project says), and its
//! live channel reaches the room through the station: a fader moves the
//! room's level, a press lights its LED, the PIN is asked and checked by
//! the room, its notices arrive. A station viewer sees the panel live but
//! cannot operate the room; another site's page cannot open it.

use crate::support;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use controller_core::project::LedMode;
use controller_core::protocol::panel::{ClientMessage, ErrorCode, ServerMessage};
use roomctl::config::StationRoom;
use roomctl::runtime::serve::Running;
use roomctl::security::auth::Role;
use roomctl::station::{self, RunningStation};
use support::http::{cookie_of, raw_from};
use support::panel::{recv_data, recv_notice, send, ws_connect_path_with, Ws};
use support::{eventually, TestSettings};

const PATIENCE: Duration = Duration::from_secs(30);
const ACCOUNT: &str = "station";
const ACCOUNT_PW: &str = "station words";
/// The room's tablet panel's PIN (its wall panel has none).
const PIN: &str = "2468";

/// The browser's address: not the station's.
fn browser() -> IpAddr {
    "127.0.0.2".parse().unwrap()
}

/// A room: the demo with a PIN on its tablet panel; its panel port,
/// central control and room logic (whose devices are down: notices).
async fn room() -> Running {
    TestSettings::only(&["panel", "central", "logic"])
        .name("Room A")
        .user(ACCOUNT, Role::Operator, ACCOUNT_PW)
        .start(support::panel::demo_with_pin(PIN))
        .await
}

/// A station watching `room`, with an admin `ops` and a viewer `eve`.
async fn station(room: SocketAddr, dir: &Path) -> RunningStation {
    let settings = TestSettings::only(&[])
        .user("ops", Role::Admin, "ops words")
        .user("eve", Role::Viewer, "eve words")
        .edit(|s| {
            let st = &mut s.station;
            st.port = 0;
            st.account = ACCOUNT.into();
            st.database = dir.join("station.sqlite");
            st.lookup_broadcast.clear();
            st.rooms = vec![StationRoom {
                address: room,
                name: String::new(),
            }];
        })
        .build();
    station::start(&settings, ACCOUNT_PW.into(), dir)
        .await
        .expect("the station starts")
}

/// Starts a room and a station, and waits until the station knows where
/// the room's panel is; (room, station, the room's key).
async fn room_and_station(dir: &Path) -> (Running, RunningStation, String) {
    let room = room().await;
    let st = station(room.addrs.central.unwrap(), dir).await;
    eventually(PATIENCE, "the room online with its panel port", || {
        st.station
            .registry
            .read(0, |r| {
                r.card.online && r.layout.as_ref().and_then(|l| l.panel_port).is_some()
            })
            .unwrap_or(false)
    })
    .await;
    let key = st.station.registry.key(0).unwrap();
    (room, st, key)
}

async fn log_in(web: SocketAddr, user: &str, password: &str) -> String {
    let body = format!("user={user}&password={}", password.replace(' ', "+"));
    let (status, answer) = raw_from(
        Some(browser()),
        web,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {web}\r\nOrigin: http://{web}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert_eq!(status, 303, "{answer}");
    cookie_of(&answer)
}

async fn get(web: SocketAddr, path: &str, cookie: &str) -> (u16, String) {
    raw_from(
        Some(browser()),
        web,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: {web}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await
}

/// The room panel's live channel through the station, as the page in the
/// station's frame opens it.
async fn channel(
    web: SocketAddr,
    key: &str,
    cookie: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let origin = format!("http://{web}");
    ws_connect_path_with(
        browser(),
        web,
        &format!("/room/{key}/panel/ws"),
        &[("cookie", cookie), ("origin", &origin)],
    )
    .await
}

async fn hello(ws: &mut Ws, panel: &str, pin: Option<&str>) -> ServerMessage {
    support::panel::hello(ws, panel, pin).await
}

/// What the page shows, without the panel's view that it carries as JSON
/// (which holds the project's templates as written).
fn shown(page: &str) -> String {
    let start = page.find("id=\"panel-view\"").expect("the panel's view");
    let end = start + page[start..].find("</script>").unwrap();
    format!("{}{}", &page[..start], &page[end..])
}

#[tokio::test]
async fn the_room_page_is_the_rooms_real_panel() {
    let dir = tempfile::tempdir().unwrap();
    let (room, st, key) = room_and_station(dir.path()).await;
    let cookie = log_in(st.addr, "ops", "ops words").await;

    // The room's page lists its panels and frames the first.
    let (status, page) = get(st.addr, &format!("/room/{key}"), &cookie).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<h1>Room A</h1>"), "{page}");
    assert!(
        page.contains(&format!("<iframe src=\"/room/{key}/panel/panel/tablet\"")),
        "{page}"
    );
    assert!(page.contains(">Wall panel</a>"), "{page}");
    let (_, page) = get(st.addr, &format!("/room/{key}?panel=wall"), &cookie).await;
    assert!(
        page.contains(&format!("src=\"/room/{key}/panel/panel/wall\"")),
        "{page}"
    );

    // The wall panel: the app under the room's base path, framable by the
    // station's own pages only, its templates rendered by the panel.
    let (status, page) = get(st.addr, &format!("/room/{key}/panel/panel/wall"), &cookie).await;
    assert_eq!(status, 200, "{page}");
    let head = page.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    assert!(head.contains("frame-ancestors 'self'"), "{head}");
    assert!(head.contains("x-frame-options: sameorigin"), "{head}");
    assert!(
        page.contains(&format!("data-base=\"/room/{key}/panel\"")),
        "{page}"
    );
    let drawn = shown(&page);
    assert!(drawn.contains("Projector: unknown"), "{drawn}");
    assert!(!drawn.contains("{projector_state}"), "{drawn}");
    assert!(drawn.contains("data-button=\"all_off\""), "{drawn}");
    // The view the panel runs on is the room's: All off asks first, the
    // tablet needs its PIN (without the station learning it).
    assert!(
        page.contains("\"confirm\":\"Switch the whole room off?\""),
        "{page}"
    );
    assert!(!page.contains(PIN), "the page carries no PIN");
    let (_, tablet) = get(st.addr, &format!("/room/{key}/panel/panel/tablet"), &cookie).await;
    assert!(tablet.contains("\"pin_required\":true"), "{tablet}");
    assert!(!tablet.contains(PIN), "the page carries no PIN");

    // The live channel reaches the room: welcome, its state, its notices.
    let mut ws = channel(st.addr, &key, &cookie)
        .await
        .expect("the channel opens");
    match hello(&mut ws, "wall", None).await {
        ServerMessage::Welcome { controller, .. } => assert_eq!(controller, "Room A"),
        other => panic!("expected welcome, got {other:?}"),
    }
    assert!(matches!(
        recv_data(&mut ws).await,
        ServerMessage::Snapshot { .. }
    ));
    let (notice, active) = recv_notice(&mut ws).await;
    assert!(active, "a device of the room is down: {notice}");

    // A fader moves the room's level; a press lights the room's LED.
    send(
        &mut ws,
        &ClientMessage::SetLevel {
            level: "volume".into(),
            value: Some(-12.0),
            muted: None,
        },
    )
    .await;
    eventually(PATIENCE, "the room's volume at -12 dB", || {
        room.controller
            .snapshot()
            .levels
            .get("volume")
            .map(|l| l.value)
            == Some(-12.0)
    })
    .await;
    send(
        &mut ws,
        &ClientMessage::Press {
            button: "mute".into(),
        },
    )
    .await;
    send(
        &mut ws,
        &ClientMessage::Release {
            button: "mute".into(),
        },
    )
    .await;
    eventually(PATIENCE, "mute lit in the room", || {
        room.controller.snapshot().led("mute").map(|l| l.mode) == Some(LedMode::On)
    })
    .await;

    // The tablet's PIN is the room's to ask and check.
    let mut ws = channel(st.addr, &key, &cookie).await.unwrap();
    match hello(&mut ws, "tablet", None).await {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::PinRequired),
        other => panic!("expected the PIN to be asked, got {other:?}"),
    }
    let mut ws = channel(st.addr, &key, &cookie).await.unwrap();
    match hello(&mut ws, "tablet", Some("1357")).await {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::WrongPin),
        other => panic!("expected a wrong PIN, got {other:?}"),
    }
    let mut ws = channel(st.addr, &key, &cookie).await.unwrap();
    assert!(
        matches!(
            hello(&mut ws, "tablet", Some(PIN)).await,
            ServerMessage::Welcome { .. }
        ),
        "the right PIN opens the tablet"
    );

    st.shutdown().await;
    room.shutdown().await;
}

#[tokio::test]
async fn a_station_viewer_sees_the_panel_live_but_cannot_operate_the_room() {
    let dir = tempfile::tempdir().unwrap();
    let (room, st, key) = room_and_station(dir.path()).await;
    let cookie = log_in(st.addr, "eve", "eve words").await;

    let (status, page) = get(st.addr, &format!("/room/{key}"), &cookie).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("signed in as a viewer"), "{page}");
    let (status, _) = get(st.addr, &format!("/room/{key}/panel/panel/wall"), &cookie).await;
    assert_eq!(status, 200);

    let mut ws = channel(st.addr, &key, &cookie)
        .await
        .expect("the channel opens");
    assert!(matches!(
        hello(&mut ws, "wall", None).await,
        ServerMessage::Welcome { .. }
    ));
    assert!(matches!(
        recv_data(&mut ws).await,
        ServerMessage::Snapshot { .. }
    ));
    for message in [
        ClientMessage::Press {
            button: "mute".into(),
        },
        ClientMessage::SetLevel {
            level: "volume".into(),
            value: Some(0.0),
            muted: None,
        },
    ] {
        send(&mut ws, &message).await;
        match recv_data(&mut ws).await {
            ServerMessage::Error { code, message } => {
                assert_eq!(code, ErrorCode::Unavailable);
                assert!(message.contains("viewer"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    // The session goes on (the room answers its keep-alive) and the room
    // was not operated.
    send(&mut ws, &ClientMessage::Ping { seq: 7 }).await;
    while !matches!(
        support::panel::recv(&mut ws).await,
        ServerMessage::Pong { seq: 7 }
    ) {}
    let now = room.controller.snapshot();
    assert_eq!(now.led("mute").unwrap().mode, LedMode::Off);
    assert_eq!(now.levels["volume"].value, -30.0);

    // No channel without a session, nor from another site's page.
    assert!(channel(st.addr, &key, "roomctl_station_session=forged")
        .await
        .is_err());
    let evil = ws_connect_path_with(
        browser(),
        st.addr,
        &format!("/room/{key}/panel/ws"),
        &[("cookie", &cookie), ("origin", "http://evil.example")],
    )
    .await;
    assert!(
        evil.is_err(),
        "a cross-site page cannot open a room's panel"
    );

    st.shutdown().await;
    room.shutdown().await;
}
