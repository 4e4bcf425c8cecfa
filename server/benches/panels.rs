//! Panel fan-out benchmark (prints figures; asserts nothing).
//!
//! Starts the real `roomctl` binary as its own process on a free loopback
//! port, connects N WebSocket panels (N = 1, 100, 1000), and measures:
//! - press on one panel -> LED change received by every panel: p50/p99/max
//!   of the time until the last panel has it, and of per-panel delivery;
//! - server memory per idle panel (VmRSS of the server process);
//! - keep-alive bytes per panel per minute (both directions, with framing).
//!
//! Run: `cargo bench -p server --bench panels` (builds in release).
//! ROOMCTL_BIN overrides the binary (default: target/release/roomctl, built
//! by `cargo build --release -p server` first if missing).

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use controller_core::protocol::panel::{ClientMessage, ServerMessage};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const PRESSES: usize = 60;

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

async fn start_server(keepalive_secs: u64) -> Server {
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
    let child = Command::new(binary())
        .args(["--config", config.to_str().unwrap(), "serve", "--demo"])
        .env("ROOMCTL_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("roomctl starts");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Server {
        child,
        addr,
        _dir: dir,
    }
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
    // welcome + snapshot
    let mut seen = 0;
    while seen < 2 {
        if let Some(Ok(Message::Text(_))) = ws.next().await {
            seen += 1;
        }
    }
    ws
}

/// A panel that notes when LED changes arrive and answers keep-alive pings.
fn spawn_reader(ws: Ws, tx: mpsc::UnboundedSender<Instant>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Like a real panel: note LED changes, answer keep-alive pings. The
        // text is inspected rather than decoded so that the benchmark's own
        // 1000 clients cost as little CPU as possible on the shared cores.
        let (mut sink, mut stream) = ws.split();
        while let Some(Ok(m)) = stream.next().await {
            if let Message::Text(t) = m {
                if t.starts_with(r#"{"type":"step""#) && t.contains(r#"{"type":"led""#) {
                    let _ = tx.send(Instant::now());
                } else if t.starts_with(r#"{"type":"ping""#) {
                    if let Ok(ServerMessage::Ping { seq }) = ServerMessage::decode(&t) {
                        let pong = ClientMessage::Pong { seq }.encode();
                        let _ = sink.send(Message::Text(pong.into())).await;
                    }
                }
            }
        }
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

async fn fanout(n: usize) {
    let server = start_server(5).await;
    let pid = server.child.id();
    let (tx, mut rx) = mpsc::unbounded_channel::<Instant>();
    let mut readers = Vec::new();
    // One panel first, so the memory baseline includes the server's warm state.
    let (warm_tx, _warm_rx) = mpsc::unbounded_channel::<Instant>();
    readers.push(spawn_reader(connect_panel(server.addr).await, warm_tx));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss_kib(pid);
    for _ in 0..n {
        let ws = connect_panel(server.addr).await;
        readers.push(spawn_reader(ws, tx.clone()));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = rss_kib(pid);
    let presser = connect_panel(server.addr).await;

    let (mut sink, mut presser_stream) = presser.split();
    let (pong_tx, mut pong_rx) = mpsc::unbounded_channel::<u64>();
    tokio::spawn(async move {
        while let Some(Ok(m)) = presser_stream.next().await {
            if let Message::Text(t) = m {
                if let Ok(ServerMessage::Ping { seq }) = ServerMessage::decode(&t) {
                    let _ = pong_tx.send(seq);
                }
            }
        }
    });
    let mut all = Vec::new();
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
        let mut last = t0;
        for _ in 0..n {
            let t = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("delivery")
                .unwrap();
            each.push(t - t0);
            last = last.max(t);
        }
        all.push(last - t0);
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
    for r in readers {
        r.abort();
    }
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
        for n in [1, 100, 1000] {
            fanout(n).await;
        }
        keepalive_bytes(30).await;
    });
}
