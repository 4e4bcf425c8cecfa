//! Panel security: PINs, required login, allow-lists, the admin-only status.

mod common;

use std::sync::Arc;

use common::*;
use controller_core::project::demo_project;
use controller_core::protocol::panel::{ClientMessage, ErrorCode, ServerMessage};
use roomctl::project_store::LoadedProject;

#[tokio::test]
async fn a_panel_pin_is_required_and_checked() {
    let mut project = demo_project().clone();
    project.panels[0].pin = Some("2468".into());
    let loaded = LoadedProject {
        project: Arc::new(project),
        source: String::new(),
        origin: "test".into(),
    };
    let running = roomctl::serve::start(test_settings(""), loaded)
        .await
        .unwrap();
    let addr = running.addrs.panel.unwrap();
    for (pin, expected) in [
        (None, ErrorCode::PinRequired),
        (Some("1111"), ErrorCode::WrongPin),
    ] {
        let mut ws = ws_connect(addr).await;
        send(
            &mut ws,
            &ClientMessage::Hello {
                panel: "tablet".into(),
                revision: 0,
                pin: pin.map(Into::into),
            },
        )
        .await;
        let ServerMessage::Error { code, .. } = recv_data(&mut ws).await else {
            panic!("refused")
        };
        assert_eq!(code, expected);
    }
    let mut ws = ws_connect(addr).await;
    send(
        &mut ws,
        &ClientMessage::Hello {
            panel: "tablet".into(),
            revision: 0,
            pin: Some("2468".into()),
        },
    )
    .await;
    assert!(matches!(
        recv_data(&mut ws).await,
        ServerMessage::Welcome { .. }
    ));
    // The wall panel has no PIN.
    let _ = panel(addr, "wall").await;
    running.shutdown().await;
}

#[tokio::test]
async fn panels_that_require_login_are_refused_without_a_session() {
    let running = start_demo("[panel]\nrequire_login = true\n").await;
    let mut ws = ws_connect(running.addrs.panel.unwrap()).await;
    let ServerMessage::Error { code, message } = recv_data(&mut ws).await else {
        panic!("refused")
    };
    assert_eq!(code, ErrorCode::Forbidden);
    assert!(message.contains("/login"));
    running.shutdown().await;
}

#[tokio::test]
async fn addresses_off_the_allow_list_are_refused() {
    let running = start_demo("[panel]\nallow = [\"10.0.0.0/8\"]\n").await;
    let addr = running.addrs.panel.unwrap();
    let body = reqwest_like_get(addr, "/").await;
    assert!(body.starts_with("HTTP/1.1 403"), "{body}");
    assert!(body.contains("allow-list"));
    running.shutdown().await;
}

#[tokio::test]
async fn status_needs_an_admin_login_and_login_works() {
    let hash = roomctl::auth::hash_password("correct horse battery").unwrap();
    let settings = format!(
        "[[users]]\nname = \"ada\"\nrole = \"admin\"\npassword_hash = \"{hash}\"\n[[users]]\nname = \"op\"\nrole = \"operator\"\npassword_hash = \"{hash}\"\n"
    );
    let running = start_demo(&settings).await;
    let addr = running.addrs.panel.unwrap();
    let page = reqwest_like_get(addr, "/status").await;
    assert!(page.contains("Log in as an admin"), "{page}");
    assert!(!page.contains("Network services"));

    let bad = post_form(addr, "/login", "user=ada&password=wrong&next=%2Fstatus").await;
    assert!(bad.contains("error=1"), "{bad}");
    let op = post_form(
        addr,
        "/login",
        "user=op&password=correct+horse+battery&next=%2Fstatus",
    )
    .await;
    let op_cookie = cookie_of(&op);
    let page = get_with_cookie(addr, "/status", &op_cookie).await;
    assert!(
        page.contains("Log in as an admin"),
        "an operator is not an admin"
    );

    let ok = post_form(
        addr,
        "/login",
        "user=ada&password=correct+horse+battery&next=%2Fstatus",
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 303"), "{ok}");
    let cookie = cookie_of(&ok);
    let page = get_with_cookie(addr, "/status", &cookie).await;
    assert!(page.contains("Network services"), "{page}");
    assert!(page.contains("engine-revision"));
    // An open redirect is not possible.
    let evil = post_form(
        addr,
        "/login",
        "user=ada&password=correct+horse+battery&next=%2F%2Fevil.example",
    )
    .await;
    assert!(evil.contains("location: /status"), "{evil}");
    running.shutdown().await;
}

async fn raw(addr: std::net::SocketAddr, request: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

async fn reqwest_like_get(addr: std::net::SocketAddr, path: &str) -> String {
    raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await
}

async fn get_with_cookie(addr: std::net::SocketAddr, path: &str, cookie: &str) -> String {
    raw(
        addr,
        format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
    .await
}

async fn post_form(addr: std::net::SocketAddr, path: &str, body: &str) -> String {
    raw(
        addr,
        format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

fn cookie_of(response: &str) -> String {
    response
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string()
}
