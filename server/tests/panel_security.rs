//! Panel security: PINs, required login, allow-lists, the admin-only status.

use crate::support;

use controller_core::protocol::panel::{ClientMessage, ErrorCode, ServerMessage};
use roomctl::security::auth::Role;
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

/// The address the tests' browsers and panels connect from.
fn client() -> std::net::IpAddr {
    "127.0.0.2".parse().unwrap()
}

/// Cross-site WebSocket hijacking: with `require_login`, a page on another
/// port of the same host is the same site, so the browser sends it the
/// operator's cookie; its handshake names its own origin, and is refused.
/// The controller's own pages (their origin is the address they were
/// loaded from) open the channel and press.
#[tokio::test]
async fn a_page_of_another_origin_cannot_open_the_panel_channel_with_the_operators_cookie() {
    let running = panel::settings()
        .toml("[panel]\nrequire_login = true\n")
        .user("op", Role::Operator, "correct horse battery")
        .start_demo()
        .await;
    let addr = running.addrs.panel.unwrap();
    let form = "user=op&password=correct+horse+battery&next=%2F";
    let (_, login) = support::http::raw_from(
        Some(client()),
        addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        ),
    )
    .await;
    let cookie = cookie_of(&login);

    let foreign = format!("http://{}:{}", addr.ip(), addr.port().wrapping_add(1));
    match panel::ws_connect_with(client(), addr, &[("cookie", &cookie), ("origin", &foreign)]).await
    {
        Err(tokio_tungstenite::tungstenite::Error::Http(answer)) => {
            assert_eq!(answer.status(), 403);
            let body = String::from_utf8_lossy(answer.body().as_deref().unwrap_or_default());
            assert!(body.contains("allowed_origins"), "{body}");
        }
        Ok(_) => panic!("a page of {foreign} opened the panel channel"),
        Err(e) => panic!("{e}"),
    }
    // Nothing was pressed.
    assert!(!running.controller.snapshot().buttons["mute"].latched);

    let own = format!("http://{addr}");
    let mut ws = panel::ws_connect_with(client(), addr, &[("cookie", &cookie), ("origin", &own)])
        .await
        .expect("the controller's own page opens the channel");
    let ServerMessage::Welcome { .. } = panel::hello(&mut ws, "tablet", None).await else {
        panic!("welcome")
    };
    send(
        &mut ws,
        &ClientMessage::Press {
            button: "mute".into(),
        },
    )
    .await;
    support::eventually(std::time::Duration::from_secs(5), "mute is held", || {
        running.controller.snapshot().buttons["mute"].held
    })
    .await;
    running.shutdown().await;
}

/// A panel the project does not have (or no longer has) is told
/// `unavailable` and may stay connected, but operates nothing: not a
/// `hello` for a panel that does not exist on a project whose only panel
/// has a PIN, nor a real panel removed by an apply.
#[tokio::test]
async fn a_panel_told_unavailable_operates_nothing() {
    let mut only_pinned = panel::demo_with_pin("2468");
    std::sync::Arc::make_mut(&mut only_pinned.project)
        .panels
        .truncate(1);
    let running = panel::settings().start(only_pinned).await;
    let addr = running.addrs.panel.unwrap();
    let before = running.controller.snapshot();

    let mut ghost = panel::ws_connect_from(client(), addr).await;
    send(
        &mut ghost,
        &ClientMessage::Hello {
            panel: "ghost".into(),
            revision: 0,
            pin: None,
            sparse: true,
            layout: Some(String::new()),
        },
    )
    .await;
    let ServerMessage::Welcome { .. } = recv_data(&mut ghost).await else {
        panic!("welcome")
    };
    let ServerMessage::Unavailable { .. } = recv_data(&mut ghost).await else {
        panic!("unavailable")
    };
    let refused = [
        ClientMessage::Press {
            button: "mute".into(),
        },
        ClientMessage::Release {
            button: "mute".into(),
        },
        ClientMessage::SetLevel {
            level: "volume".into(),
            value: Some(0.0),
            muted: Some(true),
        },
    ];
    for m in &refused {
        send(&mut ghost, m).await;
        let ServerMessage::Error { code, .. } = recv_data(&mut ghost).await else {
            panic!("{m:?} refused")
        };
        assert_eq!(code, ErrorCode::Unavailable, "{m:?}");
    }
    let after = running.controller.snapshot();
    assert_eq!(after.buttons["mute"], before.buttons["mute"]);
    assert_eq!(after.levels["volume"], before.levels["volume"]);
    running.shutdown().await;

    // A panel of an earlier version (no `layout` in hello), removed by an
    // apply: it is sent the step (and would reload); until then it
    // operates nothing.
    let running = panel::settings().start_demo().await;
    let addr = running.addrs.panel.unwrap();
    let mut wall = panel::ws_connect_from(client(), addr).await;
    let ServerMessage::Welcome { .. } = panel::hello(&mut wall, "wall", None).await else {
        panic!("welcome")
    };
    let mut project = running.controller.project().as_ref().clone();
    project.panels.retain(|p| p.id != "wall");
    running
        .controller
        .load_project(std::sync::Arc::new(project), String::new(), "test")
        .expect("the project loads");
    loop {
        match recv_data(&mut wall).await {
            ServerMessage::Step { step, .. } if step.loads_project() => break,
            _ => {}
        }
    }
    for m in &refused {
        send(&mut wall, m).await;
        let code = loop {
            match recv_data(&mut wall).await {
                ServerMessage::Error { code, .. } => break code,
                ServerMessage::Step { .. } => panic!("{m:?} was carried out"),
                _ => {}
            }
        };
        assert_eq!(code, ErrorCode::Unavailable, "{m:?}");
    }
    running.shutdown().await;
}
