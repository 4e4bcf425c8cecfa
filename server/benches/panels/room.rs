//! The room user's benchmarks: a fader dragged with panels watching, and
//! touch to device.
//!
//! The server runs the demo project with its devices moved to simulated
//! devices in this benchmark: plain TCP listeners on loopback that record
//! each command line they receive and when. The projector and the matrix
//! answer nothing; the DSP either answers nothing either (not even its
//! status poll, so the controller drops it after three polls and
//! reconnects) or answers as `roomctl simulate`'s DSP and a real one do:
//! an echo of every accepted set, and its state when polled.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use controller_core::protocol::panel::ClientMessage;
use futures::{SinkExt, StreamExt};
use roomctl::simulator::dsp::Dsp;
use tokio_tungstenite::tungstenite::Message;

use crate::lean::LeanPanels;
use crate::{connect_panel, into_std, ms, percentile, start_server_with, Server};

/// The demo room with raw devices (strings, as before drivers), whose line
/// protocols these simulated devices record: the tests' raw-device room.
const RAW_DEMO: &str = include_str!("../../tests/fixtures/raw-demo.toml");

/// How the simulated DSP behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DspKind {
    /// Takes every command, answers nothing.
    Silent,
    /// Answers as the simulator's DSP (`roomctl simulate`).
    Echoing,
}

/// A device on loopback that records the lines it receives, and answers
/// them as the simulator's DSP would when given one.
struct SimDevice {
    addr: SocketAddr,
    /// Each line (terminator removed) with its arrival time.
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    connections: Arc<Mutex<usize>>,
}

impl SimDevice {
    fn start(dsp: Option<Dsp>) -> SimDevice {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let dsp = Arc::new(Mutex::new(dsp));
        let (l, c) = (lines.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut answer = stream.try_clone().expect("clone the device socket");
                *c.lock().unwrap() += 1;
                let (l, dsp) = (l.clone(), dsp.clone());
                std::thread::spawn(move || {
                    let mut line = Vec::new();
                    let mut buf = [0u8; 4096];
                    while let Ok(k) = stream.read(&mut buf) {
                        if k == 0 {
                            break;
                        }
                        let at = Instant::now();
                        for &b in &buf[..k] {
                            match b {
                                b'\r' | b'\n' => {
                                    if !line.is_empty() {
                                        let text = String::from_utf8_lossy(&line).into_owned();
                                        if let Some(dsp) = dsp.lock().unwrap().as_mut() {
                                            for a in dsp.handle(&text) {
                                                let _ =
                                                    answer.write_all(format!("{a}\r").as_bytes());
                                            }
                                        }
                                        l.lock().unwrap().push((at, text));
                                        line.clear();
                                    }
                                }
                                b => line.push(b),
                            }
                        }
                    }
                });
            }
        });
        SimDevice {
            addr,
            lines,
            connections,
        }
    }

    fn lines(&self) -> Vec<(Instant, String)> {
        self.lines.lock().unwrap().clone()
    }
}

