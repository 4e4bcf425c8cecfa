//! The station is a service like the controller's: started by the one
//! supervisor from a service list (a toy screen and a toy service are one
//! module and one line each), its state on the status board, its web page
//! served through the panel ports' accept gate, allow-list, timeouts and
//! HTTP layers (the same security headers, compression), as a browser on
//! another machine (127.0.0.2) meets it.

use crate::support;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use controller_core::view::ServiceState;
use roomctl::config::Settings;
use roomctl::security::auth::Role;
use roomctl::station::{self, StationService};
use support::http::{connect_from, raw_from};
use support::{TestSettings, OTHER_ADDRESS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const OPS: &str = "ops";
const OPS_PW: &str = "ops words";
const PATIENCE: Duration = Duration::from_secs(20);

/// A station with no rooms and no lookup, its history in `dir`; then `toml`.
fn settings(dir: &Path, toml: &str) -> Settings {
    TestSettings::only(&[])
        .user(OPS, Role::Admin, OPS_PW)
        .toml(toml)
        .edit(|s| {
            s.station.port = 0;
            s.station.database = dir.join("station.sqlite");
            s.station.lookup_broadcast.clear();
        })
        .build()
}

fn other() -> IpAddr {
    OTHER_ADDRESS.parse().unwrap()
}

async fn get_from(source: IpAddr, addr: SocketAddr, path: &str, extra: &str) -> (u16, String) {
    raw_from(
        Some(source),
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n"),
    )
    .await
}

/// The session cookie of a login as `ops`, from 127.0.0.2.
async fn log_in(addr: SocketAddr) -> String {
    let body = "user=ops&password=ops+words";
    let (status, answer) = raw_from(
        Some(other()),
        addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert_eq!(status, 303, "{answer}");
    support::http::cookie_of(&answer)
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(": ")?;
        n.eq_ignore_ascii_case(name).then_some(v)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_station_pages_carry_the_panels_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let panel = TestSettings::only(&["panel"]).start_demo().await;
    let st = station::start(&settings(dir.path(), ""), String::new(), dir.path())
        .await
        .unwrap();
    let (_, panel_login) = get_from(other(), panel.addrs.panel.unwrap(), "/login", "").await;
    let (status, station_login) = get_from(other(), st.addr, "/login", "").await;
    assert_eq!(status, 200, "{station_login}");
    for name in [
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "cache-control",
    ] {
        assert!(
            header(&panel_login, name).is_some(),
            "{name}: {panel_login}"
        );
        assert_eq!(
            header(&station_login, name),
            header(&panel_login, name),
            "{name}: {station_login}"
        );
    }
    let csp = header(&station_login, "content-security-policy").expect("a CSP");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self';"), "{csp}");

    // A logged-in page, and a stylesheet worth compressing.
    let cookie = log_in(st.addr).await;
    let (status, grid) = get_from(other(), st.addr, "/", &format!("Cookie: {cookie}\r\n")).await;
    assert_eq!(status, 200, "{grid}");
    assert_eq!(header(&grid, "x-frame-options"), Some("DENY"));
    let csp = header(&grid, "content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    // A live screen: its wasm compiles and its hydration script (the
    // only inline script) runs by this answer's nonce, as on the panel.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|n| n.split('\'').next())
        .unwrap_or_else(|| panic!("a nonce: {csp}"));
    assert!(
        csp.contains(&format!(
            "script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval';"
        )),
        "{csp}"
    );
    assert!(
        grid.contains(&format!("<script type=\"module\" nonce=\"{nonce}\">")),
        "{grid}"
    );
    assert!(grid.contains("/pkg/station.js"), "{grid}");
    assert!(
        !grid.contains("/pkg/roomctl"),
        "not the panel's wasm: {grid}"
    );
    let (status, style) = get_from(
        other(),
        st.addr,
        "/station.css",
        "Accept-Encoding: gzip\r\n",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&style, "content-encoding"), Some("gzip"), "{style}");
    assert_eq!(header(&style, "x-content-type-options"), Some("nosniff"));
    // The page names its icon, and the station serves it.
    assert!(
        grid.contains("<link rel=\"icon\" href=\"/icon.svg\">"),
        "{grid}"
    );
    let (status, icon) = get_from(other(), st.addr, "/icon.svg", "").await;
    assert_eq!(status, 200, "{icon}");
    assert_eq!(header(&icon, "content-type"), Some("image/svg+xml"));
    st.shutdown().await;
    panel.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_request_to_the_station_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let st = station::start(
        &settings(dir.path(), "[panel]\nheader_timeout_secs = 1\n"),
        String::new(),
        dir.path(),
    )
    .await
    .unwrap();
    let mut s = connect_from(other(), st.addr).await;
    s.write_all(b"GET / HTTP/1.1\r\nHost: station\r\nX-Slow: ")
        .await
        .unwrap();
    // A byte now and then, never the end of the headers: the header
    // timeout closes the connection (with or without a 408 first).
    let closed = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 1024];
        loop {
            tokio::select! {
                r = s.read(&mut buf) => match r {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                },
                _ = tokio::time::sleep(Duration::from_millis(300)) => {
                    if s.write_all(b"a").await.is_err() {
                        return;
                    }
                }
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a trickled request is still open");
    st.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_outside_the_station_allow_list_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let st = station::start(
        &settings(dir.path(), "[station]\nallow = [\"127.0.0.1\"]\n"),
        String::new(),
        dir.path(),
    )
    .await
    .unwrap();
    let (status, answer) = get_from(other(), st.addr, "/login", "").await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer.contains("not on the station's allow-list"),
        "{answer}"
    );
    let (status, answer) = get_from("127.0.0.1".parse().unwrap(), st.addr, "/login", "").await;
    assert_eq!(status, 200, "{answer}");
    st.shutdown().await;
}

/// A toy screen, written the way the station's screens are: routes with
/// the station as state, the signed-in check of its own pages.
mod toy {
    use std::sync::Arc;

    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use axum::Router;
    use roomctl::security::auth::Role;
    use roomctl::station::{web, Station};

    /// `/toy`: how many rooms the station watches.
    pub fn screen() -> Router<Arc<Station>> {
        Router::new().route("/toy", get(count))
    }

    async fn count(State(st): State<Arc<Station>>, headers: HeaderMap) -> Response {
        match web::signed_in(&st, &headers, Role::Viewer) {
            Ok(u) => format!(
                "{} sees {} rooms",
                u.name,
                st.registry.cards(&Default::default()).len()
            )
            .into_response(),
            Err(turned_away) => *turned_away,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_toy_screen_and_a_toy_service_start_from_the_station_list() {
    let dir = tempfile::tempdir().unwrap();
    let st = station::start_with(
        &settings(dir.path(), ""),
        StationService::new(String::new(), dir.path()).with_screen(toy::screen),
        vec![Box::new(support::idler::Idler)],
    )
    .await
    .unwrap();
    let board = st.board();
    let station = board.service("station").expect("registered");
    assert_eq!(station.state, ServiceState::Listening);
    assert_eq!(station.endpoint, format!("tcp {}", st.addr));
    assert!(
        station.purpose.contains("central station"),
        "{}",
        station.purpose
    );
    assert_eq!(board.service("idler").unwrap().state, ServiceState::Running);

    // The toy screen is behind the station's login and its layers.
    let (status, answer) = get_from(other(), st.addr, "/toy", "").await;
    assert_eq!(status, 303, "{answer}");
    let cookie = log_in(st.addr).await;
    let (status, answer) =
        get_from(other(), st.addr, "/toy", &format!("Cookie: {cookie}\r\n")).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.ends_with("ops sees 0 rooms"), "{answer}");
    assert_eq!(header(&answer, "x-frame-options"), Some("DENY"));

    let host = st.host().clone();
    st.shutdown().await;
    assert_eq!(
        host.status().service("station").unwrap().state,
        ServiceState::Stopped
    );
}
