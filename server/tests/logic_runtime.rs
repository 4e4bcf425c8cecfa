//! The room logic runtime against real sockets on loopback: a fake device
//! receives exactly the bytes a press should send, its replies drive LEDs
//! and presses, a device that is down shows as down while the engine keeps
//! serving, a new project restarts the logic, no mix of sequences and
//! presses stalls the engine, and the demo project drives the simulator.
//!
//! One test binary for all of them (each server test binary costs a link).

use crate::support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use controller_core::engine::{Change, Command};
use controller_core::project::{LedMode, Project};
use proptest::prelude::*;
use roomctl::config::Settings;
use roomctl::runtime::serve::Running;
use roomctl::simulator::{Simulator, SimulatorConfig};
use roomctl::state::controller::Controller;
use support::{eventually, loaded, press_and_release, TestSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Generous bound for things that take milliseconds; a failure, not a timing.
const PATIENCE: Duration = Duration::from_secs(20);

/// The panel port and the room logic.
fn settings() -> Settings {
    TestSettings::only(&["panel", "logic"]).build()
}

async fn start(text: &str) -> Running {
    support::start(settings(), loaded(text)).await
}

fn online(c: &Controller, id: &str) -> Option<bool> {
    c.status()
        .devices()
        .into_iter()
        .find(|d| d.id == id)
        .map(|d| d.online)
}

fn led(c: &Controller, button: &str) -> LedMode {
    c.snapshot().led(button).expect("button exists").mode
}

fn room(device_addr: SocketAddr, extra: &str) -> String {
    format!(
        r#"
[project]
name = "Logic test room"

[[buttons]]
id = "go"
label = "Go"

[[buttons]]
id = "lamp"
label = "Lamp"
led = "feedback"

[[buttons]]
id = "link"
label = "Link"
led = "feedback"

[[panels]]
id = "tablet"
name = "Tablet"
columns = 3
rows = 1

[[panels.pages]]
id = "main"
title = "Main"
buttons = [
  {{ button = "go", row = 0, col = 0 }},
  {{ button = "lamp", row = 0, col = 1 }},
  {{ button = "link", row = 0, col = 2 }},
]

[[devices]]
id = "dev"
transport = "tcp"
address = "{device_addr}"
terminator = '\r\n'
reconnect_secs = 1
status_led = "link"

[[sequences]]
id = "go"
button = "go"
steps = [
  {{ send = 'PWR\x01ON', device = "dev" }},
  {{ send_hex = "02 41 03", device = "dev" }},
  {{ wait_ms = 5 }},
  {{ send = "Q", device = "dev" }},
]
{extra}
"#
    )
}

const GO_BYTES: &[u8] = b"PWR\x01ON\r\n\x02\x41\x03Q\r\n";

/// The controller's connection to the fake device `dev`, once it shows online.
async fn connected(device: &TcpListener, c: &Controller) -> TcpStream {
    let (conn, _) = tokio::time::timeout(PATIENCE, device.accept())
        .await
        .expect("the controller connects to the device")
        .unwrap();
    eventually(PATIENCE, "the device shows online", || {
        online(c, "dev") == Some(true)
    })
    .await;
    conn
}

async fn read_exactly(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut buf))
        .await
        .expect("the device received the bytes in time")
        .expect("read");
    buf
}