/// The demo project, its three devices on simulated ones.
async fn room(dsp: DspKind) -> (Server, SimDevice, SimDevice, SimDevice) {
    let answers = (dsp == DspKind::Echoing).then(Dsp::default);
    let (projector, matrix, dsp) = (
        SimDevice::start(None),
        SimDevice::start(None),
        SimDevice::start(answers),
    );
    // Each address with its quotes: a port just written (127.0.0.1:43531)
    // is never taken for the start of the next device's (127.0.0.1:4353).
    let moves = [
        ("127.0.0.1:4352", projector.addr),
        ("127.0.0.1:4353", matrix.addr),
        ("127.0.0.1:4354", dsp.addr),
    ];
    let project = moves.iter().fold(RAW_DEMO.to_string(), |text, (from, to)| {
        text.replace(&format!("\"{from}\""), &format!("\"{to}\""))
    });
    assert_ne!(project, RAW_DEMO, "the demo's device addresses");
    let server = start_server_with(5, Some(&project)).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while [&projector, &matrix, &dsp]
        .iter()
        .any(|d| *d.connections.lock().unwrap() == 0)
    {
        assert!(Instant::now() < deadline, "the devices connect within 15 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (server, projector, matrix, dsp)
}

/// One panel drags the volume fader at 60 Hz for `secs` seconds while
/// `watchers` panels watch: level updates each watcher got, the delay from
/// a drag message to the last watcher showing that value, how often a
/// watcher's fader moved against the drag (an echo of an older value), and
/// the commands the DSP received, up to the final value.
pub async fn fader_drag(watchers: usize, secs: u64, kind: DspKind) {
    let (server, _projector, _matrix, dsp) = room(kind).await;
    // Drag values and when each was sent, shared with the watchers' reader.
    let sent: Arc<Mutex<Vec<(Instant, f64)>>> = Arc::new(Mutex::new(Vec::new()));
    // Per watcher: level frames received, and the drag message the last
    // one showed; every (send -> arrival) delay; moves against the drag.
    let per_panel = Arc::new(Mutex::new(vec![0usize; watchers]));
    let shown = Arc::new(Mutex::new(vec![None::<usize>; watchers]));
    let delays = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let backwards = Arc::new(Mutex::new(0usize));
    let mut streams = Vec::with_capacity(watchers);
    for _ in 0..watchers {
        streams.push(into_std(connect_panel(server.addr).await));
    }
    let _panels = {
        let (sent, per_panel, shown, delays, backwards) = (
            sent.clone(),
            per_panel.clone(),
            shown.clone(),
            delays.clone(),
            backwards.clone(),
        );
        LeanPanels::start_with(
            streams,
            Box::new(move |i, at, text| {
                let Some(value) = level_value(text) else {
                    return;
                };
                per_panel.lock().unwrap()[i] += 1;
                // The latest drag message with this value (values repeat
                // only seconds apart).
                let sent = sent.lock().unwrap();
                let Some(n) = sent.iter().rposition(|(_, v)| *v == value) else {
                    return;
                };
                delays.lock().unwrap().push(at - sent[n].0);
                let mut shown = shown.lock().unwrap();
                if shown[i].is_some_and(|before| n < before) {
                    *backwards.lock().unwrap() += 1;
                }
                shown[i] = Some(n);
            }),
        )
    };
    let dragger = connect_panel(server.addr).await;
    let (mut sink, mut stream) = dragger.split();
    // Read (and drop) what the dragging panel is sent, answering pings.
    let (pong_tx, mut pong_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    tokio::spawn(async move {
        while let Some(Ok(m)) = stream.next().await {
            if let Message::Text(t) = m {
                if let Ok(controller_core::protocol::panel::ServerMessage::Ping { seq }) =
                    controller_core::protocol::panel::ServerMessage::decode(&t)
                {
                    let _ = pong_tx.send(seq);
                }
            }
        }
    });
    let commands_before = dsp.lines().len();
    let mut tick = tokio::time::interval(Duration::from_micros(16_667));
    let moves = (secs * 60) as usize;
    // A sweep between -50 and 0 dB in 0.5 dB steps, back and forth, so
    // every message moves the level (the value changes each time).
    let mut value = -30.0f64;
    let mut up = true;
    for _ in 0..moves {
        tick.tick().await;
        while let Ok(seq) = pong_rx.try_recv() {
            let _ = sink
                .send(Message::Text(ClientMessage::Pong { seq }.encode().into()))
                .await;
        }
        value += if up { 0.5 } else { -0.5 };
        if value >= 0.0 || value <= -50.0 {
            up = !up;
        }
        sent.lock().unwrap().push((Instant::now(), value));
        let drag = ClientMessage::SetLevel {
            level: "volume".into(),
            value: Some(value),
            muted: None,
        };
        sink.send(Message::Text(drag.encode().into()))
            .await
            .unwrap();
    }
    // Wait (up to 12 s: a DSP dropped for silence is reconnected after the
    // demo's 5 s) for the final value to reach the DSP, answering pings.
    let last_sent = Instant::now();
    let final_command = format!("VOL {value}");
    let final_at = loop {
        // The final value is the last VOL command (the sweep sent it before).
        let found = dsp.lines()[commands_before..]
            .iter()
            .rev()
            .find(|(_, l)| l.starts_with("VOL "))
            .filter(|(_, l)| *l == final_command)
            .map(|(at, _)| *at);
        if found.is_some() || last_sent.elapsed() > Duration::from_secs(12) {
            break found;
        }
        while let Ok(seq) = pong_rx.try_recv() {
            let _ = sink
                .send(Message::Text(ClientMessage::Pong { seq }.encode().into()))
                .await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let commands: Vec<String> = dsp.lines()[commands_before..]
        .iter()
        .map(|(_, l)| l.clone())
        .filter(|l| l.starts_with("VOL "))
        .collect();
    // Echoes of the last commands, and the echo window closing.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let per_panel = per_panel.lock().unwrap().clone();
    let mut delays = delays.lock().unwrap().clone();
    delays.sort();
    let (min, max) = (
        per_panel.iter().min().copied().unwrap_or(0),
        per_panel.iter().max().copied().unwrap_or(0),
    );
    let what = match kind {
        DspKind::Silent => "DSP answers nothing",
        DspKind::Echoing => "DSP echoes every set",
    };
    println!(
        "fader drag ({what}): 1 panel drags at 60 Hz for {secs} s ({moves} moves), {watchers} panels watch | level updates per watching panel: min {min} max {max} | drag -> other panels: p50 {} p99 {} max {} | moves against the drag on watching panels: {} | VOL commands received by the DSP: {} (last {:?}) | final value {value} sent: {}",
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 0.99)),
        ms(delays.last().copied().unwrap_or_default()),
        backwards.lock().unwrap(),
        commands.len(),
        commands.last().map(String::as_str).unwrap_or("none"),
        final_at.map_or("no (not within 12 s)".to_string(), |at| format!(
            "yes, {} after the last move",
            ms(at.saturating_duration_since(last_sent))
        )),
    );
    drop(server);
}

/// The `value` of a step's change of the volume, if the frame carries one.
fn level_value(text: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(text).ok()?;
    let at = text.find(r#"{"type":"level","level":"volume""#)?;
    let rest = &text[at..];
    let v = rest.find(r#""value":"#)? + r#""value":"#.len();
    let end = rest[v..].find([',', '}'])?;
    rest[v..v + end].parse().ok()
}

/// Touch to device: a press on a panel until its sequence's command arrives
/// at the (simulated) video matrix, `touches` times.
pub async fn touch_to_device(touches: usize) {
    let (server, _projector, matrix, _dsp) = room(DspKind::Silent).await;
    let panel = connect_panel(server.addr).await;
    let (mut sink, mut stream) = panel.split();
    tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    let mut delays = Vec::with_capacity(touches);
    // Alternate the sources so each press selects (and routes) anew.
    let sources = [("src_hdmi1", "ROUTE 1 1"), ("src_hdmi2", "ROUTE 2 1")];
    for i in 0..touches {
        let (button, command) = sources[i % 2];
        let seen = matrix.lines().len();
        let t0 = Instant::now();
        let press = ClientMessage::Press {
            button: button.into(),
        };
        sink.send(Message::Text(press.encode().into()))
            .await
            .unwrap();
        let deadline = t0 + Duration::from_secs(5);
        let arrived = loop {
            if let Some((at, _)) = matrix.lines()[seen..].iter().find(|(_, l)| l == command) {
                break *at;
            }
            assert!(Instant::now() < deadline, "{command} arrives within 5 s");
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_micros(50));
        };
        delays.push(arrived - t0);
        let release = ClientMessage::Release {
            button: button.into(),
        };
        sink.send(Message::Text(release.encode().into()))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    delays.sort();
    println!(
        "touch to device ({touches} presses): press sent -> its sequence's bytes at the simulated matrix: p50 {} p99 {} max {}",
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 0.99)),
        ms(*delays.last().unwrap()),
    );
    drop(server);
}
