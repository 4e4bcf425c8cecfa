//! A fader and the device it drives, on loopback fake devices
//! (`support::fake_device`): the device always gets the final value of a
//! drag, coalesced, whether it answers (a DSP echoing every set), never
//! answers, or is switched off while the value changes; and the device's
//! late echoes of the controller's own commands do not make other panels'
//! faders jump back, while a value the device chose (it clamped) wins.

use crate::support;

use std::time::Duration;

use controller_core::engine::{Change, Command};
use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use futures::{SinkExt, StreamExt};
use roomctl::state::controller::Controller;
use support::fake_device::{dsp, silent, FakeDevice};
use support::panel::{panel, recv, send, settings, Ws};
use support::{eventually, loaded};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// Generous bound for things that take milliseconds or a reconnect; a
/// failure, not a timing.
const PATIENCE: Duration = Duration::from_secs(20);
/// The demo's `send_interval_ms` for the volume.
const INTERVAL_MS: u128 = 100;

/// The demo project with the DSP at `dsp`, the projector and matrix on a
/// port that refuses connections, polls every second and reconnects after
/// one; the volume fader goes up to `max` dB.
fn room(dsp: &FakeDevice, off: &FakeDevice, max: f64) -> String {
    let moves = [
        ("127.0.0.1:4352", off.addr),
        ("127.0.0.1:4353", off.addr),
        ("127.0.0.1:4354", dsp.addr),
    ];
    let text = support::readdress(support::RAW_DEMO, &moves)
        .replace("poll_secs = 2", "poll_secs = 1")
        .replace("reconnect_secs = 5", "reconnect_secs = 1")
        .replacen("max = 10.0", &format!("max = {max:.1}"), 1);
    assert!(text.contains(&format!("max = {max:.1}")));
    text
}

fn online(c: &Controller, id: &str) -> Option<bool> {
    c.status()
        .devices()
        .into_iter()
        .find(|d| d.id == id)
        .map(|d| d.online)
}

fn set_volume(c: &Controller, value: f64) {
    c.execute(Command::SetLevel {
        level: "volume".into(),
        value,
        source: "panel:test".into(),
    })
    .expect("the volume takes the value");
}

fn volume(c: &Controller) -> f64 {
    c.snapshot().levels["volume"].value
}

/// The `VOL` value of a command line.
fn vol(line: &str) -> f64 {
    line.trim_start_matches("VOL ")
        .parse()
        .expect("VOL <number>")
}

/// At most one command per interval while the drag lasted (plus the first
/// and the last): a bound that a slow machine only makes easier to meet.
fn assert_coalesced(commands: &[String], since: Instant) {
    let most = since.elapsed().as_millis() / INTERVAL_MS + 2;
    assert!(
        commands.len() as u128 <= most,
        "{} commands in {:?}, at most {most}: {commands:?}",
        commands.len(),
        since.elapsed()
    );
}

#[tokio::test]
async fn a_device_that_never_answers_still_gets_the_final_value() {
    // The DSP takes every command and answers nothing, not even its polls:
    // after three unanswered polls the controller reconnects to it.
    let dsp = FakeDevice::start(silent(), Duration::ZERO);
    let off = FakeDevice::switched_off(silent(), Duration::ZERO);
    let running = settings().start(loaded(&room(&dsp, &off, 10.0))).await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the DSP is connected", || {
        online(&c, "dsp") == Some(true)
    })
    .await;

    // A drag at 50 Hz until the controller gives up on the silent DSP...
    let started = Instant::now();
    let mut moves = 0;
    while online(&c, "dsp") != Some(false) {
        assert!(started.elapsed() < PATIENCE, "the silent DSP is dropped");
        set_volume(&c, -55.0 + 0.5 * f64::from(moves % 100));
        moves += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...and its last move while the DSP is down: a value never sent before.
    set_volume(&c, 7.5);
    eventually(
        PATIENCE,
        "the final value reaches the DSP once it is back",
        || dsp.commands("VOL ").last().map(String::as_str) == Some("VOL 7.5"),
    )
    .await;
    let commands = dsp.commands("VOL ");
    assert!(dsp.connections() >= 2, "the controller reconnected");
    assert!(commands.len() < moves as usize, "{commands:?}");
    assert_coalesced(&commands, started);
    assert_eq!(volume(&c), 7.5, "no feedback moved the level");
    running.shutdown().await;
}