#[tokio::test]
async fn a_press_sends_exactly_its_bytes_and_feedback_drives_leds() {
    let device = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let extra = r#"
[[feedback]]
device = "dev"
equals = "PWR=1"
button = "lamp"
led = "on"

[[feedback]]
device = "dev"
regex = '^LEVEL (\w+)$'
button = "lamp"
led = "$1"

[[feedback]]
device = "dev"
regex = '^KEY (?P<b>\w+)$'
press = "${b}"
"#;
    let running = start(&room(device.local_addr().unwrap(), extra)).await;
    let c = running.controller.clone();
    let mut conn = connected(&device, &c).await;
    eventually(PATIENCE, "the status LED is lit", || {
        led(&c, "link") == LedMode::On
    })
    .await;

    press_and_release(&c, "go");
    assert_eq!(read_exactly(&mut conn, GO_BYTES.len()).await, GO_BYTES);

    conn.write_all(b"PWR=1\r").await.unwrap();
    eventually(PATIENCE, "feedback lights the lamp", || {
        led(&c, "lamp") == LedMode::On
    })
    .await;
    conn.write_all(b"LEVEL fast_blink\n").await.unwrap();
    eventually(PATIENCE, "a capture sets the LED mode", || {
        led(&c, "lamp") == LedMode::FastBlink
    })
    .await;
    // A capture that is no LED mode is logged, and changes nothing.
    conn.write_all(b"LEVEL purple\r\n").await.unwrap();
    eventually(PATIENCE, "the bad capture is logged", || {
        c.log().recent(50).iter().any(|l| l.contains("purple"))
    })
    .await;
    assert_eq!(led(&c, "lamp"), LedMode::FastBlink);
    // Feedback that presses "go" runs go's sequence: the bytes come back.
    conn.write_all(b"KEY go\r").await.unwrap();
    assert_eq!(read_exactly(&mut conn, GO_BYTES.len()).await, GO_BYTES);

    // The device goes away: it shows as down and its status LED goes out.
    drop(conn);
    drop(device);
    eventually(PATIENCE, "the device shows down", || {
        online(&c, "dev") == Some(false)
    })
    .await;
    eventually(PATIENCE, "the status LED goes out", || {
        led(&c, "link") == LedMode::Off
    })
    .await;
    running.shutdown().await;
}

/// A pseudo-terminal pair: the test holds the master end (the "device"),
/// the controller opens the slave path as its serial port. No hardware and
/// no network involved.
fn open_pty() -> (std::fs::File, String) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain libc calls on a descriptor we own; results are checked.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(master >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(master), 0, "grantpt");
        assert_eq!(libc::unlockpt(master), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(master, name.as_mut_ptr(), name.len()), 0);
        let path = std::ffi::CStr::from_ptr(name.as_ptr())
            .to_string_lossy()
            .into_owned();
        (std::fs::File::from_raw_fd(master), path)
    }
}

#[tokio::test]
async fn a_serial_device_gets_its_bytes_and_its_lines_drive_leds() {
    let (master, slave) = open_pty();
    let unused: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let text = room(
        unused,
        r#"
[[feedback]]
device = "dev"
equals = "PWR=1"
button = "lamp"
led = "on"
"#,
    )
    .replace(
        "transport = \"tcp\"\naddress = \"127.0.0.1:9\"",
        &format!("transport = \"serial\"\naddress = \"{slave}\"\nserial = \"19200 8N1\""),
    );
    assert!(text.contains("transport = \"serial\""), "{text}");
    let running = start(&text).await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the serial device shows online", || {
        online(&c, "dev") == Some(true)
    })
    .await;
    let status = c
        .status()
        .devices()
        .into_iter()
        .find(|d| d.id == "dev")
        .unwrap();
    assert_eq!(status.kind, "room", "{status:?}");
    assert!(status.name.contains("serial"), "{status:?}");
    assert!(status.detail.contains("19200 8N1"), "{status:?}");
    eventually(PATIENCE, "the status LED is lit", || {
        led(&c, "link") == LedMode::On
    })
    .await;

    let mut device = tokio::fs::File::from_std(master.try_clone().unwrap());
    press_and_release(&c, "go");
    let mut got = vec![0u8; GO_BYTES.len()];
    tokio::time::timeout(PATIENCE, device.read_exact(&mut got))
        .await
        .expect("the device received the bytes in time")
        .expect("read");
    assert_eq!(got, GO_BYTES);

    device.write_all(b"PWR=1\r").await.unwrap();
    device.flush().await.unwrap();
    eventually(
        PATIENCE,
        "a line from the serial device lights the lamp",
        || led(&c, "lamp") == LedMode::On,
    )
    .await;

    // The cable is pulled (the other end goes away): the device shows down.
    drop(device);
    drop(master);
    eventually(PATIENCE, "the serial device shows down", || {
        online(&c, "dev") == Some(false)
    })
    .await;
    eventually(PATIENCE, "the status LED goes out", || {
        led(&c, "link") == LedMode::Off
    })
    .await;
    running.shutdown().await;
}

