//! Hardening against outside clients: brute force, forged cross-site
//! requests, idle sockets, and the defects an outside review found.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use controller_core::project::demo_project;
use controller_core::protocol::panel::{ErrorCode, ServerMessage};
use roomctl::project_store::LoadedProject;
use support::ftp::Control;
use support::http::{cookie_of, get_with_cookie, raw};
use support::panel::{self, hello, ws_connect_from};
use support::{TestSettings, ADMIN, ADMIN_PW};

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
    let mut project = demo_project().clone();
    project.panels[0].pin = Some("2468".into());
    let loaded = LoadedProject {
        project: Arc::new(project),
        source: String::new(),
        origin: "test".into(),
    };
    let running = panel::settings().start(loaded).await;
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
    let running = support::start(settings, roomctl::project_store::demo()).await;
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
