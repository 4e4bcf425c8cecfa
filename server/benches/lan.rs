//! LAN services benchmark: prints figures, asserts nothing.
//!
//! - central control (TCP 5009): commands per second with 1 and 100
//!   clients, each pipelining up to WINDOW requests;
//! - lookup (UDP 8000): reply latency, unicast;
//! - press over 5009 -> the 8001 datagram: latency.
//!
//! Everything runs on loopback against a controller started in this
//! process (ephemeral ports, unicast replies). Run:
//! `cargo bench -p server --bench lan` (add `-- --quick` for a short run).
//! Results and how to read them: docs/performance.md.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use controller_core::protocol::central::Request;
use controller_core::protocol::live_broadcast::LiveMessage;
use controller_core::protocol::lookup::LookupMessage;
use futures::StreamExt;
use roomctl::cli::press::CentralClient;
use roomctl::config::{Profile, ReplyMode, Settings};
use tokio::io::AsyncWriteExt;
use tokio::net::UdpSocket;

/// Requests a client may have sent without having read their replies.
const WINDOW: u64 = 256;

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(quick));
}

async fn run(quick: bool) {
    let phase = if quick {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(5)
    };
    let samples = if quick { 200 } else { 2000 };
    let live = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut s = Settings::defaults(Profile::Development);
    s.panel.enabled = false;
    s.apprimo.enabled = false;
    s.https.enabled = false;
    s.extension.enabled = false;
    s.central.port = 0;
    s.central.require_login = false;
    s.central.max_connections = 200;
    s.lookup.port = 0;
    s.lookup.reply = ReplyMode::Unicast;
    s.lookup.max_replies_per_sec = 1_000_000;
    s.live.destination = "127.0.0.1".parse().unwrap();
    s.live.port = live.local_addr().unwrap().port();
    let running = roomctl::runtime::serve::start(s, roomctl::storage::project_store::demo())
        .await
        .unwrap();
    let central = running.addrs.central.unwrap();
    let lookup = running.addrs.lookup.unwrap();
    println!(
        "roomctl LAN benchmark ({} worker threads, {} s per throughput phase)",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        phase.as_secs()
    );

    // Live datagrams are drained in the throughput phases.
    let live = Arc::new(live);
    for clients in [1usize, 100] {
        let draining = Arc::new(AtomicBool::new(true));
        let drain = tokio::spawn(drain_live(live.clone(), draining.clone()));
        let per_sec = commands_per_sec(central, clients, phase).await;
        draining.store(false, Ordering::Relaxed);
        drain.abort();
        println!("central 5009: {clients:>3} client(s): {per_sec:>9.0} commands/s");
    }

    let lookup_latency = lookup_latency(lookup, samples).await;
    report("lookup 8000: reply latency", lookup_latency);

    // Let datagrams of the throughput phases drain before measuring.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut buf = vec![0u8; 65536];
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_millis(50), live.recv_from(&mut buf)).await
    {}
    let press_latency = press_to_datagram(central, &live, samples).await;
    report("press 5009 -> 8001 datagram latency", press_latency);
    running.shutdown().await;
}

async fn drain_live(live: Arc<UdpSocket>, running: Arc<AtomicBool>) {
    let mut buf = vec![0u8; 65536];
    while running.load(Ordering::Relaxed) {
        let _ = live.recv_from(&mut buf).await;
    }
}

/// `clients` connections, each pipelining press/release of one toggle
/// button for `phase`; counts replies.
async fn commands_per_sec(central: SocketAddr, clients: usize, phase: Duration) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let client = CentralClient::connect(&central.to_string()).await.unwrap();
        let (mut reader, mut writer) = client.into_parts();
        let (done, stop) = (done.clone(), stop.clone());
        let sent = Arc::new(AtomicU64::new(0));
        let replied = Arc::new(AtomicU64::new(0));
        let (s2, r2) = (sent, replied.clone());
        let stop2 = stop.clone();
        // Writer: keeps up to WINDOW requests outstanding.
        let press = Request::Press {
            button: "display_power".into(),
        }
        .encode();
        let release = Request::Release {
            button: "display_power".into(),
        }
        .encode();
        tasks.push(tokio::spawn(async move {
            let mut batch = Vec::new();
            while !stop2.load(Ordering::Relaxed) {
                let outstanding = s2.load(Ordering::Relaxed) - r2.load(Ordering::Relaxed);
                if outstanding >= WINDOW {
                    tokio::task::yield_now().await;
                    continue;
                }
                let n = (WINDOW - outstanding).min(64);
                batch.clear();
                for i in 0..n {
                    batch.extend_from_slice(if i % 2 == 0 { &press } else { &release });
                }
                if writer.write_all(&batch).await.is_err() {
                    break;
                }
                s2.fetch_add(n, Ordering::Relaxed);
            }
        }));
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let read = tokio::time::timeout(Duration::from_secs(1), reader.next()).await;
                match read {
                    Ok(Some(Ok(line))) => {
                        replied.fetch_add(1, Ordering::Relaxed);
                        if line.starts_with(r#"{"type":"ok""#) {
                            done.fetch_add(1, Ordering::Relaxed);
                        } else {
                            eprintln!("unexpected reply: {line}");
                            break;
                        }
                    }
                    Ok(_) => break,
                    Err(_) => {}
                }
            }
        }));
    }
    // Warm up, then count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start_count = done.load(Ordering::Relaxed);
    let start = Instant::now();
    tokio::time::sleep(phase).await;
    let count = done.load(Ordering::Relaxed) - start_count;
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.abort();
    }
    count as f64 / elapsed.as_secs_f64()
}

async fn lookup_latency(lookup: SocketAddr, samples: usize) -> Vec<Duration> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buf = vec![0u8; 4096];
    let mut out = Vec::with_capacity(samples);
    for nonce in 0..samples as u32 {
        let request = LookupMessage::Request { nonce }.encode();
        let start = Instant::now();
        socket.send_to(&request, lookup).await.unwrap();
        loop {
            let (n, _) = socket.recv_from(&mut buf).await.unwrap();
            if let Ok(LookupMessage::Reply(id)) = LookupMessage::decode(&buf[..n]) {
                if id.nonce == nonce {
                    break;
                }
            }
        }
        out.push(start.elapsed());
    }
    out
}

async fn press_to_datagram(central: SocketAddr, live: &UdpSocket, samples: usize) -> Vec<Duration> {
    let mut client = CentralClient::connect(&central.to_string()).await.unwrap();
    let mut buf = vec![0u8; 65536];
    let mut out = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        client
            .send(&Request::Press {
                button: "display_power".into(),
            })
            .await
            .unwrap();
        loop {
            let (n, _) = live.recv_from(&mut buf).await.unwrap();
            if let Ok(LiveMessage::Changes { leds, .. }) = LiveMessage::decode(&buf[..n]) {
                if leds.iter().any(|l| l.button == "display_power") {
                    break;
                }
            }
        }
        out.push(start.elapsed());
        // The `ok` reply, and a release so the next press is a clean one.
        client.next_event().await.unwrap();
        client.release("display_power").await.unwrap();
    }
    out
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "{what}: p50 {:.0} us, p99 {:.0} us, max {:.0} us ({} samples)",
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        samples.last().unwrap().as_secs_f64() * 1e6,
        samples.len()
    );
}