#[tokio::test]
async fn a_device_switched_off_gets_the_last_value_set_meanwhile_when_it_is_back() {
    let mut dsp = FakeDevice::switched_off(dsp(), Duration::ZERO);
    let off = FakeDevice::switched_off(silent(), Duration::ZERO);
    let running = settings().start(loaded(&room(&dsp, &off, 10.0))).await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the DSP refused the controller", || {
        c.status()
            .devices()
            .iter()
            .any(|d| d.id == "dsp" && !d.online && d.detail.contains("cannot connect"))
    })
    .await;
    for v in [-20.0, -15.0, -12.0] {
        set_volume(&c, v);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    c.execute(Command::SetMute {
        level: "volume".into(),
        muted: true,
        source: "panel:test".into(),
    })
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(dsp.lines().is_empty());

    dsp.switch_on();
    eventually(
        PATIENCE,
        "the DSP gets the volume and mute set meanwhile",
        || {
            let lines = dsp.lines();
            lines.iter().any(|l| l == "VOL -12") && lines.iter().any(|l| l == "MUTE 1")
        },
    )
    .await;
    // Only the last value: the ones it replaced while the DSP was off are
    // not replayed.
    assert_eq!(dsp.commands("VOL "), ["VOL -12"]);
    // The DSP's answers (its status says -30 dB until the command lands)
    // leave the level where the room user put it.
    eventually(PATIENCE, "the level settles on the DSP's -12 dB", || {
        volume(&c) == -12.0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(volume(&c), -12.0);
    assert_eq!(dsp.commands("VOL "), ["VOL -12"]);
    running.shutdown().await;
}

/// What a watching panel saw of the volume: every level value in the steps
/// it received, until it did not move for `quiet` (the microphone meter
/// moves at every poll). Answers keep-alive pings.
async fn watch(ws: &mut Ws, seen: &mut Vec<f64>, quiet: Duration) {
    let mut until = Instant::now() + quiet;
    loop {
        let Ok(m) = tokio::time::timeout_at(until, recv(ws)).await else {
            return;
        };
        match m {
            ServerMessage::Ping { seq } => send(ws, &ClientMessage::Pong { seq }).await,
            ServerMessage::Step { step, .. } => {
                for change in step.changes {
                    if let Change::Level { level, value, .. } = change {
                        if level == "volume" {
                            seen.push(value);
                            until = Instant::now() + quiet;
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// One panel drags the volume from `from` to `to` (0.5 dB a move, 50 moves
/// a second) while another watches; what the watcher saw, until all is
/// quiet (echoes answered, the echo window closed).
async fn drag_and_watch(
    c: &Controller,
    addr: std::net::SocketAddr,
    from: f64,
    to: f64,
) -> Vec<f64> {
    let (dragger, _) = panel(addr, "tablet").await;
    let (mut watcher, snapshot) = panel(addr, "wall").await;
    assert_eq!(snapshot.levels["volume"].value, volume(c));
    let (mut sink, mut stream) = dragger.split();
    // The dragging panel's own messages are read and dropped.
    let reader = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    let mut seen = Vec::new();
    let mut value = from;
    while value < to {
        value += 0.5;
        let drag = ClientMessage::SetLevel {
            level: "volume".into(),
            value: Some(value),
            muted: None,
        };
        sink.send(Message::Text(drag.encode().into()))
            .await
            .unwrap();
        // Watch meanwhile: 20 ms between moves.
        watch(&mut watcher, &mut seen, Duration::from_millis(20)).await;
    }
    // Echoes come 250 ms late; the window closes 500 ms after the last
    // command: quiet for 1.5 s means all is said.
    watch(&mut watcher, &mut seen, Duration::from_millis(1500)).await;
    reader.abort();
    seen
}

#[tokio::test]
async fn late_echoes_of_a_drag_do_not_make_other_panels_jump_back() {
    // A DSP that echoes every set and answers its polls, 250 ms late: the
    // answer to one command arrives after two newer ones went out.
    let dsp = FakeDevice::start(dsp(), Duration::from_millis(250));
    let off = FakeDevice::switched_off(silent(), Duration::ZERO);
    let running = settings().start(loaded(&room(&dsp, &off, 10.0))).await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the DSP reported its -30 dB", || {
        online(&c, "dsp") == Some(true) && volume(&c) == -30.0
    })
    .await;
    let started = Instant::now();
    let seen = drag_and_watch(&c, running.addrs.panel.unwrap(), -30.0, -5.0).await;

    assert_eq!(seen.last(), Some(&-5.0), "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "the other panel's fader only moves up: {seen:?}"
    );
    let commands = dsp.commands("VOL ");
    assert_eq!(
        commands.last().map(String::as_str),
        Some("VOL -5"),
        "{commands:?}"
    );
    assert!(
        commands.windows(2).all(|w| vol(&w[0]) < vol(&w[1])),
        "{commands:?}"
    );
    assert_coalesced(&commands, started);
    assert_eq!(volume(&c), -5.0);
    running.shutdown().await;
}

#[tokio::test]
async fn a_value_the_device_clamps_wins_and_the_level_settles_on_it() {
    // The fader goes to 20 dB; the DSP stops at 10 and says so.
    let dsp = FakeDevice::start(dsp(), Duration::from_millis(250));
    let off = FakeDevice::switched_off(silent(), Duration::ZERO);
    let running = settings().start(loaded(&room(&dsp, &off, 20.0))).await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the DSP reported its -30 dB", || {
        online(&c, "dsp") == Some(true) && volume(&c) == -30.0
    })
    .await;
    let seen = drag_and_watch(&c, running.addrs.panel.unwrap(), 5.0, 15.0).await;

    assert_eq!(
        dsp.commands("VOL ").last().map(String::as_str),
        Some("VOL 15")
    );
    assert_eq!(seen.last(), Some(&10.0), "{seen:?}");
    assert_eq!(volume(&c), 10.0);
    // And stays there: the DSP's polls say 10 dB.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(volume(&c), 10.0);
    running.shutdown().await;
}
