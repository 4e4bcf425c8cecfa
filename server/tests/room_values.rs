//! Levels and variables end to end on loopback: a fader moved on one panel
//! shows on the other and on 5009; a meter refuses people; the simulated
//! DSP receives a drag coalesced and always its final value, and its own
//! reports move the fader; feedback sets variables; a device that is down
//! shows on the panel as a notice.

use crate::support;

use std::time::Duration;

use controller_core::engine::{Change, Command};
use controller_core::project::Value;
use controller_core::protocol::central::{ErrorCode as CentralError, Event, Request};
use controller_core::protocol::panel::{ClientMessage, ErrorCode, ServerMessage};
use roomctl::simulator::{Simulator, SimulatorConfig};
use support::panel::{panel, recv_data, recv_notice, send, settings, Ws};
use support::{eventually, loaded};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const PATIENCE: Duration = Duration::from_secs(20);

/// The next step a panel receives.
async fn next_step(ws: &mut Ws) -> controller_core::Step {
    match recv_data(ws).await {
        ServerMessage::Step { step, .. } => step,
        other => panic!("expected a step, got {other:?}"),
    }
}

/// The next error a panel receives (skipping steps).
async fn next_error(ws: &mut Ws) -> ErrorCode {
    loop {
        match recv_data(ws).await {
            ServerMessage::Error { code, .. } => return code,
            ServerMessage::Step { .. } => continue,
            other => panic!("expected an error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_fader_moved_on_one_panel_shows_on_the_other_and_on_5009() {
    let running = support::TestSettings::only(&["panel", "apprimo", "central"])
        .edit(|s| s.central.require_login = false)
        .start_demo()
        .await;
    let addr = running.addrs.panel.unwrap();
    let (mut a, snap) = panel(addr, "tablet").await;
    assert_eq!(snap.levels["volume"].value, -30.0);
    assert_eq!(
        snap.variables["projector_state"],
        Value::Text("unknown".into())
    );
    let (mut b, _) = panel(running.addrs.apprimo.unwrap(), "wall").await;

    let central = running.addrs.central.unwrap();
    let mut station = BufReader::new(TcpStream::connect(central).await.unwrap());
    let mut line = String::new();
    station.read_line(&mut line).await.unwrap();
    station
        .get_mut()
        .write_all(&Request::Subscribe.encode())
        .await
        .unwrap();
    line.clear();
    station.read_line(&mut line).await.unwrap();
    assert!(matches!(
        Event::decode(line.as_bytes()).unwrap(),
        Event::Status { .. }
    ));

    send(
        &mut a,
        &ClientMessage::SetLevel {
            level: "volume".into(),
            value: Some(-20.3),
            muted: None,
        },
    )
    .await;
    for ws in [&mut a, &mut b] {
        let step = next_step(ws).await;
        assert!(
            matches!(&step.changes[..], [Change::Level { level, value, .. }] if level == "volume" && *value == -20.5),
            "{step:?}"
        );
    }
    line.clear();
    station.read_line(&mut line).await.unwrap();
    // A version-1 station finds no unknown change type in `changes`.
    assert!(line.contains(r#""changes":[]"#), "{line}");
    let Event::Step { step } = Event::decode(line.as_bytes()).unwrap() else {
        panic!("a step: {line}")
    };
    assert!(matches!(&step.changes[..], [Change::Level { value, .. }] if *value == -20.5));

    // 5009 moves it and mutes it too.
    station
        .get_mut()
        .write_all(
            &Request::SetLevel {
                level: "volume".into(),
                value: Some(-10.0),
                muted: Some(true),
            }
            .encode(),
        )
        .await
        .unwrap();
    eventually(PATIENCE, "5009 moved and muted the fader", || {
        let s = running.controller.snapshot();
        s.levels["volume"].value == -10.0 && s.levels["volume"].muted == Some(true)
    })
    .await;

    // A meter is read-only to people; bad names and empty requests are refused.
    for (level, value, muted) in [
        ("mic", Some(-10.0), None),
        ("ghost", Some(1.0), None),
        ("volume", None, None),
    ] {
        send(
            &mut a,
            &ClientMessage::SetLevel {
                level: level.into(),
                value,
                muted,
            },
        )
        .await;
        assert_eq!(next_error(&mut a).await, ErrorCode::UnknownLevel, "{level}");
    }
    station
        .get_mut()
        .write_all(br#"{"type":"set_level","level":"mic","value":-3}"#)
        .await
        .unwrap();
    station.get_mut().write_all(b"\n").await.unwrap();
    loop {
        line.clear();
        station.read_line(&mut line).await.unwrap();
        match Event::decode(line.as_bytes()).unwrap() {
            Event::Error { code, .. } => {
                assert_eq!(code, CentralError::UnknownLevel);
                break;
            }
            _ => continue,
        }
    }
    assert_eq!(running.controller.snapshot().levels["mic"].value, -60.0);
    running.shutdown().await;
}

#[tokio::test]
async fn the_simulated_dsp_gets_a_drag_coalesced_and_its_reports_move_the_fader() {
    let sim = Simulator::start(SimulatorConfig {
        projector: Some("127.0.0.1:0".parse().unwrap()),
        matrix: None,
        dsp: Some("127.0.0.1:0".parse().unwrap()),
        warmup: Duration::from_millis(200),
        cooldown: Duration::from_millis(200),
    })
    .await
    .unwrap();
    let text = support::RAW_DEMO
        .replace("127.0.0.1:4352", &sim.projector_addr.unwrap().to_string())
        .replace("127.0.0.1:4354", &sim.dsp_addr.unwrap().to_string())
        .replace("poll_secs = 5", "poll_secs = 1")
        .replace("poll_secs = 2", "poll_secs = 1");
    let running = settings().start(loaded(&text)).await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the DSP is connected", || {
        c.status()
            .devices()
            .iter()
            .any(|d| d.id == "dsp" && d.online)
    })
    .await;

    // A drag: 81 moves as fast as the engine takes them.
    let values: Vec<f64> = (0..=80).map(|i| -50.0 + f64::from(i) * 0.5).collect();
    for v in &values {
        c.execute(Command::SetLevel {
            level: "volume".into(),
            value: *v,
            source: "panel:test".into(),
        })
        .unwrap();
    }
    let last = *values.last().unwrap();
    eventually(PATIENCE, "the DSP reaches the final value", || {
        sim.dsp_state().0 == last
    })
    .await;
    // Let any late command arrive, then check what the DSP was sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = sim.dsp_state().2;
    assert_eq!(received.last(), Some(&last), "{received:?}");
    assert!(
        received.len() < values.len() / 2,
        "coalesced: {} commands for {} moves: {received:?}",
        received.len(),
        values.len()
    );

    // The DSP reports a change made at the device: the fader follows, and
    // the driver does not echo it back.
    let mut direct = TcpStream::connect(sim.dsp_addr.unwrap()).await.unwrap();
    direct.write_all(b"VOL -12\r").await.unwrap();
    eventually(PATIENCE, "the fader follows the DSP's report", || {
        c.snapshot().levels["volume"].value == -12.0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = sim.dsp_state().2;
    assert_eq!(received.last(), Some(&-12.0));
    assert_eq!(
        received.iter().filter(|v| **v == -12.0).count(),
        1,
        "no echo: {received:?}"
    );

    // Mute from the panel side reaches the DSP; the meter moves from polls.
    c.execute(Command::SetMute {
        level: "volume".into(),
        muted: true,
        source: "panel:test".into(),
    })
    .unwrap();
    eventually(PATIENCE, "the DSP is muted", || sim.dsp_state().1).await;
    eventually(PATIENCE, "the microphone meter moves", || {
        c.snapshot().levels["mic"].value != -60.0
    })
    .await;

    // Projector feedback sets the text variable.
    support::press_and_release(&c, "display_power");
    eventually(PATIENCE, "the projector state shows as text", || {
        c.snapshot().variables["projector_state"] == Value::Text("on".into())
    })
    .await;
    running.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_device_that_is_down_shows_on_the_panel() {
    // The demo's devices point at ports nobody listens on.
    let running = settings().start_demo().await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the DSP is known to be down", || {
        c.status()
            .devices()
            .iter()
            .any(|d| d.id == "dsp" && !d.online)
    })
    .await;
    let (mut ws, _) = panel(running.addrs.panel.unwrap(), "tablet").await;
    let mut keys = Vec::new();
    while keys.len() < 5 {
        let (key, active) = recv_notice(&mut ws).await;
        assert!(active, "{key}");
        keys.push(key);
    }
    keys.sort();
    assert_eq!(
        keys,
        [
            "device:dsp",
            "device:lights",
            "device:matrix",
            "device:projector",
            "device:screen"
        ]
    );

    // A sequence whose device is down: its failed step is that device's
    // notice again (which clears when the device is back).
    support::press_and_release(&c, "src_hdmi1");
    loop {
        let (key, active) = recv_notice(&mut ws).await;
        if key == "device:matrix" {
            assert!(active);
            break;
        }
    }
    running.shutdown().await;
}
