//! Panel fan-out benchmark (prints figures; asserts nothing).
//!
//! Starts the real `roomctl` binary as its own process on a free loopback
//! port, connects N WebSocket panels (N = 1, 100, 1000), and measures:
//! - press on one panel -> LED change received by every panel: p50/p99/max
//!   of the time until the last panel has it, and of per-panel delivery;
//! - server memory per idle panel (VmRSS of the server process);
//! - keep-alive bytes per panel per minute (both directions, with framing);
//! - step frames delivered per panel per press cycle, and the server's CPU
//!   per delivered frame beside the serverless reference's (`reference.rs`);
//! - a fader dragged at 60 Hz with 100 panels watching, and touch to device
//!   (`room.rs`);
//! - 100 library-driver devices polled every second against their generated
//!   simulators: CPU, memory, poll to state, touch to device through a
//!   driver (`drivers.rs`).
//!
//! Run: `cargo bench -p server --bench panels` (builds in release);
//! `-- --quick` for 100 panels, a 3 s drag and 50 touches; `-- --room` for
//! only the fader drags and touch to device; `-- --drivers` for only the
//! driver devices (`-- --drivers --quick`: fewer rounds and touches).
//! ROOMCTL_BIN overrides the binary (default: `release/roomctl` under
//! CARGO_TARGET_DIR or `target/`, brought up to date by
//! `cargo build --release -p server` first).

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

mod drivers;
mod lean;
mod reference;
mod room;

use lean::LeanPanels;

pub(crate) const PRESSES: usize = 60;

fn raise_fd_limit() {
    let _ = rlimit::increase_nofile_limit(65_536);
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    if let Ok(b) = std::env::var("ROOMCTL_BIN") {
        return b.into();
    }
    // Always built (a no-op when it is up to date), so a stale binary is
    // never measured; where cargo puts it, as cargo does.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let ok = Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "server", "--bin", "roomctl"])
        .current_dir(&root)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "building roomctl failed");
    target.join("release/roomctl")
}

async fn start_server(keepalive_secs: u64) -> Server {
    start_server_with(keepalive_secs, None).await
}

