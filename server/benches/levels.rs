//! Fader and touch-to-device benchmark (prints figures; asserts nothing).
//!
//! Starts the real `roomctl` binary as its own process on a free loopback
//! port, running the demo project with its devices pointed at this
//! program's own loopback listeners (a recording DSP and a recording video
//! matrix), and measures:
//!
//! - **a fader drag at 60 Hz for 10 s with 100 panels watching**: one panel
//!   sends `set_level` every 16.7 ms (a triangle sweep over the volume's
//!   range); for each watching panel, how many level updates it received,
//!   and the delay from a value's `set_level` to its arrival on the other
//!   panels (p50/p99/max); the `VOL` commands the DSP received (the level's
//!   `send_interval_ms` coalesces them) and whether the last one is the
//!   final value;
//! - **touch to device**: a press on a panel until the bytes of its
//!   sequence (`ROUTE n 1`) arrive at the matrix, alternating two sources,
//!   p50/p99/max.
//!
//! Run: `cargo bench -p server --bench levels` (release). ROOMCTL_BIN
//! overrides the binary (default: target/release/roomctl, built first if
//! missing).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use controller_core::engine::Change;
use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const WATCHERS: usize = 100;
const DRAG_HZ: u64 = 60;
const DRAG_SECS: u64 = 10;
const PRESSES: usize = 200;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn binary() -> PathBuf {
    if let Ok(b) = std::env::var("ROOMCTL_BIN") {
        return b.into();
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = root.join("target/release/roomctl");
    if !bin.exists() {
        let ok = Command::new(env!("CARGO"))
            .args(["build", "--release", "-p", "server", "--bin", "roomctl"])
            .current_dir(&root)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "building roomctl failed");
    }
    bin
}

struct Server {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A device listener: every line it receives, with the time it arrived.
/// Answers `VOL x` with `VOL=x` as the DSP does (so the fader's feedback
/// path runs as in a room).
#[derive(Clone, Default)]
struct Recorder {
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    notify: Option<mpsc::UnboundedSender<(Instant, String)>>,
}

async fn record(listener: tokio::net::TcpListener, rec: Recorder) {
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            return;
        };
        let rec = rec.clone();
        tokio::spawn(async move {
            let (r, mut w) = sock.into_split();
            let mut lines = BufReader::new(r).split(b'\r');
            while let Ok(Some(raw)) = lines.next_segment().await {
                let at = Instant::now();
                let line = String::from_utf8_lossy(&raw).trim().to_string();
                if line.is_empty() {
                    continue;
                }
                if let Some(v) = line.strip_prefix("VOL ") {
                    let _ = w.write_all(format!("VOL={v}\r").as_bytes()).await;
                }
                if let Some(tx) = &rec.notify {
                    let _ = tx.send((at, line.clone()));
                }
                rec.lines.lock().unwrap().push((at, line));
            }
        });
    }
}

