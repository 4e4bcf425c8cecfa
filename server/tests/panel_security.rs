//! Panel security: PINs, required login, allow-lists, the admin-only status.

mod support;

use controller_core::protocol::panel::{ClientMessage, ErrorCode, ServerMessage};
use roomctl::auth::Role;
use support::http::{cookie_of, get, get_with_cookie, post_form};
use support::panel::{self, panel, recv_data, send, ws_connect};

#[tokio::test]
async fn a_panel_pin_is_required_and_checked() {
    let running = panel::settings().start(panel::demo_with_pin("2468")).await;
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
                sparse: false,
                layout: None,
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
            sparse: false,
            layout: None,
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
    let running = panel::settings()
        .toml("[panel]\nrequire_login = true\n")
        .start_demo()
        .await;
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
    let running = panel::settings()
        .toml("[panel]\nallow = [\"10.0.0.0/8\"]\n")
        .start_demo()
        .await;
    let addr = running.addrs.panel.unwrap();
    let (_, body) = get(addr, "/").await;
    assert!(body.starts_with("HTTP/1.1 403"), "{body}");
    assert!(body.contains("allow-list"));
    running.shutdown().await;
}

#[tokio::test]
async fn status_needs_a_login_and_login_works() {
    let running = panel::settings()
        .user("ada", Role::Admin, "correct horse battery")
        .user("op", Role::Operator, "correct horse battery")
        .user("desk", Role::Viewer, "correct horse battery")
        .start_demo()
        .await;
    let addr = running.addrs.panel.unwrap();
    let (_, page) = get(addr, "/status").await;
    assert!(page.contains("Log in to see the status page"), "{page}");
    assert!(!page.contains("Network services"));

    let (_, bad) = post_form(addr, "/login", "user=ada&password=wrong&next=%2Fstatus").await;
    assert!(bad.contains("error=1"), "{bad}");
    let (_, op) = post_form(
        addr,
        "/login",
        "user=op&password=correct+horse+battery&next=%2Fstatus",
    )
    .await;
    let op_cookie = cookie_of(&op);
    let (_, page) = get_with_cookie(addr, "/status", &op_cookie).await;
    assert!(page.contains("Network services"), "an operator sees status");
    // A viewer may see status too (docs/configuration.md).
    let (_, desk) = post_form(
        addr,
        "/login",
        "user=desk&password=correct+horse+battery&next=%2Fstatus",
    )
    .await;
    let (_, page) = get_with_cookie(addr, "/status", &cookie_of(&desk)).await;
    assert!(
        page.contains("Network services"),
        "a viewer sees status: {page}"
    );

    let (_, ok) = post_form(
        addr,
        "/login",
        "user=ada&password=correct+horse+battery&next=%2Fstatus",
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 303"), "{ok}");
    let cookie = cookie_of(&ok);
    let (_, page) = get_with_cookie(addr, "/status", &cookie).await;
    assert!(page.contains("Network services"), "{page}");
    assert!(page.contains("engine-revision"));
    // An open redirect is not possible.
    let (_, evil) = post_form(
        addr,
        "/login",
        "user=ada&password=correct+horse+battery&next=%2F%2Fevil.example",
    )
    .await;
    assert!(evil.contains("location: /status"), "{evil}");
    running.shutdown().await;
}
