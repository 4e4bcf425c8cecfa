//! The panel service as browsers use it: server-rendered HTML with the
//! current LED state, and the live WebSocket channel.

use crate::support;

use std::sync::Arc;
use std::time::Duration;

use controller_core::engine::{Change, StepOutcome};
use controller_core::project::{LedMode, Project};
use controller_core::protocol::panel::{ClientMessage, ErrorCode, ServerMessage};
use futures::{SinkExt, StreamExt};
use support::http::get;
use support::panel::{self, panel, recv, recv_data, send, ws_connect};
use support::{eventually, press};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn panel_html_is_rendered_with_current_led_state() {
    let running = panel::settings().start_demo().await;
    let addr = running.addrs.panel.unwrap();
    let (status, html) = get(addr, "/").await;
    assert_eq!(status, 200);
    assert!(html.contains("Demo meeting room"));
    assert!(html.contains(r#"data-panel="tablet""#));
    assert!(html.contains(r#"data-button="display_power""#));
    assert!(
        html.contains(r#"data-button="mute" data-kind="toggle" data-led="off""#),
        "{html}"
    );

    // Change state in the engine; a fresh page load shows it.
    press(&running.controller, "mute");
    let (_, html) = get(addr, "/").await;
    assert!(html.contains(r#"data-button="mute" data-kind="toggle" data-led="on""#));

    // The Apprimo port opens the wall panel; an unknown panel is a clear page.
    let (_, html) = get(running.addrs.apprimo.unwrap(), "/").await;
    assert!(html.contains(r#"data-panel="wall""#));
    let (_, html) = get(addr, "/panel/nope").await;
    assert!(html.contains("has no panel"), "{html}");
    // Any panel by its path, on either port; other paths are a 404 page.
    let (status, html) = get(addr, "/panel/wall").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-panel="wall""#));
    for path in ["/no/such/page", "/status/", "/panel/wall/"] {
        let (status, html) = get(addr, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(html.contains("Page not found."), "{path}: {html}");
    }
    running.shutdown().await;
}

#[tokio::test]
async fn press_on_one_panel_reaches_every_panel_once_in_order() {
    let running = panel::settings().start_demo().await;
    let addr = running.addrs.panel.unwrap();
    let (mut a, mut state_a) = panel(addr, "tablet").await;
    let (mut b, mut state_b) = panel(running.addrs.apprimo.unwrap(), "wall").await;

    send(
        &mut a,
        &ClientMessage::Press {
            button: "src_hdmi1".into(),
        },
    )
    .await;
    send(
        &mut a,
        &ClientMessage::Release {
            button: "src_hdmi1".into(),
        },
    )
    .await;
    for (ws, state) in [(&mut a, &mut state_a), (&mut b, &mut state_b)] {
        let ServerMessage::Step { step, .. } = recv_data(ws).await else {
            panic!("a step")
        };
        assert_eq!(state.receive(&step), StepOutcome::Applied);
        assert!(step
            .changes
            .iter()
            .any(|c| matches!(c, Change::Pressed { .. })));
        assert_eq!(state.led("src_hdmi1").unwrap().mode, LedMode::On);
        let ServerMessage::Step { step, .. } = recv_data(ws).await else {
            panic!("a step")
        };
        assert_eq!(state.receive(&step), StepOutcome::Applied);
    }
    assert_eq!(state_a, running.controller.snapshot());
    assert_eq!(state_b, running.controller.snapshot());
    running.shutdown().await;
}

/// Presses and releases `button` on `ws`.
async fn press_cycle(ws: &mut panel::Ws, button: &str) {
    let button = button.to_string();
    send(
        ws,
        &ClientMessage::Press {
            button: button.clone(),
        },
    )
    .await;
    send(ws, &ClientMessage::Release { button }).await;
}

/// Today's panels say `sparse`: a toggle's press cycle (press: latch and LED
/// change; release: only "released") costs each of them one frame, a
/// momentary's two (LED on, LED off); an earlier panel still gets every
/// step; both end showing the controller's state without a resync.
#[tokio::test]
async fn a_sparse_panel_gets_one_frame_per_change_it_shows() {
    // Without the room logic: the demo's Volume + moves the volume level
    // through a sequence, and only the buttons' own steps are counted here.
    let running = support::TestSettings::only(&["panel", "apprimo"])
        .toml("[panel]\nkeepalive_secs = 1\n")
        .start_demo()
        .await;
    let addr = running.addrs.panel.unwrap();
    let (mut presser, _) = panel::panel_with(addr, "tablet", true).await;
    let (mut sparse, mut shown) = panel::panel_with(addr, "tablet", true).await;
    let (mut earlier, mut full) = panel(running.addrs.apprimo.unwrap(), "wall").await;
    let start = shown.revision;

    press_cycle(&mut presser, "mute").await; // toggle: 1 shown change
    press_cycle(&mut presser, "vol_up").await; // momentary: 2 shown changes
    press_cycle(&mut presser, "mute").await; // toggle again: 1

    // The sparse panel: 4 frames, each following on from the last by `after`.
    let mut revisions = Vec::new();
    for _ in 0..4 {
        let ServerMessage::Step { step, after } = recv_data(&mut sparse).await else {
            panic!("a step")
        };
        assert!(step.shown_on_panels(), "{step:?}");
        assert_eq!(shown.receive_after(&step, after), StepOutcome::Applied);
        revisions.push((after, step.revision));
    }
    // Press of mute, press and release of vol_up, press of mute: the two
    // releases of the toggle (revisions start+2 and start+6) are skipped.
    assert_eq!(
        revisions,
        vec![
            (Some(start), start + 1),
            (Some(start + 1), start + 3),
            (Some(start + 3), start + 4),
            (Some(start + 4), start + 5),
        ]
    );
    // The earlier panel: all 6 steps, in order, without gaps.
    for _ in 0..6 {
        let ServerMessage::Step { step, .. } = recv_data(&mut earlier).await else {
            panic!("a step")
        };
        assert_eq!(full.receive(&step), StepOutcome::Applied);
    }
    let live = running.controller.snapshot();
    assert_eq!(full, live);
    // The sparse panel shows the same (it does not track who holds a
    // button, which panels do not show).
    assert_eq!(shown.buttons["mute"].latched, live.buttons["mute"].latched);
    for (id, b) in &live.buttons {
        assert_eq!(shown.buttons[id].led, b.led, "{id}");
        assert_eq!(shown.buttons[id].latched, b.latched, "{id}");
    }
    assert_eq!(shown.levels, live.levels);
    assert_eq!(shown.variables, live.variables);

    // Nothing more was sent for the last release: the next message is the
    // next shown step (a level change), not a frame for the release.
    send(
        &mut presser,
        &ClientMessage::SetLevel {
            level: "volume".into(),
            value: Some(-12.0),
            muted: None,
        },
    )
    .await;
    let ServerMessage::Step { step, after } = recv_data(&mut sparse).await else {
        panic!("a step")
    };
    assert_eq!((after, step.revision), (Some(start + 5), start + 7));
    assert_eq!(shown.receive_after(&step, after), StepOutcome::Applied);
    running.shutdown().await;
}

#[tokio::test]
async fn bad_messages_get_errors_and_the_neighbour_keeps_working() {
    let running = panel::settings().start_demo().await;
    let addr = running.addrs.panel.unwrap();
    let (mut bad, _) = panel(addr, "tablet").await;
    let (mut good, _) = panel(addr, "tablet").await;

    for junk in [
        "not json".to_string(),
        r#"{"type":"press"}"#.to_string(),
        r#"{"type":"explode","button":"x"}"#.to_string(),
        format!(r#"{{"type":"press","button":"{}"}}"#, "x".repeat(5000)),
    ] {
        bad.send(Message::Text(junk.into())).await.unwrap();
        let ServerMessage::Error { code, message } = recv_data(&mut bad).await else {
            panic!("an error reply")
        };
        assert!(
            matches!(code, ErrorCode::Malformed | ErrorCode::TooLarge),
            "{code:?}: {message}"
        );
    }
    send(
        &mut bad,
        &ClientMessage::Press {
            button: "no_such_button".into(),
        },
    )
    .await;
    let ServerMessage::Error { code, .. } = recv_data(&mut bad).await else {
        panic!("an error reply")
    };
    assert_eq!(code, ErrorCode::UnknownButton);
    bad.send(Message::Binary(vec![0u8; 10].into()))
        .await
        .unwrap();
    assert!(matches!(
        recv_data(&mut bad).await,
        ServerMessage::Error { .. }
    ));

    // The bad panel is still connected and works; so does its neighbour.
    send(
        &mut bad,
        &ClientMessage::Press {
            button: "mute".into(),
        },
    )
    .await;
    assert!(matches!(
        recv_data(&mut bad).await,
        ServerMessage::Step { .. }
    ));
    assert!(matches!(
        recv_data(&mut good).await,
        ServerMessage::Step { .. }
    ));
    assert_eq!(
        running.controller.project().project.name,
        "Demo meeting room"
    );
    running.shutdown().await;
}

#[tokio::test]
async fn keepalive_both_ways_and_silent_panels_are_dropped() {
    let running = panel::settings().start_demo().await; // keepalive_secs = 1
    let addr = running.addrs.panel.unwrap();
    let (mut ws, _) = panel(addr, "tablet").await;
    // The server pings every interval and answers our pings.
    let mut saw_ping = false;
    send(&mut ws, &ClientMessage::Ping { seq: 7 }).await;
    let mut saw_pong = false;
    while !(saw_ping && saw_pong) {
        match recv(&mut ws).await {
            ServerMessage::Ping { .. } => saw_ping = true,
            ServerMessage::Pong { seq } => {
                assert_eq!(seq, 7);
                saw_pong = true
            }
            _ => {}
        }
    }
    assert_eq!(running.controller.status().panels().len(), 1);
    // Go silent: dropped after three intervals with a close reason.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Close(Some(frame)) = m {
                return frame.reason.to_string();
            }
        }
        String::new()
    })
    .await
    .expect("dropped within 10 s");
    assert!(closed.contains("keep-alive"), "{closed}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(running.controller.status().panels().is_empty());
    running.shutdown().await;
}

#[tokio::test]
async fn a_panel_that_goes_away_mid_press_releases_its_button() {
    let running = panel::settings().start_demo().await;
    let (mut ws, _) = panel(running.addrs.panel.unwrap(), "tablet").await;
    send(
        &mut ws,
        &ClientMessage::Press {
            button: "all_off".into(),
        },
    )
    .await;
    let _ = recv_data(&mut ws).await;
    assert!(running.controller.snapshot().buttons["all_off"].held);
    drop(ws);
    eventually(Duration::from_secs(5), "the button is released", || {
        !running.controller.snapshot().buttons["all_off"].held
    })
    .await;
    running.shutdown().await;
}

#[tokio::test]
async fn unknown_panel_and_wrong_hello_are_refused_clearly() {
    let running = panel::settings().start_demo().await;
    let addr = running.addrs.panel.unwrap();
    let mut ws = ws_connect(addr).await;
    send(
        &mut ws,
        &ClientMessage::Hello {
            panel: "ghost".into(),
            revision: 0,
            pin: None,
            sparse: false,
            layout: None,
        },
    )
    .await;
    let ServerMessage::Error { code, .. } = recv_data(&mut ws).await else {
        panic!()
    };
    assert_eq!(code, ErrorCode::UnknownPanel);
    let mut ws = ws_connect(addr).await;
    send(
        &mut ws,
        &ClientMessage::Press {
            button: "mute".into(),
        },
    )
    .await;
    let ServerMessage::Error { code, .. } = recv_data(&mut ws).await else {
        panic!()
    };
    assert_eq!(code, ErrorCode::Malformed);
    running.shutdown().await;
}

#[tokio::test]
async fn a_taken_port_is_an_error_naming_the_port_and_service() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let settings = panel::settings()
        .toml(&format!("[panel]\nport = {port}\n"))
        .build();
    let err = roomctl::runtime::serve::start(settings, roomctl::storage::project_store::demo())
        .await
        .err()
        .expect("start fails");
    let text = format!("{err:#}");
    assert!(text.contains("panel service"), "{text}");
    assert!(text.contains(&port.to_string()), "{text}");
}

#[tokio::test]
async fn held_repeat_button_repeats_until_released() {
    let running = panel::settings().start_demo().await;
    let (mut ws, _) = panel(running.addrs.panel.unwrap(), "tablet").await;
    send(
        &mut ws,
        &ClientMessage::Press {
            button: "vol_up".into(),
        },
    )
    .await;
    let mut repeats = 0;
    while repeats < 2 {
        if let ServerMessage::Step { step, .. } = recv_data(&mut ws).await {
            repeats += step
                .changes
                .iter()
                .filter(|c| matches!(c, Change::Repeated { .. }))
                .count();
        }
    }
    send(
        &mut ws,
        &ClientMessage::Release {
            button: "vol_up".into(),
        },
    )
    .await;
    running.shutdown().await;
}

/// The demo with `change` made, loaded as an installer's apply does.
fn apply(running: &roomctl::runtime::serve::Running, change: impl FnOnce(&mut Project)) {
    let mut project = running.controller.project().as_ref().clone();
    change(&mut project);
    running
        .controller
        .load_project(Arc::new(project), String::new(), "test")
        .expect("the project loads");
}

#[tokio::test]
async fn applying_a_project_sends_in_place_panels_their_layout_and_earlier_panels_the_step() {
    let running = panel::settings().start_demo().await;
    let addr = running.addrs.panel.unwrap();
    let tablet = panel::view_of(&running.controller, "tablet");
    // The page carries the key an in-place panel says in hello.
    let (_, html) = get(addr, "/panel/tablet").await;
    assert!(html.contains(&tablet.layout), "{html}");

    // A page of an earlier version (no layout in hello), an in-place page
    // holding the current layout (a snapshot, not the layout again), one
    // holding another (the layout, whole), and an in-place wall panel.
    let (mut earlier, _) = panel(addr, "tablet").await;
    let mut current = panel::in_place_panel(addr, "tablet", &tablet.layout).await;
    let ServerMessage::Snapshot { .. } = recv_data(&mut current).await else {
        panic!("the layout held is current: a snapshot")
    };
    let mut stale = panel::in_place_panel(addr, "tablet", "0123456789abcdef").await;
    let ServerMessage::Layout { view } = recv_data(&mut stale).await else {
        panic!("a layout for a page holding another")
    };
    assert_eq!(*view, panel::view_of(&running.controller, "tablet"));
    let wall = panel::view_of(&running.controller, "wall");
    let mut wall_ws =
        panel::in_place_panel(running.addrs.apprimo.unwrap(), "wall", &wall.layout).await;
    recv_data(&mut wall_ws).await;

    // A source selected before the apply stays selected after it.
    press(&running.controller, "src_hdmi2");
    support::release(&running.controller, "src_hdmi2");
    apply(&running, |p| {
        p.project.name = "Edited room".into();
        p.buttons
            .iter_mut()
            .find(|b| b.id == "display_power")
            .unwrap()
            .label = "Beamer".into();
    });

    // The earlier page gets the step (and reloads, as before).
    let loaded = loop {
        let ServerMessage::Step { step, .. } = recv_data(&mut earlier).await else {
            panic!("steps only")
        };
        if step.loads_project() {
            break step;
        }
    };
    assert!(
        matches!(&loaded.changes[0], Change::ProjectLoaded { name, .. } if name == "Edited room")
    );
    // The in-place page gets its new layout with the state, no step.
    let layout = loop {
        match recv_data(&mut current).await {
            ServerMessage::Layout { view } => break view,
            ServerMessage::Step { step, .. } => assert!(!step.loads_project(), "{step:?}"),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(layout.project_name, "Edited room");
    assert_eq!(layout.buttons["display_power"].label, "Beamer");
    assert_ne!(layout.layout, tablet.layout);
    assert!(layout.snapshot.buttons["src_hdmi2"].latched);
    assert_eq!(layout.snapshot.revision, running.controller.revision());
    // The wall panel stays a wall panel; steps continue after the layout.
    let wall_layout = loop {
        match recv_data(&mut wall_ws).await {
            ServerMessage::Layout { view } => break view,
            ServerMessage::Step { step, .. } => assert!(!step.loads_project(), "{step:?}"),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        wall_layout.panel.profile,
        controller_core::project::PanelProfile::Wall
    );
    press(&running.controller, "mute");
    let ServerMessage::Step { step, after } = recv_data(&mut current).await else {
        panic!("a step after the layout")
    };
    assert_eq!(step.revision, layout.snapshot.revision + 1);
    assert!(after.unwrap() <= layout.snapshot.revision);

    // A project without the tablet: "not available", and the session stays;
    // the earlier page just gets the step. The tablet back: its layout.
    apply(&running, |p| p.panels.retain(|panel| panel.id != "tablet"));
    let ServerMessage::Unavailable { message } = recv_data(&mut current).await else {
        panic!("unavailable")
    };
    assert!(message.contains("has no panel \"tablet\""), "{message}");
    // Meanwhile it is sent no steps (the next message is the layout).
    press(&running.controller, "mute");
    apply(&running, |p| {
        p.panels.insert(
            0,
            controller_core::project::demo_project().panels[0].clone(),
        )
    });
    let ServerMessage::Layout { view } = recv_data(&mut current).await else {
        panic!("the layout again")
    };
    assert_eq!(view.panel.id, "tablet");

    // A project that adds the tablet's PIN: asked for again.
    apply(&running, |p| p.panels[0].pin = Some("2468".into()));
    let ServerMessage::Error { code, .. } = recv_data(&mut current).await else {
        panic!("refused")
    };
    assert_eq!(code, ErrorCode::PinRequired);
    // The earlier page as well: its steps, then the refusal.
    loop {
        match recv_data(&mut earlier).await {
            ServerMessage::Step { .. } => {}
            ServerMessage::Error { code, .. } => {
                assert_eq!(code, ErrorCode::PinRequired);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    running.shutdown().await;
}

/// `unavailable` is said once: projects applied while the panel stays
/// unavailable say nothing more to it, and the project that brings it
/// back sends its layout. A panel's own `resync` is answered.
#[tokio::test]
async fn unavailable_is_sent_once_until_the_panel_comes_back() {
    let running = panel::settings().start_demo().await;
    let addr = running.addrs.panel.unwrap();
    let mut ghost = panel::ws_connect_from("127.0.0.2".parse().unwrap(), addr).await;
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
    for name in ["Renamed once", "Renamed twice"] {
        apply(&running, |p| p.project.name = name.into());
    }
    apply(&running, |p| {
        let mut ghost = p.panels[0].clone();
        ghost.id = "ghost".into();
        p.panels.push(ghost);
    });
    match recv_data(&mut ghost).await {
        ServerMessage::Layout { view } => assert_eq!(view.panel.id, "ghost"),
        other => panic!("the layout, not {other:?}"),
    }
    apply(&running, |p| p.panels.retain(|panel| panel.id != "ghost"));
    let ServerMessage::Unavailable { .. } = recv_data(&mut ghost).await else {
        panic!("unavailable again: the panel was shown a layout meanwhile")
    };
    send(&mut ghost, &ClientMessage::Resync).await;
    let ServerMessage::Unavailable { .. } = recv_data(&mut ghost).await else {
        panic!("a resync is answered")
    };
    running.shutdown().await;
}

/// A plain-HTTP panel that stops reading while steps keep coming falls
/// behind (its socket and the fan-out's queue fill up); once it reads
/// again it gets a fresh snapshot, every step after it follows on, and it
/// ends showing the controller's state. Its neighbour is not held up.
#[tokio::test]
async fn a_panel_that_stops_reading_gets_a_fresh_snapshot_when_it_reads_again() {
    let running = support::TestSettings::only(&["panel"])
        .toml("[panel]\nkeepalive_secs = 60\n")
        .start_demo()
        .await;
    let addr = running.addrs.panel.unwrap();
    // A small receive buffer, so the server's side fills up soon.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.set_nonblocking(true).unwrap();
    let stream = tokio::net::TcpStream::from_std(socket.into()).unwrap();
    let (mut slow, _) = tokio_tungstenite::client_async(
        format!("ws://{addr}/ws"),
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
    )
    .await
    .unwrap();
    let ServerMessage::Welcome { .. } = panel::hello(&mut slow, "tablet", None).await else {
        panic!("welcome")
    };
    let ServerMessage::Snapshot {
        snapshot: mut state,
    } = recv_data(&mut slow).await
    else {
        panic!("a snapshot")
    };
    let (mut neighbour, mut shown) = panel(addr, "tablet").await;

    // Far more step bytes than the kernel buffers and the queue hold, in
    // batches the neighbour reads before the next one comes.
    let presses = 20_000;
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(shown.revision));
    let reader = tokio::spawn({
        let seen = seen.clone();
        async move {
            // The neighbour, reading all along, gets every step in order.
            for _ in 0..2 * presses {
                match recv_data(&mut neighbour).await {
                    ServerMessage::Step { step, .. } => {
                        assert_eq!(shown.receive(&step), StepOutcome::Applied);
                        seen.store(shown.revision, std::sync::atomic::Ordering::Relaxed);
                    }
                    other => panic!("a step, not {other:?}"),
                }
            }
            shown
        }
    });
    for _ in 0..presses / 100 {
        for _ in 0..100 {
            support::press_and_release(&running.controller, "mute");
        }
        let now = running.controller.revision();
        eventually(
            Duration::from_secs(10),
            "the neighbour reads the batch",
            || seen.load(std::sync::atomic::Ordering::Relaxed) == now,
        )
        .await;
    }
    assert_eq!(reader.await.unwrap(), running.controller.snapshot());

    // The slow panel: steps, then a snapshot, then steps that follow on.
    let mut snapshots = 0;
    while state != running.controller.snapshot() || snapshots == 0 {
        match recv_data(&mut slow).await {
            ServerMessage::Step { step, .. } => {
                assert_eq!(state.receive(&step), StepOutcome::Applied)
            }
            ServerMessage::Snapshot { snapshot } => {
                snapshots += 1;
                state = snapshot;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(snapshots, 1);
    running.shutdown().await;
}
