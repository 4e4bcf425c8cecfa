//! Hardening against outside clients: brute force, forged cross-site
//! requests, idle sockets, and the defects an outside review found.

use crate::support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use controller_core::protocol::panel::{ErrorCode, ServerMessage};
use support::ftp::Control;
use support::http::{connect_from, cookie_of, get_with_cookie, raw};
use support::panel::{self, hello, ws_connect_from};
use support::{TestSettings, ADMIN, ADMIN_PW};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_password_guessing_backs_off() {
    let env = TestSettings::upload((52100, 52110));
    let running = env.start().await;
    let addr = running.addrs.ftp.unwrap();
    let mut c = Control::connect(addr).await;
    for i in 0..30 {
        let r = c.cmd(&format!("USER {ADMIN}")).await;
        assert!(r.starts_with("331"), "USER {i}: {r}");
        let r = c.cmd("PASS wrong-guess").await;
        assert!(r.starts_with("530"), "PASS {i}: {r}");
    }
    // Right after the guesses, the right password is not even checked.
    let r = c.cmd(&format!("USER {ADMIN}")).await;
    assert!(r.starts_with("331"), "{r}");
    let r = c.cmd(&format!("PASS {ADMIN_PW}")).await;
    assert!(
        r.starts_with("530"),
        "the password is tried during back-off: {r}"
    );
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panel_pin_guessing_backs_off_per_address() {
    let running = panel::settings().start(panel::demo_with_pin("2468")).await;
    let addr = running.addrs.panel.unwrap();
    let mut backed_off = 0;
    for guess in 0..50 {
        let mut ws = ws_connect_from(ATTACKER, addr).await;
        let reply = hello(&mut ws, "tablet", Some(&format!("{guess:04}"))).await;
        let ServerMessage::Error { code, message } = reply else {
            panic!("guess {guess} was let in: {reply:?}")
        };
        assert_eq!(code, ErrorCode::WrongPin);
        if message.contains("too many") {
            backed_off += 1;
        }
    }
    assert!(
        backed_off >= 40,
        "only {backed_off} of 50 quick guesses met the back-off"
    );
    // The right PIN from the guessing address waits too ...
    let mut ws = ws_connect_from(ATTACKER, addr).await;
    let reply = hello(&mut ws, "tablet", Some("2468")).await;
    assert!(
        matches!(&reply, ServerMessage::Error { message, .. } if message.contains("too many")),
        "{reply:?}"
    );
    // ... while another address is not held back.
    let mut ws = ws_connect_from(OTHER, addr).await;
    let reply = hello(&mut ws, "tablet", Some("2468")).await;
    assert!(matches!(reply, ServerMessage::Welcome { .. }), "{reply:?}");
    running.shutdown().await;
}

/// A form post as a page from `origin` makes a browser send it.
fn form_post(
    addr: SocketAddr,
    path: &str,
    origin: Option<&str>,
    cookie: &str,
    body: &str,
) -> String {
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    let cookie = if cookie.is_empty() {
        String::new()
    } else {
        format!("Cookie: {cookie}\r\n")
    };
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{origin}{cookie}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_from_other_sites_are_refused() {
    let env = TestSettings::upload((52120, 52129));
    let mut settings = env.settings.clone();
    settings.panel.enabled = true;
    let running = support::start(settings, roomctl::storage::project_store::demo()).await;
    let addr = running.addrs.panel.unwrap();
    let login = format!("user={ADMIN}&password={ADMIN_PW}&next=%2Fstatus");
    let evil = Some("http://evil.example");

    // A login form posted from another site, or with no origin at all.
    for origin in [evil, None] {
        let (status, answer) = raw(addr, &form_post(addr, "/login", origin, "", &login)).await;
        assert_eq!(status, 403, "{origin:?}: {answer}");
        assert!(!answer.contains("set-cookie"), "{answer}");
    }
    // From the controller's own page (Origin, or only a Referer): logged in.
    let (status, answer) = raw(
        addr,
        &form_post(addr, "/login", Some(&format!("http://{addr}")), "", &login),
    )
    .await;
    assert_eq!(status, 303, "{answer}");
    let cookie = cookie_of(&answer);
    let referer_login = form_post(addr, "/login", None, "", &login).replace(
        "Connection: close",
        &format!("Referer: http://{addr}/login\r\nConnection: close"),
    );
    assert_eq!(raw(addr, &referer_login).await.0, 303);

    // The admin API and /logout, with the session cookie, from another site.
    for path in [
        "/admin/api/apply",
        "/admin/api/rollback",
        "/admin/api/validate",
        "/logout",
    ] {
        let (status, answer) = raw(addr, &form_post(addr, path, evil, &cookie, "")).await;
        assert_eq!(status, 403, "{path}: {answer}");
        assert!(answer.contains("cross-site"), "{answer}");
    }
    // The session survived the forged logout.
    let (status, _) = get_with_cookie(addr, "/status", &cookie).await;
    assert_eq!(status, 200);
    running.shutdown().await;
}

/// Reads until the server closes; what it sent. Panics if it does not close
/// within 20 s (a failure guard, not a timing claim).
async fn read_until_closed(s: &mut tokio::net::TcpStream, what: &str) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .unwrap_or_else(|_| panic!("{what}: still open after 20 s"))
        .ok();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_cannot_lock_installers_out() {
    let env = TestSettings::only(&["telnet", "ftp", "central"])
        .user(ADMIN, roomctl::security::auth::Role::Admin, ADMIN_PW)
        .toml(
            "[telnet]\nmax_connections = 4\nlogin_timeout_secs = 3\n\
             [ftp]\nmax_connections = 4\nlogin_timeout_secs = 3\npassive_ports = [52130, 52139]\n\
             [central]\nmax_connections = 4\nlogin_timeout_secs = 3\n",
        )
        .in_tempdir();
    let running = env.start().await;
    let services = [
        ("telnet", running.addrs.telnet.unwrap()),
        ("ftp", running.addrs.ftp.unwrap()),
        ("central", running.addrs.central.unwrap()),
    ];
    for (name, addr) in services {
        // One address takes its share of the places with idle sockets ...
        let mut idle = Vec::new();
        for _ in 0..2 {
            idle.push(connect_from(ATTACKER, addr).await);
        }
        // ... a third from it is refused with a reason ...
        let mut third = connect_from(ATTACKER, addr).await;
        let refusal = read_until_closed(&mut third, name).await;
        assert!(refusal.contains("from this address"), "{name}: {refusal:?}");
        // ... another address still gets in and logs in.
        match name {
            "telnet" => drop(support::telnet::login(addr, ADMIN, ADMIN_PW).await),
            "ftp" => drop(Control::login(addr, ADMIN, ADMIN_PW).await),
            _ => {
                let stream = connect_from(OTHER, addr).await;
                let mut c = roomctl::cli::press::CentralClient::over(stream)
                    .await
                    .unwrap();
                c.login(ADMIN, ADMIN_PW).await.unwrap();
            }
        }
        // The idle sockets that never log in are let go, with a reason.
        for mut s in idle {
            let said = read_until_closed(&mut s, name).await;
            assert!(said.contains("o login within 3 s"), "{name}: {said:?}");
        }
    }
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_port_caps_connections_and_closes_slow_headers() {
    let running = TestSettings::only(&["panel"])
        .toml("[panel]\nmax_http_connections = 4\nheader_timeout_secs = 1\n")
        .start_demo()
        .await;
    let addr = running.addrs.panel.unwrap();
    // A client that sends its headers a little at a time, never finishing.
    let mut slow = connect_from(ATTACKER, addr).await;
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut second = connect_from(ATTACKER, addr).await;
    second.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    // Its address has its share: a third connection is refused.
    let (status, answer) = support::http::raw_from(
        Some(ATTACKER),
        addr,
        &format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 503, "{answer}");
    // Others are served meanwhile.
    let (status, _) = support::http::raw_from(
        Some(OTHER),
        addr,
        &format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 200);
    // The slow clients are closed once the header timeout passes.
    read_until_closed(&mut slow, "slow headers").await;
    read_until_closed(&mut second, "slow headers").await;
    running.shutdown().await;
}

/// The next close frame (code, reason) on a panel socket, skipping text.
async fn close_frame(ws: &mut panel::Ws) -> (u16, String) {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                return (frame.code.into(), frame.reason.to_string())
            }
            Ok(Some(Ok(Message::Close(None)))) => panic!("a close frame without a code"),
            Ok(Some(Ok(_))) => continue,
            other => panic!("no close frame, but {other:?}"),
        }
    }
}

/// Refusals and oversized messages end with a close frame that says why,
/// so a browser does not see 1006 ("abnormal closure").
#[tokio::test]
async fn panel_socket_refusals_and_oversized_messages_get_a_close_frame() {
    use controller_core::protocol::panel::ClientMessage;
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let running = panel::settings().start_demo().await;
    let addr = running.addrs.panel.unwrap();

    let mut ws = panel::ws_connect(addr).await;
    panel::send(
        &mut ws,
        &ClientMessage::Hello {
            panel: "no-such-panel".into(),
            revision: 0,
            pin: None,
            sparse: false,
            layout: None,
        },
    )
    .await;
    assert_eq!(close_frame(&mut ws).await, (4001, "unknown_panel".into()));

    let (mut ws, _) = panel::panel(addr, "tablet").await;
    let huge = "x".repeat(70_000);
    ws.send(Message::Text(huge.into())).await.unwrap();
    assert_eq!(close_frame(&mut ws).await.0, 1009);
    running.shutdown().await;
}
