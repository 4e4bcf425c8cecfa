//! The Project Designer's preview (server/src/services/http/preview.rs)
//! against a running controller on loopback: a draft posted by an admin
//! gets its own preview controller, whose panel page and live channel sit
//! under `/designer/preview/{token}`; a press there changes the preview's
//! state and nothing else: not the running controller's, and a fake device
//! on loopback (the draft's and the running project's device) receives no
//! bytes from it, while the same press on the running controller reaches
//! it. Non-admins are refused, a bad draft gets every error and changes
//! nothing, a preview expires, only preview pages may be framed (by the
//! controller's own pages).

use crate::support;

use std::net::SocketAddr;
use std::time::Duration;

use controller_core::project::LedMode;
use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use futures::StreamExt;
use roomctl::security::auth::Role;
use support::http::{cookie_of, get_with_cookie, post_form, post_text, raw};
use support::panel::{recv_data, send, ws_connect_at, Ws};
use support::{loaded, press_and_release, TestSettings, ADMIN, ADMIN_PW, VIEWER, VIEWER_PW};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

/// Generous bound for things that take milliseconds; a failure, not a timing.
const PATIENCE: Duration = Duration::from_secs(20);

/// A room whose first source button sends `SRC1` to a device at `device`.
fn room(name: &str, device: SocketAddr) -> String {
    format!(
        r#"
[project]
name = "{name}"

[[buttons]]
id = "src1"
label = "Source 1"
kind = "interlock"
group = "sources"

[[buttons]]
id = "src2"
label = "Source 2"
kind = "interlock"
group = "sources"

[[panels]]
id = "tablet"
name = "Tablet"
columns = 2
rows = 1

[[panels.pages]]
id = "main"
title = "Main"
buttons = [
  {{ button = "src1", row = 0, col = 0 }},
  {{ button = "src2", row = 0, col = 1 }},
]

[[devices]]
id = "dev"
transport = "tcp"
address = "{device}"
terminator = '\r\n'
reconnect_secs = 1

[[sequences]]
id = "go"
button = "src1"
steps = [{{ send = "SRC1", device = "dev" }}]
"#
    )
}

fn settings(extra: &str) -> roomctl::config::Settings {
    TestSettings::only(&["panel", "logic"])
        .user(ADMIN, Role::Admin, ADMIN_PW)
        .user(VIEWER, Role::Viewer, VIEWER_PW)
        .toml(extra)
        .build()
}

async fn login(addr: SocketAddr, user: &str, password: &str) -> String {
    let (code, answer) = post_form(
        addr,
        "/login",
        &format!("user={user}&password={password}&next=/designer"),
    )
    .await;
    assert_eq!(code, 303, "{answer}");
    cookie_of(&answer)
}

fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    answer.split("\r\n\r\n").next()?.lines().find_map(|l| {
        let (n, v) = l.split_once(": ")?;
        n.eq_ignore_ascii_case(name).then_some(v)
    })
}

/// Posts a draft; the preview's base path.
async fn preview(addr: SocketAddr, cookie: &str, token: Option<&str>, draft: &str) -> String {
    let path = match token {
        Some(t) => format!("/designer/preview?token={t}"),
        None => "/designer/preview".into(),
    };
    let (code, answer) = post_text(addr, &path, cookie, draft).await;
    assert_eq!(code, 200, "{answer}");
    let json: serde_json::Value = serde_json::from_str(body(&answer)).unwrap();
    assert_eq!(json["ok"], true);
    json["base"].as_str().unwrap().to_string()
}

/// A panel on a preview's live channel: welcome, then the snapshot.
async fn preview_panel(
    addr: SocketAddr,
    base: &str,
    cookie: &str,
) -> (Ws, controller_core::Snapshot) {
    let mut ws = ws_connect_at(addr, &format!("{base}/ws"), cookie)
        .await
        .expect("the preview's live channel opens for its admin");
    send(
        &mut ws,
        &ClientMessage::Hello {
            panel: "tablet".into(),
            revision: 0,
            pin: None,
            sparse: false,
            layout: None,
        },
    )
    .await;
    assert!(matches!(
        recv_data(&mut ws).await,
        ServerMessage::Welcome { .. }
    ));
    let ServerMessage::Snapshot { snapshot } = recv_data(&mut ws).await else {
        panic!("a snapshot after welcome")
    };
    (ws, snapshot)
}

async fn tap(ws: &mut Ws, button: &str) {
    send(
        ws,
        &ClientMessage::Press {
            button: button.into(),
        },
    )
    .await;
    send(
        ws,
        &ClientMessage::Release {
            button: button.into(),
        },
    )
    .await;
}