#[tokio::test]
async fn press_repeat_and_release_each_run_their_sequences() {
    let device = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let extra = r#"
[[buttons]]
id = "vol"
label = "Volume"
repeat = { delay_ms = 400, interval_ms = 200 }

[[sequences]]
id = "vol_press"
button = "vol"
steps = [ { send = "P", device = "dev" } ]

[[sequences]]
id = "vol_repeat"
button = "vol"
on = "repeat"
steps = [ { send = "R", device = "dev" } ]

[[sequences]]
id = "vol_release"
button = "vol"
on = "release"
steps = [ { send = "X", device = "dev" } ]
"#;
    let running = start(&room(device.local_addr().unwrap(), extra)).await;
    let c = running.controller.clone();
    let mut conn = connected(&device, &c).await;
    let command = |kind: &str| {
        let (button, source) = ("vol".to_string(), "test".to_string());
        match kind {
            "press" => Command::Press { button, source },
            "repeat" => Command::Repeat { button, source },
            _ => Command::Release { button, source },
        }
    };
    c.execute(command("press")).unwrap();
    assert_eq!(read_exactly(&mut conn, 3).await, b"P\r\n");
    // The repeat service also sends repeats while the button is held; each
    // runs the repeat sequence.
    c.execute(command("repeat")).unwrap();
    assert_eq!(read_exactly(&mut conn, 3).await, b"R\r\n");
    c.execute(command("release")).unwrap();
    let mut tail = Vec::new();
    while !tail.ends_with(b"X\r\n") {
        tail.extend(read_exactly(&mut conn, 3).await);
        assert!(
            tail.chunks(3).all(|l| l == b"R\r\n" || l == b"X\r\n"),
            "{tail:?}"
        );
    }
    running.shutdown().await;
}

#[tokio::test]
async fn a_device_that_is_down_shows_down_while_the_engine_keeps_serving() {
    // A port with nothing listening on it.
    let nothing = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = nothing.local_addr().unwrap();
    drop(nothing);
    let running = start(&room(addr, "")).await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the device shows down with a reason", || {
        c.status()
            .devices()
            .iter()
            .any(|d| d.id == "dev" && !d.online && d.detail.contains("cannot connect"))
    })
    .await;
    assert_eq!(
        c.status().service("logic").map(|s| s.state.to_string()),
        Some("running".to_string())
    );
    let before = c.revision();
    for _ in 0..50 {
        press_and_release(&c, "go");
    }
    assert_eq!(
        c.revision(),
        before + 100,
        "every press and release applied"
    );
    let logged = |c: &Controller| {
        c.log()
            .recent(500)
            .iter()
            .any(|l| l.contains("sequence go step 1 failed") && l.contains("not connected"))
    };
    eventually(PATIENCE, "the failed step is logged", || {
        if logged(&c) {
            Ok(())
        } else {
            Err(format!("{:#?}", c.log().recent(30)))
        }
    })
    .await;
    // The panel service still answers.
    let panel = running.addrs.panel.expect("panel service");
    let (_, answer) = support::http::get(panel, "/status").await;
    assert!(answer.starts_with("HTTP/1.1 "), "the panel service answers");

    // A device that comes up later is found at the next retry.
    let device = TcpListener::bind(addr).await.unwrap();
    let mut conn = connected(&device, &c).await;
    press_and_release(&c, "go");
    assert_eq!(read_exactly(&mut conn, GO_BYTES.len()).await, GO_BYTES);
    running.shutdown().await;
}