/// The server running `project` (TOML text) instead of the built-in demo.
pub(crate) async fn start_server_with(keepalive_secs: u64, project: Option<&str>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("roomctl.toml");
    std::fs::write(
        &config,
        format!(
            "[panel]\nport = {port}\nkeepalive_secs = {keepalive_secs}\nmax_connections = 5000\n\
             [apprimo]\nenabled = false\n[lookup]\nenabled = false\n[live]\nenabled = false\n\
             [central]\nenabled = false\n[extension]\nenabled = false\n[telnet]\nenabled = false\n\
             [ftp]\nenabled = false\n"
        ),
    )
    .unwrap();
    let mut args = vec!["--config".to_string(), config.to_str().unwrap().to_string()];
    args.push("serve".into());
    match project {
        Some(text) => {
            let file = dir.path().join("project.toml");
            std::fs::write(&file, text).unwrap();
            args.extend(["--project".into(), file.to_str().unwrap().to_string()]);
        }
        None => args.push("--demo".into()),
    }
    let child = Command::new(binary())
        .args(&args)
        .env("ROOMCTL_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("roomctl starts");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = Server {
        child,
        addr,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !serves_panel_page(addr) {
        assert!(
            Instant::now() < deadline,
            "roomctl did not serve within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    server
}

/// True once `GET /` answers 200 (the tablet panel, rendered on the server).
fn serves_panel_page(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// Start-up time: process spawned -> the panel page served, over `runs` starts.
async fn startup(runs: usize) {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t0 = Instant::now();
        let server = start_server(5).await;
        times.push(t0.elapsed());
        drop(server);
    }
    times.sort();
    println!(
        "start-up (spawn -> panel page served, {runs} starts): p50 {} max {}",
        ms(percentile(&times, 0.5)),
        ms(*times.last().unwrap()),
    );
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU time a process has used so far: the sum of its threads' time on a
/// CPU from `/proc/PID/task/*/schedstat` (nanoseconds; `/proc/PID/stat`
/// counts 10 ms clock ticks, too coarse for a few hundred press cycles).
pub(crate) fn cpu_time(pid: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect_panel(addr: SocketAddr) -> Ws {
    // TCP_NODELAY, as browsers set on WebSockets: without it a press sent
    // while the previous message is unacknowledged waits for the server's
    // delayed ACK (tens of ms) now that a toggle's release gets no reply.
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(format!("ws://{addr}/ws"), None, true)
            .await
            .expect("connect");
    let hello = ClientMessage::Hello {
        panel: "tablet".into(),
        revision: 0,
        pin: None,
        sparse: true,
        layout: None,
    };
    ws.send(Message::Text(hello.encode().into())).await.unwrap();
    // welcome + snapshot
    let mut seen = 0;
    while seen < 2 {
        if let Some(Ok(Message::Text(_))) = ws.next().await {
            seen += 1;
        }
    }
    ws
}

/// Hands a connected panel's socket to the lean reader.
pub(crate) fn into_std(ws: Ws) -> std::net::TcpStream {
    match ws.into_inner() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp.into_std().expect("std socket"),
        _ => unreachable!("the benchmark connects without TLS"),
    }
}

/// Waits until `n` panels have reported the LED change sent at `t0`; returns
/// the time until the last one and records each panel's delay.
pub(crate) async fn until_every_panel(
    rx: &mut mpsc::UnboundedReceiver<Instant>,
    n: usize,
    t0: Instant,
    each: &mut Vec<Duration>,
) -> Duration {
    let collect = async {
        let mut last = t0;
        for _ in 0..n {
            let t = rx.recv().await.expect("the panel reader runs");
            each.push(t - t0);
            last = last.max(t);
        }
        last - t0
    };
    tokio::time::timeout(Duration::from_secs(10), collect)
        .await
        .expect("every panel gets the LED change within 10 s")
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// Runs the fan-out measurement for `n` panels; returns the size of the LED
/// step frame the panels received (for the reference measurement) and the
/// server's CPU per step frame delivered.
async fn fanout(n: usize) -> (usize, Duration) {
    let server = start_server(5).await;
    let pid = server.child.id();
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    // One panel first, so the memory baseline includes the server's warm state.
    let (warm_tx, _warm_rx) = mpsc::unbounded_channel::<Instant>();
    let _warm = LeanPanels::start(vec![into_std(connect_panel(server.addr).await)], warm_tx);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss_kib(pid);
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        streams.push(into_std(connect_panel(server.addr).await));
    }
    let panels = LeanPanels::start(streams, tx);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = rss_kib(pid);
    let presser = connect_panel(server.addr).await;

    let (mut sink, mut presser_stream) = presser.split();
    let (pong_tx, mut pong_rx) = mpsc::unbounded_channel::<u64>();
    let presser_frames = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = presser_frames.clone();
    tokio::spawn(async move {
        while let Some(Ok(m)) = presser_stream.next().await {
            if let Message::Text(t) = m {
                if t.starts_with(r#"{"type":"step""#) {
                    counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                if let Ok(ServerMessage::Ping { seq }) = ServerMessage::decode(&t) {
                    let _ = pong_tx.send(seq);
                }
            }
        }
    });
    let frames_of = || {
        panels
            .step_frames
            .load(std::sync::atomic::Ordering::Relaxed)
            + presser_frames.load(std::sync::atomic::Ordering::Relaxed)
    };
    let mut all = Vec::new();
    let (server_cpu0, bench_cpu0, wall0) =
        (cpu_time(&pid.to_string()), cpu_time("self"), Instant::now());
    let frames0 = frames_of();
    let mut each = Vec::new();
    for _ in 0..PRESSES {
        while let Ok(seq) = pong_rx.try_recv() {
            sink.send(Message::Text(ClientMessage::Pong { seq }.encode().into()))
                .await
                .unwrap();
        }
        let t0 = Instant::now();
        sink.send(Message::Text(
            ClientMessage::Press {
                button: "mute".into(),
            }
            .encode()
            .into(),
        ))
        .await
        .unwrap();
        all.push(until_every_panel(&mut rx, n, t0, &mut each).await);
        sink.send(Message::Text(
            ClientMessage::Release {
                button: "mute".into(),
            }
            .encode()
            .into(),
        ))
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the last release's step (if one is sent) arrive before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let frames = frames_of() - frames0;
    let wall = wall0.elapsed();
    let server_cpu = cpu_time(&pid.to_string()) - server_cpu0;
    let bench_cpu = cpu_time("self") - bench_cpu0;
    all.sort();
    each.sort();
    let per_panel = (rss_idle.saturating_sub(rss_before)) as f64 / n as f64;
    println!(
        "{n:>5} panels | until every panel: p50 {} p99 {} max {} | per panel: p50 {} p99 {} | server RSS {} KiB idle, {:.1} KiB per idle panel",
        ms(percentile(&all, 0.5)),
        ms(percentile(&all, 0.99)),
        ms(*all.last().unwrap()),
        ms(percentile(&each, 0.5)),
        ms(percentile(&each, 0.99)),
        rss_idle,
        per_panel
    );
    let per_press = |d: Duration| ms(d / PRESSES as u32);
    println!(
        "      CPU per press+release cycle: server {}, benchmark clients {} (wall {} per cycle incl. 20 ms pause)",
        per_press(server_cpu),
        per_press(bench_cpu),
        per_press(wall)
    );
    let per_frame = server_cpu / frames.max(1) as u32;
    println!(
        "      step frames delivered: {frames} ({:.2} per panel per press cycle); server CPU per delivered frame {}",
        frames as f64 / (n + 1) as f64 / PRESSES as f64,
        us(per_frame)
    );
    (
        panels
            .last_led_frame
            .load(std::sync::atomic::Ordering::Relaxed),
        per_frame,
    )
}

pub(crate) fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// Keep-alive traffic of one idle panel over `secs` seconds, scaled to a minute.
async fn keepalive_bytes(secs: u64) {
    let server = start_server(5).await;
    let ws = connect_panel(server.addr).await;
    let (mut sink, mut stream) = ws.split();
    let start = Instant::now();
    let mut received = 0usize;
    let mut sent = 0usize;
    let mut seq = 0;
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.tick().await;
    while start.elapsed() < Duration::from_secs(secs) {
        tokio::select! {
            m = stream.next() => {
                if let Some(Ok(Message::Text(t))) = m {
                    // server frames: 2-byte header for payloads < 126 bytes
                    received += t.len() + 2;
                    if let Ok(ServerMessage::Ping { seq }) = ServerMessage::decode(&t) {
                        let pong = ClientMessage::Pong { seq }.encode();
                        sent += pong.len() + 6; // client frames are masked: 2 + 4 bytes
                        sink.send(Message::Text(pong.into())).await.unwrap();
                    }
                }
            }
            _ = tick.tick() => {
                seq += 1;
                let ping = ClientMessage::Ping { seq }.encode();
                sent += ping.len() + 6;
                sink.send(Message::Text(ping.into())).await.unwrap();
            }
        }
    }
    let scale = 60.0 / secs as f64;
    println!(
        "keep-alive (5 s): {:.0} bytes/min received + {:.0} bytes/min sent per panel (WebSocket payload + frame headers; TCP/IP headers not counted)",
        received as f64 * scale,
        sent as f64 * scale
    );
}

fn main() {
    raise_fd_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!(
            "roomctl panel benchmark ({PRESSES} presses per run, loopback, {} cores)",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        );
        // `cargo bench -p server --bench panels -- 1000` runs only the sizes
        // given (and skips the other measurements); `-- --quick` runs 100
        // panels, a 3 s drag and 50 touches.
        let quick = std::env::args().any(|a| a == "--quick");
        // `-- --room` runs only the room benchmarks (fader drags, touch).
        let room_only = std::env::args().any(|a| a == "--room");
        // `-- --drivers` runs only the driver devices' benchmark.
        let drivers_only = std::env::args().any(|a| a == "--drivers");
        if drivers_only {
            let (rounds, window, touches) = if quick { (5, 10, 50) } else { (20, 30, 200) };
            drivers::driver_devices(100, rounds, window, touches).await;
            return;
        }
        let sizes: Vec<usize> = std::env::args()
            .skip(1)
            .filter_map(|a| a.parse().ok())
            .collect();
        let only = !sizes.is_empty();
        let sizes = match (only, quick) {
            _ if room_only => Vec::new(),
            (true, _) => sizes,
            (false, true) => vec![100],
            (false, false) => vec![1, 100, 1000],
        };
        for n in sizes {
            let (frame_len, server_per_frame) = fanout(n).await;
            let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
            let reference = reference::plain_write_loop(n, frame_len, 1).await;
            if cores > 1 {
                reference::plain_write_loop(n, frame_len, cores).await;
            }
            println!(
                "      CPU per delivered frame: server {} vs reference write loop {} (1 thread): {:.2}x",
                us(server_per_frame),
                us(reference),
                server_per_frame.as_secs_f64() / reference.as_secs_f64().max(1e-9)
            );
        }
        if !only {
            let (drag_secs, touches) = if quick { (3, 50) } else { (10, 200) };
            room::fader_drag(100, drag_secs, room::DspKind::Echoing).await;
            room::fader_drag(100, drag_secs, room::DspKind::Silent).await;
            room::touch_to_device(touches).await;
            if !room_only {
                let (rounds, window) = if quick { (5, 10) } else { (20, 30) };
                drivers::driver_devices(100, rounds, window, touches).await;
            }
            if !quick && !room_only {
                keepalive_bytes(30).await;
                startup(10).await;
            }
        }
    });
}