async fn start_server(dsp: u16, matrix: u16, projector: u16) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("roomctl.toml");
    std::fs::write(
        &config,
        format!(
            "[panel]\nport = {port}\nkeepalive_secs = 30\nmax_connections = 5000\n\
             [apprimo]\nenabled = false\n[lookup]\nenabled = false\n[live]\nenabled = false\n\
             [central]\nenabled = false\n[extension]\nenabled = false\n[telnet]\nenabled = false\n\
             [ftp]\nenabled = false\n"
        ),
    )
    .unwrap();
    let project = controller_core::project::DEMO_PROJECT_TOML
        .replace("127.0.0.1:4352", &format!("127.0.0.1:{projector}"))
        .replace("127.0.0.1:4353", &format!("127.0.0.1:{matrix}"))
        .replace("127.0.0.1:4354", &format!("127.0.0.1:{dsp}"))
        // No polling during the run: only the traffic measured.
        .replace("poll_secs = 2", "poll_secs = 3600")
        .replace("poll_secs = 10", "poll_secs = 3600");
    let project_file = dir.path().join("bench.toml");
    std::fs::write(&project_file, project).unwrap();
    let child = Command::new(binary())
        .args([
            "--config",
            config.to_str().unwrap(),
            "serve",
            "--project",
            project_file.to_str().unwrap(),
        ])
        .env("ROOMCTL_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("roomctl starts");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
            .await
            .is_ok()
        {
            break;
        }
        assert!(Instant::now() < deadline, "roomctl did not start in 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Server {
        child,
        addr,
        _dir: dir,
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect_panel(addr: SocketAddr) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("connect");
    let hello = ClientMessage::Hello {
        panel: "tablet".into(),
        revision: 0,
        pin: None,
    };
    ws.send(Message::Text(hello.encode().into())).await.unwrap();
    let mut seen = 0;
    while seen < 2 {
        if let Some(Ok(Message::Text(_))) = ws.next().await {
            seen += 1;
        }
    }
    ws
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// The volume values of a triangle sweep over -60..10 dB in 0.5 dB steps.
fn sweep(i: usize) -> f64 {
    let steps = 140; // (10 - -60) / 0.5
    let k = i % (2 * steps);
    let n = if k <= steps { k } else { 2 * steps - k };
    -60.0 + n as f64 * 0.5
}

async fn fader_drag(server: &Server, dsp: &Recorder) {
    // Watchers: each records (arrival, value) of every level change it gets.
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Instant, f64)>();
    let mut tasks = Vec::new();
    for w in 0..WATCHERS {
        let mut ws = connect_panel(server.addr).await;
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(Ok(m)) = ws.next().await {
                let Message::Text(t) = m else { continue };
                let at = Instant::now();
                if let Ok(ServerMessage::Step { step }) = ServerMessage::decode(&t) {
                    for c in &step.changes {
                        if let Change::Level { value, .. } = c {
                            let _ = tx.send((w, at, *value));
                        }
                    }
                }
            }
        }));
    }
    drop(tx);
    let dragger = connect_panel(server.addr).await;
    let (mut sink, mut stream) = dragger.split();
    tokio::spawn(async move { while stream.next().await.is_some() {} });
    dsp.lines.lock().unwrap().clear();

    // value -> the times it was sent (a sweep repeats values).
    let mut sent: HashMap<u64, Vec<Instant>> = HashMap::new();
    let total = (DRAG_HZ * DRAG_SECS) as usize;
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / DRAG_HZ));
    let mut last = 0.0;
    for i in 0..total {
        tick.tick().await;
        // Start off the initial -30 dB so the first message is a change.
        let value = sweep(i + 1);
        last = value;
        sent.entry(value.to_bits())
            .or_default()
            .push(Instant::now());
        let msg = ClientMessage::SetLevel {
            level: "volume".into(),
            value: Some(value),
            muted: None,
        };
        sink.send(Message::Text(msg.encode().into())).await.unwrap();
    }
    // Let the last updates and the device's final command arrive.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for t in &tasks {
        t.abort();
    }
    let mut per_panel = vec![0usize; WATCHERS];
    let mut delays = Vec::new();
    while let Ok((w, at, value)) = rx.try_recv() {
        per_panel[w] += 1;
        // The latest send of this value before it arrived.
        if let Some(t) = sent
            .get(&value.to_bits())
            .and_then(|ts| ts.iter().rev().find(|t| **t <= at))
        {
            delays.push(at - *t);
        }
    }
    delays.sort();
    per_panel.sort();
    let vols: Vec<f64> = dsp
        .lines
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(_, l)| l.strip_prefix("VOL ")?.parse().ok())
        .collect();
    println!(
        "fader drag: {total} set_level at {DRAG_HZ} Hz for {DRAG_SECS} s, {WATCHERS} panels watching"
    );
    println!(
        "  level updates per watching panel: min {} median {} max {} (of {total} sent)",
        per_panel[0],
        per_panel[WATCHERS / 2],
        per_panel[WATCHERS - 1]
    );
    println!(
        "  drag -> other panels: p50 {} p99 {} max {} ({} deliveries)",
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 0.99)),
        ms(delays.last().copied().unwrap_or_default()),
        delays.len()
    );
    println!(
        "  commands to the DSP: {} VOL lines (send_interval_ms = 100), last {:?}, final value {last}: {}",
        vols.len(),
        vols.last(),
        if vols.last() == Some(&last) {
            "reached"
        } else {
            "NOT reached"
        }
    );
}

async fn touch_to_device(
    server: &Server,
    matrix_rx: &mut mpsc::UnboundedReceiver<(Instant, String)>,
) {
    let panel = connect_panel(server.addr).await;
    let (mut sink, mut stream) = panel.split();
    tokio::spawn(async move { while stream.next().await.is_some() {} });
    while matrix_rx.try_recv().is_ok() {}
    let mut delays = Vec::with_capacity(PRESSES);
    for i in 0..PRESSES {
        let (button, want) = if i % 2 == 0 {
            ("src_hdmi1", "ROUTE 1 1")
        } else {
            ("src_hdmi2", "ROUTE 2 1")
        };
        let t0 = Instant::now();
        let press = ClientMessage::Press {
            button: button.into(),
        };
        sink.send(Message::Text(press.encode().into()))
            .await
            .unwrap();
        let arrived = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let (at, line) = matrix_rx.recv().await.expect("matrix listener runs");
                if line == want {
                    return at;
                }
            }
        })
        .await
        .expect("the sequence's bytes reach the matrix within 5 s");
        delays.push(arrived - t0);
        let release = ClientMessage::Release {
            button: button.into(),
        };
        sink.send(Message::Text(release.encode().into()))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    delays.sort();
    println!(
        "touch to device ({PRESSES} presses, panel -> `ROUTE n 1` at the matrix): p50 {} p99 {} max {}",
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 0.99)),
        ms(*delays.last().unwrap())
    );
}

fn main() {
    let _ = rlimit::increase_nofile_limit(65_536);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!(
            "roomctl levels benchmark (loopback, {} cores)",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        let bind = || async { tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap() };
        let (dsp_l, matrix_l, projector_l) = (bind().await, bind().await, bind().await);
        let port = |l: &tokio::net::TcpListener| l.local_addr().unwrap().port();
        let (dsp_p, matrix_p, projector_p) = (port(&dsp_l), port(&matrix_l), port(&projector_l));
        let dsp = Recorder::default();
        let (mtx, mut matrix_rx) = mpsc::unbounded_channel();
        let matrix = Recorder {
            notify: Some(mtx),
            ..Recorder::default()
        };
        tokio::spawn(record(dsp_l, dsp.clone()));
        tokio::spawn(record(matrix_l, matrix.clone()));
        tokio::spawn(record(projector_l, Recorder::default()));
        let server = start_server(dsp_p, matrix_p, projector_p).await;
        // The devices connect on start.
        tokio::time::sleep(Duration::from_millis(500)).await;
        fader_drag(&server, &dsp).await;
        touch_to_device(&server, &mut matrix_rx).await;
    });
}