#[tokio::test]
async fn a_new_project_restarts_the_logic_with_its_devices() {
    let nothing = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = nothing.local_addr().unwrap();
    drop(nothing);
    let running = start(&room(addr, "")).await;
    let c = running.controller.clone();
    eventually(PATIENCE, "dev is listed", || online(&c, "dev").is_some()).await;

    let device = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let text = room(device.local_addr().unwrap(), "")
        .replace("id = \"dev\"", "id = \"dev2\"")
        .replace("device = \"dev\"", "device = \"dev2\"");
    let project = Arc::new(Project::from_toml(&text).unwrap());
    c.execute(Command::LoadProject {
        project,
        source: "test".into(),
    })
    .unwrap();
    let (mut conn, _) = tokio::time::timeout(PATIENCE, device.accept())
        .await
        .expect("the new project's device is connected")
        .unwrap();
    eventually(PATIENCE, "only the new device is listed", || {
        online(&c, "dev").is_none() && online(&c, "dev2") == Some(true)
    })
    .await;
    press_and_release(&c, "go");
    assert_eq!(read_exactly(&mut conn, GO_BYTES.len()).await, GO_BYTES);
    running.shutdown().await;
}

#[tokio::test]
async fn the_demo_display_button_powers_the_simulated_projector() {
    let sim = Simulator::start(SimulatorConfig {
        projector: Some("127.0.0.1:0".parse().unwrap()),
        matrix: Some("127.0.0.1:0".parse().unwrap()),
        dsp: None,
        warmup: Duration::from_millis(300),
        cooldown: Duration::from_millis(300),
    })
    .await
    .unwrap();
    let moves = [
        ("127.0.0.1:4352", sim.projector_addr.unwrap()),
        ("127.0.0.1:4353", sim.matrix_addr.unwrap()),
    ];
    let text =
        support::readdress(support::RAW_DEMO, &moves).replace("poll_secs = 5", "poll_secs = 1");
    let running = start(&text).await;
    let c = running.controller.clone();
    eventually(PATIENCE, "both devices are connected", || {
        online(&c, "projector") == Some(true) && online(&c, "matrix") == Some(true)
    })
    .await;
    assert_eq!(sim.projector_power(), "0");
    assert_eq!(led(&c, "display_power"), LedMode::Off);

    press_and_release(&c, "display_power");
    eventually(PATIENCE, "the projector is powered on", || {
        sim.projector_power() == "1"
    })
    .await;
    eventually(PATIENCE, "the display LED follows the projector", || {
        led(&c, "display_power") == LedMode::On
    })
    .await;

    press_and_release(&c, "src_hdmi2");
    eventually(PATIENCE, "the matrix routes HDMI 2 to the display", || {
        sim.matrix_route(1) == Some(2)
    })
    .await;

    // The LED is lit, so the same button now powers the projector off.
    press_and_release(&c, "display_power");
    eventually(PATIENCE, "the projector is off", || {
        sim.projector_power() == "0"
    })
    .await;
    eventually(PATIENCE, "the display LED goes out", || {
        led(&c, "display_power") == LedMode::Off
    })
    .await;
    running.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn the_logic_service_can_be_switched_off() {
    let text = room("127.0.0.1:9".parse().unwrap(), "");
    let running = TestSettings::only(&["panel"]).start(loaded(&text)).await;
    let c = running.controller.clone();
    let logic = c.status().service("logic").expect("listed");
    assert_eq!(logic.state.to_string(), "disabled");
    assert_eq!(logic.setting, "logic");
    press_and_release(&c, "go");
    assert!(c.status().devices().is_empty(), "no device task runs");
    running.shutdown().await;
}

// ---- no mix of sequences and presses stalls the engine -------------------

#[derive(Debug, Clone)]
enum Action {
    Press(usize),
    Led(usize, bool),
    Wait(u32),
    /// A send to a device with no running task: a step that fails.
    Send,
}

/// A project of `n` buttons whose sequences press only later buttons (as
/// validation demands: no press loops), plus LED and wait steps.
fn generated_project(n: usize, sequences: &[(usize, bool, Vec<Action>)]) -> Project {
    let mut text = String::from("[project]\nname = \"gen\"\n");
    for i in 0..n {
        let kind = if i % 2 == 0 { "momentary" } else { "toggle" };
        text += &format!("[[buttons]]\nid = \"b{i}\"\nlabel = \"B{i}\"\nkind = \"{kind}\"\n");
    }
    text += "[[buttons]]\nid = \"sentinel\"\nlabel = \"S\"\nled = \"feedback\"\n";
    text += "[[devices]]\nid = \"ghost\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:9\"\n";
    text += "[[panels]]\nid = \"p\"\nname = \"P\"\ncolumns = 1\nrows = 1\n[[panels.pages]]\nid = \"main\"\ntitle = \"Main\"\n";
    let mut seq_id = 0;
    for (button, on_release, steps) in sequences {
        let mut lines = Vec::new();
        for a in steps {
            lines.push(match a {
                Action::Press(j) if *j > *button && *j < n => format!("{{ press = \"b{j}\" }}"),
                Action::Press(_) => "{ wait_ms = 0 }".into(),
                Action::Led(j, on) => format!(
                    "{{ led = \"{}\", button = \"b{}\" }}",
                    if *on { "on" } else { "off" },
                    j % n
                ),
                Action::Wait(ms) => format!("{{ wait_ms = {ms} }}"),
                Action::Send => "{ send = \"x\", device = \"ghost\" }".into(),
            });
        }
        if lines.is_empty() {
            continue;
        }
        text += &format!(
            "[[sequences]]\nid = \"s{seq_id}\"\nbutton = \"b{button}\"\non = \"{}\"\nsteps = [ {} ]\n",
            if *on_release { "release" } else { "press" },
            lines.join(", ")
        );
        seq_id += 1;
    }
    text += "[[sequences]]\nid = \"sentinel\"\nbutton = \"sentinel\"\nsteps = [ { led = \"on\", button = \"sentinel\" } ]\n";
    Project::from_toml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn arb_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (0usize..6).prop_map(Action::Press),
        (0usize..6, any::<bool>()).prop_map(|(b, on)| Action::Led(b, on)),
        (0u32..3).prop_map(Action::Wait),
        Just(Action::Send),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn no_mix_of_sequences_and_presses_stalls_the_engine(
        sequences in proptest::collection::vec(
            (0usize..6, any::<bool>(), proptest::collection::vec(arb_action(), 0..5)),
            0..10,
        ),
        presses in proptest::collection::vec((0usize..6, any::<bool>()), 1..40),
    ) {
        let project = Arc::new(generated_project(6, &sequences));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let c = Controller::new(settings(), project.clone());
            let token = tokio_util::sync::CancellationToken::new();
            let task = tokio::spawn(roomctl::logic::sequences::run(
                c.clone(),
                project,
                Default::default(),
                token.clone(),
            ));
            // Let the sequence task subscribe before the first press.
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(5)).await;
            let (_, mut steps) = c.subscribe();
            for (b, release) in presses {
                let button = format!("b{b}");
                let command = if release {
                    Command::Release { button, source: "test".into() }
                } else {
                    Command::Press { button, source: "test".into() }
                };
                c.execute(command).expect("known button");
                tokio::task::yield_now().await;
            }
            // The engine and the sequence runner still answer: a press on
            // the sentinel runs its sequence, which lights its LED.
            c.execute(Command::Press { button: "sentinel".into(), source: "test".into() }).unwrap();
            let lit = tokio::time::timeout(PATIENCE, async {
                loop {
                    match steps.recv().await {
                        Ok(p) if p.step().is_some_and(|p| p.step.changes.iter().any(|ch| matches!(ch, Change::Led { button, led } if button == "sentinel" && led.mode == LedMode::On))) => return,
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(e) => panic!("stream closed: {e}"),
                    }
                }
            })
            .await;
            assert!(lit.is_ok(), "the sentinel sequence did not run: the runtime stalled");
            token.cancel();
            tokio::time::timeout(PATIENCE, task).await.expect("stops").expect("no panic");
        });
    }
}