/// The preview's state now, as its panel sees it after a resync.
async fn resync(ws: &mut Ws) -> controller_core::Snapshot {
    send(ws, &ClientMessage::Resync).await;
    loop {
        if let ServerMessage::Snapshot { snapshot } = recv_data(ws).await {
            return snapshot;
        }
    }
}

/// No connection and no byte reach the device for a moment (a preview
/// sends nothing: this cannot be shown by waiting, only not contradicted).
async fn device_quiet(device: &TcpListener, conn: &mut TcpStream) {
    let mut byte = [0u8; 64];
    tokio::select! {
        accepted = device.accept() => panic!("a second connection to the device: {accepted:?}"),
        read = conn.read(&mut byte) => panic!("the device received {read:?}: {:?}", &byte[..]),
        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_press_changes_the_preview_only_and_reaches_no_device() {
    let device = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let device_addr = device.local_addr().unwrap();
    let running = support::start(settings(""), loaded(&room("Running room", device_addr))).await;
    let addr = running.addrs.panel.unwrap();
    let c = running.controller.clone();
    // The running controller's own connection to the device.
    let (mut conn, _) = tokio::time::timeout(PATIENCE, device.accept())
        .await
        .expect("the running controller connects to the device")
        .unwrap();

    let admin = login(addr, ADMIN, ADMIN_PW).await;
    let viewer = login(addr, VIEWER, VIEWER_PW).await;
    let draft = room("Draft room", device_addr);

    // Only an admin, only from the controller's own pages.
    let (code, _) = post_text(addr, "/designer/preview", "", &draft).await;
    assert_eq!(code, 401);
    let (code, _) = post_text(addr, "/designer/preview", &viewer, &draft).await;
    assert_eq!(code, 401);
    let (code, answer) = raw(
        addr,
        &format!(
            "POST /designer/preview HTTP/1.1\r\nHost: {addr}\r\nCookie: {admin}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{draft}",
            draft.len()
        ),
    )
    .await;
    assert_eq!(code, 403, "no Origin: refused as cross-site: {answer}");

    // A bad draft: every error at once, in words, and nothing changes.
    let bad = draft
        .replacen("kind = \"interlock\"", "kind = \"interlok\"", 1)
        .replacen("button = \"src2\", row", "button = \"nope\", row", 1);
    let (code, answer) = post_text(addr, "/designer/preview", &admin, &bad).await;
    assert_eq!(code, 422, "{answer}");
    let json: serde_json::Value = serde_json::from_str(body(&answer)).unwrap();
    let text = json["text"].as_str().unwrap();
    assert!(text.contains("interlok"), "{text}");
    assert_eq!(json["ok"], false);
    assert_eq!(c.project().project.name, "Running room");

    // A good draft: its own panel page, framable by the controller's own
    // pages only; every other page stays unframable.
    let base = preview(addr, &admin, None, &draft).await;
    assert!(base.starts_with("/designer/preview/"), "{base}");
    let (code, page) = get_with_cookie(addr, &format!("{base}/panel/tablet"), &admin).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains(&format!("data-base=\"{base}\"")), "{page}");
    assert!(
        page.contains("Draft room") && page.contains("Source 1"),
        "{page}"
    );
    let csp = header(&page, "content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'self'") && csp.contains("'nonce-"),
        "{csp}"
    );
    assert_eq!(header(&page, "x-frame-options"), Some("SAMEORIGIN"));
    let (code, panel) = get_with_cookie(addr, "/panel/tablet", &admin).await;
    assert_eq!(code, 200);
    assert!(
        panel.contains("Running room") && !panel.contains("data-base"),
        "{panel}"
    );
    let csp = header(&panel, "content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(header(&panel, "x-frame-options"), Some("DENY"));
    // The default panel at the base itself (the panel's "Open the default
    // panel" link), and a panel the draft does not have.
    let (code, page) = get_with_cookie(addr, &format!("{base}/"), &admin).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Draft room"), "{page}");
    let (_, page) = get_with_cookie(addr, &format!("{base}/panel/nope"), &admin).await;
    assert!(page.contains("This panel is not available"), "{page}");
    assert!(page.contains(&format!("href=\"{base}/\"")), "{page}");
    // Not a panel: our words, in the frame.
    let (code, answer) = get_with_cookie(addr, &format!("{base}/status"), &admin).await;
    assert_eq!(code, 404);
    assert!(body(&answer).contains("panels only"), "{answer}");
    assert!(header(&answer, "content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'self'"));
    // Another session, a viewer, nobody: no preview.
    let (code, _) = get_with_cookie(addr, &format!("{base}/panel/tablet"), &viewer).await;
    assert_eq!(code, 401);
    let other_admin = login(addr, ADMIN, ADMIN_PW).await;
    let (code, _) = get_with_cookie(addr, &format!("{base}/panel/tablet"), &other_admin).await;
    assert_eq!(code, 404);
    assert!(ws_connect_at(addr, &format!("{base}/ws"), &viewer)
        .await
        .is_err());
    assert!(ws_connect_at(addr, &format!("{base}/ws"), &other_admin)
        .await
        .is_err());

    // The dry run: the interlock works in the preview.
    let (mut ws, snapshot) = preview_panel(addr, &base, &admin).await;
    assert_eq!(snapshot.project_name, "Draft room");
    tap(&mut ws, "src1").await;
    tap(&mut ws, "src2").await;
    let state = resync(&mut ws).await;
    assert!(state.buttons["src2"].latched, "{state:?}");
    assert!(!state.buttons["src1"].latched, "{state:?}");
    assert_eq!(state.led("src2").unwrap().mode, LedMode::On);
    // ... and nowhere else: not the running controller, not the device.
    let running_state = c.snapshot();
    assert!(!running_state.buttons["src1"].latched && !running_state.buttons["src2"].latched);
    tap(&mut ws, "src1").await;
    assert!(resync(&mut ws).await.buttons["src1"].latched);
    device_quiet(&device, &mut conn).await;
    assert!(!c.snapshot().buttons["src1"].latched);

    // The same press on the running controller does reach the device.
    press_and_release(&c, "src1");
    let mut got = [0u8; 6];
    tokio::time::timeout(PATIENCE, conn.read_exact(&mut got))
        .await
        .expect("the running controller's press reaches the device")
        .unwrap();
    assert_eq!(&got, b"SRC1\r\n");

    // A changed draft replaces the preview's project; its panel is told.
    let changed = draft.replace("Draft room", "Draft room 2");
    let token = base.rsplit('/').next().unwrap();
    assert_eq!(preview(addr, &admin, Some(token), &changed).await, base);
    assert_eq!(resync(&mut ws).await.project_name, "Draft room 2");
    assert_eq!(c.project().project.name, "Running room");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_expires_when_unused() {
    let device = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let text = room("Running room", device.local_addr().unwrap());
    let running = support::start(settings("[panel]\npreview_idle_secs = 1\n"), loaded(&text)).await;
    let addr = running.addrs.panel.unwrap();
    let admin = login(addr, ADMIN, ADMIN_PW).await;
    let base = preview(addr, &admin, None, &text).await;
    let (code, _) = get_with_cookie(addr, &format!("{base}/panel/tablet"), &admin).await;
    assert_eq!(code, 200);
    // Past the idle time with no panel connected: gone, page and channel.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (code, answer) = get_with_cookie(addr, &format!("{base}/panel/tablet"), &admin).await;
    assert_eq!(code, 404, "{answer}");
    assert!(body(&answer).contains("expired"), "{answer}");
    assert!(ws_connect_at(addr, &format!("{base}/ws"), &admin)
        .await
        .is_err());
    // A new draft makes a new preview.
    let again = preview(addr, &admin, base.rsplit('/').next(), &text).await;
    assert_ne!(again, base);
    running.shutdown().await;
}

/// An admin who logs out takes their previews with them: the connected
/// preview panel is closed within a few seconds (without any other
/// request) and the preview's page is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_ends_the_admins_previews() {
    let device = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let text = room("Running room", device.local_addr().unwrap());
    let running = support::start(settings(""), loaded(&text)).await;
    let addr = running.addrs.panel.unwrap();
    let admin = login(addr, ADMIN, ADMIN_PW).await;
    let base = preview(addr, &admin, None, &text).await;
    let (mut ws, _) = preview_panel(addr, &base, &admin).await;
    let (code, answer) = post_text(addr, "/logout", &admin, "").await;
    assert_eq!(code, 303, "{answer}");
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(message)) = ws.next().await {
            if let tokio_tungstenite::tungstenite::Message::Close(frame) = message {
                return frame.map(|f| u16::from(f.code));
            }
        }
        None
    })
    .await
    .expect("the preview panel is closed after the logout");
    assert_eq!(closed, Some(1001));
    let admin_again = login(addr, ADMIN, ADMIN_PW).await;
    let (code, _) = get_with_cookie(addr, &format!("{base}/panel/tablet"), &admin_again).await;
    assert_eq!(code, 404);
    running.shutdown().await;
}
