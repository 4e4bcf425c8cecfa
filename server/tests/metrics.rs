//! Health and metrics for IT: `/healthz` says `ok` or `degraded` with the
//! reasons; `/metrics` (controller and station) answers users only; and a
//! real Prometheus (Debian's `prometheus`, installed by
//! `scripts/setup.sh --e2e`) started by the test inside its own network
//! namespace scrapes both, and its HTTP API returns what they exposed.

use crate::support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use controller_core::view::DeviceStatus;
use roomctl::config::StationRoom;
use roomctl::security::auth::Role;
use roomctl::station;
use support::http::raw_from;
use support::netns::{in_namespace, Loopback};
use support::{eventually, free_port, press_and_release, TestSettings};

const PATIENCE: Duration = Duration::from_secs(90);
const PROM: &str = "prometheus";
const PROM_PW: &str = "scrape words 1";
const STATION_USER: &str = "station";
const STATION_PW: &str = "station words";
/// Clients come from here (servers listen elsewhere on 127/8).
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// `GET path` from [`CLIENT`] with an optional `Authorization` header value.
async fn get(addr: SocketAddr, path: &str, authorization: Option<&str>) -> (u16, String) {
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    raw_from(
        Some(CLIENT),
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"),
    )
    .await
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

#[tokio::test]
async fn healthz_is_ok_until_a_device_or_the_broker_is_down() {
    let mqtt_port = free_port(); // nothing listens there: the broker is away
    let running = TestSettings::only(&["panel"])
        .edit(|s| s.panel.bind = Ipv4Addr::new(127, 0, 0, 3).into())
        .start_demo()
        .await;
    let addr = running.addrs.panel.expect("panel address");
    let (status, answer) = get(addr, "/healthz", None).await;
    assert_eq!((status, body(&answer)), (200, "ok\n"), "{answer}");

    // A room device goes offline, as the room logic records it.
    running.controller.status().set_device(DeviceStatus {
        id: "projector".into(),
        kind: "pjlink".into(),
        name: String::new(),
        address: "127.0.0.1:4352".into(),
        online: false,
        detail: "no answer".into(),
    });
    let (status, answer) = get(addr, "/healthz", None).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(
        body(&answer),
        "degraded\ndevice projector (pjlink) is offline\n"
    );
    running.shutdown().await;

    // A bridge whose broker does not answer.
    let running = TestSettings::only(&["panel", "mqtt"])
        .edit(|s| {
            s.panel.bind = Ipv4Addr::new(127, 0, 0, 3).into();
            s.mqtt.url = format!("mqtt://127.0.0.1:{mqtt_port}");
        })
        .start_demo()
        .await;
    let addr = running.addrs.panel.expect("panel address");
    let (status, answer) = get(addr, "/healthz", None).await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        body(&answer).contains("the MQTT broker is unreachable"),
        "{answer}"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn metrics_answer_users_only_and_count_wrong_passwords() {
    let running = TestSettings::only(&["panel"])
        .user(PROM, Role::Viewer, PROM_PW)
        .edit(|s| s.panel.bind = Ipv4Addr::new(127, 0, 0, 3).into())
        .start_demo()
        .await;
    let addr = running.addrs.panel.expect("panel address");
    let (status, answer) = get(addr, "/metrics", None).await;
    assert_eq!(status, 401, "{answer}");
    assert!(
        answer.contains("WWW-Authenticate: Basic") || answer.contains("www-authenticate: Basic")
    );
    assert!(!answer.contains("roomctl_"), "{answer}");
    let (status, answer) = get(addr, "/metrics", Some(&basic(PROM, "not it"))).await;
    assert_eq!(status, 401, "{answer}");

    press_and_release(&running.controller, "src_hdmi1");
    let (status, answer) = get(addr, "/metrics", Some(&basic(PROM, PROM_PW))).await;
    assert_eq!(status, 200, "{answer}");
    let text = body(&answer);
    assert!(text.contains("roomctl_button_presses_total 1\n"), "{text}");
    assert!(
        text.contains("roomctl_failed_logins_total{service=\"metrics\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("roomctl_service_state{service=\"panel\",state=\"listening\"} 1\n"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    running.shutdown().await;
}

/// Waits until Prometheus's HTTP API returns a sample for `query` that
/// `ok` accepts; panics with the last answer otherwise.
async fn wait_for_sample(api: SocketAddr, query: &str, ok: impl Fn(f64) -> bool) {
    let path = format!("/api/v1/query?query={}", urlencode(query));
    let mut last = String::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < deadline {
        // Prometheus takes a moment to listen after it starts.
        if tokio::net::TcpStream::connect(api).await.is_err() {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        let (status, answer) = get(api, &path, None).await;
        if status == 200 {
            let json: serde_json::Value =
                serde_json::from_str(body(&answer)).unwrap_or(serde_json::Value::Null);
            let values: Vec<f64> = json["data"]["result"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .filter_map(|s| s["value"][1].as_str()?.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            if values.iter().any(|v| ok(*v)) {
                return;
            }
        }
        last = answer;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("Prometheus never returned a matching sample for {query}: {last}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The scrape configuration docs/network.md shows, for these two targets.
/// Every scrape checks the password with argon2, which takes seconds in a
/// debug build (tens of milliseconds in a release one): hence the timeout.
fn prometheus_config(dir: &Path, controller: SocketAddr, station: SocketAddr) -> String {
    let pw = dir.join("scrape-password");
    std::fs::write(&pw, PROM_PW).unwrap();
    format!(
        "global:\n  scrape_interval: 10s\n  scrape_timeout: 10s\n\
         scrape_configs:\n\
         \x20 - job_name: roomctl\n\
         \x20   basic_auth:\n\
         \x20     username: {PROM}\n\
         \x20     password_file: {pw}\n\
         \x20   static_configs:\n\
         \x20     - targets: ['{controller}']\n\
         \x20 - job_name: roomctl-station\n\
         \x20   basic_auth:\n\
         \x20     username: {PROM}\n\
         \x20     password_file: {pw}\n\
         \x20   static_configs:\n\
         \x20     - targets: ['{station}']\n",
        pw = pw.display()
    )
}

#[tokio::test]
async fn prometheus_scrapes_the_controller_and_the_station() {
    // Its own namespace: Prometheus there can reach nothing but loopback.
    if !in_namespace(
        "prometheus_scrapes_the_controller_and_the_station",
        Loopback::Plain,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let room = TestSettings::only(&["panel", "central"])
        .name("Room A")
        .user(PROM, Role::Viewer, PROM_PW)
        .user(STATION_USER, Role::Operator, STATION_PW)
        .edit(|s| {
            s.panel.bind = Ipv4Addr::new(127, 0, 0, 3).into();
            s.central.bind = Ipv4Addr::new(127, 0, 0, 3).into();
        })
        .start_demo()
        .await;
    let panel = room.addrs.panel.expect("panel address");
    let central = room.addrs.central.expect("central address");
    press_and_release(&room.controller, "src_hdmi1");
    press_and_release(&room.controller, "src_pc");

    let settings = TestSettings::only(&[])
        .user(PROM, Role::Viewer, PROM_PW)
        .user("ops", Role::Admin, "ops words 12")
        .edit(|s| {
            let st = &mut s.station;
            st.bind = Ipv4Addr::new(127, 0, 0, 4).into();
            st.port = 0;
            st.account = STATION_USER.into();
            st.database = dir.path().join("station.sqlite");
            st.lookup_broadcast.clear();
            st.rooms = vec![StationRoom {
                address: central,
                name: String::new(),
            }];
        })
        .build();
    let station = station::start(&settings, STATION_PW.into(), dir.path())
        .await
        .expect("the station starts");
    eventually(PATIENCE, "the station sees the room", || {
        station.station.registry.counts() == (1, 1)
    })
    .await;

    let config = dir.path().join("prometheus.yml");
    std::fs::write(&config, prometheus_config(dir.path(), panel, station.addr)).unwrap();
    let api = SocketAddr::new(Ipv4Addr::LOCALHOST.into(), free_port());
    let mut prometheus = tokio::process::Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={api}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("Debian's prometheus (scripts/setup.sh --e2e installs it)");

    wait_for_sample(api, "up{job=\"roomctl\"}", |v| v == 1.0).await;
    wait_for_sample(api, "up{job=\"roomctl-station\"}", |v| v == 1.0).await;
    wait_for_sample(api, "roomctl_button_presses_total", |v| v == 2.0).await;
    wait_for_sample(api, "roomctl_step_duration_seconds_count", |v| v >= 2.0).await;
    wait_for_sample(
        api,
        "roomctl_service_state{service=\"central\",state=\"listening\"}",
        |v| v == 1.0,
    )
    .await;
    wait_for_sample(api, "roomctl_panels_connected", |v| v == 0.0).await;
    wait_for_sample(api, "roomctl_station_rooms{state=\"online\"}", |v| v == 1.0).await;
    wait_for_sample(api, "roomctl_station_alerts_open{kind=\"offline\"}", |v| {
        v == 0.0
    })
    .await;

    // The room goes away: the station's offline count follows.
    room.shutdown().await;
    wait_for_sample(api, "roomctl_station_rooms{state=\"offline\"}", |v| {
        v == 1.0
    })
    .await;

    let _ = prometheus.kill().await;
    station.shutdown().await;
}