// ---- udp and http devices ---------------------------------------------------

fn udp_http_room(udp: SocketAddr, http: SocketAddr) -> String {
    format!(
        r#"
[project]
name = "UDP and HTTP"

[[buttons]]
id = "go"
label = "Go"

[[buttons]]
id = "lamp"
label = "Lamp"
led = "feedback"

[[panels]]
id = "tablet"
name = "Tablet"
columns = 2
rows = 1

[[panels.pages]]
id = "main"
title = "Main"
buttons = [ {{ button = "go", row = 0, col = 0 }}, {{ button = "lamp", row = 0, col = 1 }} ]

[[devices]]
id = "amp"
transport = "udp"
address = "{udp}"
terminator = '\r'
reconnect_secs = 1

[[devices]]
id = "dsp"
transport = "http"
address = "http://{http}/api"
reconnect_secs = 1

[[sequences]]
id = "go"
button = "go"
steps = [
  {{ send = "VOL 10", device = "amp" }},
  {{ http = "POST /power", body = "on", device = "dsp" }},
]

[[feedback]]
device = "amp"
equals = "VOL=10"
button = "lamp"
led = "slow_blink"

[[feedback]]
device = "dsp"
equals = "POWER ON"
button = "lamp"
led = "on"
"#
    )
}

#[tokio::test]
async fn udp_and_http_devices_send_and_feed_back() {
    let amp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dsp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = start(&udp_http_room(
        amp.local_addr().unwrap(),
        dsp.local_addr().unwrap(),
    ))
    .await;
    let c = running.controller.clone();
    eventually(PATIENCE, "the udp device is ready", || {
        online(&c, "amp") == Some(true)
    })
    .await;
    // The http device is probed with a TCP connect until it answers.
    let (probe, _) = tokio::time::timeout(PATIENCE, dsp.accept())
        .await
        .expect("probe")
        .unwrap();
    drop(probe);
    eventually(PATIENCE, "the http device is reachable", || {
        online(&c, "dsp") == Some(true)
    })
    .await;

    press_and_release(&c, "go");
    let mut buf = [0u8; 64];
    let (n, from) = tokio::time::timeout(PATIENCE, amp.recv_from(&mut buf))
        .await
        .expect("datagram")
        .unwrap();
    assert_eq!(&buf[..n], b"VOL 10\r");
    amp.send_to(b"VOL=10\r", from).await.unwrap();
    eventually(PATIENCE, "the udp reply sets the LED", || {
        led(&c, "lamp") == LedMode::SlowBlink
    })
    .await;

    let (mut conn, _) = tokio::time::timeout(PATIENCE, dsp.accept())
        .await
        .expect("request")
        .unwrap();
    let mut request = Vec::new();
    while !request.ends_with(b"\r\n\r\non") {
        let mut chunk = [0u8; 512];
        let n = tokio::time::timeout(PATIENCE, conn.read(&mut chunk))
            .await
            .expect("request bytes")
            .unwrap();
        assert!(
            n > 0,
            "request ended early: {:?}",
            String::from_utf8_lossy(&request)
        );
        request.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
    assert!(text.starts_with("post /api/power http/1.1\r\n"), "{text}");
    assert!(text.contains("content-length: 2\r\n"), "{text}");
    conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nPOWER ON\n")
        .await
        .unwrap();
    eventually(PATIENCE, "the http answer sets the LED", || {
        led(&c, "lamp") == LedMode::On
    })
    .await;
    running.shutdown().await;
}
